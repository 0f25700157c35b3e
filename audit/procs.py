"""The processes a run starts (Playwright's driver, Chromium and its children), found and stopped
through /proc: the sync Playwright API cannot be interrupted from another thread, so a hung call
is ended by stopping the process it waits on.

Linux only (as is every browser card-audit drives here); elsewhere these find nothing and a hung
run ends only when its driver does.
"""

from __future__ import annotations

import ctypes
import os
import signal
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    cpu_s: float          # user + system time so far
    cmdline: str


def _read(pid: int) -> Proc | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        cmdline = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    # "pid (comm) state ppid ..."; comm may hold spaces and parentheses: split at the last ")".
    fields = stat.rpartition(")")[2].split()
    try:
        return Proc(pid, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS, cmdline)
    except (IndexError, ValueError):
        return None


def snapshot() -> dict[int, Proc]:
    procs = {}
    if not PROC.is_dir():
        return procs
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            proc = _read(int(entry.name))
            if proc is not None:
                procs[proc.pid] = proc
    return procs


def descendants(pid: int, procs: dict[int, Proc] | None = None) -> list[Proc]:
    procs = snapshot() if procs is None else procs
    children: dict[int, list[Proc]] = {}
    for proc in procs.values():
        children.setdefault(proc.ppid, []).append(proc)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child.pid)
    return found


def is_driver(proc: Proc) -> bool:
    """Playwright's driver: node running the package's cli.js with `run-driver`."""
    return "run-driver" in proc.cmdline


def browser_processes(owner: int | None = None) -> list[Proc]:
    """Everything the Playwright drivers started by `owner` (default: this process) started: the
    browser, its zygotes, renderers and helpers."""
    procs = snapshot()
    out: list[Proc] = []
    for child in descendants(owner or os.getpid(), procs):
        if child.ppid == (owner or os.getpid()) and is_driver(child):
            out += descendants(child.pid, procs)
    return out


def drivers(owner: int | None = None) -> list[Proc]:
    return [p for p in descendants(owner or os.getpid()) if p.ppid == (owner or os.getpid()) and is_driver(p)]


def renderers(procs: list[Proc]) -> list[Proc]:
    return [p for p in procs if "--type=renderer" in p.cmdline]


def kill(procs: list[Proc], sig: int = signal.SIGKILL) -> int:
    """Signal each process; returns how many were still there to signal."""
    count = 0
    for proc in procs:
        try:
            os.kill(proc.pid, sig)
            count += 1
        except (ProcessLookupError, PermissionError):
            pass
    return count


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask the kernel to send `sig` to this process when its parent dies (Linux prctl
    PR_SET_PDEATHSIG), so a worker never outlives card-audit, even one killed with SIGKILL."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os.kill(os.getpid(), sig)
