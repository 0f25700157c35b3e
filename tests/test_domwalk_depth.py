"""Card fields however deep the page nests them: the DevTools protocol refuses a DOM tree nested
deeper than about 150 elements in one answer, so the walk reads it in pieces (`read_tree`), and
walks documents and shadow roots without recursion (`TreeWalk`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from audit.browser import find_browser
from audit.capture.domwalk import CHUNK_DEPTH, TreeWalk, walk

ARGS = ["--disable-background-networking", "--disable-component-update", "--no-first-run"]


def _el(name, attrs=(), children=(), bid=0):
    return {"nodeType": 1, "nodeName": name.upper(), "localName": name, "backendNodeId": bid,
            "attributes": [x for pair in attrs for x in pair], "children": list(children)}


def test_a_label_thousands_of_elements_above_its_input_still_names_it():
    field = _el("input", bid=99)
    node = field
    for _ in range(20_000):
        node = _el("div", children=[node])
    label = _el("label", children=[{"nodeType": 3, "nodeName": "#text", "nodeValue": "Card number"}, node])
    root = {"nodeType": 9, "nodeName": "#document", "documentURL": "https://shop.test/",
            "children": [_el("html", children=[_el("body", children=[label])])]}
    found = [(node["backendNodeId"], where, kind) for _, node, where, kind in TreeWalk(root).classify()]
    assert found == [(99, "document", "number")]


def test_shadow_roots_nested_two_thousand_deep_are_walked_without_recursion():
    inner: dict = _el("input", [("autocomplete", "cc-number")], bid=7)
    for _ in range(2_000):
        host = _el("div")
        host["shadowRoots"] = [{"nodeType": 11, "nodeName": "#document-fragment", "shadowRootType": "closed",
                                "children": [inner]}]
        inner = host
    root = {"nodeType": 9, "nodeName": "#document", "documentURL": "https://shop.test/", "children": [inner]}
    ((_, node, where, kind),) = list(TreeWalk(root).classify())
    assert node["backendNodeId"] == 7 and kind == "number" and where.count("closed shadow root of <div>") == 2_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=find_browser(), headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A new page each time: `set_content` keeps the previous content's script globals."""
    fresh = browser.new_page()
    yield fresh
    fresh.close()


DEEP = """<body><div id=top></div><script>
let at = document.getElementById('top');
for (let i = 0; i < %(depth)d; i++) { const d = document.createElement('div'); at.appendChild(d); at = d; }
%(place)s
</script></body>"""
CLOSED = "at.attachShadow({mode: 'closed'}).innerHTML = '<label>Card number <input id=n></label>';"
DECLARATIVE = ("at.setHTMLUnsafe('<section><template shadowrootmode=closed><label>Security code "
               "<input id=c></label></template></section>');")
FRAMES = ("let doc = document; for (let i = 0; i < %d; i++) { const f = doc.createElement('iframe');"
          " doc.body.appendChild(f); doc = f.contentDocument; doc.open(); doc.write('<body></body>'); doc.close(); }"
          " doc.body.innerHTML = '<label>Expiry <input id=e></label>';")


@pytest.mark.browser
@pytest.mark.parametrize("depth, place, kind", [
    (CHUNK_DEPTH * 8, CLOSED, "number"), (400, DECLARATIVE, "cvc"), (3 * CHUNK_DEPTH + 1, CLOSED, "number")])
def test_a_field_far_below_the_protocols_depth_limit_is_found(page, depth, place, kind):
    page.set_content(DEEP % {"depth": depth, "place": place})
    cdp = page.context.new_cdp_session(page)
    # The limit this reads around: one answer for the whole tree is refused.
    with pytest.raises(Exception, match="stack limit"):
        cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})
    fields = [f for doc in walk(cdp) for f in doc.fields]
    assert [(f.field, f.hidden, f.where.startswith("closed shadow root")) for f in fields] == [(kind, False, True)]


@pytest.mark.browser
def test_a_field_in_frames_nested_sixty_deep_is_found(page):
    page.set_content(DEEP % {"depth": 0, "place": FRAMES % 60})
    cdp = page.context.new_cdp_session(page)
    documents = walk(cdp)
    assert len(documents) == 61
    assert [(f.field, f.hidden) for doc in documents for f in doc.fields] == [("expiry", False)]
