"""Browser calls taken off the flow's critical path.

Playwright's sync API runs its event loop only while a call into the browser is waiting. A task
put on that loop starts at the next call, runs while the flow goes on (the browser takes a
picture while the payer's hand moves to the next field), and is waited for, bounded, before the
browser closes. Calls that only read (screenshots) are queued this way; nothing the flow depends
on is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

SHOT_TIMEOUT_MS = 10000  # one screenshot


def queue(owner: Any, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
    """`coro` as a task on the loop of `owner` (a page, context or CDP session of the sync API);
    None, with the coroutine closed, when the API has no loop to queue on (the caller then makes
    the call in line)."""
    loop = getattr(owner, "_loop", None)
    if loop is None or loop.is_closed():
        coro.close()
        return None
    return loop.create_task(coro)


def screenshot(page: Any, path: str, full_page: bool) -> Coroutine[Any, Any, Any] | None:
    """The coroutine of `page.screenshot(path=..., full_page=...)`, or None on an API without it."""
    impl = getattr(page, "_impl_obj", None)
    if impl is None:
        return None
    try:
        return impl.screenshot(timeout=SHOT_TIMEOUT_MS, type="png", path=path, quality=None,
                               omit_background=None, full_page=full_page, clip=None, animations=None,
                               caret=None, scale=None, mask=None, mask_color=None, style=None)
    except TypeError:  # another Playwright's signature
        return None


def cdp_send(cdp: Any, method: str, params: dict[str, Any] | None = None) -> Coroutine[Any, Any, Any]:
    """The coroutine of `cdp.send(method, params)` (the sync session's implementation)."""
    return cdp._impl_obj.send(method=method, params=params or {}, timeout=None)


def wait(owner: Any, tasks: list[asyncio.Task[Any]], timeout_s: float) -> None:
    """Let the loop run until every task is done, at most `timeout_s`; a browser already gone
    leaves the unfinished ones as they are (the caller reads each task's state)."""
    pending = [t for t in tasks if not t.done()]
    if not pending:
        return
    try:
        owner._sync(asyncio.wait(pending, timeout=timeout_s))
    except Exception:  # noqa: BLE001 - the browser is gone: what was taken stands
        pass


def problem(task: asyncio.Task[Any]) -> str | None:
    """Why a queued call gave nothing (cancelling it if still running), or None when it succeeded."""
    if not task.done():
        task.cancel()
        return "not taken in time"
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    if exc is not None:
        return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return None


def together(owner: Any, coros: list[Coroutine[Any, Any, Any]], timeout_s: float) -> None:
    """Make several calls at once and wait for all of them, at most `timeout_s`: one round trip's
    wait instead of one per call. Calls that fail or do not finish are dropped (best effort)."""
    tasks = [t for t in (queue(owner, c) for c in coros) if t is not None]
    wait(owner, tasks, timeout_s)
    for task in tasks:
        problem(task)  # collects each outcome (an unread failure would be logged by asyncio)


def gather(owner: Any, coros: list[Coroutine[Any, Any, Any]], timeout_s: float) -> list[Any] | None:
    """Make several calls at once and return their results in order (None for a call that failed
    or did not finish within `timeout_s`); None when the API has no loop to queue on (the caller
    then makes the calls one at a time)."""
    tasks = [queue(owner, c) for c in coros]
    if any(t is None for t in tasks):
        for t in tasks:
            if t is not None:
                t.cancel()
        return None
    wait(owner, tasks, timeout_s)
    return [t.result() if problem(t) is None else None for t in tasks]


def queue_all(frames: list[Any], js: str) -> list[asyncio.Task[Any]] | None:
    """`frame.evaluate(js)` in every frame, queued (`queue`): the tasks, in order, for the caller to
    collect later (`wait`, `problem`); None when the API has no loop to queue on."""
    impls = [getattr(frame, "_impl_obj", None) for frame in frames]
    if not frames or any(impl is None for impl in impls):
        return None
    tasks = [queue(frames[0], impl.evaluate(js, None)) for impl in impls]
    if any(t is None for t in tasks):
        for t in tasks:
            if t is not None:
                t.cancel()
        return None
    return tasks


def evaluate_all(frames: list[Any], js: str, timeout_s: float) -> list[Any]:
    """`frame.evaluate(js)` in every frame at once (`gather`): each frame's answer, in order, None
    where it failed or did not come within `timeout_s`. On an API without a loop to queue on, one
    frame at a time."""
    if not frames:
        return []
    impls = [getattr(frame, "_impl_obj", None) for frame in frames]
    answers = None
    if all(impl is not None for impl in impls):
        answers = gather(frames[0], [impl.evaluate(js, None) for impl in impls], timeout_s)
    if answers is None:
        answers = []
        for frame in frames:
            try:
                answers.append(frame.evaluate(js))
            except Exception:  # noqa: BLE001 - detached or navigating: no answer from it
                answers.append(None)
    return answers
