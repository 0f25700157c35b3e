"""A payer's hands: the mouse moves along a curve at a hand's pace, clicks press and release, and
keys come one at a time with uneven gaps.

Skimmers that hide from sandboxes count mouse movements and time typing; a run that teleports
the mouse and types at a fixed rate shows them nothing. The figures are modest on purpose (an
audit should not take much longer than the bare flow): a move takes about 0.1 to 0.2 s in 9 to
15 steps (the browser takes each mouse event at its next frame), a press lasts 25 to 45 ms, a key
comes every 25 to 45 ms. Paths are cubic Béziers with control points off the straight line,
eased in and out (slow at the start and end of a move, faster in the middle), never the straight,
even-paced line of a scripted mouse.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from typing import Any

from .capture import later


class Hands:
    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.x: float | None = None
        self.y: float | None = None

    def _pause(self, low_ms: float, high_ms: float) -> None:
        time.sleep(self.rng.uniform(low_ms, high_ms) / 1000)

    def _route(self, page: Any, x: float, y: float) -> list[tuple[float, float, int, float]]:
        """The legs of a move from where the mouse is to (x, y): (x, y, mouse events, pause after in
        seconds) each. A mouse that was never moved first comes into the window (one event)."""
        legs = []
        if self.x is None or self.y is None:
            size = page.viewport_size or {"width": 1280, "height": 900}
            self.x = self.rng.uniform(0.3, 0.7) * size["width"]
            self.y = self.rng.uniform(0.6, 0.9) * size["height"]
            legs.append((self.x, self.y, 1, 0.0))
        x0, y0 = self.x, self.y
        distance = math.hypot(x - x0, y - y0)
        steps = max(8, min(16, int(distance / 40)))
        bend = min(120.0, distance * 0.3)
        nx, ny = (-(y - y0) / distance, (x - x0) / distance) if distance else (0.0, 0.0)
        c1 = (x0 + (x - x0) * 0.3 + nx * self.rng.uniform(-bend, bend), y0 + (y - y0) * 0.3 + ny * self.rng.uniform(-bend, bend))
        c2 = (x0 + (x - x0) * 0.7 + nx * self.rng.uniform(-bend, bend), y0 + (y - y0) * 0.7 + ny * self.rng.uniform(-bend, bend))
        # Three points on the curve, each reached in small straight steps by the driver itself: one
        # round trip per point rather than per mouse event, and as many steps to each point, so
        # that the eased points make the middle of the move the fastest.
        points = 3
        per_point = max(3, round(steps / points))
        for i in range(1, points + 1):
            t = i / points
            t = t * t * (3 - 2 * t)  # ease in and out
            u = 1 - t
            px = u ** 3 * x0 + 3 * u * u * t * c1[0] + 3 * u * t * t * c2[0] + t ** 3 * x
            py = u ** 3 * y0 + 3 * u * u * t * c1[1] + 3 * u * t * t * c2[1] + t ** 3 * y
            legs.append((px, py, per_point, self.rng.uniform(2, 6) / 1000 if i < points else 0.0))
        self.x, self.y = x, y
        return legs

    def move(self, page: Any, x: float, y: float) -> None:
        """Move the mouse from where it is to (x, y) along a curve."""
        _walk(page, self._route(page, x, y))

    def start_move(self, page: Any, x: float, y: float) -> Any:
        """`move`, as a task on the browser connection's loop (`later.queue`): the hand travels
        while the caller goes on asking the browser other things (each mouse event waits for the
        browser's next frame). `arrive` waits for it. None when it could not be queued: the mouse
        was then moved in line."""
        mouse = getattr(getattr(page, "_impl_obj", None), "mouse", None)
        legs = self._route(page, x, y)

        async def travel() -> None:
            for px, py, steps, pause in legs:
                await mouse.move(px, py, steps)
                if pause:
                    await asyncio.sleep(pause)

        task = later.queue(page, travel()) if mouse is not None else None
        if task is None:
            _walk(page, legs)
        return task

    def arrive(self, page: Any, task: Any, timeout_s: float) -> None:
        """Wait for a move `start_move` queued; a move that failed or did not end within
        `timeout_s` raises, since a click now would land wherever the mouse stopped."""
        if task is None:
            return
        later.wait(page, [task], timeout_s)
        problem = later.problem(task)
        if problem is not None:
            raise RuntimeError(f"the mouse did not reach the field: {problem}")

    @staticmethod
    def abandon(task: Any) -> None:
        """A queued move no longer waited for (the step failed): stopped, its outcome collected."""
        if task is not None:
            later.problem(task)

    def press(self, page: Any) -> None:
        """A click where the mouse is: a short wait, then a press of a hand's length."""
        self._pause(10, 25)
        page.mouse.down()
        self._pause(25, 45)
        page.mouse.up()

    def click(self, page: Any, x: float, y: float) -> None:
        self.move(page, x, y)
        self.press(page)

    def point_in(self, box: dict[str, float]) -> tuple[float, float]:
        """Where a payer clicks a field: near its middle, never on its edge."""
        return (box["x"] + box["width"] * self.rng.uniform(0.35, 0.65),
                box["y"] + box["height"] * self.rng.uniform(0.4, 0.6))

    def type(self, page: Any, text: str) -> None:
        """Into whatever has the focus, one key at a time (keydown, keypress, input, keyup each)."""
        page.keyboard.type(text, delay=self.rng.uniform(25, 45))


def _walk(page: Any, legs: list[tuple[float, float, int, float]]) -> None:
    """The legs of a move (`Hands._route`), one call per leg, the caller waiting for each."""
    for px, py, steps, pause in legs:
        page.mouse.move(px, py, steps=steps)
        if pause:
            time.sleep(pause)
