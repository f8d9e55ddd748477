"""YAML syntax errors are told in the user's terms, at file:line:column, and a tab that
separates (YAML 1.2) is accepted by validate and fmt alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import project_templates, run_cli

STEP = "title: A\nsteps:\n  - key: a\n    title: A\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # PyYAML: expected <block end>, but found '<block mapping start>'
            STEP + "   type: task\n",
            "t.yaml:5:4: error: this is not valid YAML: 'type' is indented 3 spaces, but "
            "'title' on line 4 is indented 4 spaces; the keys of one mapping start in the "
            "same column",
        ),
        (  # PyYAML: mapping values are not allowed here
            STEP + "      type: task\n",
            "t.yaml:5:7: error: this is not valid YAML: 'type' is indented 6 spaces, more "
            "than 'title' on line 4 (4 spaces), which has a value already; line it up with "
            "'title', or if it belongs under it, end line 4 with ':' and put the value on "
            "lines below",
        ),
        (  # PyYAML: found character '\t' that cannot start any token
            STEP + "\ttype: task\n",
            "t.yaml:5:1: error: this is not valid YAML: this line is indented with a tab; "
            "indent with spaces, not tabs (YAML does not allow tabs in indentation)",
        ),
        (
            "title: Step: one\n",
            "t.yaml:1:12: error: this is not valid YAML: the value of 'title' holds ': ', "
            "which YAML reads as the start of another key; put the value in quotes: "
            'title: "Step: one"',
        ),
        (
            "title: A\nsteps:\n  - key: a\n - key: b\n",
            "t.yaml:4:2: error: this is not valid YAML: the list item is indented 1 space, "
            "but the list item on line 3 is indented 2 spaces; the items of one list start "
            "in the same column",
        ),
        (
            "title: A\nsteps:\n  - key: a\n    fields:\n      - key: f\n        type: file\n"
            " - key: b\n",
            "t.yaml:7:2: error: this is not valid YAML: the list item is indented 1 space, "
            "but the list item on line 3 is indented 2 spaces; the items of one list start "
            "in the same column",
        ),
        (
            "title: A\n- key: b\n",
            "t.yaml:2:1: error: this is not valid YAML: the list item is in line with "
            "'title' on line 1; a list that is a key's value is written after `key:`, "
            "indented under the key",
        ),
        (
            'title: "A\nsummary: B\n',
            "t.yaml:3:1: error: this is not valid YAML: the quoted text opened at line 1, "
            "column 8 is never closed; end it with the same quote mark it starts with",
        ),
        (
            "title: A\ntags: [a, b\nsummary: B\n",
            "t.yaml:3:8: error: this is not valid YAML: the '[' opened at line 2, column 7 "
            "is not closed with ']' before this point (the items of a list written on one "
            "line are separated by ', ')",
        ),
        (
            "title: @home\n",
            "t.yaml:1:8: error: this is not valid YAML: '@' cannot start a value in YAML; "
            'put the value in quotes: "@home"',
        ),
    ],
)
def test_syntax_errors_say_what_to_change(
    project: Callable[..., Path], text: str, expected: str
) -> None:
    root = project({"t.yaml": text})
    result = run_cli("-C", str(root), "validate")
    assert result.exit_code == 1
    assert f"templates/{expected}" in result.output, result.output
    assert "block end" not in result.output and "cannot start any token" not in result.output


def test_fmt_reports_the_same_words(project: Callable[..., Path]) -> None:
    root = project({"t.yaml": STEP + "\ttype: task\n"})
    result = run_cli("-C", str(root), "fmt", "--check")
    assert result.exit_code == 1
    assert (
        "t.yaml:5:1: not valid YAML, left as it is (this line is indented with a tab; "
        "indent with spaces, not tabs (YAML does not allow tabs in indentation))"
    ) in result.output, result.output


def test_a_tab_that_separates_is_accepted(project: Callable[..., Path]) -> None:
    text = "title:\tA\t# a tab before a comment\nsteps:\n  - key: a\n    title:\tA\n"
    text += "    fields:\n      - {label: Pick, type: dropdown, options: [X,\tZ]}\n"
    root = project({"t.yaml": text})
    assert run_cli("-C", str(root), "validate").exit_code == 0
    result = run_cli("-C", str(root), "fmt")
    assert result.exit_code == 0, result.output
    formatted = (root / "templates/t.yaml").read_text()
    assert "\t" not in formatted
    assert "title: A # a tab before a comment\n" in formatted
    assert "options: [X, Z]" in formatted
    assert run_cli("-C", str(root), "validate").exit_code == 0


def test_a_tab_between_words_is_part_of_the_text(project: Callable[..., Path]) -> None:
    root = project({"t.yaml": "title: Purchase\trequest\nsummary: one \ttwo\t# note\n"})
    assert run_cli("-C", str(root), "validate").exit_code == 0
    [template] = project_templates(root)
    assert (template.title, template.summary) == ("Purchase\trequest", "one \ttwo")
    result = run_cli("-C", str(root), "fmt", "--check")
    assert result.exit_code == 1
    assert result.stderr == (
        f"{root}/templates/t.yaml:1:16: a tab inside text written without quotes, which fmt "
        "cannot rewrite (validate reads it); put the text in quotes. Left as it is\n"
    )
