"""Orchestration: scenario in, files out. The CLI and the pytest plugin both call this."""

from __future__ import annotations

import threading
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from . import __version__
from .errors import InconclusiveError, InputError
from .evidence import ErrorRecord, Evidence
from .outputs import write_run
from .detect.policy import HostPolicy
from .result import build_result
from .runner import run_scenario
from .source import scenario_source

Progress = Callable[[str], None]


def audit_scenario(scenario: Any, config: Any, out_dir: Path, *, adblock: str | bool | None = False,
                   baseline: Any = None, progress: Progress | None = None,
                   scenario_text: str | None = None,
                   on_context: Callable[[Any], None] | None = None) -> tuple[dict[str, Any], Path]:
    """Run, judge and write one scenario. Returns the result dict and the report's path.
    `scenario_text`, for a scenario written on the fly, is kept in the result and shown in the report.

    A run that breaks still yields a result (inconclusive) and a report: nothing is lost."""
    progress = progress or (lambda _l: None)
    policy = HostPolicy.for_scenario(scenario)
    warm = _warm_up(scenario)
    try:
        evidence = run_scenario(scenario, config, out_dir, adblock=adblock, progress=progress,
                                on_context=on_context)
    except InputError:
        raise
    except InconclusiveError as exc:
        evidence = _broken_run(scenario, str(exc))
    except Exception as exc:  # noqa: BLE001 - fail closed: any breakage is an inconclusive audit
        evidence = _broken_run(scenario, f"internal error: {type(exc).__name__}: {exc}\n"
                                         + traceback.format_exc(limit=3))
    extra, baseline_view = ([], None)
    if baseline is not None:
        from .baseline import compare
        extra, baseline_view = compare(evidence, baseline)
    warm.join()
    result = build_result(evidence, policy, extra, baseline_view)
    if scenario_text is not None:
        result["scenario"]["yaml"] = scenario_text
    trace = out_dir / "trace.zip"
    if config.trace == "retain-on-failure" and result["verdict"] == "pass" and trace.exists():
        trace.unlink()
    report = write_run(result, out_dir)
    return result, report


def _warm_up(scenario: Any) -> threading.Thread:
    """Compile, while the browser runs the flow, what judging and the report need afterwards: the
    card's pattern set (a few thousand patterns) and the report's templates. The flow mostly waits
    on the browser, so this work is off its critical path; judging waits for it (`join`)."""
    def work() -> None:
        try:
            from .detect.needles import patterns_for
            from .output.html import _environment
            patterns_for(scenario.resolved_card(scenario.profile))
            _environment().get_template("report.html.j2")
        except Exception:  # noqa: BLE001 - judging compiles it again and reports what is wrong
            pass
    thread = threading.Thread(target=work, name="card-audit warm-up", daemon=True)
    thread.start()
    return thread


def _broken_run(scenario: Any, message: str) -> Evidence:
    card = scenario.resolved_card(scenario.profile)
    return Evidence(scenario_name=scenario.name, scenario_file=str(scenario.source_path),
                    processor=scenario.processor, start_url=scenario.start_url, card=card,
                    started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    errors=(ErrorRecord("browser", message),), tool_version=__version__,
                    scenario_source=scenario_source(scenario))
