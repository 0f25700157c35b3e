"""Where a scenario lives: its path inside the repository and the line of each step.

Code-scanning dashboards (GitHub, GitLab) place a finding on a file of the repository and a line
in it; they refuse any other kind of location. The file that describes an audited flow is its
scenario, so a finding points at the scenario file, at the line of the step during which the card
data left (or of `start_url` when the finding is about the page itself). Both are taken when the
scenario is loaded and kept in the evidence, so a result judged or rendered elsewhere (a merge
job on another machine, `card-audit check`) still knows them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def repository_path(path: Path | str, cwd: Path | None = None) -> str:
    """`path` relative to the root of the git repository holding it (posix separators).

    Outside any repository: relative to the working directory when the file is under it, else the
    file's name alone. Never absolute, never with `..`, never a URI: a dashboard resolves it against
    the checked-out repository."""
    base = Path(os.path.abspath(cwd if cwd is not None else Path.cwd()))
    # abspath, not realpath: a symlinked scenario is named where the repository has it
    full = Path(os.path.abspath(base / path))
    for parent in full.parents:
        if (parent / ".git").exists():  # a folder in a clone, a file in a linked worktree
            return full.relative_to(parent).as_posix()
    try:
        return full.relative_to(base).as_posix()
    except ValueError:
        return full.name


def scenario_source(scenario: Any) -> dict[str, Any]:
    """{"path", "lines", "card_steps"} of a loaded scenario.

    `lines[i]` is the line of the i-th step of the flow as recorded: 0 is the opening of
    `start_url`, 1.. are the scenario's steps. `card_steps` are the indices of the steps that type
    card data. Empty for a scenario that has no file."""
    path = Path(str(getattr(scenario, "source_path", "<memory>")))
    if str(path) == "<memory>":
        return {}
    return {"path": repository_path(path), "lines": list(scenario.source_lines),
            "card_steps": list(scenario.card_steps)}
