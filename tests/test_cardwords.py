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
