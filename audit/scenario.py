"""Scenario files: the payer's flow to drive, the canary card and the policy, validated up front.

A scenario that does not validate never reaches the browser: `load_scenario` raises one InputError
listing every problem as `FILE:LINE: path.to.field: what is wrong`. Steps are one-key mappings
(`- click: "text=Pay Invoice"`), normalised to `{action: ..., ...}` before a discriminated union
validates them, one model per action.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (AfterValidator, BaseModel, BeforeValidator, Field, PrivateAttr,
                      ValidationInfo, field_validator, model_validator)

from audit import hosts
from audit.errors import InputError
from audit.evidence import Card
from audit.profiles import ProcessorProfile, load_profile
from audit.profiles.fields import (CARD_FIELDS, STRICT, CardNumber, Cvc, Expiry, FrameSelector,
                                   HostPattern, HttpUrl, NonEmptyStr, Text)
from audit.yamlsrc import PathKey, YamlDoc, load_yaml, validate

# -- card placeholders -----------------------------------------------------------------------------

CARD_PLACEHOLDERS = (*CARD_FIELDS, "exp_month", "exp_year")
_PLACEHOLDER = re.compile(r"\{card\.([A-Za-z0-9_]*)\}")


def has_card_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER.search(value))


def expand(value: str, card: Card) -> str:
    """Replace `{card.*}` placeholders; `exp_month`/`exp_year` are the expiry's parts as written."""
    month, _, year = card.expiry.partition("/")
    values = {**card.fields(), "exp_month": month, "exp_year": year}
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), value)


def _known_placeholders(value: str) -> str:
    for m in _PLACEHOLDER.finditer(value):
        if m.group(1) not in CARD_PLACEHOLDERS:
            close = difflib.get_close_matches(m.group(1), CARD_PLACEHOLDERS, n=1)
            hint = f"did you mean {{card.{close[0]}}}? " if close else ""
            raise ValueError(f"unknown placeholder {m.group(0)}: {hint}known: "
                             + ", ".join(f"{{card.{p}}}" for p in CARD_PLACEHOLDERS))
    return value


Templated = Annotated[str, BeforeValidator(lambda v: str(v) if type(v) in (int, float) else v),
                      AfterValidator(_known_placeholders)]
Selector = Annotated[NonEmptyStr, AfterValidator(_known_placeholders)]
StepUrl = Annotated[HttpUrl, AfterValidator(_known_placeholders)]
# At most a day: Node's timers wrap beyond 2**31 - 1 ms, and a wrapped timeout fires at once.
PositiveMs = Annotated[int, Field(gt=0, le=24 * 3600 * 1000)]


# -- steps -----------------------------------------------------------------------------------------

class _Step(BaseModel):
    model_config = STRICT
    frame: FrameSelector = None      # iframe selector; a list for nested frames, outermost first
    timeout_ms: PositiveMs | None = None

    @property
    def frames(self) -> tuple[str, ...]:
        if self.frame is None:
            return ()
        return (self.frame,) if isinstance(self.frame, str) else tuple(self.frame)

    def describe(self) -> str:
        """The step's target as reports show it (never a card value)."""
        target = self._target()
        return f"{target} in frame {' > '.join(self.frames)}" if self.frames else target

    def _target(self) -> str:
        raise NotImplementedError


class GotoStep(_Step):
    action: Literal["goto"]
    url: StepUrl

    def _target(self) -> str:
        return self.url


class ClickStep(_Step):
    action: Literal["click"]
    selector: Selector

    def _target(self) -> str:
        return self.selector


class FillStep(_Step):
    """Sets the value at once, except that a value with `{card.*}` is typed key by key."""

    action: Literal["fill"]
    selector: Selector
    value: Templated

    def _target(self) -> str:
        return self.selector


class TypeStep(_Step):
    action: Literal["type"]
    selector: Selector
    value: Templated
    delay_ms: Annotated[int, Field(ge=0, le=60000)] = 50

    def _target(self) -> str:
        return self.selector


class FillCardStep(_Step):
    """Types every card field the profile knows (or only `fields`) inside the processor's frames."""

    action: Literal["fill_card"]
    fields: Annotated[list[Literal["number", "expiry", "cvc", "name", "postal"]],
                      Field(min_length=1)] | None = None

    def _target(self) -> str:
        return "card fields" + (f": {', '.join(self.fields)}" if self.fields else "")


class PressStep(_Step):
    action: Literal["press"]
    selector: Selector | None = None  # None: the focused element
    key: NonEmptyStr

    def _target(self) -> str:
        return f"{self.key} on {self.selector}" if self.selector else self.key


class SelectStep(_Step):
    action: Literal["select"]
    selector: Selector
    value: Templated

    def _target(self) -> str:
        return self.selector


class WaitForStep(_Step):
    """Exactly one of `text`, `selector`, `url` (a bare string is a selector)."""

    action: Literal["wait_for"]
    text: NonEmptyStr | None = None
    selector: Selector | None = None
    url: NonEmptyStr | None = None  # a URL, or a glob such as **/receipt*

    @model_validator(mode="after")
    def _exactly_one(self) -> "WaitForStep":
        given = [k for k in ("text", "selector", "url") if getattr(self, k) is not None]
        if len(given) != 1:
            found = f"found {', '.join(given)}" if given else "found none"
            raise ValueError(f"give exactly one of text, selector, url; {found}")
        return self

    def _target(self) -> str:
        if self.text is not None:
            return f"text={self.text}"
        return self.selector if self.selector is not None else f"url={self.url}"


def _safe_stem(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ValueError(f"name must be a safe file name stem (letters, digits, '.', '_', '-'), got {name!r}")
    return name


class ScreenshotStep(_Step):
    action: Literal["screenshot"]
    name: Annotated[str, BeforeValidator(lambda v: str(v) if type(v) is int else v),
                    AfterValidator(_safe_stem)]
    full_page: bool = False

    def _target(self) -> str:
        return self.name


STEP_MODELS: dict[str, type[_Step]] = {
    "goto": GotoStep, "click": ClickStep, "fill": FillStep, "type": TypeStep,
    "fill_card": FillCardStep, "press": PressStep, "select": SelectStep, "wait_for": WaitForStep,
    "screenshot": ScreenshotStep,
}
ACTIONS: tuple[str, ...] = tuple(STEP_MODELS)
# The field a scalar shorthand fills: `- click: "#pay"` is `{action: click, selector: "#pay"}`.
SHORTHAND = {"goto": "url", "click": "selector", "press": "key", "wait_for": "selector",
             "screenshot": "name"}


def _unknown_action(name: Any) -> ValueError:
    close = difflib.get_close_matches(str(name), ACTIONS, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ValueError(f"unknown action {name!r}: {hint}actions are {', '.join(ACTIONS)}")


def normalize_step(raw: Any) -> Any:
    """Shorthand to the explicit `{action: ..., **fields}` form (idempotent)."""
    if isinstance(raw, str):
        if raw not in STEP_MODELS:
            raise _unknown_action(raw)
        return {"action": raw}
    if not isinstance(raw, dict):
        raise ValueError("a step is a mapping of one action to its arguments, e.g. - click: \"#pay\"")
    if "action" in raw:  # already explicit
        if raw["action"] not in STEP_MODELS:
            raise _unknown_action(raw["action"])
        return raw
    if len(raw) != 1:
        raise ValueError(f"a step holds one action, found {len(raw)} keys ({', '.join(map(str, raw))}); "
                         "give each action its own list item and its options inside its mapping")
    action, args = next(iter(raw.items()))
    if action not in STEP_MODELS:
        raise _unknown_action(action)
    if args is None:
        return {"action": action}
    if isinstance(args, dict):
        if "action" in args:
            raise ValueError(f"{action}: 'action' is not an argument (the key {action!r} is the action)")
        return {"action": action, **args}
    if action == "fill_card" and isinstance(args, list):
        return {"action": action, "fields": args}
    if isinstance(args, (str, int, float)) and not isinstance(args, bool) and action in SHORTHAND:
        return {"action": action, SHORTHAND[action]: args if isinstance(args, str) else str(args)}
    if action in SHORTHAND:
        raise ValueError(f"{action} takes a string ({SHORTHAND[action]}) or a mapping")
    fields = [n for n, f in STEP_MODELS[action].model_fields.items() if n != "action" and f.is_required()]
    example = ", ".join(f"{n}: ..." for n in fields) or "..."
    raise ValueError(f"{action} takes a mapping, e.g. {{{example}}}")


Step = Annotated[
    Union[GotoStep, ClickStep, FillStep, TypeStep, FillCardStep, PressStep, SelectStep, WaitForStep,
          ScreenshotStep],
    Field(discriminator="action"), BeforeValidator(normalize_step)]


# -- the scenario ----------------------------------------------------------------------------------

class CardSpec(BaseModel):
    """The canary card; every missing field comes from the profile's `default_card`."""

    model_config = STRICT
    number: CardNumber | None = None  # normalised to digits only
    expiry: Expiry | None = None
    cvc: Cvc | None = None
    name: NonEmptyStr | None = None
    postal: Text | None = None


class TlsSpec(BaseModel):
    model_config = STRICT
    ignore_errors: bool = False


class PolicySpec(BaseModel):
    """Extends the processor profile's host lists for this scenario."""

    model_config = STRICT
    card_data_hosts: list[HostPattern] = []
    card_frame_hosts: list[HostPattern] = []
    known_hosts: list[HostPattern] = []


def _readable_file(value: Any, info: ValidationInfo) -> Any:
    """Resolve a path relative to the scenario file and check that it can be read now."""
    if not isinstance(value, str) or not value.strip():
        return value  # the type check reports it
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = (info.context or {}).get("base_dir", Path(".")) / path
    if not path.is_file():
        raise ValueError(f"cannot read {value}: {'it is a directory' if path.is_dir() else 'no such file'}"
                         f" (looked for {path})")
    if not os.access(path, os.R_OK):
        raise ValueError(f"cannot read {value}: permission denied")
    return path


class AdblockSpec(BaseModel):
    """Browse as a payer with an ad blocker (see audit/blocking.py for the modes).

    `adblock: true` in a scenario is short for `{block_processor: true}`: block every host of the
    processor profile (`ProcessorProfile.processor_hosts`), the worst case of an over-eager blocker,
    the same as `{mode: processor}`. `{mode: lists}` uses the real filter lists (the installed
    uBlock Origin package's, or the files named in `lists`, relative to the scenario file).
    `block` adds host patterns and `filter_list` an Adblock Plus syntax list to either mode; alone
    they are the whole blocker. Every file is checked to be readable when the scenario loads.
    """

    model_config = STRICT
    mode: Literal["processor", "lists"] | None = None
    lists: list[Annotated[Path, BeforeValidator(_readable_file)]] = []
    block: list[HostPattern] = []
    filter_list: Annotated[Path, BeforeValidator(_readable_file)] | None = None
    block_processor: bool = False

    def effective_mode(self) -> str:
        """processor | lists | custom (only `block` and `filter_list`)."""
        if self.mode:
            return self.mode
        if self.lists:
            return "lists"
        return "processor" if self.block_processor else "custom"

    def blocked_hosts(self, profile: ProcessorProfile) -> list[str]:
        extra = profile.processor_hosts if self.effective_mode() == "processor" else []
        return list(dict.fromkeys([*self.block, *extra]))


def _adblock_shorthand(value: Any) -> Any:
    if value is True:
        return {"block_processor": True}
    return None if value is False else value


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)\s*$", re.I)
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000}


def _duration_ms(value: Any) -> Any:
    """A duration as milliseconds: an integer (ms), "90 s", "15 min", "1h" or "hh:mm:ss"."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return value  # the type check reports it
    if isinstance(value, int):
        return value
    match = _DURATION.match(value)
    if match:
        unit = match.group(2).lower()
        key = "ms" if unit == "ms" else unit[0]
        return int(float(match.group(1)) * _UNIT_MS[key])
    parts = value.strip().split(":")
    if 2 <= len(parts) <= 3 and all(p.isdigit() for p in parts):
        seconds = 0
        for part in parts:
            seconds = seconds * 60 + int(part)
        return seconds * 1000
    raise ValueError(f"not a duration: {value!r} (write e.g. 15 min, 90 s, 500 ms, 1 h or 00:15:00)")


class SettleSpec(BaseModel):
    """What happens after the last step. The page clock is moved forward `fast_forward` (each timer
    due by then fires once), then capture goes on until the network has been quiet `quiet_ms`.
    Capture that had to stop while the network was still busy is incomplete: the run is
    inconclusive unless `on_bound: judge`."""

    model_config = STRICT
    fast_forward: Annotated[int, BeforeValidator(_duration_ms), Field(ge=0, le=7 * 24 * 3600 * 1000)] = 15 * 60 * 1000
    quiet_ms: Annotated[int, Field(ge=0, le=30000)] = 300
    on_bound: Literal["inconclusive", "judge"] = "inconclusive"


def _host_address(value: Any) -> Any:
    if isinstance(value, str):
        hosts.parse_address(value)  # raises ValueError with the reason
    return value


class Scenario(BaseModel):
    model_config = STRICT
    name: NonEmptyStr
    description: str | None = None
    processor: NonEmptyStr           # built-in profile name, or a profile YAML path
    start_url: HttpUrl
    hosts: dict[HostPattern, Annotated[str, AfterValidator(_host_address)]] = {}
    tls: TlsSpec = TlsSpec()
    card: CardSpec = CardSpec()
    steps: list[Step]
    policy: PolicySpec = PolicySpec()
    adblock: Annotated[AdblockSpec | None, BeforeValidator(_adblock_shorthand)] = None
    settle: SettleSpec = SettleSpec()
    # Older form of settle.quiet_ms: when given, the longer of the two is waited for.
    settle_ms: Annotated[int, Field(ge=0, le=30000)] | None = None
    timeout_ms: PositiveMs | None = None                      # default for every step
    demo: bool = False                                        # serve the bundled demo sites
    offline: bool = False                                     # names not in hosts: fail to resolve
    merchant_hosts: list[HostPattern] = []                    # besides the start URL's site
    tags: list[NonEmptyStr] = []

    _profile: ProcessorProfile | None = PrivateAttr(default=None)
    _source_path: Path = PrivateAttr(default=Path("<memory>"))
    _lines: dict[Any, int] = PrivateAttr(default_factory=dict)  # key path -> line in the file

    @field_validator("processor")
    @classmethod
    def _resolve_processor(cls, value: str, info: ValidationInfo) -> str:
        ctx = info.context if info.context is not None else {}
        try:
            ctx["profile"] = load_profile(value, ctx.get("base_dir", Path(".")))
        except InputError as exc:
            located = [p for p in exc.problems if re.match(r"^.+:\d+: ", p)]
            if not located:  # an unknown name, or an unreadable profile file
                raise ValueError(exc.problems[0]) from None
            ctx.setdefault("extra_problems", []).extend(located)
            raise ValueError(f"profile {value} does not validate (its problems are listed "
                             "under its own file)") from None
        return value

    @field_validator("steps")
    @classmethod
    def _at_least_one(cls, value: list[Any]) -> list[Any]:
        if not value:
            raise ValueError("at least one step is required")
        return value

    def model_post_init(self, context: Any) -> None:
        ctx = context or {}
        self._source_path = ctx.get("source_path", Path("<memory>"))
        self._lines = ctx.get("lines", {})
        self._profile = ctx.get("profile") or load_profile(self.processor, ctx.get("base_dir", Path(".")))

    @property
    def profile(self) -> ProcessorProfile:
        assert self._profile is not None  # set in model_post_init
        return self._profile

    @property
    def source_path(self) -> Path:
        """The scenario file as the user named it."""
        return self._source_path

    @property
    def source_lines(self) -> list[int]:
        """Line of `start_url`, then of each step (1 when unknown)."""
        keys = [("start_url",)] + [("steps", i) for i in range(len(self.steps))]
        return [self._lines.get(k, 1) for k in keys]

    @property
    def card_steps(self) -> list[int]:
        """Indices in the recorded flow (0 = opening start_url) of the steps that type card data."""
        return [i for i, s in enumerate(self.steps, start=1) if s.action == "fill_card" or (
            s.action in ("fill", "type") and has_card_placeholder(s.value))]

    @property
    def start_host(self) -> str:
        return hosts.host_of(self.start_url)

    def resolved_card(self, profile: ProcessorProfile | None = None) -> Card:
        default = (profile or self.profile).default_card
        given = self.card
        return Card(number=given.number or default.number, expiry=given.expiry or default.expiry,
                    cvc=given.cvc or default.cvc, name=given.name or default.name,
                    postal=given.postal or default.postal)


# -- loading ---------------------------------------------------------------------------------------

_TEXT_ARGS = ("value", "text", "key", "name", "selector", "url")


def load_scenario(path: Path) -> Scenario:
    """Load and validate one scenario file; raises InputError with every problem on its own line."""
    doc = load_yaml(path)
    context: dict[str, Any] = {"base_dir": path.parent, "source_path": path, "extra_problems": [],
                               "lines": doc.lines}
    return validate(doc, Scenario, _keep_digits(doc), context=context,
                    translate=lambda loc: _locate(doc, loc),
                    extra_problems=context["extra_problems"])


def load_scenarios(paths: list[Path]) -> list[Scenario]:
    """Files and directories (their `*.yaml`/`*.yml`, sorted, not recursive); problems of every file
    are collected before one InputError is raised."""
    files: list[Path] = []
    problems: list[str] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
            if not found:
                problems.append(f"{path}: no scenario files (*.yaml, *.yml) in this directory")
            files += found
        else:
            files.append(path)
    scenarios: list[Scenario] = []
    for file in files:
        try:
            scenarios.append(load_scenario(file))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError("scenarios do not validate", problems=problems)
    return scenarios


class PolicyFile(PolicySpec):
    """A policy file for `card-audit check --policy`: a scenario's `policy:` plus `merchant_hosts`."""

    merchant_hosts: list[HostPattern] = []


def load_policy_file(path: Path) -> dict[str, list[str]]:
    """Host lists to add to a recorded run's policy; InputError with line problems when invalid."""
    policy = validate(load_yaml(path, allow_empty=True), PolicyFile)
    return {name: list(getattr(policy, name)) for name in PolicyFile.model_fields}


def _keep_digits(doc: YamlDoc) -> dict[str, Any]:
    """Put back, as text, numbers YAML parsed from card values and step texts (`cvc: 0123` is octal
    83 to YAML 1.1; the user meant the digits they wrote)."""
    data = copy.deepcopy(doc.data)
    for path, text in doc.raw_numbers.items():
        wanted = (path[:1] == ("card",) and len(path) == 2) or (
            path[:1] == ("steps",) and (len(path) == 3 or (len(path) == 4 and path[3] in _TEXT_ARGS)))
        if wanted:
            _set(data, path, text)
    return data


def _set(data: Any, path: PathKey, value: Any) -> None:
    try:
        for key in path[:-1]:
            data = data[key]
        data[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        pass  # a shape the schema will refuse anyway


def _locate(doc: YamlDoc, loc: tuple[Any, ...]) -> tuple[PathKey, PathKey]:
    """pydantic loc -> (path in the file, path shown). Steps drop pydantic's union tag and use the
    action key as written; a dict-key error drops pydantic's `[key]` marker."""
    loc = tuple(part for part in loc if part != "[key]")
    if len(loc) < 2 or loc[0] != "steps" or not isinstance(loc[1], int):
        return loc, loc
    i, rest = loc[1], loc[2:]
    raw = doc.data.get("steps", [])[i] if isinstance(doc.data.get("steps"), list) else None
    if rest and rest[0] in STEP_MODELS:
        rest = rest[1:]  # the discriminator tag
    if isinstance(raw, dict) and len(raw) == 1 and "action" not in raw:
        path = ("steps", i, next(iter(raw)), *rest)
    elif isinstance(raw, str):
        path = ("steps", i, raw, *rest)  # not a key in the file: lines fall back to the item
    else:
        path = ("steps", i, *rest)
    return path, path
