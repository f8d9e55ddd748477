"""The engine: planning (diff, matching order) and applying changes, on typed values.

Tallyfy's wire format is not the engine's business: :mod:`tallyform.tallyfy` reads the
org into typed states and carries each change out; the engine decides what changes.
"""

from tallyform.engine.planner import PlanResult, make_plan
from tallyform.model.changes import AttrChange, Change, Plan

__all__ = ["AttrChange", "Change", "Plan", "PlanResult", "make_plan"]
