"""The walk's shortcuts hold: splitting rules into independent groups, and answering each
field only with the values its conditions tell apart, find exactly what walking every
rule together over every answer finds (on small random templates)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tallyform.logic import Engine, check_template
from tallyform.logic.walk import _component, paths, run_path
from tallyform.model import Action, Assignees, Condition, Field, Option, Rule, Step, Template

STEPS = ["a", "b", "c", "d"]
OPTIONS = ("X", "Y", "Z")
PEOPLE = Assignees(users=("ann@example.com",))


@st.composite
def templates(draw: st.DrawFn) -> Template:
    steps = [
        Step(key, key.upper(), type=draw(st.sampled_from(["task", "approval"])), assignees=PEOPLE)
        for key in STEPS
    ]
    kickoff = [
        Field(name, name, "dropdown", True, tuple(Option(o) for o in OPTIONS))
        for name in ("f", "g")
    ]
    conditions = st.one_of(
        st.builds(
            Condition,
            st.just("field"),
            st.sampled_from(["f", "g"]),
            st.sampled_from(["equals", "not_equals"]),
            st.sampled_from(OPTIONS),
        ),
        st.builds(
            Condition,
            st.just("step"),
            st.sampled_from(STEPS),
            st.sampled_from(["completed", "approved", "rejected"]),
        ),
    )
    actions = st.builds(
        Action,
        st.sampled_from(["show", "hide", "assign", "clear_assignees", "reopen"]),
        st.sampled_from(STEPS),
        st.just(Assignees(users=("bob@example.com",))),
    )
    rules = [
        Rule(
            f"r{i}",
            draw(st.sampled_from(["all", "any"])),
            tuple(draw(st.lists(conditions, min_size=1, max_size=2))),
            tuple(draw(st.lists(actions, min_size=1, max_size=2))),
        )
        for i in range(draw(st.integers(1, 4)))
    ]
    return Template("t", "T", kickoff=kickoff, steps=steps, rules=rules)


def _whole_walk(template: Template) -> tuple[set[str], set[int], set[int]]:
    """Steps ever seen, rules fired, rules evaluated: every rule together, every answer."""
    engine = Engine(template)
    component = _component(engine, tuple(range(len(template.rules))))
    seen: set[str] = set()
    fired: set[int] = set()
    asked: set[int] = set()
    chosen, sampled = paths(component, limit=10**6)
    assert not sampled
    for path in chosen:
        for f in OPTIONS:
            for g in OPTIONS:
                path.answers.update(f=f, g=g)
                process = run_path(engine, path).process
                seen |= process.seen
                fired |= set(process.fired)
                asked |= process.asked
    return seen, fired, asked


@settings(max_examples=150, deadline=None)
@given(templates())
def test_components_and_domains_find_what_a_whole_walk_finds(template: Template) -> None:
    findings = check_template(template).findings
    seen, fired, asked = _whole_walk(template)
    unreachable = {f.step for f in findings if f.check == "unreachable_step"}
    targeted = {a.step for rule in template.rules for a in rule.then}
    assert unreachable == {s for s in STEPS if s not in seen and s in targeted}
    never_fire = {
        f.rule for f in findings if f.check == "inert_rule" and "never fires" in f.message
    }
    expected = {template.rules[i].name for i in asked - fired}
    assert never_fire == expected
    never_asked = {f.rule for f in findings if f.check == "never_evaluated_automation"}
    assert never_asked == {rule.name for i, rule in enumerate(template.rules) if i not in asked}
