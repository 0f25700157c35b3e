"""playwright.config.yaml: defaults, the optional default file, a named file that must exist,
line-numbered problems and CLI overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.config import BrowserConfig, Viewport, load_config
from audit.errors import InputError


def write(tmp_path: Path, text: str, name: str = "playwright.config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_config(None, search_dir=tmp_path)
    assert config == BrowserConfig()
    assert (config.browser, config.executable_path, config.headless, config.slow_mo_ms,
            config.timeout_ms, config.viewport, config.trace, config.video, config.connect,
            config.args, config.workers, config.settle_ms) == (
        "chromium", None, True, 0, 15000, Viewport(width=1280, height=900), "off", "off", None,
        [], 1, None)


def test_default_file_is_picked_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "headless: false\nworkers: 3\n")
    assert load_config(None, search_dir=tmp_path).workers == 3
    monkeypatch.chdir(tmp_path)
    assert load_config(None).headless is False


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "# nothing set\n")) == BrowserConfig()


def test_full_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, """\
browser: chromium
executable_path: /usr/bin/chromium
headless: false
slow_mo_ms: 250
timeout_ms: 30000
viewport: {width: 390, height: 844}
trace: retain-on-failure
video: "on"
connect: ws://127.0.0.1:3000/
args: [--lang=en-GB]
workers: 4
settle_ms: 3000
""", "ci.yaml"))
    assert config.viewport == Viewport(width=390, height=844)
    assert (config.trace, config.video, config.connect, config.args) == (
        "retain-on-failure", "on", "ws://127.0.0.1:3000/", ["--lang=en-GB"])
    assert (config.slow_mo_ms, config.timeout_ms, config.workers, config.settle_ms) == (250, 30000, 4, 3000)


def test_viewport_null_means_window_size(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "viewport: null\n")).viewport is None


def test_named_file_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(InputError) as info:
        load_config(missing)
    assert info.value.problems == [f"{missing}: cannot read: no such file"]
    assert info.value.exit_code == 2


@pytest.mark.parametrize("text, expected", [
    ("browser: firefox\n", ["{f}:1: browser: input should be 'chromium', got 'firefox'"]),
    ("slow_mo_ms: -1\n", ["{f}:1: slow_mo_ms: input should be greater than or equal to 0"]),
    ("timeout_ms: 0\n", ["{f}:1: timeout_ms: input should be greater than 0"]),
    ("workers: 0\n", ["{f}:1: workers: input should be greater than or equal to 1"]),
    ("trace: always\n", ["{f}:1: trace: input should be 'on', 'off' or 'retain-on-failure', got 'always'"]),
    # YAML 1.1 reads a bare `on` as true: the message shows what was read.
    ("video: on\n", ["{f}:1: video: input should be 'on', 'off' or 'retain-on-failure', got True"]),
    ("connect: http://127.0.0.1:3000\n",
     ["{f}:1: connect: connect must be a ws:// or wss:// endpoint, got 'http://127.0.0.1:3000'"]),
    # A missing field is reported at the key of the mapping that lacks it.
    ("viewport:\n  width: 800\n", ["{f}:1: viewport.height: required field is missing"]),
    ("viewport: {width: 800, height: 600, scale: 2}\n",
     ["{f}:1: viewport.scale: unknown field (allowed: width, height)"]),
    ("headles: false\nargs: --foo\n", [
        "{f}:1: headles: unknown field (did you mean 'headless'?)",
        "{f}:2: args: input should be a valid list, got '--foo'"]),
    ("workers: 2\nworkers: 3\n", ["{f}:2: workers: duplicate key (first at line 1); YAML keeps only the last one"]),
    ("- headless\n", ["{f}:1: (root): expected a mapping of fields, found a list"]),
    ("headless: [\n", ["{f}:2: (yaml): while parsing a flow node"]),
])
def test_bad_config_lines(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_config(path)
    got = info.value.problems
    want = [e.format(f=path) for e in expected]
    if text.startswith("headless: ["):  # PyYAML's wording varies; pin the location and the field
        assert len(got) == 1 and got[0].startswith(f"{path}:2: (yaml): ")
    else:
        assert got == want


def test_with_overrides() -> None:
    base = BrowserConfig(slow_mo_ms=10, workers=2)
    new = base.with_overrides(headless=False, slow_mo_ms=500, workers=None, executable_path=None)
    assert (new.headless, new.slow_mo_ms, new.workers, new.executable_path) == (False, 500, 2, None)
    assert base.headless is True and base.slow_mo_ms == 10  # the original is untouched
    assert base.with_overrides(viewport={"width": 100, "height": 50}).viewport == Viewport(width=100, height=50)
    assert base.with_overrides() == base


def test_with_overrides_validates() -> None:
    with pytest.raises(InputError) as info:
        BrowserConfig().with_overrides(slow_mo_ms=-5, trace="sometimes")
    assert info.value.problems == [
        "command line: slow_mo_ms: input should be greater than or equal to 0",
        "command line: trace: input should be 'on', 'off' or 'retain-on-failure'"]
    with pytest.raises(TypeError, match="not config fields: headed"):
        BrowserConfig().with_overrides(headed=True)


def test_run_timeout_defaults_and_bounds(tmp_path):
    from audit.config import BrowserConfig, load_config
    from audit.errors import InputError
    assert BrowserConfig().run_timeout_ms == 120000
    path = tmp_path / "playwright.config.yaml"
    path.write_text("timeout_ms: 5000\nrun_timeout_ms: 10\n")
    try:
        load_config(path)
    except InputError as exc:
        assert any(p.startswith(f"{path}:2: run_timeout_ms: input should be greater than or equal to 1000")
                   for p in exc.problems), exc.problems
    else:
        raise AssertionError("a 10 ms deadline was accepted")
