"""Visit windows: one daily span, several spans per weekday, and windows derived from offence times.

Grammar of ``--window`` (local time, Europe/London by default)::

    14:00-24:00                                  every day
    20:00-03:00                                  every day, crossing midnight (7 hours)
    20:00-24:00,00:00-03:00                      the same overnight window, in two halves
    Fri-Sat 20:00-03:00,Sun-Thu 18:00-24:00      per weekday (a range may wrap: Sun-Thu)
    Mon-Fri 08:00-10:00,16:00-20:00,Sat-Sun 12:00-24:00   two windows a weekday

Items are separated by commas; an item without days takes the days of the item before it (the
first such item means every day). A window that crosses midnight belongs to the day it starts:
``Fri 20:00-03:00`` is Friday evening to Saturday 03:00, and its visits carry Friday's date. Every
weekday needs a window, and no two windows may overlap (a Friday window running past midnight must
end before Saturday's first one starts), so visits to an area never overlap.

:func:`derive_windows` picks, per weekday (or weekday group), the contiguous span of a stated
length that holds the most of a weekday × hour profile, allowed to wrap midnight, jointly over the
week so the chosen windows do not overlap (an exact dynamic programme over the 24 start hours of
each day). :func:`share_inside` is the share of timestamped harm falling inside windows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gripkit.errors import InputError

DAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MINUTES_PER_WEEK = 7 * 1440
#: The window a plan uses when none is given, and the one kept when ``auto`` cannot be derived
#: (Op Rowan patrolled 14:00-24:00).
DEFAULT_WINDOW = "14:00-24:00"
#: Length of each window ``auto`` derives, in hours, unless told otherwise.
DEFAULT_AUTO_HOURS = 6
EXAMPLE = "'Fri-Sat 20:00-03:00,Sun-Thu 18:00-24:00', '20:00-03:00' or 'auto'"
_SPAN = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*[-–]\s*(\d{1,2})(?::(\d{2}))?\s*$")
_ITEM = re.compile(r"^\s*(?:([A-Za-z]+)(?:\s*[-–]\s*([A-Za-z]+))?\s+)?(\d.*)$")


@dataclass(frozen=True)
class Window:
    """A daily visit window in local time, as minutes after the midnight that starts its day.

    ``end`` may pass 1440: a window crossing midnight (``"20:00-03:00"``) belongs to the day it
    starts and ends the next morning (``end`` = 1620). The split spelling of the same window,
    ``"20:00-24:00,00:00-03:00"``, is the same window.

    Examples
    --------
    >>> Window.parse("14:00-24:00")
    Window(start=840, end=1440)
    >>> Window.parse("14-24").label, Window.parse("14-24").minutes
    ('14:00-24:00', 600)
    >>> Window.parse("20:00-03:00"), Window.parse("20:00-24:00,00:00-03:00").label
    (Window(start=1200, end=1620), '20:00-03:00')
    """

    start: int
    end: int

    @classmethod
    def parse(cls, value: Any) -> Window:
        """Parse ``"HH:MM-HH:MM"`` (or ``"HH-HH"``, or a Window / (start_hour, end_hour) pair).

        An end before the start crosses midnight; ``"A-24:00,00:00-B"`` is read as ``"A-B"``.
        One span only: several windows a day, or per weekday, are :class:`WeekWindows`.
        """
        if isinstance(value, Window):
            return value
        if isinstance(value, tuple) and len(value) == 2:
            return cls.of(round(float(value[0]) * 60), round(float(value[1]) * 60), value)
        parts = [p for p in str(value).split(",") if p.strip()]
        spans = [_span(p, value) for p in parts]
        if len(spans) == 2 and spans[0][1] == 1440 and spans[1][0] == 0:
            spans = [(spans[0][0], spans[1][1] + 1440)]
        if len(spans) != 1:
            raise InputError(
                f"a visit window is one span a day, HH:MM-HH:MM (an end before the start crosses "
                f"midnight, e.g. 20:00-03:00); received {value!r} ({len(spans)} spans). Pass one "
                "span, or the two halves of an overnight one, e.g. 20:00-24:00,00:00-03:00 (several "
                "windows a day or per weekday: WeekWindows.parse)."
            )
        return cls.of(*spans[0], value)

    @classmethod
    def of(cls, start: int, end: int, value: Any = None) -> Window:
        """The window from ``start`` to ``end`` minutes (an end before the start crosses midnight)."""
        if end < start:
            end += 1440
        if not 0 <= start < 1440 or not start < end <= start + 1440:
            raise InputError(
                f"a visit window must start in the day (00:00-23:59) and last at most 24 hours; received "
                f"{value!r}. Pass e.g. 14:00-24:00, or 20:00-03:00 for a window crossing midnight."
            )
        return cls(start, end)

    @property
    def minutes(self) -> int:
        """Length of the window in minutes."""
        return self.end - self.start

    @property
    def label(self) -> str:
        """``"HH:MM-HH:MM"`` (an overnight window shows its end on the clock, e.g. ``20:00-03:00``)."""
        end = self.end if self.end <= 1440 else self.end - 1440
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def _span(text: str, value: Any) -> tuple[int, int]:
    """Minutes (start, end) of one ``HH:MM-HH:MM`` span, else InputError naming the grammar."""
    match = _SPAN.match(text)
    if not match:
        raise InputError(
            f"a visit window must look like HH:MM-HH:MM; received {value!r}. Pass e.g. 14:00-24:00, "
            "or 20:00-03:00 (crossing midnight, it belongs to the day it starts)."
        )
    h1, m1, h2, m2 = match.groups()
    start, end = int(h1) * 60 + int(m1 or 0), int(h2) * 60 + int(m2 or 0)
    if start > 1440 or end > 1440 or int(m1 or 0) > 59 or int(m2 or 0) > 59:
        raise InputError(
            f"a visit window's times must be clock times 00:00-24:00; received {value!r}. "
            "Pass e.g. 20:00-03:00."
        )
    return start, end


@dataclass(frozen=True)
class WeekWindows:
    """Visit windows per weekday: ``days[d]`` holds day ``d``'s windows (0 = Monday), by start.

    Examples
    --------
    >>> w = WeekWindows.parse("Fri-Sat 20:00-03:00,Sun-Thu 18:00-24:00")
    >>> w.on(4), w.on(0)
    ((Window(start=1200, end=1620),), (Window(start=1080, end=1440),))
    >>> w.label, w.minutes, WeekWindows.parse("20:00-24:00,00:00-03:00").label
    ('Sun-Thu 18:00-24:00,Fri-Sat 20:00-03:00', 360, '20:00-03:00')
    """

    days: tuple[tuple[Window, ...], ...]

    @classmethod
    def parse(cls, value: Any) -> WeekWindows:
        """Parse the ``--window`` grammar (module docstring), a :class:`Window` or a WeekWindows."""
        if isinstance(value, WeekWindows):
            return value
        if isinstance(value, Window | tuple):
            return cls.every_day(Window.parse(value))
        text = str(value)
        items = [p for p in text.split(",") if p.strip()]
        if not items:
            raise InputError(f"a visit window must not be empty; received {value!r}. Pass e.g. {EXAMPLE}.")
        groups: list[tuple[tuple[int, ...], list[tuple[int, int]]]] = []
        for item in items:
            match = _ITEM.match(item)
            if not match:
                raise InputError(
                    f"a visit window item must be [DAYS] HH:MM-HH:MM; received {item.strip()!r} in "
                    f"{value!r}. Pass e.g. {EXAMPLE}."
                )
            first, last, span = match.groups()
            if first is not None:
                groups.append((day_range(first, last, value), []))
            elif not groups:
                groups.append((tuple(range(7)), []))
            groups[-1][1].append(_span(span, value))
        days: list[list[Window]] = [[] for _ in range(7)]
        for weekdays, spans in groups:
            for window in _merge_halves(spans, value):
                for d in weekdays:
                    days[d].append(window)
        return cls.of(days, value)

    @classmethod
    def of(cls, days: Sequence[Sequence[Window]], value: Any = None) -> WeekWindows:
        """Windows per weekday (7 lists), checked: every day has one, none overlap."""
        empty = [DAYS[d] for d in range(7) if not days[d]]
        if empty:
            raise InputError(
                f"every weekday needs a visit window; received {value!r}, which leaves {', '.join(empty)} "
                f"without one. Add them, e.g. 'Fri-Sat 20:00-03:00,Sun-Thu 18:00-24:00'."
            )
        week = cls(tuple(tuple(sorted(ws, key=lambda w: w.start)) for ws in days))
        spans = sorted((d * 1440 + w.start, d * 1440 + w.end, d, w) for d in range(7) for w in week.days[d])
        for i, (start, _, day, window) in enumerate(spans):
            before_end, before_day, before = spans[i - 1][1], spans[i - 1][2], spans[i - 1][3]
            if i == 0:
                before_end -= MINUTES_PER_WEEK  # Sunday's window wraps into Monday
            if len(spans) > 1 and start < before_end:
                raise InputError(
                    f"visit windows must not overlap; received {value!r}, where {DAYS[before_day]} "
                    f"{before.label} runs into {DAYS[day]} {window.label}. A window crossing midnight "
                    "belongs to the day it starts: end it before the next day's first window, e.g. "
                    "'Fri-Sat 20:00-03:00,Sun-Thu 18:00-24:00'."
                )
        return week

    @classmethod
    def every_day(cls, window: Window) -> WeekWindows:
        """The same window on every day."""
        return cls.of([[window]] * 7, window.label)

    def on(self, weekday: int) -> tuple[Window, ...]:
        """The windows of ``weekday`` (0 = Monday)."""
        return self.days[int(weekday) % 7]

    @property
    def minutes(self) -> int:
        """Minutes of window on the shortest day (a daily visit count must fit every day)."""
        return min(sum(w.minutes for w in ws) for ws in self.days)

    def fits(self, length: float) -> int:
        """Visits of ``length`` minutes that fit on every day (whole visits in each window)."""
        return min(sum(int(w.minutes // length) for w in ws) for ws in self.days)

    @property
    def label(self) -> str:
        """Canonical text that parses back to these windows (``"14:00-24:00"`` for one every day)."""
        labels = [",".join(w.label for w in ws) for ws in self.days]
        if len(set(labels)) == 1:
            return labels[0]
        runs: list[list[int]] = []
        for d in range(7):
            if runs and labels[runs[-1][-1]] == labels[d]:
                runs[-1].append(d)
            else:
                runs.append([d])
        if len(runs) > 1 and labels[runs[0][0]] == labels[runs[-1][0]]:
            runs[0] = runs.pop() + runs[0]  # Sun + Mon-Thu -> Sun-Thu
        out = []
        for run in runs:
            days = DAYS[run[0]] if len(run) == 1 else f"{DAYS[run[0]]}-{DAYS[run[-1]]}"
            out.append(f"{days} {labels[run[0]]}")
        return ",".join(out)

    @property
    def single(self) -> Window | None:
        """The window when every day has the same single window, else None."""
        return self.days[0][0] if len(set(self.days)) == 1 and len(self.days[0]) == 1 else None

    def mask(self) -> np.ndarray:
        """Boolean per minute of the week (0 = Monday 00:00): inside a window."""
        inside = np.zeros(MINUTES_PER_WEEK, dtype=bool)
        for d, windows in enumerate(self.days):
            for w in windows:
                inside[(d * 1440 + np.arange(w.start, w.end)) % MINUTES_PER_WEEK] = True
        return inside


def parse_windows(value: Any) -> WeekWindows:
    """:meth:`WeekWindows.parse`; ``"auto"`` is refused here (it needs data: :func:`derive_windows`)."""
    if is_auto(value):
        raise InputError(
            f"'auto' windows are derived from offence times by the plan; received {value!r} where a window "
            f"is needed. Pass e.g. {EXAMPLE.rsplit(' or ', 1)[0]}, or plan with window='auto'."
        )
    return WeekWindows.parse(value)


def is_auto(value: Any) -> bool:
    """True for ``"auto"`` (optionally followed by weekday groups, ``"auto Fri-Sat,Sun-Thu"``)."""
    return isinstance(value, str) and value.strip().lower().split(" ", 1)[0] == "auto"


def auto_groups(value: str) -> list[tuple[int, ...]]:
    """The weekday groups of ``"auto ..."`` (default: each weekday on its own)."""
    rest = value.strip()[4:].strip()
    if not rest:
        return [(d,) for d in range(7)]
    groups = []
    for item in [p for p in rest.split(",") if p.strip()]:
        match = re.match(r"^\s*([A-Za-z]+)(?:\s*[-–]\s*([A-Za-z]+))?\s*$", item)
        if not match:
            raise InputError(
                f"'auto' weekday groups must be day ranges; received {item.strip()!r} in {value!r}. "
                "Pass e.g. 'auto Fri-Sat,Sun-Thu'."
            )
        groups.append(day_range(match.group(1), match.group(2), value))
    seen = sorted(d for g in groups for d in g)
    if seen != list(range(7)):
        raise InputError(
            f"'auto' weekday groups must name every weekday once; received {value!r}. "
            "Pass e.g. 'auto Fri-Sat,Sun-Thu' or plain 'auto' (each day on its own)."
        )
    return groups


def day_range(first: str, last: str | None, value: Any) -> tuple[int, ...]:
    """Weekdays of ``"Fri"`` or ``"Sun"``-``"Thu"`` (a range may wrap past Sunday)."""
    a = _day(first, value)
    b = _day(last, value) if last else a
    return tuple((a + k) % 7 for k in range((b - a) % 7 + 1))


def _day(name: str, value: Any) -> int:
    key = name.strip().lower()[:3]
    names = [d.lower() for d in DAYS]
    if len(name.strip()) < 3 or key not in names:
        raise InputError(
            f"unknown weekday {name!r} in the visit window {value!r}; use Mon, Tue, Wed, Thu, Fri, Sat, "
            f"Sun (or ranges such as Sun-Thu). Pass e.g. {EXAMPLE}."
        )
    return names.index(key)


def _merge_halves(spans: list[tuple[int, int]], value: Any) -> list[Window]:
    """Windows of one day group; ``A-24:00`` followed by ``00:00-B`` is the overnight ``A-B``."""
    out: list[Window] = []
    i = 0
    while i < len(spans):
        start, end = spans[i]
        if end == 1440 and i + 1 < len(spans) and spans[i + 1][0] == 0 and start > 0:
            end, i = 1440 + spans[i + 1][1], i + 1
        out.append(Window.of(start, end, value))
        i += 1
    return out


def minute_of_week(when: Any) -> np.ndarray:
    """Minute of the week (0 = Monday 00:00) of local date-times (a pandas datetime Series)."""
    return np.asarray(when.dt.day_of_week * 1440 + when.dt.hour * 60 + when.dt.minute, dtype=np.int64)


def share_inside(minutes: np.ndarray, weights: np.ndarray, windows: WeekWindows) -> float:
    """Share of ``weights`` whose minute of the week falls in ``windows`` (NaN when they sum to 0).

    >>> w = WeekWindows.parse("Fri 20:00-03:00,Sat-Thu 12:00-13:00")
    >>> share_inside(np.array([4 * 1440 + 1200, 5 * 1440 + 120, 0]), np.array([1.0, 2.0, 1.0]), w)
    0.75
    """
    total = float(np.sum(weights))
    if total <= 0:
        return float("nan")
    return float(np.sum(weights[windows.mask()[minutes]]) / total)


def derive_windows(
    profile: np.ndarray, hours: int = DEFAULT_AUTO_HOURS, groups: Sequence[Sequence[int]] | None = None
) -> tuple[WeekWindows, float]:
    """The non-overlapping ``hours``-long daily windows holding most of a weekday × hour profile.

    Parameters
    ----------
    profile : array (168,) or (7, 24)
        Harm by hour of the week, Monday 00:00 first (e.g. ``time_profile(...)["value"]``).
    hours : int, default :data:`DEFAULT_AUTO_HOURS`
        Length of each day's window (whole hours, 1..24); a window may wrap past midnight.
    groups : sequence of weekday tuples, optional
        Days sharing one window (each a run of days, e.g. ``[(4, 5), (6, 0, 1, 2, 3)]``); default
        each weekday on its own.

    Returns
    -------
    (WeekWindows, float)
        The windows (one a day, starting on the hour) and the share of the profile inside them.
        Exact: every combination of start hours that does not overlap is considered (dynamic
        programme over the week); ties go to the earliest starts.

    Examples
    --------
    >>> p = np.zeros((7, 24)); p[4, 23] = p[5, 0] = p[5, 23] = 5.0; p[0, 9] = 1.0
    >>> w, share = derive_windows(p, hours=4)  # Sat 00h is reachable only from Friday's window
    >>> w.on(4)[0].label, w.on(5)[0].label, w.on(0)[0].label, share
    ('21:00-01:00', '20:00-24:00', '06:00-10:00', 1.0)
    """
    grid = np.asarray(profile, dtype=float).reshape(-1)
    if grid.shape != (168,) or not np.isfinite(grid).all() or (grid < 0).any():
        raise InputError(
            f"a weekday × hour profile must hold 168 finite values >= 0; received shape "
            f"{np.asarray(profile).shape}. Build one with gripkit.hotspots.profile.time_profile."
        )
    if isinstance(hours, bool) or not isinstance(hours, int | np.integer) or not 1 <= hours <= 24:
        raise InputError(f"window hours must be a whole number 1..24; received {hours!r}. Pass e.g. 6.")
    group_of = np.arange(7)
    for g, days in enumerate(groups or [(d,) for d in range(7)]):
        group_of[list(days)] = 7 + g
    padded = np.concatenate([grid, grid[: hours - 1]])
    run = np.concatenate([[0.0], np.cumsum(padded)])
    sums = (run[hours : hours + 168] - run[:168]).reshape(7, 24)  # sums[d, s]: window d at s h
    s = np.arange(24)
    # day d+1 may start at s2 only when day d's window (s1 .. s1 + hours) has ended: s2 + 24 >= s1 + hours
    allowed = s[None, :] + 24 >= s[:, None] + hours
    best_total, best_starts = -np.inf, [0] * 7
    for s0 in range(24):
        value = np.full(24, -np.inf)
        value[s0] = sums[0, s0]
        back = []
        for d in range(1, 7):
            ok = allowed & ((s[:, None] == s[None, :]) | (group_of[d] != group_of[d - 1]))
            cand = np.where(ok, value[:, None], -np.inf)
            back.append(cand.argmax(axis=0))
            value = cand.max(axis=0) + sums[d]
        close = allowed[:, s0] & ((s == s0) | (group_of[6] != group_of[0]))
        value = np.where(close, value, -np.inf)
        last = int(value.argmax())
        if value[last] > best_total + 1e-12:
            starts = [last]
            for step in reversed(back):
                starts.append(int(step[starts[-1]]))
            best_total, best_starts = float(value[last]), starts[::-1]
    week = WeekWindows.of([[Window(h * 60, (h + hours) * 60)] for h in best_starts], "auto")
    total = float(grid.sum())
    return week, (best_total / total if total > 0 else float("nan"))
