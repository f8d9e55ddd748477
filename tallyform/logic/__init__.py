"""The logic of a template's rules: a simulation of Tallyfy's automations, the twelve
checks of ``tallyform check``, the scenarios of ``tallyform test`` and Mermaid diagrams.

It reads only :mod:`tallyform.model` (typed templates, with the origins of declared
parts), never files, the API or the engine, so a template from the YAML and one read
from an org are checked and drawn alike. Sources of the semantics: :mod:`.engine`.
"""

from tallyform.logic.checks import (
    CHECKS,
    DEFAULT_SEVERITY,
    Analysis,
    Coverage,
    Finding,
    check_template,
)
from tallyform.logic.engine import Engine, Process, ProcessError, hidden_at_launch
from tallyform.logic.mermaid import render_mermaid
from tallyform.logic.scenarios import Failure, Outcome, run_scenarios, uncovered_rules

__all__ = [
    "CHECKS",
    "DEFAULT_SEVERITY",
    "Analysis",
    "Coverage",
    "Engine",
    "Failure",
    "Finding",
    "Outcome",
    "Process",
    "ProcessError",
    "check_template",
    "hidden_at_launch",
    "render_mermaid",
    "run_scenarios",
    "uncovered_rules",
]
