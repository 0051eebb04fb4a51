"""The progress callback every long-running library function takes: ``progress(done, total, name)``.

A function that can run for more than a few seconds takes ``progress: Progress | None = None`` and
calls it with the steps done so far, the steps in the whole run, and what it is working on; the
calls are monotone in ``done`` and the last one has ``done == total``. The command line passes a
Rich bar on standard error (:func:`gripkit.cli.common.progress_bar`); library callers pass nothing,
or their own callback (a notebook bar, a log line).

Callers are never flooded: loops report through :func:`throttled` (at most :data:`MAX_CALLS` calls
a run), and a run made of parts reports each part's steps on one scale with :class:`Steps`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

#: ``progress(done, total, name)``: ``done`` of ``total`` steps finished, working on ``name``.
Progress = Callable[[int, int, str], None]

#: Most calls a throttled loop makes in one run.
MAX_CALLS: Final = 100


def throttled(progress: Progress | None, total: int, limit: int = MAX_CALLS) -> Progress | None:
    """``progress`` forwarding at most about ``limit`` of a loop's ``total`` calls (always the last).

    Examples
    --------
    >>> seen = []
    >>> update = throttled(lambda done, total, name: seen.append(done), 1000, limit=4)
    >>> for i in range(1, 1001):
    ...     update(i, 1000, "cell")
    >>> seen
    [250, 500, 750, 1000]
    """
    if progress is None:
        return None
    every = max(1, math.ceil(total / max(1, limit)))
    target = progress
    last = [0]  # the last bucket of ``every`` steps reported

    def update(done: int, total_now: int, name: str) -> None:
        if done // every > last[0] or done >= total_now:
            last[0] = done // every
            target(done, total_now, name)

    return update


def after(progress: Progress | None, before: int) -> Progress | None:
    """``progress`` for a part that follows ``before`` steps already reported, whose size was not
    known when they were: ``(done, total)`` becomes ``(before + done, before + total)``.

    >>> seen = []
    >>> after(lambda done, total, name: seen.append((done, total)), 12)(3, 43, "Kent")
    >>> seen
    [(15, 55)]
    """
    if progress is None:
        return None
    target = progress

    def update(done: int, total: int, name: str) -> None:
        target(before + done, before + total, name)

    return update


class Steps:
    """One progress scale over the parts of a run: whole steps, and parts reported by callees.

    Examples
    --------
    Two phases and a callee's 3 permutations, 5 steps in all:

    >>> seen = []
    >>> steps = Steps(lambda done, total, name: seen.append((done, total, name)), 5)
    >>> steps.step("counting")
    >>> part = steps.part(3)
    >>> for i in (1, 2, 3):
    ...     part(i, 3, "permutation")
    >>> steps.step("ranking")
    >>> seen[0], seen[-1], [d for d, _, _ in seen]
    ((1, 5, 'counting'), (5, 5, 'ranking'), [1, 2, 3, 4, 5])
    """

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress = progress
        self.total = max(0, int(total))
        self.done = 0

    def step(self, name: str, n: int = 1) -> None:
        """``n`` more steps finished, the last on ``name``."""
        self.done = min(self.total, self.done + n)
        if self.progress is not None:
            self.progress(self.done, self.total, name)

    def part(self, n: int, label: str = "") -> Progress | None:
        """A callback for a callee's ``n`` steps, reported as the next ``n`` steps of this scale
        (its names prefixed with ``label``, e.g. ``"harm: "``)."""
        if self.progress is None:
            return None
        start = self.done
        self.done = min(self.total, start + n)  # reserved even if the callee reports fewer
        progress, total = self.progress, self.total

        def update(done: int, total_part: int, name: str) -> None:
            scaled = n if total_part <= 0 else round(n * min(done, total_part) / total_part)
            progress(min(total, start + scaled), total, label + name)

        return update

    def finish(self, name: str = "done") -> None:
        """Report ``done == total`` (once, if the steps so far fell short of it)."""
        if self.progress is not None and self.done < self.total:
            self.done = self.total
            self.progress(self.done, self.total, name)
