"""Templates with one defect each, and the same without it, for the twelve checks of
``tallyform check`` (used by test_check and test_graph)."""

from __future__ import annotations

HEAD = """\
key: claim
title: Claim
kickoff:
  - key: size
    label: Size
    type: dropdown
    required: true
    options: [Small, Large]
steps:
  - key: ask
    title: Ask
    assignees: {users: [ann@example.com]}
  - key: approve
    title: Approve
    type: approval
    assignees: {users: [bob@example.com]}
"""


# Each case: the check, a failing template, the line its finding must be on (a text on
# that line), and a passing template.
CASES: dict[str, tuple[str, str, str]] = {
    "unreachable_step": (
        HEAD
        + """\
rules:
  - name: Large claims need approval
    when: [{field: size, is: equals, value: Small}, {field: size, is: equals, value: Large}]
    then: [{show: approve}]
""",
        "- key: approve",
        HEAD
        + """\
rules:
  - name: Large claims need approval
    when: [{field: size, is: equals, value: Large}]
    then: [{show: approve}]
""",
    ),
    "inert_rule": (
        HEAD
        + """\
rules:
  - name: Ann asks again
    when: [{field: size, is: equals, value: Large}]
    then: [{assign: ask, assignees: {users: [ann@example.com]}}]
""",
        "then: [{assign: ask",
        HEAD
        + """\
rules:
  - name: Ann asks again
    when: [{field: size, is: equals, value: Large}]
    then: [{assign: ask, assignees: {users: [cat@example.com]}}]
""",
    ),
    "conflicting_rules": (
        HEAD
        + """\
rules:
  - name: Cat approves large claims
    when: [{field: size, is: equals, value: Large}]
    then: [{assign: approve, assignees: {users: [cat@example.com]}}]
  - name: Nobody approves once asked
    when: [{step: ask, is: completed}]
    then: [{clear_assignees: approve}, {assign: approve, assignees: {users: [dan@example.com]}}]
""",
        "then: [{clear_assignees: approve}",
        HEAD
        + """\
rules:
  - name: Cat approves large claims
    when: [{field: size, is: equals, value: Large}]
    then: [{assign: approve, assignees: {users: [cat@example.com]}}]
  - name: Dan approves too once asked
    when: [{step: ask, is: completed}]
    then: [{assign: approve, assignees: {users: [dan@example.com]}}]
""",
    ),
    "unassigned_visible_step": (
        HEAD + "  - key: file\n    title: File it\n",
        "- key: file",
        HEAD + "  - key: file\n    title: File it\n    assign_run_starter: true\n",
    ),
    "no_completable_path": (
        HEAD + "  - key: file\n    title: File it\n    can_complete_only_assignees: true\n",
        "- key: file",
        HEAD
        + "  - key: file\n    title: File it\n    can_complete_only_assignees: true\n"
        + "    assignees: {groups: [Finance]}\n",
    ),
    "dangling_reference": (
        HEAD
        + """\
    fields:
      - key: items
        label: Items
        type: table
        columns: [Item, Cost]
rules:
  - name: Hardware needs IT
    when: [{field: items, column: Kind, is: contains, value: laptop}]
    then: [{assign: approve, assignees: {groups: [IT]}}]
""",
        "column: Kind",
        HEAD
        + """\
    fields:
      - key: items
        label: Items
        type: table
        columns: [Item, Cost]
rules:
  - name: Hardware needs IT
    when: [{field: items, column: Item, is: contains, value: laptop}]
    then: [{assign: approve, assignees: {groups: [IT]}}]
""",
    ),
    "orphaned_deadline_anchor": (
        HEAD
        + """\
    deadline: {value: 2, unit: days, step: ask}
rules:
  - name: Small claims skip the question
    when: [{field: size, is: equals, value: Small}]
    then: [{hide: ask}]
""",
        "step: ask}",
        HEAD
        + """\
    deadline: {value: 2, unit: days}
rules:
  - name: Small claims skip the question
    when: [{field: size, is: equals, value: Small}]
    then: [{hide: ask}]
""",
    ),
    "stale_condition_value": (
        HEAD
        + """\
rules:
  - name: Big claims need no approval
    when: [{field: size, is: greater_than, value: 5}]
    then: [{hide: approve}]
""",
        "is: greater_than",
        HEAD
        + """\
rules:
  - name: Small claims need no approval
    when: [{field: size, is: equals, value: Small}]
    then: [{hide: approve}]
""",
    ),
    "always_true_condition": (
        HEAD
        + """\
rules:
  - name: Any size, so approve
    when: [{field: size, is: is_not_empty}, {step: ask, is: completed}]
    then: [{assign: approve, assignees: {users: [cat@example.com]}}]
""",
        "is: is_not_empty",
        HEAD
        + """\
rules:
  - name: Not small, so approve
    when: [{field: size, is: not_equals, value: Small}, {step: ask, is: completed}]
    then: [{assign: approve, assignees: {users: [cat@example.com]}}]
""",
    ),
    "inert_start_date": (
        HEAD + "    start_date: {value: 1, unit: days}\n    is_soft_start_date: true\n",
        "start_date:",
        HEAD + "    start_date: {value: 1, unit: days}\n",
    ),
    "never_evaluated_automation": (
        HEAD
        + """\
rules:
  - name: Approval needs a second look
    when: [{field: size, is: equals, value: Small}, {field: size, is: equals, value: Large}]
    then: [{show: approve}]
  - name: Reopen the question after approval
    when: [{step: approve, is: approved}]
    then: [{reopen: ask}]
""",
        "when: [{step: approve",
        HEAD
        + """\
rules:
  - name: Reopen the question after approval
    when: [{step: approve, is: rejected}]
    then: [{reopen: ask}]
""",
    ),
}
