"""The engine: reading the live org, matching it to the repo, planning and applying changes."""

from tallyform.engine.changes import AttrChange, Change, Plan
from tallyform.engine.planner import PlanResult, make_plan

__all__ = ["AttrChange", "Change", "Plan", "PlanResult", "make_plan"]
