"""Processor profiles: what each payment processor legitimately does in a payer's browser, as data.

One YAML file per processor (stripe, square, paypal, braintree) lists the hosts that may receive card
data, serve card-entry frames, serve scripts or collect telemetry, the documented test cards, the
default canary card and the CSS selectors of the processor's real card inputs, with the public source
of every fact. A user profile is the same YAML; with `extends: stripe` it adds to (or, with
`replace: true`, replaces) the built-in lists.
"""

from __future__ import annotations

import difflib
import functools
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from audit.errors import InputError
from audit.profiles.fields import (STRICT, CardNumber, Cvc, Expiry, HostPattern, HttpUrl,
                                   NonEmptyStr, Text)
from audit.yamlsrc import load_yaml, validate

BUILTIN_PROFILES: tuple[str, ...] = ("stripe", "square", "paypal", "braintree")
_HERE = Path(__file__).resolve().parent
HOST_LISTS = ("card_data_hosts", "card_frame_hosts", "script_hosts", "telemetry_hosts",
              "other_hosts", "popup_hosts")


class Source(BaseModel):
    model_config = STRICT
    url: HttpUrl
    what: NonEmptyStr


class TestCard(BaseModel):
    model_config = STRICT
    __test__ = False  # not a pytest test class, despite the name
    number: CardNumber
    brand: NonEmptyStr
    cvc_digits: Literal[3, 4] = 3
    note: str = ""
    source: HttpUrl


class DefaultCard(BaseModel):
    """The canary typed when a scenario does not name its own: every field required."""

    model_config = STRICT
    number: CardNumber
    expiry: Expiry
    cvc: Cvc
    name: NonEmptyStr
    postal: Text


class CardFields(BaseModel):
    """CSS selectors of the processor's card inputs, tried in order inside its frames."""

    model_config = STRICT
    number: list[NonEmptyStr] = []
    expiry: list[NonEmptyStr] = []
    cvc: list[NonEmptyStr] = []
    name: list[NonEmptyStr] = []
    postal: list[NonEmptyStr] = []


class ProcessorProfile(BaseModel):
    model_config = STRICT
    name: NonEmptyStr
    title: NonEmptyStr
    sources: list[Source] = []
    card_data_hosts: list[HostPattern] = []
    card_frame_hosts: list[HostPattern] = []
    script_hosts: list[HostPattern] = []
    telemetry_hosts: list[HostPattern] = []
    other_hosts: list[HostPattern] = []
    popup_hosts: list[HostPattern] = []
    test_cards: list[TestCard] = []
    default_card: DefaultCard
    card_fields: CardFields = CardFields()
    extends: str | None = None
    replace: bool = False

    @property
    def processor_hosts(self) -> list[str]:
        """Every host pattern the processor uses, in profile order without repeats."""
        return list(dict.fromkeys(h for name in HOST_LISTS for h in getattr(self, name)))


class _DefaultCardPatch(BaseModel):
    model_config = STRICT
    number: CardNumber | None = None
    expiry: Expiry | None = None
    cvc: Cvc | None = None
    name: NonEmptyStr | None = None
    postal: Text | None = None


class ProfilePatch(BaseModel):
    """A user profile that `extends` a built-in one: only `name` and `extends` are required."""

    model_config = STRICT
    name: NonEmptyStr
    extends: str
    replace: bool = False
    title: NonEmptyStr | None = None
    sources: list[Source] = []
    card_data_hosts: list[HostPattern] = []
    card_frame_hosts: list[HostPattern] = []
    script_hosts: list[HostPattern] = []
    telemetry_hosts: list[HostPattern] = []
    other_hosts: list[HostPattern] = []
    popup_hosts: list[HostPattern] = []
    test_cards: list[TestCard] = []
    default_card: _DefaultCardPatch = Field(default_factory=_DefaultCardPatch)
    card_fields: CardFields = CardFields()


def unknown_processor_message(name: str) -> str:
    close = difflib.get_close_matches(name, BUILTIN_PROFILES, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (f"unknown processor {name!r}: {hint}use a built-in profile ({', '.join(BUILTIN_PROFILES)}) "
            "or a path to a profile YAML")


def is_path_like(name: str) -> bool:
    return "/" in name or "\\" in name or name.endswith((".yaml", ".yml"))


def load_profile(name_or_path: str, base_dir: Path) -> ProcessorProfile:
    """A built-in profile by name, or a profile YAML by path (relative to `base_dir`).

    Raises InputError: for an unknown name, one problem without a location; for a user profile that
    does not validate, one `FILE:LINE: field: message` line per problem.
    """
    if name_or_path in BUILTIN_PROFILES:
        return builtin_profile(name_or_path)
    if not is_path_like(name_or_path):
        raise InputError(unknown_processor_message(name_or_path))
    path = Path(name_or_path).expanduser()
    return load_profile_file(path if path.is_absolute() else base_dir / path)


@functools.lru_cache(maxsize=None)
def builtin_profile(name: str) -> ProcessorProfile:
    """Built-in profiles are immutable and validated once per process."""
    if name not in BUILTIN_PROFILES:
        raise InputError(unknown_processor_message(name))
    return load_profile_file(_HERE / f"{name}.yaml")


def load_profile_file(path: Path) -> ProcessorProfile:
    doc = load_yaml(path)
    extends = doc.data.get("extends")
    if extends is None:
        return validate(doc, ProcessorProfile)
    if extends not in BUILTIN_PROFILES:
        # Validate anyway so that every other problem of the file is reported with this one.
        problem = doc.problem(("extends",), "extends",
                              f"must be a built-in profile ({', '.join(BUILTIN_PROFILES)}), "
                              f"got {extends!r}")
        validate(doc, ProfilePatch, extra_problems=[problem])
    patch = validate(doc, ProfilePatch)
    return merge_profile(builtin_profile(patch.extends), patch)


def merge_profile(base: ProcessorProfile, patch: ProfilePatch) -> ProcessorProfile:
    """Append the patch's lists to the base's (or replace them with `replace: true`)."""
    merged: dict[str, Any] = base.model_dump()
    given = patch.model_fields_set
    for key in (*HOST_LISTS, "sources", "test_cards"):
        if key not in given:
            continue
        new = [item if isinstance(item, str) else item.model_dump() for item in getattr(patch, key)]
        merged[key] = new if patch.replace else _unique(merged[key] + new)
    if "card_fields" in given:
        for field, selectors in patch.card_fields.model_dump().items():
            if field in patch.card_fields.model_fields_set:
                merged["card_fields"][field] = (selectors if patch.replace
                                                else _unique(merged["card_fields"][field] + selectors))
    for field, value in patch.default_card.model_dump(exclude_none=True).items():
        merged["default_card"][field] = value
    merged.update(name=patch.name, title=patch.title or base.title, extends=patch.extends,
                  replace=patch.replace)
    return ProcessorProfile.model_validate(merged)


def _unique(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out
