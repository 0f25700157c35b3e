"""Validated field types shared by processor profiles and scenarios.

Each type is a plain `str` (or list of them) after validation, with a check that explains itself in
one sentence, because that sentence becomes a `FILE:LINE: field: message` line for the user.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, ConfigDict

from audit import hosts
from audit.redact import luhn_ok  # noqa: F401  (one Luhn check for the whole tool)

# Strict: YAML already yields real ints and bools, so "5" for a number or "yes" for a flag is a typo
# worth reporting, not something to coerce.
STRICT = ConfigDict(extra="forbid", frozen=True, strict=True)

CARD_FIELDS = ("number", "expiry", "cvc", "name", "postal")


def _scalar_text(value: Any) -> Any:
    """YAML reads `cvc: 123` and `postal: 94107` as ints; keep their digits as text. Bools are not
    numbers a user meant (`yes` is true in YAML 1.1), so they are left for the type check to refuse."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _card_number(value: str) -> str:
    if not re.fullmatch(r"[0-9][0-9 -]*[0-9]", value.strip()):
        raise ValueError("card number must be digits, optionally grouped with spaces or dashes")
    digits = re.sub(r"[ -]", "", value)
    if not 13 <= len(digits) <= 19:
        raise ValueError(f"card number must have 13 to 19 digits, this one has {len(digits)}")
    if not luhn_ok(digits):
        raise ValueError("card number fails the Luhn check (a typo?); use a processor test card")
    return digits


def _expiry(value: str) -> str:
    m = re.fullmatch(r"(\d{2})/(\d{2}|\d{4})", value.strip())
    if not m:
        raise ValueError(f"expiry must be MM/YY or MM/YYYY, got {value!r}")
    if not 1 <= int(m.group(1)) <= 12:
        raise ValueError(f"expiry month must be 01 to 12, got {m.group(1)}")
    return value.strip()


def _cvc(value: str) -> str:
    if not re.fullmatch(r"\d{3,4}", value.strip()):
        raise ValueError(f"cvc must be 3 or 4 digits, got {value!r}")
    return value.strip()


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _host_pattern(value: str) -> str:
    problem = hosts.pattern_problem(value)
    if problem:
        raise ValueError(problem)
    return hosts.normalize_pattern(value)


def _http_url(value: str) -> str:
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
    except ValueError:
        raise ValueError(f"{value!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"expected an http(s) URL with a host, got {value!r}")
    return value.strip()


def _frame(value: Any) -> Any:
    """An iframe selector, or a list of them from the outermost frame inwards."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("frame selector must not be empty")
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return value
    raise ValueError("frame must be an iframe selector or a non-empty list of them (outermost first)")


NonEmptyStr = Annotated[str, AfterValidator(_non_empty)]
Text = Annotated[str, BeforeValidator(_scalar_text)]
CardNumber = Annotated[str, BeforeValidator(_scalar_text), AfterValidator(_card_number)]
Expiry = Annotated[str, AfterValidator(_expiry)]
Cvc = Annotated[str, BeforeValidator(_scalar_text), AfterValidator(_cvc)]
HostPattern = Annotated[str, AfterValidator(_host_pattern)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
FrameSelector = Annotated[str | list[str] | None, BeforeValidator(_frame)]
