"""The acceptance scenario, against the emulator under every reading and against a live org.

As Terraform providers run their acceptance tests against the real service when told to,
this scenario runs against a live Tallyfy org when these are set (and is skipped, saying
so, when they are not):

- ``TALLYFORM_LIVE_ORG_ID``: the org's id (use a sandbox org: the scenario creates,
  changes and archives a template there, titled "tallyform acceptance ...");
- ``TALLYFORM_LIVE_TOKEN``: a token of an org admin there (the first run defines
  tallyform's custom-field keys);
- ``TALLYFORM_LIVE_API_URL``: optional, ``https://go.tallyfy.com/api`` by default.

The scenario: probe the org (``tallyform probe``, as a first run should) and plan with its
readings; bootstrap one template (kick-off fields, steps, form fields, a rule, tags, a
folder), plan again (empty), change it (a step added, a field renamed, a rule changed, a
tag swapped, a deadline cleared), apply, plan again (empty), then remove it (archive) and
plan again (empty). Never a duplicate. Where the org clears nothing with ``""`` (the
strict emulator), the change is refused before any write, naming the deadline. It names no
people, so it fits any org.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import yaml

from tallyform.client import RetryPolicy, StaticToken, TallyfyClient
from tallyform.config.build import build_template
from tallyform.config.source import parse_text
from tallyform.emulator import Emulator, Quirks
from tallyform.engine import make_plan
from tallyform.engine.apply import apply_plan
from tallyform.model import Template
from tallyform.tallyfy.probe import Probe, Readings
from tests.client_helpers import client_for

LIVE = {name: os.environ.get(f"TALLYFORM_LIVE_{name}", "") for name in ("ORG_ID", "TOKEN")}
API_URL = os.environ.get("TALLYFORM_LIVE_API_URL", "https://go.tallyfy.com/api")
TARGETS = ["likeliest", "strict", "live"]


def acceptance(stamp: str, changed: bool) -> Template:
    """The scenario's template, before or after the change."""
    steps = [
        {
            "key": "gather",
            "title": "Gather the facts",
            "deadline": None if changed else {"value": 2, "unit": "days"},
            "fields": [
                {
                    "key": "summary",
                    "label": "Summary" if not changed else "Short summary",
                    "type": "text",
                },
                {
                    "key": "impact",
                    "label": "Impact",
                    "type": "dropdown",
                    "options": ["Low", "High"],
                },
            ],
        },
        {"key": "review", "title": "Review", "type": "approval"},
    ]
    if changed:
        steps.insert(1, {"key": "escalate", "title": "Escalate"})
    data = {
        "key": f"acceptance-{stamp}",
        "title": f"tallyform acceptance {stamp}",
        "kickoff": [{"key": "reporter", "label": "Reporter", "type": "text"}],
        "steps": [{k: v for k, v in step.items() if v is not None} for step in steps],
        "rules": [
            {
                "name": "High impact skips nothing",
                "when": [{"field": "impact", "is": "equals", "value": "Low"}],
                "then": [{"hide": "review" if not changed else "escalate"}],
            }
        ],
        "tags": ["tallyform-acceptance"] if not changed else ["tallyform-accepted"],
        "folder": "tallyform acceptance",
    }
    document, problems = parse_text(yaml.safe_dump(data, sort_keys=False), "acceptance.yaml")
    assert not problems, problems
    return build_template(document, data["key"])


@contextmanager
def client_on(target: str) -> Iterator[TallyfyClient]:
    if target != "live":
        quirks = Quirks.strict() if target == "strict" else Quirks()
        with client_for(Emulator(quirks=quirks)) as client:
            yield client
        return
    if not all(LIVE.values()):
        pytest.skip(
            "set TALLYFORM_LIVE_ORG_ID and TALLYFORM_LIVE_TOKEN (a sandbox org and an "
            "admin's token there) to run the acceptance scenario against a live org"
        )
    with TallyfyClient(
        org_id=LIVE["ORG_ID"],
        base_url=API_URL,
        credentials=StaticToken(LIVE["TOKEN"], "TALLYFORM_LIVE_TOKEN"),
        retry=RetryPolicy(),
    ) as client:
        client.check_credentials()
        yield client


def settle(
    client: TallyfyClient, templates: list[Template], keys: list[str], readings: Readings
) -> list[str]:
    """Apply once, then the plan of the same repository is empty; or the plan's blockers,
    where it cannot be applied (nothing is, as ``tallyform apply`` refuses it)."""
    result = make_plan(
        client,
        "acceptance",
        templates,
        only=keys,
        applies_to=readings.applies_to,
        clears_with_empty=readings.clears_with_empty,
    )
    assert result.plan is not None and result.org is not None, result.problems
    if result.plan.blockers:
        return result.plan.blockers
    report = apply_plan(client, result.plan)
    assert not report.failed, [o.error for o in report.failed]
    again = make_plan(client, "acceptance", templates, only=keys, applies_to=readings.applies_to)
    assert again.plan is not None
    assert again.plan.empty, [(c.name, c.action) for c in again.plan.changes]
    return []


def live_count(client: TallyfyClient, title: str) -> int:
    rows = client.list_all("/checklists", {"q": title})
    return sum(1 for row in rows if row.get("title") == title)


@pytest.mark.parametrize("target", TARGETS)
def test_the_acceptance_scenario_converges_at_every_step(target: str) -> None:
    stamp = secrets.token_hex(3)
    first, second = acceptance(stamp, changed=False), acceptance(stamp, changed=True)
    keys = [first.key]
    with client_on(target) as client:
        readings = Readings.of(Probe(client).run())
        assert settle(client, [first], keys, readings) == []
        refused = settle(client, [second], keys, readings)
        if readings.clears_with_empty:
            assert refused == []
        else:  # the strict emulator: "" clears nothing, so the deadline cannot be cleared
            assert len(refused) == 1 and "deadline would be cleared" in refused[0], refused
        assert live_count(client, second.title) == 1, "never a duplicate"
        assert settle(client, [], keys, readings) == []  # removed from the repository
        assert live_count(client, second.title) == 0
