"""The typed values every stage shares, free of YAML and HTTP.

Templates as declared (:mod:`.template`), both sides of a comparison in one normalised
shape (:mod:`.state`), the changes a plan is made of (:mod:`.changes`), and what each
kind of change is (:mod:`.kinds`).
"""

from tallyform.model.template import (
    Action,
    Assignees,
    Column,
    Condition,
    Deadline,
    Event,
    Expectations,
    Field,
    Location,
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
    "Location",
    "Option",
    "Origin",
    "Rule",
    "Scenario",
    "Step",
    "Template",
    "slugify",
]
