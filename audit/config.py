"""`playwright.config.yaml`: browser settings shared by every scenario of a project.

CLI flags override the file (`BrowserConfig.with_overrides`); the file overrides the defaults here.
A config the user named must exist; the default file is optional.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, Field, field_validator

from audit.errors import InputError
from audit.profiles.fields import STRICT, NonEmptyStr
from audit.yamlsrc import format_path, load_yaml, validate

DEFAULT_CONFIG_NAME = "playwright.config.yaml"
MAX_SLOW_MO_MS = 60000  # a pause before each browser action; beyond it Node would wrap the timer
Recording = Literal["on", "off", "retain-on-failure"]


class Viewport(BaseModel):
    model_config = STRICT
    width: Annotated[int, Field(gt=0)]
    height: Annotated[int, Field(gt=0)]


class BrowserConfig(BaseModel):
    model_config = STRICT
    browser: Literal["chromium"] = "chromium"
    executable_path: NonEmptyStr | None = None   # else Playwright's Chromium, else the system's
    headless: bool = True
    slow_mo_ms: Annotated[int, Field(ge=0, le=MAX_SLOW_MO_MS)] = 0
    timeout_ms: Annotated[int, Field(gt=0, le=24 * 3600 * 1000)] = 15000  # Node's timers wrap beyond 2**31 - 1 ms
    # The whole run's deadline: at it the browser is stopped and what was recorded is judged.
    run_timeout_ms: Annotated[int, Field(ge=1000, le=24 * 3600 * 1000)] = 120000
    viewport: Viewport | None = Viewport(width=1280, height=900)  # null: the window's own size
    trace: Recording = "off"
    # Playwright's DOM snapshot of every browser call in trace.zip (what the trace viewer shows per
    # action). Off, the trace keeps every call, the network and the console; the step pictures
    # are in screenshots/. The snapshots cost about 1.4 s on the demo flow (benchmarks/bench_flow.py).
    trace_snapshots: bool = False
    video: Recording = "off"
    connect: str | None = None                   # ws endpoint of a remote Playwright server
    # "both": the page layer and the browser's network stack (NetLog) witness every request; a
    # remote browser has no readable NetLog, so a `connect:` run is inconclusive unless this says
    # "page-only", the visible trade-off of auditing with one witness.
    witness: Literal["both", "page-only"] = "both"
    args: list[NonEmptyStr] = []                 # extra browser flags
    workers: Annotated[int, Field(ge=1)] = 1
    devtools: bool = False                       # headed, DevTools open on the Network panel (--present)
    settle_ms: Annotated[int, Field(ge=0, le=30000)] | None = None  # overrides the scenarios'
    # "steps": a picture after every step (what a reviewer reads); "failures": only failed steps,
    # screenshot steps and the end.
    screenshots: Literal["steps", "failures"] = "steps"

    @field_validator("connect")
    @classmethod
    def _websocket(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError(f"connect must be a ws:// or wss:// endpoint, got {value!r}")
        return value

    def with_overrides(self, **cli_values: Any) -> "BrowserConfig":
        """A new config with every non-None value applied (CLI flags win over the file)."""
        unknown = sorted(set(cli_values) - set(type(self).model_fields))
        if unknown:
            raise TypeError(f"not config fields: {', '.join(unknown)}")
        merged = {**self.model_dump(), **{k: v for k, v in cli_values.items() if v is not None}}
        if isinstance(merged.get("viewport"), Viewport):
            merged["viewport"] = merged["viewport"].model_dump()
        try:
            return type(self).model_validate(merged)
        except pydantic.ValidationError as exc:
            problems = [f"command line: {format_path(tuple(e['loc']))}: {e['msg'][:1].lower()}{e['msg'][1:]}"
                        for e in exc.errors(include_url=False)]
            raise InputError("command line options do not validate", problems=problems) from None


def load_config(path: Path | None, *, search_dir: Path | None = None) -> BrowserConfig:
    """The config the user named (which must exist), else `playwright.config.yaml` in `search_dir`
    (default: the working directory) when there is one, else the defaults."""
    if path is None:
        default = (search_dir or Path.cwd()) / DEFAULT_CONFIG_NAME
        if not default.is_file():
            return BrowserConfig()
        path = default
    doc = load_yaml(path, allow_empty=True)  # an empty config file means "all defaults"
    return validate(doc, BrowserConfig)
