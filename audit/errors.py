"""The tool's own errors. Only the CLI prints them and turns them into exit codes.

    AuditError                  base; .exit_code
    ├── InputError              exit 2: a scenario, config, profile or flag that does not validate
    │   └── BrowserNotFound     exit 2: no Chromium to drive
    └── InconclusiveError       exit 3: the audit could not prove anything
"""

from __future__ import annotations


class AuditError(Exception):
    exit_code = 3


class InputError(AuditError):
    """Bad user input. `problems` holds one `FILE:LINE: field: message` line per problem."""

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or [message]
        super().__init__("\n".join(self.problems))


class BrowserNotFound(InputError):
    pass


class InconclusiveError(AuditError):
    exit_code = 3
