"""The command line: the one place that prints and exits."""

from __future__ import annotations

import argparse
import json
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlsplit

from . import __version__
from .errors import AuditError, InputError

DEFAULT_CONFIG = Path("playwright.config.yaml")
MAX_RESULT_BYTES = 512 * 2**20   # a result keeps large bodies as hashes: far below this
VERDICT_WORD = {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE"}


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="card-audit", description="Prove with a real browser where card "
                                "data typed on a payment page goes.")
    p.add_argument("--version", action="version", version=f"card-audit {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="audit one or more scenarios")
    run.add_argument("scenarios", nargs="+", metavar="SCENARIO|DIR")
    _browser_flags(run)
    run.add_argument("--out", type=Path, help="output folder (default reports/<scenario-stem>/, "
                     "or reports/ for several scenarios)")
    run.add_argument("--config", type=Path, help="playwright.config.yaml (default: ./playwright.config.yaml if present)")
    run.add_argument("--adblock", nargs="?", const="auto", choices=("processor", "lists", "auto"),
                     metavar="processor|lists", help="browse as a payer with an ad blocker: `lists` runs "
                     "the real filter lists (EasyList, EasyPrivacy, uBlock filters), `processor` blocks the "
                     "processor's hosts; plain --adblock means lists when they are installed")
    run.add_argument("--workers", type=int, help="scenarios run in parallel processes")
    run.add_argument("--baseline", type=Path, help="script and header baseline (PCI DSS 6.4.3/11.6.1)")
    run.add_argument("--shard", metavar="I/N", help="audit only the I-th of N parts of the scenarios "
                     "(split by path, the same on every machine); see `merge`")
    _reach_flags(run)
    run.add_argument("--present", action="store_true", help="demonstrate: headed, slowed down (400 ms), "
                     "DevTools on the Network panel, a live feed of requests, the report opened at the end")

    demo = sub.add_parser("demo", help="audit the bundled demo invoice, clean and leaky")
    _browser_flags(demo)
    demo.add_argument("--out", type=Path, default=Path("reports/demo"), help="output folder")

    check = sub.add_parser("check", help="re-judge recorded evidence without a browser")
    check.add_argument("results", nargs="+", type=Path, metavar="RESULT.json")
    check.add_argument("--policy", type=Path, help="YAML with card_data_hosts, card_frame_hosts, "
                       "known_hosts, merchant_hosts to add to the recorded policy")
    check.add_argument("--baseline", type=Path, help="script and header baseline to compare with")
    check.add_argument("--out", type=Path, help="write the re-judged result and report here")

    report = sub.add_parser("report", help="re-render reports from recorded evidence")
    report.add_argument("results", nargs="+", type=Path, metavar="RESULT.json")
    report.add_argument("--out", type=Path, help="folder for the reports (default: beside each result)")

    merge = sub.add_parser("merge", help="one index, summary, JUnit and SARIF over the folders of "
                           "`run --shard` (a missing or incomplete shard is inconclusive: 3)")
    merge.add_argument("shards", nargs="+", type=Path, metavar="SHARD_DIR")
    merge.add_argument("-o", "--out", type=Path, required=True, help="folder for the merged reports")
    init = sub.add_parser("init", help="find the way from a page to its card fields and write a scenario")
    init.add_argument("url", metavar="URL", help="the page a payer starts from (an invoice, a checkout)")
    init.add_argument("-o", "--output", type=Path, help="scenario file to write (default: print it)")
    _browser_flags(init)
    _reach_flags(init)
    init.add_argument("--config", type=Path, help="playwright.config.yaml (default: ./playwright.config.yaml if present)")

    rec = sub.add_parser("record", help="record a person paying in a browser window as a scenario")
    rec.add_argument("url", metavar="URL", help="the page the payment starts from")
    rec.add_argument("-o", "--output", type=Path, help="scenario file to write (default: print it)")
    rec.add_argument("--browser-path", help="Chromium executable to drive")
    _reach_flags(rec)
    rec.add_argument("--config", type=Path, help="playwright.config.yaml (default: ./playwright.config.yaml if present)")

    base = sub.add_parser("baseline", help="script inventory and header baseline")
    base_sub = base.add_subparsers(dest="baseline_command", required=True)
    approve = base_sub.add_parser("approve", help="write a baseline from a recorded run")
    approve.add_argument("result", type=Path, metavar="RESULT.json")
    approve.add_argument("-o", "--output", type=Path, default=Path("baseline.yaml"))

    from .matrix import add_parser as add_matrix
    add_matrix(sub, _browser_flags)
    return p


def _browser_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--headed", action="store_true", help="show the browser window")
    p.add_argument("--slow-mo", type=int, metavar="MS", help="pause this long before each browser action")
    p.add_argument("--browser-path", help="Chromium executable to drive")
    p.add_argument("--trace", choices=("on", "off", "retain-on-failure"), help="Playwright trace (trace.zip)")


STOP_GRACE_S = 20.0   # after SIGTERM: time for runs to write what they recorded, then everything goes


def _on_sigterm(signum: int, _frame: Any) -> None:
    """Stop the running audits: their browsers are stopped, what was recorded is judged and
    written, no new run starts; whatever is still alive after a grace is killed."""
    import os
    import signal
    import threading
    from . import procs, watchdog
    if watchdog.stopping:
        return
    name = signal.Signals(signum).name
    watchdog.stop_all(f"card-audit received {name} and stopped the browser")
    for child in procs.descendants(os.getpid()):
        if child.ppid == os.getpid() and not procs.is_driver(child):
            procs.kill([child], signal.SIGTERM)  # worker processes stop their own runs

    def last_resort() -> None:
        procs.kill(procs.descendants(os.getpid()))
        os._exit(128 + signum)

    timer = threading.Timer(STOP_GRACE_S, last_resort)
    timer.daemon = True
    timer.start()


def _install_signal_handlers() -> None:
    import signal
    import threading
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)


def _worker_init() -> None:
    """Each worker process: dies with card-audit (even one killed with SIGKILL), and stops its
    run like card-audit itself on SIGTERM."""
    import signal
    from .procs import die_with_parent
    _install_signal_handlers()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles ^C
    die_with_parent(signal.SIGTERM)


def _reach_flags(p: argparse.ArgumentParser) -> None:
    """How a URL given on the command line is reached; written into the scenario made from it."""
    p.add_argument("--demo", action="store_true", help="with a URL: serve the bundled demo sites (as `demo: true`)")
    p.add_argument("--host", action="append", default=[], metavar="NAME=ADDRESS:PORT",
                   help="with a URL: resolve NAME to this address (as the scenario's `hosts`); repeatable")
    p.add_argument("--offline", action="store_true", help="with a URL: names not given with --host fail to resolve")
    p.add_argument("--insecure", action="store_true", help="with a URL: accept self-signed certificates")
    p.add_argument("--processor", help="with a URL: the processor profile, instead of recognising it")


def main(argv: Sequence[str] | None = None) -> int:
    _install_signal_handlers()
    parser = _parser()
    try:
        args = parser.parse_args(_adblock_flag(list(sys.argv[1:] if argv is None else argv)))
    except SystemExit as exc:  # argparse already printed the usage error
        return 2 if exc.code else 0
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "demo":
            return cmd_demo(args)
        if args.command == "check":
            return cmd_check(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "baseline":
            return cmd_baseline(args)
        if args.command == "merge":
            return cmd_merge(args)
        if args.command == "adblock-matrix":
            from .matrix import cmd_adblock_matrix
            return cmd_adblock_matrix(args, _config(args), _err)
        if args.command == "init":
            return cmd_init(args)
        if args.command == "record":
            return cmd_record(args)
    except AuditError as exc:
        for line in getattr(exc, "problems", None) or [str(exc)]:
            _err(line if isinstance(exc, InputError) else f"card-audit: {line}")
        return exc.exit_code
    except KeyboardInterrupt:
        _err("card-audit: interrupted")
        return 3
    except Exception as exc:  # noqa: BLE001 - a bug must not read as a verdict: 3, never 0 or 1
        _err(f"card-audit: internal error: {type(exc).__name__}: {exc}")
        return 3
    return 2


def _adblock_flag(argv: list[str]) -> list[str]:
    """A bare `--adblock` before a scenario path: the path is not the flag's value."""
    out = list(argv)
    for i, token in enumerate(out):
        if token == "--adblock" and (i + 1 == len(out) or out[i + 1] not in ("processor", "lists", "auto")):
            out[i] = "--adblock=auto"
    return out


# -- run ---------------------------------------------------------------------------------------
def _config(args: argparse.Namespace) -> Any:
    from .config import MAX_SLOW_MO_MS, load_config
    path = getattr(args, "config", None)
    config = load_config(path if path else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None))
    overrides: dict[str, Any] = {}
    if args.headed:
        overrides["headless"] = False
    if args.slow_mo is not None:
        if args.slow_mo < 0:
            raise InputError("--slow-mo: must be 0 or more")
        if args.slow_mo > MAX_SLOW_MO_MS:
            raise InputError(f"--slow-mo: at most {MAX_SLOW_MO_MS} ms (a pause per browser action)")
        overrides["slow_mo_ms"] = args.slow_mo
    if args.browser_path:
        overrides["executable_path"] = args.browser_path
    if args.trace:
        overrides["trace"] = args.trace
    if getattr(args, "present", False):
        from .present import SLOW_MO_MS
        overrides.update(headless=False, devtools=True)
        if args.slow_mo is None:
            overrides["slow_mo_ms"] = SLOW_MO_MS
    if getattr(args, "workers", None) is not None:
        if args.workers < 1:
            raise InputError("--workers: must be 1 or more")
        overrides["workers"] = args.workers
    return config.with_overrides(**overrides)


def _out_dirs(scenarios: list[Any], out: Path | None, suite: bool = False) -> tuple[list[Path], Path | None]:
    if len(scenarios) == 1 and not suite:
        return [out or Path("reports") / Path(scenarios[0].source_path).stem], None
    top = out or Path("reports")
    dirs, used = [], set()
    for s in scenarios:
        stem = Path(s.source_path).stem
        name, n = stem, 2
        while name in used:
            name, n = f"{stem}-{n}", n + 1
        used.add(name)
        dirs.append(top / name)
    return dirs, top


def cmd_run(args: argparse.Namespace) -> int:
    from .scenario import load_scenarios
    config = _config(args)
    if any(_is_url(a) for a in args.scenarios):
        return _run_url(args, config)
    scenarios = load_scenarios([Path(p) for p in args.scenarios])
    baseline = None
    if args.baseline:
        from .baseline import load_baseline
        baseline = load_baseline(args.baseline)
    if not config.connect:
        from .browser import find_browser
        find_browser(config.executable_path)  # a missing browser is an input error, before any run
    shard = None
    if args.shard is not None:
        from .shard import select, write_shard_record
        scenarios, shard = select(scenarios, args.shard)
    dirs, top = _out_dirs(scenarios, args.out, suite=shard is not None)
    for folder in ([top] if top is not None else []) + dirs:
        make_out_dir(folder, "--out")
    if shard is not None and top is not None:
        write_shard_record(shard, top)
        _err(f"shard {shard['index']}/{shard['total']}: {len(scenarios)} of {len(shard['all'])} scenario(s)")
    jobs = [(str(s.source_path), d) for s, d in zip(scenarios, dirs)]
    present = args.present
    entries = _run_all(jobs, config, args.adblock, baseline, 1 if present else config.workers, present)
    for (result, report), (_, out_dir) in zip(entries, jobs):
        _verdict_lines(result, report)
    codes = [r["exit_code"] for r, _ in entries]
    if top is not None:
        from .outputs import worst_exit, write_suite
        index = write_suite([(r, d) for (r, _), (_, d) in zip(entries, jobs)], top,
                            extra={"shard": shard} if shard else None)
        _err(f"index: {index}")
        return worst_exit(codes)
    return codes[0]


def make_out_dir(folder: Path, flag: str) -> None:
    """Create an output folder before anything runs: one that cannot be made is an input error
    naming the path and the system's reason, not a broken run."""
    import os
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{flag} {folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(folder) else ""
        raise InputError(f"{flag} {folder}: cannot create the folder: {exc.strerror or exc}{where}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {folder}: cannot write into the folder: permission denied")


def _verdict_lines(result: dict[str, Any], report: Path) -> None:
    _err(f"{VERDICT_WORD[result['verdict']]}: {result['scenario']['name']} "
         f"({len(result['findings'])} finding(s)) — report: {report}")
    for f in result["findings"]:
        if f["severity"] in ("critical", "high"):
            _err(f"  {f['severity']}: {f['rule']}: {f['message']}")


def _run_one(path: str, out_dir: Path, config: Any, adblock: str | bool | None, baseline: Any,
             prefix: str = "", present: bool = False) -> tuple[dict[str, Any], Path]:
    from .scenario import load_scenario
    scenario = load_scenario(Path(path))
    return _audit(scenario, config, out_dir, adblock, baseline, prefix, present)


def _audit(scenario: Any, config: Any, out_dir: Path, adblock: str | bool | None, baseline: Any, prefix: str = "",
           present: bool = False, scenario_text: str | None = None) -> tuple[dict[str, Any], Path]:
    from .app import audit_scenario
    progress, on_context = (lambda line: _err(prefix + line)), None
    if present:
        from .present import LiveFeed
        feed = LiveFeed(scenario, lambda line: _err(prefix + line))
        progress, on_context = feed.progress, feed.attach
    result, report = audit_scenario(scenario, config, out_dir, adblock=adblock, baseline=baseline,
                                    progress=progress, on_context=on_context, scenario_text=scenario_text)
    if present:
        from .present import open_report
        _err(f"report opened in your browser: {report}" if open_report(report)
             else f"report: {report} (no browser to open it in)")
    return result, report


def _run_all(jobs: list[tuple[str, Path]], config: Any, adblock: str | bool | None, baseline: Any,
             workers: int, present: bool = False) -> list[tuple[dict[str, Any], Path]]:
    if workers <= 1 or len(jobs) <= 1:
        many = len(jobs) > 1
        return [_run_one(path, out, config, adblock, baseline, f"[{Path(path).stem}] " if many else "", present)
                for path, out in jobs]
    # spawn, not fork: each worker starts clean, with no Playwright or server thread inherited.
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=get_context("spawn"),
                             initializer=_worker_init) as pool:
        futures = [pool.submit(_run_one, path, out, config, adblock, baseline, f"[{Path(path).stem}] ")
                   for path, out in jobs]
        outcomes: list[Any] = []
        for (path, out), future in zip(jobs, futures):
            try:
                outcomes.append(future.result())
            except AuditError:
                raise  # input errors are the user's to fix, whichever worker met them
            except Exception as exc:  # noqa: BLE001 - a worker that died (killed, out of memory)
                outcomes.append((path, out, f"the worker process broke: {type(exc).__name__}: {exc}"))
    # Written once the pool is down: a broken pool stops its other workers, which still write what
    # they recorded; the inconclusive result must be the last word in the folder the summary names.
    return [_worker_broke(o[0], o[1], baseline, o[2]) if len(o) == 3 else o for o in outcomes]


def _worker_broke(path: str, out_dir: Path, baseline: Any, message: str) -> tuple[dict[str, Any], Path]:
    """An inconclusive result for a scenario whose worker died: fail closed, and still write it."""
    from .app import _broken_run
    from .outputs import write_run
    from .detect.policy import HostPolicy
    from .result import build_result
    from .scenario import load_scenario
    scenario = load_scenario(Path(path))
    evidence = _broken_run(scenario, message)
    extra, view = ([], None)
    if baseline is not None:
        from .baseline import compare
        extra, view = compare(evidence, baseline)
    result = build_result(evidence, HostPolicy.for_scenario(scenario), extra, view)
    return result, write_run(result, out_dir)


# -- merge -------------------------------------------------------------------------------------
def cmd_merge(args: argparse.Namespace) -> int:
    from .shard import merge
    make_out_dir(args.out, "-o")
    merged = merge(args.shards, args.out)
    for result, folder in merged.entries:
        _err(f"{VERDICT_WORD.get(result.get('verdict'), 'INCONCLUSIVE')}: {result['scenario'].get('name')} "
             f"({len(result.get('findings') or [])} finding(s)) — report: {folder / 'report.html'}")
    for problem in merged.problems:
        _err(f"card-audit: merge: {problem}")
    if merged.problems:
        _err("card-audit: merge: incomplete: the scenarios above that no shard brought back are "
             "inconclusive (exit 3)")
    _err(f"index: {merged.index}")
    return merged.exit_code
# -- init, and run URL ------------------------------------------------------------------------
def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _reach(args: argparse.Namespace) -> Any:
    from .hosts import parse_address, pattern_problem
    from .live import Reach
    hosts: dict[str, str] = {}
    for item in args.host:
        name, sep, address = item.partition("=")
        problem = pattern_problem(name.strip()) if sep else "give it as NAME=ADDRESS:PORT"
        if not problem:
            try:
                parse_address(address.strip())
            except ValueError as exc:
                problem = str(exc)
        if problem:
            raise InputError(f"--host {item}: {problem}")
        hosts[name.strip()] = address.strip()
    if args.processor:
        from .profiles import load_profile
        load_profile(args.processor, Path("."))  # an unknown name is an input error, before the browser starts
    return Reach(hosts=hosts, ignore_tls=args.insecure, offline=args.offline, demo=args.demo)


def _explore(args: argparse.Namespace, url: str, config: Any, shots: Path) -> tuple[Any, Any, str]:
    from .hosts import host_of
    from .init import explore, scenario_yaml
    if not _is_url(url) or not host_of(url):
        raise InputError(f"{url}: not an http(s) URL")
    if not config.connect:
        from .browser import find_browser
        find_browser(config.executable_path)
    reach = _reach(args)
    shot = shots / f"init-{host_of(url)}.png"
    found = explore(url, reach, config, processor=args.processor, screenshot=shot,
                    headless=config.headless, progress=_err)
    flags = [f for f, on in (("--demo", args.demo), ("--offline", args.offline), ("--insecure", args.insecure)) if on]
    flags += [f"--host {h}" for h in args.host]
    command = " ".join(["card-audit init", url, *flags])
    for note in found.notes:
        _err(f"init: note: {note}")
    return found, reach, scenario_yaml(found, reach, command)


def _write_or_print(text: str, output: Path | None, processor: str | None) -> int:
    """The scenario to its file, or to stdout; either way checked first to load as `run` loads it."""
    import tempfile
    from .init import write_scenario
    if output:
        scenario = write_scenario(text, output)
        _err(f"scenario written: {output} ({len(scenario.steps)} steps, processor {processor}); "
             f"audit it with: card-audit run {output}")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            write_scenario(text, Path(tmp) / "scenario.yaml")
        sys.stdout.write(text)
    return 0


def _no_folder(output: Path | None) -> None:
    if output is not None and output.is_dir():
        raise InputError(f"-o {output}: is a folder; give the scenario file to write")


def cmd_init(args: argparse.Namespace) -> int:
    config = _config(args)
    _no_folder(args.output)
    shots = args.output.parent if args.output else Path("reports") / "init"
    found, _reach_, text = _explore(args, args.url, config, shots)
    return _write_or_print(text, args.output, found.processor)


def cmd_record(args: argparse.Namespace) -> int:
    from .hosts import host_of
    from .init import scenario_yaml
    from .record import canary_help, record
    args.headed, args.slow_mo, args.trace = True, None, None
    config = _config(args)
    if not _is_url(args.url) or not host_of(args.url):
        raise InputError(f"{args.url}: not an http(s) URL")
    _no_folder(args.output)
    from .browser import find_browser
    find_browser(config.executable_path)
    reach = _reach(args)
    _err("record: pay in the browser window as a payer would; close the window when done (or Ctrl+C here)")
    for line in canary_help():
        _err("record: " + line)
    found = record(args.url, reach, config, headless=False, processor=args.processor, progress=_err)
    flags = [f for f, on in (("--demo", args.demo), ("--offline", args.offline), ("--insecure", args.insecure)) if on]
    text = scenario_yaml(found, reach, " ".join(["card-audit record", args.url, *flags]))
    for note in found.notes:
        _err(f"record: note: {note}")
    return _write_or_print(text, args.output, found.processor)


def _run_url(args: argparse.Namespace, config: Any) -> int:
    from .hosts import host_of
    from .init import write_scenario
    if len(args.scenarios) != 1:
        raise InputError("run URL takes one URL and no scenario files")
    url = args.scenarios[0]
    out = args.out or Path("reports") / re.sub(r"[^A-Za-z0-9.-]+", "-", host_of(url) + urlsplit(url).path).strip("-")
    make_out_dir(out, "--out")
    found, _reach_, text = _explore(args, url, config, out)
    path = out / "scenario.yaml"
    scenario = write_scenario(text, path)
    _err(f"init: scenario: {path} ({len(scenario.steps)} steps, processor {found.processor})")
    baseline = None
    if args.baseline:
        from .baseline import load_baseline
        baseline = load_baseline(args.baseline)
    result, report = _audit(scenario, config, out, args.adblock, baseline, "", args.present, text)
    _verdict_lines(result, report)
    _err(f"scenario used: {path} (keep it and run it again with: card-audit run {path})")
    return result["exit_code"]


# -- demo --------------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from .bundled import demo_scenarios
    from .scenario import load_scenario
    config = _config(args)
    if not config.connect:
        from .browser import find_browser
        find_browser(config.executable_path)
    make_out_dir(args.out, "--out")
    from .blocking import packaged_lists
    from .bundled import demo_adblock_runs
    runs = [(path, want, None) for path, want in demo_scenarios()]
    if packaged_lists():
        runs += [(path, want, mode) for path, mode, want in demo_adblock_runs()]
    else:
        _err("(the ad-blocker run is skipped: no filter lists installed; "
             "`apt-get install webext-ublock-origin-chromium` adds them)")
    outcomes = []
    for path, want, mode in runs:
        scenario = load_scenario(path)
        name = scenario.name + (f", with the ad blocker ({mode})" if mode else "")
        _err(f"== {name} (expected: {VERDICT_WORD[want]})")
        out = args.out / (path.stem + (f"-adblock-{mode}" if mode else ""))
        result, report = _run_one(str(path), out, config, mode, None, "  ")
        outcomes.append((name, want, result, report))
    _err("")
    ok = True
    for name, want, result, report in outcomes:
        got = result["verdict"]
        ok &= got == want
        _err(f"{VERDICT_WORD[got]:<13} {name}\n              report: {report}")
        for f in result["findings"]:
            if f["severity"] in ("critical", "high") or f["rule"] == "processor-blocked-by-client":
                _err(f"              {f['severity']}: {f['rule']}: {f['message']}")
    _err("the demo behaved as expected" if ok else "the demo did NOT behave as expected")
    if ok:
        return 0
    # a demo run that proved nothing is inconclusive (3), not a failure of the demo's design (1)
    return 3 if any(r["verdict"] == "inconclusive" for _, _, r, _ in outcomes) else 1


# -- check / report ----------------------------------------------------------------------------
def _load_result(path: Path) -> dict[str, Any]:
    try:
        if path.is_file() and path.stat().st_size > MAX_RESULT_BYTES:
            raise InputError(f"{path}: larger than {MAX_RESULT_BYTES // 2**20} MiB: not a card-audit result")
        data = json.loads(path.read_text())
    except RecursionError:
        raise InputError(f"{path}:1: (json): nested too deeply to be a card-audit result") from None
    except FileNotFoundError:
        raise InputError(f"{path}: no such file")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}")
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: (json): {exc.msg}")
    if not isinstance(data, dict) or data.get("schema") != "card-audit/result/v1":
        raise InputError(f"{path}:1: schema: not a card-audit result (expected schema card-audit/result/v1)")
    return data


def cmd_check(args: argparse.Namespace) -> int:
    from .detect.policy import HostPolicy
    from .result import build_result
    extra_policy = _load_policy(args.policy) if args.policy else {}
    baseline = None
    if args.baseline:
        from .baseline import load_baseline
        baseline = load_baseline(args.baseline)
    codes = []
    for path in args.results:
        old = _load_result(path)
        evidence = _evidence_of(old, path)
        recorded = old.get("policy") or {}
        merged = {k: list(recorded.get(k, [])) + list(extra_policy.get(k, [])) for k in
                  ("card_data_hosts", "card_frame_hosts", "processor_hosts", "known_hosts", "merchant_hosts")}
        policy = HostPolicy.from_dict({**recorded, **merged})
        extra, view = ([], None)
        if baseline is not None:
            from .baseline import compare
            extra, view = compare(evidence, baseline)
        result = build_result(evidence, policy, extra, view)
        _err(f"{VERDICT_WORD[result['verdict']]}: {result['scenario']['name']} ({path})")
        for f in result["findings"]:
            _err(f"  {f['severity']}: {f['rule']}: {f['message']}")
        if args.out:
            from .outputs import write_run
            out = args.out if len(args.results) == 1 else args.out / path.parent.name
            make_out_dir(out, "--out")
            _copy_screenshots(path.parent, out)
            _err(f"  report: {write_run(result, out)}")
        codes.append(result["exit_code"])
    from .outputs import worst_exit
    return worst_exit(codes)


def _evidence_of(result: dict[str, Any], path: Path) -> Any:
    from .result import evidence_from_result
    try:
        return evidence_from_result(result)
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        raise InputError(f"{path}: recorded evidence is incomplete or malformed ({type(exc).__name__}: {exc})")


def _load_policy(path: Path) -> dict[str, list[str]]:
    from .scenario import load_policy_file
    return load_policy_file(path)


def _copy_screenshots(src: Path, dst: Path) -> None:
    import shutil
    if (src / "screenshots").is_dir() and src.resolve() != dst.resolve():
        shutil.copytree(src / "screenshots", dst / "screenshots", dirs_exist_ok=True)


def cmd_report(args: argparse.Namespace) -> int:
    from .outputs import write_run
    for path in args.results:
        result = _load_result(path)
        out = path.parent if not args.out else (args.out if len(args.results) == 1 else args.out / path.parent.name)
        make_out_dir(out, "--out" if args.out else "report folder")
        _copy_screenshots(path.parent, out)
        _err(f"report: {write_run(result, out)}")
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    from .baseline import approve
    result = _load_result(args.result)
    make_out_dir(args.output.parent if str(args.output.parent) else Path("."), "-o")
    if args.output.is_dir():
        raise InputError(f"-o {args.output}: is a folder; give the path of the baseline file to write")
    count = approve(result, args.output)
    _err(f"baseline written: {args.output}: {count} script(s) of {result.get('start_url', '')} "
         "(fill in each script's justification and owner)")
    return 0


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
