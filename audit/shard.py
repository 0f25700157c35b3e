"""Shards: one set of scenarios split over several machines, and their reports merged into one.

`run DIR --shard I/N` audits the I-th of N parts of the scenarios. The partition is by path: the
scenarios' repository paths, sorted, dealt round-robin (the k-th path goes to shard k mod N), so
every machine that checks out the same repository gets the same part on every run and re-run, and
the N parts together hold every scenario exactly once. A shard first writes `shard.json`, what it
was asked to audit (its part and the whole set), then its usual outputs; `summary.json` comes last.

`merge SHARD_DIR... -o OUT` copies each scenario's folder into OUT and writes one index.html,
summary.json, junit.xml and results.sarif over all of them. It fails closed: a shard that is
missing, or that holds fewer scenarios than its part says (killed, out of time, an artifact lost),
makes each scenario it should have audited an inconclusive row in every output, and the merge
exits 3, whatever the other shards found, since the set the gate was asked about was not audited.
Shards of different scenario sets, or one part given twice, are an input error (2).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError
from .outputs import worst_exit, write_run, write_suite
from .source import repository_path

SHARD_FILE = "shard.json"
SHARD_SCHEMA = "card-audit/shard/v1"
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


# -- run --shard -------------------------------------------------------------------------------
def parse_shard(spec: str) -> tuple[int, int]:
    """"2/3" -> (2, 3); InputError naming the flag otherwise."""
    m = _SPEC.match(spec or "")
    if not m:
        raise InputError(f"--shard {spec}: expected I/N, e.g. 2/3 (the 2nd of 3 shards)")
    index, total = int(m.group(1)), int(m.group(2))
    if total < 1 or not 1 <= index <= total:
        raise InputError(f"--shard {spec}: I must be between 1 and N, and N at least 1")
    return index, total


def partition(paths: list[str], index: int, total: int) -> list[str]:
    """The repository paths of shard `index` of `total` (1-based): sorted, dealt round-robin."""
    return [p for k, p in enumerate(sorted(paths)) if k % total == index - 1]


def set_digest(paths: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(paths)).encode()).hexdigest()


def select(scenarios: list[Any], spec: str) -> tuple[list[Any], dict[str, Any]]:
    """This shard's scenarios (in sorted path order) and the record of its part, for shard.json."""
    index, total = parse_shard(spec)
    by_path: dict[str, Any] = {}
    for s in scenarios:
        path = repository_path(s.source_path)
        if path in by_path:
            raise InputError(f"{s.source_path}: named twice (as {by_path[path].source_path} too); "
                             "a shard partition needs each scenario once")
        by_path[path] = s
    mine = partition(list(by_path), index, total)
    record = {"schema": SHARD_SCHEMA, "index": index, "total": total, "scenarios": mine,
              "all": sorted(by_path), "set": set_digest(list(by_path))}
    return [by_path[p] for p in mine], record


def write_shard_record(record: dict[str, Any], top: Path) -> None:
    """shard.json before anything runs, and no summary from an earlier run left beside it: a shard
    that dies half way must read as incomplete, never as a stale complete one."""
    top.mkdir(parents=True, exist_ok=True)
    (top / "summary.json").unlink(missing_ok=True)
    (top / SHARD_FILE).write_text(json.dumps(record, indent=2) + "\n")


# -- merge -------------------------------------------------------------------------------------
@dataclass
class ShardFolder:
    folder: Path
    record: dict[str, Any] | None                 # shard.json; None for an unsharded run's folder
    entries: list[tuple[dict[str, Any], Path]]    # (result, its scenario folder)
    problems: list[str] = field(default_factory=list)


@dataclass
class Merged:
    out: Path
    index: Path
    exit_code: int
    entries: list[tuple[dict[str, Any], Path]]
    problems: list[str]                           # what made the merge incomplete (exit 3)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def _read_result(path: Path) -> dict[str, Any] | None:
    data = _read_json(path)
    ok = isinstance(data, dict) and data.get("schema") == "card-audit/result/v1" and isinstance(
        data.get("scenario"), dict) and data.get("verdict") in ("pass", "fail", "inconclusive")
    return data if ok else None


def _inside(folder: Path, path: Path) -> bool:
    """A summary names results inside its own folder; anything else is not a shard's result."""
    try:
        path.resolve().relative_to(folder.resolve())
        return path.parent.resolve() != folder.resolve()
    except (ValueError, OSError):
        return False


def scenario_path(result: dict[str, Any]) -> str:
    """The repository path a result was audited from."""
    scenario = result.get("scenario") or {}
    path = (scenario.get("source") or {}).get("path")
    return str(path) if path else repository_path(str(scenario.get("file") or "?").split("::")[0])


def _load_folder(folder: Path) -> ShardFolder:
    raw = _read_json(folder / SHARD_FILE) if (folder / SHARD_FILE).exists() else None
    record = raw if isinstance(raw, dict) and raw.get("schema") == SHARD_SCHEMA else None
    shard = ShardFolder(folder, record, [])
    if (folder / SHARD_FILE).exists() and record is None:
        shard.problems.append(f"{folder}/{SHARD_FILE}: unreadable or not a card-audit shard record")
    summary = _read_json(folder / "summary.json")
    if isinstance(summary, dict) and isinstance(summary.get("scenarios"), list):
        for row in summary["scenarios"]:
            rel = row.get("result") if isinstance(row, dict) else None
            inside = isinstance(rel, str) and _inside(folder, folder / rel)
            result = _read_result(folder / rel) if inside else None
            if result is None:
                shard.problems.append(f"{folder}: {rel or 'a scenario'}: result missing or unreadable")
                continue
            shard.entries.append((result, (folder / rel).parent))
        return shard
    if (folder / "result.json").is_file() and record is None:  # a one-scenario run's folder
        result = _read_result(folder / "result.json")
        if result is not None:
            shard.entries.append((result, folder))
            return shard
    # No summary: the shard did not finish. Keep every scenario it did finish.
    shard.problems.append(f"{folder}: no summary.json: the run did not finish")
    for path in sorted(folder.glob("*/result.json")):
        result = _read_result(path)
        if result is not None:
            shard.entries.append((result, path.parent))
    return shard


def _named(path: str) -> tuple[str, str]:
    """(name, processor) of a scenario file, when the merge runs in a checkout that has it."""
    try:
        from .scenario import load_scenario
        scenario = load_scenario(Path(path))
        return scenario.name, scenario.processor
    except Exception:  # noqa: BLE001 - not here, or not valid here: the path names it well enough
        return path, "unknown"


def _not_audited(path: str, reason: str) -> dict[str, Any]:
    """An inconclusive row for a scenario no shard brought back: it shows in every output."""
    name, processor = _named(path)
    return {
        "schema": "card-audit/result/v1", "tool": {"name": "card-audit"},
        "scenario": {"name": name, "file": path, "processor": processor, "source": {"path": path}},
        "verdict": "inconclusive", "exit_code": 3, "duration_s": 0.0,
        "flow": {"completed": False, "steps": []}, "findings": [], "requests": [],
        "errors": [{"stage": "merge", "message": f"not audited: {reason}"}],
    }


def merge(folders: list[Path], out: Path) -> Merged:
    """Merge shard folders into `out`. InputError for shards of different sets or a part given twice."""
    out_resolved = out.resolve()
    for folder in folders:
        if folder.exists() and folder.resolve() == out_resolved:
            raise InputError(f"-o {out}: is one of the shard folders; merge into a new folder")
    if out.exists() and not out.is_dir():
        raise InputError(f"-o {out}: exists and is not a folder")
    problems: list[str] = []
    shards: list[ShardFolder] = []
    for folder in folders:
        if not folder.is_dir():
            problems.append(f"{folder}: missing shard (no such folder)")
            continue
        shard = _load_folder(folder)
        problems += shard.problems
        shards.append(shard)

    sharded = [s for s in shards if s.record]
    expected: dict[str, tuple[str, bool]] = {}   # repository path -> (its part, whether that part came)
    if sharded:
        first = sharded[0].record or {}
        for s in sharded[1:]:
            r = s.record or {}
            if (r.get("total"), r.get("set")) != (first.get("total"), first.get("set")):
                raise InputError(f"{s.folder}: shard {r.get('index')}/{r.get('total')} is of another scenario set "
                                 f"than {sharded[0].folder} ({first.get('index')}/{first.get('total')}): "
                                 "merge the shards of one run")
        seen: dict[int, Path] = {}
        for s in sharded:
            idx = int((s.record or {}).get("index", 0))
            if idx in seen:
                raise InputError(f"{s.folder}: shard {idx}/{first.get('total')} given twice (also {seen[idx]})")
            seen[idx] = s.folder
        total = int(first.get("total", 0))
        everything = [str(p) for p in first.get("all") or []]
        for idx in range(1, total + 1):
            part = partition(everything, idx, total)
            where = f"shard {idx}/{total}"
            if idx not in seen:
                if part:
                    problems.append(f"{where} missing: {len(part)} scenario(s) not audited: {', '.join(part)}")
            for path in part:
                expected[path] = (f"{where} ({seen[idx]})", True) if idx in seen else (f"{where} is missing", False)

    entries: list[tuple[dict[str, Any], Path]] = []
    got: set[str] = set()
    for shard in shards:
        for result, folder in shard.entries:
            path = scenario_path(result)
            if path in got:
                raise InputError(f"{folder}: {path} was audited twice (in two of the folders given)")
            got.add(path)
            entries.append((result, folder))
    for path, (where, came) in expected.items():
        if path not in got and came:
            problems.append(f"{where}: incomplete: {path} not audited")
    lacking = [(p, w, came) for p, (w, came) in expected.items() if p not in got]
    if not entries and not lacking:
        problems.append("no shard results found in " + ", ".join(map(str, folders)))

    out.mkdir(parents=True, exist_ok=True)
    placed: list[tuple[dict[str, Any], Path]] = []
    used: set[str] = set()

    def slot(stem: str) -> Path:
        name, n = stem, 2
        while name in used:
            name, n = f"{stem}-{n}", n + 1
        used.add(name)
        return out / name

    for result, folder in entries:
        target = slot(folder.name if folder.name else "scenario")
        if folder.resolve() != target.resolve():
            shutil.copytree(folder, target, symlinks=True, dirs_exist_ok=True)  # links stay links
        placed.append((result, target))
    for path, where, came in lacking:
        result = _not_audited(path, f"{where} did not bring it back" if came else where)
        target = slot(Path(path).stem or "scenario")
        write_run(result, target)
        placed.append((result, target))

    codes = [int(r.get("exit_code", 3)) for r, _ in placed]
    exit_code = 3 if problems else worst_exit(codes or [3])
    extra = {"exit_code": exit_code, "complete": not problems, "problems": problems,
             "shards": [{"folder": str(s.folder), "index": (s.record or {}).get("index"),
                         "total": (s.record or {}).get("total"), "scenarios": len(s.entries)} for s in shards]}
    index = write_suite(placed, out, extra=extra)
    return Merged(out, index, exit_code, placed, problems)
