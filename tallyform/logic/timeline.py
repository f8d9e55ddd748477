"""When a process's step is due: a step's deadline, which counts from a moment, as a time.

The rule engine keeps deadlines as Tallyfy's templates write them (2 days from the
launch, 3 days from step X); a launched process shows each task's deadline as a time.
:func:`due` turns one into the other from what happened to the process: when it was
launched, when each step was completed and when each is due. The emulator uses it to
give its tasks their deadlines, and ``tallyform test --org`` to know which time a
scenario's expected deadline stands for, so both count the same way.

How a deadline counts, after Tallyfy's help pages ("Deadlines and timings" in
"Edit steps", and "Deadline actions"): from the launch; from another step, once that
step is completed (before then the task has no deadline yet); ``prior_to`` another step:
back from that step's own deadline. A rule's deadline counts from the launch, as the
engine has it (:mod:`.engine`). Months are calendar months (the 31st of January plus
one month is the 28th or 29th of February). Tallyfy then moves a deadline that falls
outside the org's working days and hours forward to the next working time; this module
does not: nothing here knows an org's work week.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import datetime, timedelta

from tallyform.model import Deadline

UNIT_SECONDS = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}
BACKWARDS = frozenset({"prior_to", "before"})


def plural_unit(unit: str) -> str:
    """``day`` and ``days`` alike as ``days`` (step deadlines take either)."""
    return unit if unit.endswith("s") else unit + "s"


def shift(moment: datetime, value: int, unit: str, backwards: bool = False) -> datetime:
    """``moment`` moved ``value`` units on (or back)."""
    amount = -value if backwards else value
    unit = plural_unit(unit)
    if unit == "months":
        month = moment.month - 1 + amount
        year = moment.year + month // 12
        month = month % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return moment.replace(year=year, month=month, day=day)
    return moment + timedelta(seconds=amount * UNIT_SECONDS.get(unit, 86400))


def due(
    deadline: Deadline | None,
    launched: datetime,
    completed: Mapping[str, datetime],
    own: Mapping[str, Deadline | None] | None = None,
    _seen: frozenset[str] = frozenset(),
) -> datetime | None:
    """The time a step with ``deadline`` is due; None when it has none, or none yet (the
    step it counts from is not completed). ``completed``: when each completed step was
    completed; ``own``: each step's deadline, for one that counts back from another."""
    if deadline is None:
        return None
    backwards = deadline.option in BACKWARDS
    anchor = deadline.step
    if anchor is None:
        return shift(launched, deadline.value, deadline.unit, backwards)
    if backwards:
        if anchor in _seen or own is None:
            return None  # a loop of steps counting back from each other: none is due
        later = due(own.get(anchor), launched, completed, own, _seen | {anchor})
        return None if later is None else shift(later, deadline.value, deadline.unit, True)
    if anchor not in completed:
        return None
    return shift(completed[anchor], deadline.value, deadline.unit)
