"""Shard partition and merge, without a browser: shard folders are written from sample results."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from audit.errors import InputError
from audit.outputs import write_run, write_suite
from audit.shard import SHARD_SCHEMA, merge, parse_shard, partition, set_digest, write_shard_record
from conftest import run_cli
from test_output_support import load

PATHS = [f"audits/{name}.yaml" for name in ("a", "b", "c", "d", "e", "f", "g")]
VERDICT_OF = {"a": "fail", "b": "pass", "c": "pass", "d": "inconclusive", "e": "pass", "f": "pass", "g": "pass"}


@pytest.mark.parametrize(("spec", "want"), [("1/1", (1, 1)), ("2/3", (2, 3)), (" 3 / 3 ", (3, 3))])
def test_parse_shard(spec: str, want: tuple[int, int]) -> None:
    assert parse_shard(spec) == want


@pytest.mark.parametrize("spec", ["0/3", "4/3", "1/0", "3", "a/b", "-1/2", ""])
def test_parse_shard_refuses(spec: str) -> None:
    with pytest.raises(InputError, match="--shard"):
        parse_shard(spec)


@pytest.mark.parametrize("seed", range(20))
def test_partition_covers_every_path_once_whatever_the_order(seed: int) -> None:
    rng = random.Random(seed)
    paths = [f"s/{rng.randrange(10**6)}-{i}.yaml" for i in range(rng.randrange(0, 40))]
    total = rng.randrange(1, 8)
    parts = [partition(paths, i, total) for i in range(1, total + 1)]
    assert sorted(p for part in parts for p in part) == sorted(paths)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1           # balanced
    shuffled = paths[:]
    rng.shuffle(shuffled)
    assert [partition(shuffled, i, total) for i in range(1, total + 1)] == parts  # by path, not by order


def _result(path: str) -> dict[str, Any]:
    stem = Path(path).stem
    verdict = VERDICT_OF[stem]
    result = load({"fail": "fail", "pass": "pass", "inconclusive": "inconclusive"}[verdict])
    result["scenario"] = {**result["scenario"], "name": f"scenario {stem}", "file": path, "source": {"path": path}}
    return result


def _shard(folder: Path, index: int, total: int, paths: list[str] = PATHS) -> list[str]:
    mine = partition(paths, index, total)
    write_shard_record({"schema": SHARD_SCHEMA, "index": index, "total": total, "scenarios": mine,
                        "all": sorted(paths), "set": set_digest(paths)}, folder)
    entries = []
    for path in mine:
        result = _result(path)
        write_run(result, folder / Path(path).stem)
        entries.append((result, folder / Path(path).stem))
    write_suite(entries, folder)
    return mine


@pytest.fixture
def shards(tmp_path: Path) -> list[Path]:
    folders = [tmp_path / f"shard-{i}" for i in (1, 2, 3)]
    for i, folder in enumerate(folders, start=1):
        _shard(folder, i, 3)
    return folders


def test_merge_of_complete_shards(shards: list[Path], tmp_path: Path) -> None:
    merged = merge(shards, tmp_path / "out")
    assert merged.problems == [] and merged.exit_code == 1   # a failure outranks the inconclusive one
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["exit_code"] == 1 and summary["complete"] is True
    assert sorted(s["file"] for s in summary["scenarios"]) == PATHS
    assert {s["name"]: s["verdict"] for s in summary["scenarios"]} == {f"scenario {k}": v for k, v in VERDICT_OF.items()}
    for row in summary["scenarios"]:
        assert (tmp_path / "out" / row["report"]).is_file() and (tmp_path / "out" / row["result"]).is_file()
    assert [s["index"] for s in summary["shards"]] == [1, 2, 3]
    sarif = json.loads((tmp_path / "out" / "results.sarif").read_text())
    assert len(sarif["runs"]) == 1
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]} \
        <= set(PATHS)
    junit = (tmp_path / "out" / "junit.xml").read_text()
    assert junit.count("<testcase") == len(PATHS)
    index = (tmp_path / "out" / "index.html").read_text()
    assert all(f'href="{Path(p).stem}/report.html"' in index for p in PATHS)
    assert 'id="incomplete"' not in index


def test_merge_with_a_shard_folder_deleted_is_inconclusive_and_names_it(shards: list[Path], tmp_path: Path) -> None:
    import shutil
    lost = partition(PATHS, 2, 3)
    shutil.rmtree(shards[1])
    merged = merge(shards, tmp_path / "out")
    assert merged.exit_code == 3   # even though shard 1 holds a failure: the set was not audited
    text = "\n".join(merged.problems)
    assert str(shards[1]) in text and "shard 2/3 missing" in text and all(p in text for p in lost)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["exit_code"] == 3 and summary["complete"] is False
    rows = {s["file"]: s for s in summary["scenarios"]}
    assert sorted(rows) == PATHS                       # the lost ones are rows too, inconclusive
    assert all(rows[p]["verdict"] == "inconclusive" and (tmp_path / "out" / rows[p]["report"]).is_file() for p in lost)
    assert "shard 2/3" in (tmp_path / "out" / "junit.xml").read_text()
    index = (tmp_path / "out" / "index.html").read_text()
    assert 'id="incomplete"' in index and "shard 2/3 missing" in index


def test_merge_without_naming_one_shard_is_inconclusive(shards: list[Path], tmp_path: Path) -> None:
    merged = merge([shards[0], shards[2]], tmp_path / "out")
    assert merged.exit_code == 3 and any("shard 2/3 missing" in p for p in merged.problems)


def test_merge_of_a_shard_that_did_not_finish(shards: list[Path], tmp_path: Path) -> None:
    """Killed half way: no summary, one result written. What it finished is kept; the rest is 3."""
    import shutil
    (shards[0] / "summary.json").unlink()
    done, undone = partition(PATHS, 1, 3)[0], partition(PATHS, 1, 3)[1:]
    for path in undone:
        shutil.rmtree(shards[0] / Path(path).stem)
    merged = merge(shards, tmp_path / "out")
    assert merged.exit_code == 3
    text = "\n".join(merged.problems)
    assert "did not finish" in text and all(f"{p} not audited" in text for p in undone)
    assert "shard 1/3" in text
    rows = {s["file"]: s["verdict"] for s in json.loads((tmp_path / "out" / "summary.json").read_text())["scenarios"]}
    assert rows[done] == VERDICT_OF[Path(done).stem] and all(rows[p] == "inconclusive" for p in undone)


def test_merge_of_a_shard_missing_one_result(shards: list[Path], tmp_path: Path) -> None:
    victim = partition(PATHS, 3, 3)[0]
    (shards[2] / Path(victim).stem / "result.json").unlink()
    merged = merge(shards, tmp_path / "out")
    assert merged.exit_code == 3 and any(victim in p and "shard 3/3" in p for p in merged.problems)


def test_shards_of_different_sets_or_given_twice_are_input_errors(shards: list[Path], tmp_path: Path) -> None:
    other = tmp_path / "other"
    _shard(other, 2, 3, PATHS[:-1])
    with pytest.raises(InputError, match="another scenario set"):
        merge([shards[0], other], tmp_path / "out")
    with pytest.raises(InputError, match="given twice"):
        merge([shards[0], shards[1], shards[1]], tmp_path / "out2")
    with pytest.raises(InputError, match="one of the shard folders"):
        merge(shards, shards[0])


def test_cli_merge_and_shard_flags(shards: list[Path], tmp_path: Path) -> None:
    ok = run_cli("merge", *shards, "-o", tmp_path / "m1")
    assert ok.code == 1 and "index:" in ok.stderr, ok.stderr
    gone = run_cli("merge", shards[0], tmp_path / "nope", shards[2], "-o", tmp_path / "m2")
    assert gone.code == 3 and str(tmp_path / "nope") in gone.stderr and "shard 2/3 missing" in gone.stderr
    assert "Traceback" not in gone.stderr
    bad = run_cli("run", "scenarios/", "--shard", "4/3", out=tmp_path / "r")
    assert bad.code == 2 and "--shard 4/3" in bad.stderr
    assert run_cli("merge", "-o", tmp_path / "m3").code == 2   # no shard folder named


def test_merge_reads_results_only_inside_each_shard_folder(shards: list[Path], tmp_path: Path) -> None:
    """A tampered summary cannot make merge copy a folder from elsewhere on the machine."""
    outside = tmp_path / "elsewhere"
    write_run(_result(PATHS[0]), outside)
    summary = json.loads((shards[0] / "summary.json").read_text())
    summary["scenarios"][0]["result"] = "../elsewhere/result.json"
    (shards[0] / "summary.json").write_text(json.dumps(summary))
    merged = merge(shards, tmp_path / "out")
    assert merged.exit_code == 3 and any("../elsewhere/result.json" in p for p in merged.problems)
    assert not any(folder == outside for _, folder in merged.entries)


def test_an_empty_shard_is_complete_and_merges(tmp_path: Path) -> None:
    """More shards than scenarios: the last part is empty, still recorded, and merge needs it."""
    run = run_cli("run", "scenarios/demo-stripe.yaml", "scenarios/demo-square.yaml", "--shard", "3/3",
                  out=tmp_path / "s3")
    assert run.code == 0, run.stderr
    record = json.loads((tmp_path / "s3" / "shard.json").read_text())
    assert record["scenarios"] == [] and record["all"] == ["scenarios/demo-square.yaml", "scenarios/demo-stripe.yaml"]
    summary = json.loads((tmp_path / "s3" / "summary.json").read_text())
    assert summary["scenarios"] == [] and summary["exit_code"] == 0 and summary["shard"]["index"] == 3
    merged = run_cli("merge", tmp_path / "s3", "-o", tmp_path / "m")
    assert merged.code == 3 and "shard 1/3 missing" in merged.stderr and "shard 2/3 missing" in merged.stderr
    assert "shard 3/3 missing" not in merged.stderr


def test_a_lost_scenario_is_named_from_its_file_when_the_checkout_has_it(shards, tmp_path, monkeypatch):
    import shutil
    lost = partition(PATHS, 2, 3)
    (tmp_path / "audits").mkdir()
    (tmp_path / lost[0]).write_text("name: Invoice 7 paid with Square\nprocessor: square\n"
                                    "start_url: https://invoices.example.test/invoice/7\nsteps:\n  - fill_card: {}\n")
    monkeypatch.chdir(tmp_path)
    shutil.rmtree(shards[1])
    merged = merge(shards, tmp_path / "out")
    rows = {s["file"]: s for s in json.loads((tmp_path / "out" / "summary.json").read_text())["scenarios"]}
    assert (rows[lost[0]]["name"], rows[lost[0]]["processor"]) == ("Invoice 7 paid with Square", "square")
    assert (rows[lost[1]]["name"], rows[lost[1]]["processor"]) == (lost[1], "unknown")
    assert merged.exit_code == 3
