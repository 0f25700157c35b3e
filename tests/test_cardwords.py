"""Which inputs are card fields, by autocomplete token and by the words around them (pure)."""

from __future__ import annotations

import pytest

from audit.capture.cardwords import card_field
from audit.capture.domwalk import TreeWalk


@pytest.mark.parametrize("autocomplete, words, field", [
    ("cc-number", "", "number"), ("billing cc-csc", "", "cvc"), ("cc-exp-month", "", "expiry"),
    ("", "Card number", "number"), ("", "Kartennummer", "number"), ("", "Numéro de carte", "number"),
    ("", "numero de carte", "number"), ("", "Número de tarjeta", "number"), ("", "1234 1234 1234 1234", "number"),
    ("", "Prüfziffer", "cvc"), ("", "Pruefziffer Sicherheitscode", "cvc"), ("", "Cryptogramme visuel", "cvc"),
    ("", "Código de seguridad", "cvc"), ("", "Credit or debit card CVC/CVV", "cvc"),
    ("", "Credit or debit card expiration date", "expiry"), ("", "Gültig bis", "expiry"),
    ("", "Date d'expiration", "expiry"), ("", "Fecha de caducidad", "expiry"), ("", "MM / AA", "expiry"),
    ("", "Karteninhaber", "name"),
    ("name", "Full name", None), ("email", "Email for the receipt", None), ("off", "Tip amount", None),
    ("", "Visa card on file ending in 5556", None), ("postal-code", "ZIP", None), ("", "Promo code", None),
])
def test_card_field_words(autocomplete, words, field):
    assert card_field(autocomplete, words) == field


def _el(name, attrs=(), children=(), shadow=None, bid=0):
    flat = [x for pair in attrs for x in pair]
    node = {"nodeType": 1, "nodeName": name.upper(), "localName": name, "attributes": flat,
            "children": list(children), "backendNodeId": bid}
    if shadow is not None:
        node["shadowRoots"] = [shadow]
    return node


def _text(value):
    return {"nodeType": 3, "nodeName": "#text", "nodeValue": value}


def test_tree_walk_reads_closed_roots_labels_and_frames():
    closed = {"nodeType": 11, "nodeName": "#document-fragment", "shadowRootType": "closed", "children": [
        _el("label", children=[_text("Kartennummer "), _el("input", [("id", "a")], bid=5)]),
        _el("label", [("for", "b")], children=[_text("Prüfziffer")]), _el("input", [("id", "b")], bid=6),
        _el("input", [("type", "hidden"), ("name", "cardnumber")], bid=7)]}
    frame_doc = {"nodeType": 9, "nodeName": "#document", "documentURL": "about:srcdoc", "children": [
        _el("input", [("placeholder", "Número de tarjeta")], bid=9)]}
    iframe = _el("iframe", [("srcdoc", "x")], bid=8)
    iframe["contentDocument"], iframe["frameId"] = frame_doc, "F2"
    root = {"nodeType": 9, "nodeName": "#document", "documentURL": "https://shop.test/", "children": [
        _el("html", children=[_el("body", children=[_el("section", shadow=closed, bid=4), iframe])])]}
    walk = TreeWalk(root)
    found = {(doc, node["backendNodeId"], where, field) for doc, node, where, field in walk.classify()}
    assert found == {(0, 5, "closed shadow root of <section>", "number"),
                     (0, 6, "closed shadow root of <section>", "cvc"), (1, 9, "document", "number")}
    assert [d.url for d in walk.documents] == ["https://shop.test/", "about:srcdoc"]
    assert walk.documents[1].parent == 0 and walk.documents[1].owner_node == 8


def _page(*body):
    return {"nodeType": 9, "nodeName": "#document", "documentURL": "https://shop.test/", "children": [
        _el("html", children=[_el("body", children=list(body))])]}


def _found(root):
    return [(node["backendNodeId"], field) for _, node, _, field in TreeWalk(root).classify()]


def test_the_text_a_payer_reads_before_a_bare_input_names_it():
    root = _page(_el("p", children=[_text("Payment failed. Please enter your card again.")]),
                 _el("div", children=[_text("Card number")]), _el("input", [("id", "a1")], bid=1),
                 _el("div", children=[_el("span", children=[_text(" Expiry ")])]), _el("input", [("id", "a2")], bid=2),
                 _el("div", children=[_text("Security code")]), _el("input", [("autocomplete", "off")], bid=3))
    assert _found(root) == [(1, "number"), (2, "expiry"), (3, "cvc")]


@pytest.mark.parametrize("between", [
    _el("iframe", [("src", "https://js.stripe.com/v3/elements-inner-card.html")]),  # the processor's field
    _el("select", children=[_el("option", children=[_text("Visa")])]),
    _el("input", [("autocomplete", "email")]),
    _el("button", children=[_text("Card number")]),
])
def test_text_before_another_control_labels_that_control_not_the_next(between):
    root = _page(_el("div", children=[_text("Card number")]), between, _el("input", [("name", "tip")], bid=5))
    assert _found(root) == []


@pytest.mark.parametrize("before, attrs", [
    ("Visa card on file ending in 5556", ()),                      # says nothing of this input
    ("We never store your credit card number: it goes straight to our processor, who keeps it.", ()),
    ("Card number", (("autocomplete", "postal-code"),)),            # the input says what it is
])
def test_text_before_an_input_that_is_no_label_of_a_card_field_stays_clean(before, attrs):
    root = _page(_el("div", children=[_text(before)]), _el("input", attrs, bid=6))
    assert _found(root) == []


def test_script_text_before_an_input_is_not_its_label():
    script = _el("script", children=[_text("var label = 'Card number';")])
    assert _found(_page(script, _el("input", [("id", "q")], bid=7))) == []
