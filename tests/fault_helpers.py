"""What the fault suites share: the examples as templates, and a census of duplicates."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tallyform.model import Template
from tests.conftest import EXAMPLES, project_templates


def example_templates() -> list[Template]:
    return project_templates(EXAMPLES)


def duplicates(state: dict[str, Any]) -> list[str]:
    """Every object the org holds more than once, named by kind."""
    found: list[str] = []

    def check(kind: str, names: list[Any]) -> None:
        found.extend(f"{kind} {name!r}" for name, n in Counter(names).items() if n > 1)

    live = [t for t in state["checklists"].values() if t["archived_at"] is None]
    check("template", [t["title"] for t in live])
    check("template key", [t["custom_fields"].get("tallyform_key") for t in live])
    for template in live:
        title = template["title"]
        check(f"step in {title}", [s["title"] for s in template["steps"]])
        check(f"kick-off field in {title}", [p["label"] for p in template["prerun"]])
        check(f"rule in {title}", [r["automated_alias"] for r in template["automated_actions"]])
        labels = [(s["title"], c["label"]) for s in template["steps"] for c in s["captures"]]
        check(f"form field in {title}", labels)
    check("tag", [t["title"].lower() for t in state["tags"].values()])
    check("tag attachment", [(x["subject_id"], x["tag_id"]) for x in state["tag_links"]])
    check("folder", [(f["name"], f.get("parent_id")) for f in state["folders"].values()])
    check("custom-field key", [(k["key"], k["applies_to"]) for k in state["custom_field_keys"]])
    return found
