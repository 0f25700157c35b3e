"""The CI examples in docs/ are workflows a team can copy: valid against the GitHub Actions and
GitLab CI schemas (vendored by check-jsonschema, no download), made only of the README's commands,
and the sharded ones merge exactly the shards their matrix runs."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

DOCS = ROOT / "docs"
GITHUB = sorted(DOCS.glob("ci-github-actions*.yml"))
GITLAB = sorted(DOCS.glob("ci-gitlab*.yml"))
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize(("path", "schema"), [(p, "vendor.github-workflows") for p in GITHUB]
                         + [(p, "vendor.gitlab-ci") for p in GITLAB], ids=lambda v: getattr(v, "name", v))
def test_ci_example_is_valid(path: Path, schema: str) -> None:
    cmd = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)]
    if "gitlab" in schema:
        cmd[3:3] = ["--data-transform", "gitlab-ci"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _commands(path: Path) -> list[str]:
    doc = yaml.safe_load(path.read_text())
    lines: list[str] = []
    if "jobs" in doc:  # GitHub Actions
        for job in doc["jobs"].values():
            lines += [s["run"] for s in job["steps"] if "run" in s]
    else:  # GitLab CI
        lines += [c for job in doc.values() if isinstance(job, dict) for c in job.get("script", [])]
    return [line.strip() for text in lines for line in text.splitlines() if line.strip()]


def _readme_commands() -> set[tuple[str, str]]:
    """(program, first argument) pairs of the README's command blocks."""
    found = set()
    for block in re.findall(r"```\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            words = line.split("#")[0].split()
            if len(words) >= 2 and words[0] in ("card-audit", "bash"):
                found.add((words[0], words[1] if words[0] == "card-audit" else " ".join(words[1:3])))
    # The install-only mode is named in the prose under the two set-up commands, as inline code.
    for span in re.findall(r"`(bash setup\.sh \w+)`", README):
        found.add(("bash", " ".join(span.split()[1:3])))
    return found


@pytest.mark.parametrize("path", GITHUB + GITLAB, ids=lambda p: p.name)
def test_ci_example_uses_only_the_readme_commands(path: Path) -> None:
    known = _readme_commands()
    commands = _commands(path)
    assert commands
    for line in commands:
        words = shlex.split(line.replace("${{", "'${{").replace("}}", "}}'"))
        if words[0] == "bash":
            assert ("bash", " ".join(words[1:3])) in known, line
            continue
        assert words[0] == ".venv/bin/card-audit", line
        assert ("card-audit", words[1]) in known, line
        for flag in (w.split("=")[0] for w in words if w.startswith("-")):
            assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", README), (flag, line)


def test_sharded_examples_merge_every_shard_they_run() -> None:
    gh = yaml.safe_load((DOCS / "ci-github-actions-shards.yml").read_text())
    shards = gh["jobs"]["audit"]["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1))
    upload = next(s for s in gh["jobs"]["audit"]["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload["with"]["name"] == "card-audit-shard-${{ matrix.shard }}"
    (run,) = [c for c in _commands(DOCS / "ci-github-actions-shards.yml") if "--shard" in c]
    assert f"--shard ${{{{ matrix.shard }}}}/{len(shards)}" in run
    (merge,) = [c for c in _commands(DOCS / "ci-github-actions-shards.yml") if " merge " in c]
    assert [w for w in merge.split() if w.startswith("shards/")] == [f"shards/card-audit-shard-{i}" for i in shards]
    assert gh["jobs"]["merge"]["needs"] == "audit" and "cancelled" in gh["jobs"]["merge"]["if"]

    gl = yaml.safe_load((DOCS / "ci-gitlab-shards.yml").read_text())
    total = gl["card-audit-shard"]["parallel"]
    (merge,) = [c for c in _commands(DOCS / "ci-gitlab-shards.yml") if " merge " in c]
    assert [w for w in merge.split() if w.startswith("reports/shard-")] == [f"reports/shard-{i}" for i in range(1, total + 1)]
    assert all(rule.get("when") == "always" for rule in gl["card-audit-merge"]["rules"])
