"""Hostile or broken input is refused before any browser starts: exit 2, FILE:LINE where there is
one, never a hang or an "internal error"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from audit.errors import InputError
from audit.yamlsrc import MAX_DEPTH, MAX_FILE_BYTES, parse_yaml

from conftest import run_cli

HEAD = "name: x\nprocessor: stripe\nstart_url: https://invoices.example.test/\n"
OK = HEAD + "steps:\n  - click: '#pay'\n"


def alias_bomb(levels: int = 12, width: int = 10) -> str:
    lines = ["a0: &a0 [" + ", ".join(["card"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return HEAD + "\n".join(lines) + f"\nsteps: [*a{levels - 1}]\n"


BAD_SCENARIOS = {
    "alias-bomb": (alias_bomb(), "(yaml): aliases expand"),
    "alias-bomb-in-mapping": (HEAD + "a: &a {k1: x, k2: x, k3: x, k4: x, k5: x, k6: x, k7: x, k8: x}\n" + "".join(
        f"b{i}: &b{i} {{" + ", ".join(f"k{j}: *{'a' if i == 0 else f'b{i - 1}'}" for j in range(9)) + "}\n"
        for i in range(8)) + "steps: [*b7]\n", "(yaml): aliases expand"),
    "nested-20000-flow": (HEAD + "steps: " + "[" * 20000 + "]" * 20000 + "\n", ":4: (yaml): nested more than"),
    "nested-20000-block": (HEAD + "steps:\n" + "".join("  " * i + "- \n" for i in range(1, 200)),
                           "(yaml): nested more than"),
    "recursive-alias": (HEAD + "steps: &s [*s]\n", ":4: (yaml): an alias refers to a value that contains it"),
    "too-large": (OK + "#" * (MAX_FILE_BYTES + 10) + "\n", ":1: (file):"),
}


@pytest.mark.parametrize("name", sorted(BAD_SCENARIOS))
def test_hostile_scenario_is_refused_with_file_and_line(name: str, tmp_path: Path):
    text, expected = BAD_SCENARIOS[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    run = run_cli("run", path, out=tmp_path / "out", timeout=60)
    assert run.code == 2, run.stderr
    assert f"{path}" in run.stderr and expected in run.stderr, run.stderr
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out" / "result.json").exists()  # refused before anything ran


def test_nesting_at_the_bound_still_loads():
    text = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    assert parse_yaml(text, "f.yaml").data["a"] is not None
    with pytest.raises(InputError):
        parse_yaml("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n", "f.yaml")


def test_aliases_used_as_intended_still_load():
    text = ("defaults: &d {timeout_ms: 5000}\n"
            "steps:\n  - click: {selector: a, <<: *d}\n  - click: {selector: b, <<: *d}\n")
    assert parse_yaml(text, "f.yaml").data["steps"][1]["click"]["timeout_ms"] == 5000


def test_config_file_is_bounded_too(tmp_path: Path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(OK)
    config = tmp_path / "playwright.config.yaml"
    config.write_text("args: " + "[" * 5000 + "]" * 5000 + "\n")
    run = run_cli("run", scenario, "--config", config, out=tmp_path / "out", timeout=60)
    assert run.code == 2 and f"{config}:1: (yaml): nested more than" in run.stderr, run.stderr


@pytest.mark.parametrize("where", ["under-a-file", "missing-parent-readonly", "proc"])
def test_out_that_cannot_be_created_names_path_and_reason(where: str, tmp_path: Path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(OK)
    if where == "under-a-file":
        (tmp_path / "plain").write_text("")
        out, reason = tmp_path / "plain" / "sub", "Not a directory"
    elif where == "missing-parent-readonly":
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        out, reason = locked / "a" / "b", "Permission denied"
    else:
        out, reason = Path("/proc/no-such-process/out"), "No such file or directory"
    run = run_cli("run", scenario, out=out, timeout=60)
    assert run.code == 2, run.stderr
    assert f"--out {out}: cannot create the folder: {reason}" in run.stderr, run.stderr
    assert "internal error" not in run.stderr


def test_deeply_nested_result_json_is_an_input_error(tmp_path: Path):
    result = tmp_path / "result.json"
    result.write_text("[" * 100000 + "]" * 100000)
    run = run_cli("check", result, timeout=60)
    assert run.code == 2 and "nested too deeply" in run.stderr, run.stderr


def test_scenario_not_utf8_names_its_line(tmp_path: Path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(OK.encode() + b"# Zahlung f\xfcr Rechnung 1001\n")
    run = run_cli("run", path, out=tmp_path / "out", timeout=60)
    assert run.code == 2 and f"{path}:6: (file): not UTF-8 text (byte 0xfc" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_named_pipe_nobody_writes_to_is_refused_not_waited_on(tmp_path: Path):
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    run = run_cli("run", fifo, out=tmp_path / "out", timeout=60)
    assert run.code == 2 and f"{fifo}: cannot read: a pipe" in run.stderr, run.stderr
    assert not (tmp_path / "out" / "result.json").exists()


def test_scenario_piped_on_stdin_is_read(tmp_path: Path):
    # A pipe with a writer is read to its end: the validation error names the pipe and the line.
    proc = subprocess.run([sys.executable, "-m", "audit", "run", "/dev/stdin", "--out", str(tmp_path / "out")],
                          input=HEAD.replace("https://", "ftp://") + "steps:\n  - click: '#pay'\n",
                          capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 2 and "/dev/stdin:3: start_url: expected an http(s) URL" in proc.stderr, proc.stderr


@pytest.mark.parametrize("text, expected", [
    (HEAD + "timeout_ms: 99999999999\nsteps:\n  - click: '#pay'\n", ":4: timeout_ms: input should be less than or equal to"),
    (HEAD + "steps:\n  - type: {selector: '#n', value: x, delay_ms: 9999999}\n", ":5: steps[0].type.delay_ms:"),
])
def test_durations_a_browser_timer_cannot_hold_are_refused(text: str, expected: str, tmp_path: Path):
    # Node's timers wrap beyond 2**31 - 1 ms and fire at once: every wait of the run would fail.
    path = tmp_path / "s.yaml"
    path.write_text(text)
    run = run_cli("run", path, out=tmp_path / "out", timeout=60)
    assert run.code == 2 and f"{path}{expected}" in run.stderr, run.stderr


def test_slow_mo_beyond_a_minute_is_refused(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_text(OK)
    run = run_cli("run", path, "--slow-mo", "99999999", out=tmp_path / "out", timeout=60)
    assert run.code == 2 and "--slow-mo: at most 60000 ms" in run.stderr, run.stderr
