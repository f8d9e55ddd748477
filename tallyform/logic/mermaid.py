"""A template's flow as a Mermaid flowchart: steps in order, what each rule does, deadlines.

One node per step (``3. Manager approval``, its type and deadline beneath), in template
order from the launch. A step that starts hidden (some rule shows it) has a dashed
border; a step :mod:`.checks` found unreachable is drawn red. Each rule action is an
edge from what triggers the rule (the launch for kick-off conditions, else the step it
names or whose form field it tests) to the step it acts on, labelled with the rule's
conditions and the action (``A -->|"label"| B``, the form Mermaid documents for
labelled links): solid for show, dotted for hide, thick for assignments, deadlines and
reopening; a webhook goes to a node of its own.

After ``tallyfy/mcp-public``, ``server/template_testing/mermaid.py`` (solid show and
dotted hide edges, labels cleaned of what ends a Mermaid label); the code is tallyform's.
"""

from __future__ import annotations

from collections.abc import Iterable

from tallyform.logic.engine import Engine, text_of
from tallyform.model import Action, Condition, Rule, Template

MAX_LABEL = 60
_OPERATIONS = {
    "equals": "=",
    "not_equals": "≠",
    "equals_any": "in",
    "greater_than": "above",
    "less_than": "below",
    "contains": "contains",
    "not_contains": "lacks",
    "is_empty": "is empty",
    "is_not_empty": "is filled",
}


def clean(text: str, limit: int = MAX_LABEL) -> str:
    """Text that cannot end a Mermaid label early: no quotes, brackets or line breaks."""
    cleaned = " ".join(str(text).split())
    for bad, good in (
        ('"', "'"),
        ("[", "("),
        ("]", ")"),
        ("{", "("),
        ("}", ")"),
        ("|", "/"),
        ("<", "‹"),
        (">", "›"),
    ):
        cleaned = cleaned.replace(bad, good)
    cleaned = cleaned.replace("#", "＃").replace(";", ",").replace("`", "'")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def condition_text(condition: Condition) -> str:
    if condition.subject == "step":
        return f"{condition.key} {condition.operation.replace('_', ' ')}"
    symbol = _OPERATIONS.get(condition.operation, condition.operation)
    value = (
        ""
        if condition.value is None or condition.operation in ("is_empty", "is_not_empty")
        else f" {text_of(condition.value)}"
    )
    column = f".{condition.column}" if condition.column else ""
    return f"{condition.key}{column} {symbol}{value}"


def rule_text(rule: Rule) -> str:
    joint = " or " if rule.match == "any" else " and "
    return joint.join(condition_text(c) for c in rule.when) or "never"


def action_text(action: Action) -> str:
    if action.verb in ("assign", "assign_only", "unassign"):
        who = [*action.assignees.users, *action.assignees.groups, *action.assignees.guests]
        return f"{action.verb.replace('_', ' ')} {', '.join(who)}"
    if action.verb == "deadline" and action.deadline is not None:
        value, unit, option = action.deadline
        return f"due {value} {unit}{' before' if option == 'before' else ''}"
    if action.verb == "clear_assignees":
        return "clear assignees"
    return action.verb


def _node(index: int) -> str:
    return f"s{index + 1}"


def render_mermaid(template: Template, dead: Iterable[str] = ()) -> str:
    """The flowchart of ``template``; steps in ``dead`` are drawn red."""
    engine = Engine(template)
    index = {s.key: i for i, s in enumerate(template.steps)}
    hidden = engine.hidden_at_launch
    lines = ["flowchart TD", '    start(["Process starts"])']
    for i, step in enumerate(template.steps):
        details = [step.type] if step.type != "task" else []
        if step.deadline is not None:
            anchor = f"{step.deadline.step}" if step.deadline.step else "start"
            direction = "before" if step.deadline.option == "prior_to" else "after"
            details.append(f"due {step.deadline.value} {step.deadline.unit} {direction} {anchor}")
        below = f"<br/>{clean(', '.join(details))}" if details else ""
        lines.append(f'    {_node(i)}["{i + 1}. {clean(step.title)}{below}"]')
    previous = "start"
    for i, step in enumerate(template.steps):
        arrow = "-.->" if step.key in hidden else "-->"
        lines.append(f"    {previous} {arrow} {_node(i)}")
        previous = _node(i)
    webhooks = 0
    for position, rule in enumerate(template.rules):
        label = clean(rule_text(rule), MAX_LABEL // 2)
        sources = sorted({index[key] for key in engine.triggers(rule)})
        at_launch = position in engine.at_launch or not sources
        origin = "start" if at_launch else _node(sources[0])
        for action in rule.then:
            if action.step not in index:
                continue
            target = _node(index[action.step])
            text = clean(f"{label}: {action_text(action)}")
            if action.verb == "webhook":
                webhooks += 1
                hook = f"w{webhooks}"
                name = action.webhook[1] if action.webhook else "webhook"
                lines.append(f'    {hook}>"webhook: {clean(name)}"]')
                lines.append(f'    {origin} -->|"{clean(label)}"| {hook}')
            elif action.verb == "show":
                lines.append(f'    {origin} -->|"{text}"| {target}')
            elif action.verb == "hide":
                lines.append(f'    {origin} -.->|"{text}"| {target}')
            else:
                lines.append(f'    {origin} ==>|"{text}"| {target}')
    lines.append("    classDef hidden stroke-dasharray: 5 5")
    lines.append("    classDef dead fill:#fde8e8,stroke:#c81e1e,color:#7f1d1d")
    starts_hidden = [_node(index[k]) for k in template_order(template, hidden)]
    if starts_hidden:
        lines.append(f"    class {','.join(starts_hidden)} hidden")
    red = [_node(index[k]) for k in template_order(template, set(dead))]
    if red:
        lines.append(f"    class {','.join(red)} dead")
    return "\n".join(lines) + "\n"


def template_order(template: Template, keys: set[str]) -> list[str]:
    return [s.key for s in template.steps if s.key in keys]
