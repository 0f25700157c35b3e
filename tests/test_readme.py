"""The README's examples are true: every command and code block a newcomer copies is run here, or
names the test that runs it.

The "Use" commands run in order in an empty folder, as a newcomer would type them (`shop.yaml`
comes from the `init` line); the pytest example runs with the conftest the README shows; the
scenario example validates. A command added to the README without a way to exercise it fails
`test_every_readme_command_is_exercised`.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from audit.scenario import load_scenario
from conftest import ROOT

README = ROOT / "README.md"
pytestmark = pytest.mark.browser

# How each README command is exercised: None = run by test_use_commands_run_in_order (with the
# exit codes it may end with); otherwise the test that runs it.
HOW: list[tuple[str, object]] = [
    (r"^bash setup\.sh test\b", ".ci/run"),
    (r"^bash setup\.sh install\b", ".ci/run"),  # the install that `setup.sh test` starts with
    (r"^bash setup\.sh demo\b", "same as `card-audit demo`, after the set-up that .ci/run exercises"),
    (r"^card-audit init \S+ --demo -o shop\.yaml$", {0}),
    (r"^card-audit run shop\.yaml$", {0}),
    (r"^card-audit run https://\S+ --demo$", {1}),
    (r"^card-audit record https://invoices\.example\.test/invoice/3001 --demo", "tests/test_record.py::test_recorded_flow_is_a_scenario_that_runs"),
    (r"^card-audit run \S+ --present$", "tests/test_present.py::test_present_shows_devtools_feed_and_opens_the_report"),
    (r"^card-audit run scenarios/ --workers 2$", "tests/test_redteam.py::test_corpus_runs_through_the_cli"),
    (r"^card-audit run shop\.yaml --headed --slow-mo 500$", {0}),
    (r"^card-audit run shop\.yaml --adblock lists --out reports/shop-lists$",
     "tests/test_adblock.py::test_stripe_with_the_lists_names_the_easyprivacy_rules_and_still_pays"),
    (r"^card-audit run shop\.yaml --adblock processor --out reports/shop-blocked$", {1, 3}),  # never a pass
    (r"^card-audit adblock-matrix scenarios/$", "tests/test_adblock.py::test_matrix_over_the_scenarios_folder"),
    (r"^card-audit check reports/shop/result\.json$", {0}),
    (r"^card-audit check reports/shop/result\.json --policy policy\.yaml$", {0}),
    (r"^card-audit report reports/shop/result\.json$", {0}),
    (r"^card-audit baseline approve reports/shop/result\.json -o baseline\.yaml$", {0}),
    (r"^card-audit run shop\.yaml --baseline baseline\.yaml$", {0}),
    (r"^card-audit demo$", {0}),
    (r"^card-audit run scenarios/ --shard \d/\d --out \S+$", "tests/test_shard.py::test_cli_merge_and_shard_flags"),
    (r"^card-audit merge ", "tests/test_shard.py::test_cli_merge_and_shard_flags"),
]


def sections() -> dict[str, str]:
    parts = re.split(r"^## (.+)$", README.read_text(), flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def code_blocks(text: str, lang: str = "") -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def commands(text: str) -> list[tuple[str, str]]:
    """(command, its comment) for each command line of the plain code blocks."""
    found = []
    for block in code_blocks(text):
        for line in block.splitlines():
            if line.startswith(("card-audit ", "bash ")):
                command, _, comment = line.partition("  #")
                found.append((command.strip(), comment.strip()))
    return found


def how(command: str) -> object:
    for pattern, way in HOW:
        if re.search(pattern, command):
            return way
    return None


def test_use_starts_from_init():
    use = sections()["Use"]
    assert commands(use)[0][0].startswith("card-audit init https://invoices.example.test/invoice/1001 --demo")


def test_every_readme_command_is_exercised():
    for command, _ in commands(README.read_text()):
        way = how(command)
        assert way is not None, f"README command exercised by no test: {command}"
        if isinstance(way, str) and "::" in way:
            file, name = way.split("::")
            assert f"def {name}(" in (ROOT / file).read_text(), way
        elif way == ".ci/run":
            assert "bash setup.sh test" in (ROOT / ".ci" / "run").read_text()
    assert "exec .venv/bin/card-audit demo" in (ROOT / "setup.sh").read_text()


def _run(command: str, cwd: Path, display: bool = False) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "audit", *shlex.split(command)[1:]]
    if display:
        argv = ["xvfb-run", "-a", *argv]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_use_commands_run_in_order(tmp_path):
    for command, comment in commands(sections()["Use"]):
        way = how(command)
        if not isinstance(way, set):
            continue
        policy = re.search(r"policy\.yaml: (\{.*\})", comment)
        if policy:
            (tmp_path / "policy.yaml").write_text(policy.group(1) + "\n")
        headed = "--headed" in command
        if headed and shutil.which("xvfb-run") is None:
            pytest.skip("xvfb-run is missing (Debian: apt-get install xvfb)")
        done = _run(command, tmp_path, display=headed)
        assert done.returncode in way, f"{command} exited {done.returncode}:\n{done.stderr[-3000:]}"
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert (tmp_path / "reports" / "shop" / "report.html").is_file()
    assert "steps:" in (tmp_path / "shop.yaml").read_text()


def test_scenario_example_validates(tmp_path):
    block = code_blocks(sections()["Scenarios"], "yaml")[0]
    (tmp_path / "lists").mkdir()
    for name in re.findall(r"lists/([\w.-]+\.txt)", block):  # the filter lists it names
        (tmp_path / "lists" / name).write_text("||ads.example.net^\n")
    path = tmp_path / "example.yaml"
    path.write_text(block)
    scenario = load_scenario(path)
    assert scenario.processor == "stripe" and [s.action for s in scenario.steps][:2] == ["click", "fill_card"]


def test_pytest_example_pays_the_invoice(tmp_path):
    blocks = {b.splitlines()[0].lstrip("# ").strip(): b for b in code_blocks(sections()["In pytest"], "python")}
    assert set(blocks) == {"test_pay_invoice.py", "conftest.py"}
    for name, text in blocks.items():
        (tmp_path / name).write_text(text)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_pay_invoice.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
