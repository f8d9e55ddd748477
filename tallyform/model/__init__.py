"""The desired state as typed values (templates, steps, fields, rules), free of YAML and HTTP."""

from tallyform.model.build import build_template
from tallyform.model.template import (
    Action,
    Assignees,
    Column,
    Condition,
    Deadline,
    Event,
    Expectations,
    Field,
    Option,
    Origin,
    Rule,
    Scenario,
    Step,
    Template,
    slugify,
)

__all__ = [
    "Action",
    "Assignees",
    "Column",
    "Condition",
    "Deadline",
    "Event",
    "Expectations",
    "Field",
    "Option",
    "Origin",
    "Rule",
    "Scenario",
    "Step",
    "Template",
    "build_template",
    "slugify",
]
