"""What makes an input a card field, in the words payers read: one table, used by the DOM walk
(Python, over CDP's tree) and by the watcher injected into every frame (JavaScript).

An input is a card field by its autocomplete token first (the HTML standard's autofill field names:
cc-number, cc-exp, cc-exp-month, cc-exp-year, cc-csc, cc-name), then by the words around it: its
name, id, label, placeholder, aria-label and title; failing those (and with no autocomplete token),
by the last short text before it since the previous control, which a payer reads as its label.
The words cover the languages the processors' checkouts serve: English, French, German and
Spanish, plus Italian, Portuguese and Dutch where one word settles it. Words are matched on
lower-cased text with accents kept and also removed, so "Prüfziffer" and "Prufziffer", "número"
and "numero" both match.
"""

from __future__ import annotations

import json
import re
import unicodedata

# Autocomplete tokens (https://html.spec.whatwg.org/multipage/form-control-infrastructure.html#autofill).
AUTOCOMPLETE = {
    "number": r"\bcc-number\b",
    "cvc": r"\bcc-csc\b",
    "expiry": r"\bcc-exp(?:-month|-year)?\b",
    "name": r"\bcc-(?:name|given-name|family-name)\b",
}

# Words around an input, checked in this order: "Credit card security code" is the CVC and
# "Credit card expiration" the expiry, though both also say "credit card".
WORDS = {
    "cvc": (
        r"\bcvc|\bcvv|\bcsc\b|\bcvn\b|security.?code|card.?code|card verification|verification.?code"
        r"|cryptogramme|code (?:de )?s(?:é|e)curit(?:é|e)|code de v(?:é|e)rification"
        r"|pr(?:ü|u)f(?:ziffer|nummer|code)|sicherheitscode|kartenpr(?:ü|u)f"
        r"|c(?:ó|o)digo de seguridad|c(?:ó|o)digo de verificaci(?:ó|o)n|codice di sicurezza"
        r"|c(?:ó|o)digo de seguran(?:ç|c)a|beveiligingscode"
    ),
    "expiry": (
        r"expir|exp.?date|card.?exp|\bexp\b|valid (?:thru|through|until)|mm ?/ ?(?:yy|aa|jj)\b"
        r"|date d.(?:e|é)xpiration|date de validit(?:é|e)|\bexpire|\bmois\b.*\bann(?:é|e)e"
        r"|ablaufdatum|g(?:ü|u)ltig bis|verfall|gultigkeit|g(?:ü|u)ltigkeit"
        r"|fecha de (?:caducidad|vencimiento|expiraci(?:ó|o)n)|caducidad|vencimiento|\bvence\b"
        r"|scadenza|validade|vervaldatum"
    ),
    "number": (
        r"card.?num|cardnumber|card.?no\b|ccnum|cc.?num|cc-?no\b|credit.?card|debit.?card|\bpan\b"
        r"|n(?:um(?:e|é)ro|°|o|º)\.? de (?:la )?carte|carte (?:bancaire|de cr(?:e|é)dit)|num(?:e|é)ro carte"
        r"|karten.?n(?:umme)?r|kreditkarten|kartennr|kreditkarte"
        r"|n(?:ú|u)mero de (?:la )?tarjeta|n(?:º|°|o)\.? de tarjeta|tarjeta de (?:cr(?:é|e)dito|d(?:é|e)bito)"
        r"|numero (?:della )?carta|n(?:ú|u)mero do cart(?:ã|a)o|kaartnummer"
        r"|\d{4}[ -]\d{4}[ -]\d{4}[ -]\d{1,4}|(?:•{4}|\*{4}|x{4}) ?(?:•{4}|\*{4}|x{4})"
    ),
    "name": (
        r"name on (?:the )?card|card.?holder|cardholder|nom (?:sur la carte|du titulaire)|titulaire de la carte"
        r"|karteninhaber|name auf der karte|titular de la tarjeta|nombre (?:en|del titular)"
    ),
}

# Input types a payer cannot type a card into.
NOT_TYPED = ("hidden", "submit", "button", "checkbox", "radio", "image", "file", "range", "color",
             "reset", "date", "time", "datetime-local", "week")

_AUTOCOMPLETE = {field: re.compile(pattern) for field, pattern in AUTOCOMPLETE.items()}
_WORDS = {field: re.compile(pattern) for field, pattern in WORDS.items()}


def fold(text: str) -> str:
    """Lower-cased, with the accent-free spelling appended, so one pattern serves both."""
    low = text.lower()
    bare = "".join(c for c in unicodedata.normalize("NFKD", low) if not unicodedata.combining(c))
    return low if bare == low else f"{low} {bare}"


def card_field(autocomplete: str, words: str) -> str | None:
    """number | cvc | expiry | name, or None: what card field an input with this autocomplete
    attribute and these surrounding words (name, id, labels, placeholder, aria-label) is."""
    ac = (autocomplete or "").lower()
    for field, pattern in _AUTOCOMPLETE.items():
        if pattern.search(ac):
            return field
    text = fold(words or "")
    for field, pattern in _WORDS.items():
        if pattern.search(text):
            return field
    return None


# A label a payer reads beside an input is short: a longer text before it is a paragraph.
LABEL_BEFORE_MAX = 60


def plain_autocomplete(autocomplete: str) -> bool:
    """Whether the autocomplete attribute names no field (absent, on or off): only then may the
    text before an input say what it is; an input marked `email` or `postal-code` is that."""
    return (autocomplete or "").strip().lower() in ("", "on", "off")


def label_before(text: str) -> str | None:
    """What card field the last text before an input names (a <div>Card number</div> above a bare
    input: what a payer reads as its label, though no <label>, placeholder or name says it), or
    None. Only the last text since the previous control counts, and only a short one."""
    text = " ".join((text or "").split())
    if not text or len(text) > LABEL_BEFORE_MAX:
        return None
    return card_field("", text)


def js_table() -> str:
    """The same table for the in-page watcher: a JSON object of JavaScript regex sources."""
    return json.dumps({"autocomplete": AUTOCOMPLETE, "words": WORDS, "notTyped": list(NOT_TYPED),
                       "labelBeforeMax": LABEL_BEFORE_MAX}, ensure_ascii=False)
