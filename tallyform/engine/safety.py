"""Whether a plan may be carried out: the checks ``apply`` makes before its first write.

As octoDNS's ``Plan.raise_if_unsafe``: the plan says what it damages, and these checks
turn that into an error carrying its exit code, so every caller refuses the same plans
with the same words. Nothing here writes, prints or asks.
"""

from __future__ import annotations

from tallyform.errors import TallyformError
from tallyform.model.changes import Plan


class UnsafePlan(TallyformError):
    """The plan archives templates or damages too many of them; nothing was changed."""


class PlanBlocked(TallyformError):
    """The plan holds key conflicts or changes the org cannot take; nothing was changed."""


def raise_if_blocked(plan: Plan) -> None:
    """Refuse a plan with conflicts (live objects sharing a key) or blockers."""
    if plan.conflicts or plan.blockers:
        said = [c.message() for c in plan.conflicts] + plan.blockers
        raise PlanBlocked(" ".join(said) + " Nothing was changed.")


def raise_if_unsafe(
    plan: Plan, share: float, minimum: int, allow_delete: bool = False, force: bool = False
) -> None:
    """Refuse a plan that archives templates (unless ``allow_delete``) or deletes parts of
    more than ``share`` of the managed templates (unless ``force``; below ``minimum``
    managed templates the share is not applied)."""
    archived = plan.archived()
    if archived and not allow_delete:
        raise UnsafePlan(
            f"the plan archives {len(archived)} template(s) ({', '.join(archived)}); "
            "nothing was changed. Run again with --allow-delete if that is intended."
        )
    if not force and plan.exceeds_share(share, minimum):
        raise UnsafePlan(
            f"the plan deletes or removes parts of {len(plan.damaged())} of {plan.managed} "
            f"managed templates, more than the safety share of {share:.0%}; nothing was "
            "changed. Check the plan above, then use --force."
        )


__all__ = ["PlanBlocked", "UnsafePlan", "raise_if_blocked", "raise_if_unsafe"]
