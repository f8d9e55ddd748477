"""Apply, then plan again, is empty under every reading of the Tallyfy API, or tallyform
refuses clearly before any write; and the pessimistic reading stays affordable.

Each open question of the reference is an emulator quirk (``tallyform.emulator.quirks``).
As the README asks of a first run, the org is probed first (``tallyform probe``), and each
plan uses the probe's readings. The examples are bootstrapped, then edited (a deadline and
a folder cleared, a rule and a tag changed) and applied again, under each quirk alone,
under ``strict`` (all at once) and under every quirk together. Where ``""`` clears nothing
(``empty_string``) the edits cannot be applied: the plan says so, and nothing is written.
Every org runs on a fake clock that the client sleeps on, so ``low_rate_limit``'s limits
really refuse (429) and are waited out, in no real time.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from benchmarks.generate import write_project
from tallyform.client import Pacer, StaticToken, TallyfyClient
from tallyform.emulator import DEFAULT_TOKEN, IN_PROCESS_URL, Emulator, EmulatorTransport, Quirks
from tallyform.emulator.quirks import EVERY_QUIRK, LEFT_OUT_OF_STRICT, QUIRK_CHOICES
from tallyform.engine import make_plan
from tallyform.engine.apply import apply_plan
from tallyform.model import Template
from tallyform.tallyfy.probe import Probe, Readings
from tallyform.tallyfy.read import KeysHidden, require_visible_values
from tallyform.tallyfy.writes import CLEAR_ADVICE
from tests.client_helpers import FakeTime, client_for
from tests.conftest import EXAMPLES, project_templates
from tests.emulator_helpers import application_token, auth

ANSWERS = [
    answer
    for name in EVERY_QUIRK
    for answer in (
        [f"{name}={c}" for c in QUIRK_CHOICES[name][1:]] if name in QUIRK_CHOICES else [name]
    )
]
EVERY_ANSWER_AT_ONCE = ["strict", *LEFT_OUT_OF_STRICT, "nested_steps_built"]


@dataclass
class Org:
    """An emulated org on a fake clock, and the probe's readings of it once probed."""

    emulator: Emulator
    clock: FakeTime = field(default_factory=FakeTime)
    readings: Readings = field(default_factory=Readings)

    @classmethod
    def of(cls, *answers: str) -> Org:
        clock = FakeTime()
        return cls(Emulator(quirks=Quirks.named(answers), clock=clock), clock)

    @contextmanager
    def client(self, token: str | None = None) -> Iterator[TallyfyClient]:
        """A client that sleeps on the org's clock (its waits for a 429 included)."""
        pacer = Pacer(None, clock=self.clock, sleep=self.clock.sleep)
        options = {"token": token} if token else {}
        with client_for(self.emulator, pacer=pacer, sleep=self.clock.sleep, **options) as client:
            yield client

    def probe(self) -> Org:
        """Probe the org, as a first run should, and keep what tallyform acts on."""
        with self.client() as client:
            self.readings = Readings.of(Probe(client).run())
        return self

    def writes(self) -> int:
        return len([r for r in self.emulator.requests if r["method"] != "GET"])


def edited_examples(tmp_path: Path) -> Path:
    """A copy of examples/ with a deadline and a folder cleared, a rule's value and the
    tags of one template changed."""
    root = tmp_path / "edited"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".tallyform"))
    onboarding = root / "templates/customer-onboarding.yaml"
    text = onboarding.read_text()
    onboarding.write_text(text.replace("    deadline: {value: 3, unit: days}\n", "", 1))
    purchase = root / "templates/purchase-request.yaml"
    text = purchase.read_text().replace("value: 100", "value: 250", 1)
    text = re.sub(r"^folder: .*\n", "", text, flags=re.M)
    purchase.write_text(re.sub(r"^tags: \[.*\]\n", "tags: [spending]\n", text, flags=re.M))
    return root


def converge(
    org: Org, templates: list[Template], applies: int = 2, token: str | None = None
) -> list[str]:
    """Plan (with the org's readings) and apply until the plan is empty (at most
    ``applies`` times): what failed, or the plan's blockers (then nothing is applied, as
    ``tallyform apply`` refuses such a plan)."""
    with org.client(token) as client:
        for _ in range(applies):
            result = make_plan(
                client,
                "readings",
                templates,
                applies_to=org.readings.applies_to,
                clears_with_empty=org.readings.clears_with_empty,
                builds_nested_steps=org.readings.builds_nested_steps,
            )
            assert result.plan is not None and result.org is not None, result.problems
            if result.plan.blockers:
                return list(result.plan.blockers)
            if result.plan.empty:
                return []
            report = apply_plan(client, result.plan)
            if report.failed:
                return [str(o.error) for o in report.failed]
        again = make_plan(client, "readings", templates, applies_to=org.readings.applies_to)
        assert again.plan is not None
        return [] if again.plan.empty else [c.name for c in again.plan.changes]


def live_titles(emulator: Emulator) -> list[str]:
    return sorted(t["title"] for t in emulator.state["checklists"].values() if not t["archived_at"])


def settles_or_refuses_the_clears(org: Org, tmp_path: Path) -> None:
    """The examples, bootstrapped and then edited: each converges, or, where ``""`` clears
    nothing, the edits' plan names each value it would clear and nothing is written."""
    assert converge(org, project_templates(), applies=1) == []
    edited = project_templates(edited_examples(tmp_path))
    before = org.writes()
    refused = converge(org, edited, applies=1)
    if org.emulator.quirks.empty_string == "clears":
        assert refused == []
    else:
        assert not org.readings.clears_with_empty, "the probe found it"
        assert len(refused) == 2, refused
        assert any("deadline would be cleared" in r for r in refused), refused
        assert any("folder would be cleared" in r for r in refused), refused
        assert all("Clear it in Tallyfy first, or keep a value in the YAML" in r for r in refused)
        assert org.writes() == before, "refused before any write"
    assert live_titles(org.emulator) == sorted(t.title for t in edited), "never a duplicate"


@pytest.mark.parametrize("answer", [*ANSWERS, "strict"])
def test_apply_then_plan_is_empty_under_each_reading(answer: str, tmp_path: Path) -> None:
    settles_or_refuses_the_clears(Org.of(answer).probe(), tmp_path)


def test_all_together_converges_or_refuses_the_clears_with_no_duplicate(tmp_path: Path) -> None:
    org = Org.of(*EVERY_ANSWER_AT_ONCE).probe()
    assert set(org.emulator.quirks.on()) >= {"low_rate_limit", "empty_string=refused"}
    settles_or_refuses_the_clears(org, tmp_path)
    assert org.clock.slept > 0, "the org's limits were met, and waited out"


def test_all_together_with_clears_taken_converges(tmp_path: Path) -> None:
    """The same org but for ``empty_string``: the edits, clears included, converge."""
    org = Org.of(*EVERY_ANSWER_AT_ONCE, "empty_string=clears").probe()
    assert org.readings.clears_with_empty
    settles_or_refuses_the_clears(org, tmp_path)


def test_without_a_probe_a_value_that_cannot_be_cleared_stops_apply_at_its_write(
    tmp_path: Path,
) -> None:
    """Unprobed, tallyform cannot know before it tries: apply stops at the write Tallyfy
    refuses or ignores, saying what to do, and the next plan says the same again."""
    for choice in ("refused", "ignored"):
        org = Org.of(f"empty_string={choice}")
        assert converge(org, project_templates()) == []
        errors = converge(org, project_templates(edited_examples(tmp_path / choice)), applies=1)
        assert errors and all("clear" in e and "Tallyfy" in e for e in errors), errors
        assert all(CLEAR_ADVICE in e for e in errors)


# Credentials that cannot see custom fields ---------------------------------------------------


def minted_token(org: Org, app: str, email: str = "alice@example.com") -> str:
    """The member token an application mints to act as ``email`` (``act_as``)."""
    with httpx.Client(transport=EmulatorTransport(org.emulator), base_url=IN_PROCESS_URL) as raw:
        url = f"/applications/{org.emulator.org_id}/users/{email}/token"
        minted = raw.post(url, headers=auth(app))
    assert minted.status_code == 200, minted.text
    return str(minted.json()["access_token"])


@pytest.mark.parametrize("bootstrapped", [False, True], ids=["new org", "bootstrapped org"])
def test_an_applications_own_token_that_cannot_see_custom_fields_is_refused_before_any_write(
    bootstrapped: bool,
) -> None:
    """A new org included: the users list, which every org has, already shows ``null``."""
    org = Org.of("custom_fields_null")
    if bootstrapped:
        assert converge(org, project_templates()) == [], "a member's token converges"
    app = application_token(org.emulator)
    before = org.writes()
    with org.client(app) as client, pytest.raises(KeysHidden) as refused:
        make_plan(client, "readings", project_templates())
    assert "cannot see custom-field values" in str(refused.value)
    assert "member's token" in str(refused.value) and "act_as" in str(refused.value)
    assert "Nothing was changed" in str(refused.value)
    assert org.writes() == before
    assert converge(org, project_templates(), token=minted_token(org, app)) == [], "act_as"
    assert len(live_titles(org.emulator)) == len(project_templates()), "never a duplicate"


def test_under_strict_an_applications_own_token_is_refused_and_its_member_converges() -> None:
    """Strict refuses an application's own token outright (``app_tokens_cannot_act``), so
    its ``custom_fields_null`` never shows; the member token it mints sees the values."""
    org = Org.of("strict")
    assert org.emulator.quirks.custom_fields_null and org.emulator.quirks.app_tokens_cannot_act
    app = application_token(org.emulator)
    with org.client(app) as client:
        assert client.request("GET", client.org_path("/users")).status == 403
    assert converge(org, project_templates(), token=minted_token(org, app)) == []
    assert converge(org, project_templates(), applies=0) == [], "the admin sees the same"


def test_a_strict_plan_reads_each_template_once_not_each_step(tmp_path: Path) -> None:
    """Nested objects show no custom fields under strict: the template's own map of its
    children's keys (tallyform_ids) saves a read per step."""
    count = 12
    write_project(tmp_path, count)
    templates = project_templates(tmp_path)
    org = Org.of("strict")
    assert converge(org, templates) == []
    emulator = org.emulator
    with org.client() as client:
        before = client.stats.requests
        result = make_plan(client, "readings", templates)
        assert result.plan is not None and result.plan.empty
        requests = client.stats.requests - before
    # The lists (users, groups, tags, folders, keys, templates twice, archived), then one
    # read of each template: no step is read on its own.
    assert requests <= count + 12, requests
    gets = [r["path"] for r in emulator.requests[-requests:] if r["method"] == "GET"]
    assert not [p for p in gets if re.search(r"/steps/[0-9a-f]+$", p)], gets


def test_a_template_that_gains_a_step_keeps_its_map(tmp_path: Path) -> None:
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".tallyform"))
    org = Org.of("strict")
    assert converge(org, project_templates(root)) == []
    path = root / "templates/incident-response.yaml"
    path.write_text(
        path.read_text().replace(
            "  - key: postmortem\n",
            "  - key: tell-customers\n    title: Tell customers\n  - key: postmortem\n",
            1,
        )
    )
    assert converge(org, project_templates(root), applies=1) == []
    before = len(org.emulator.requests)
    with org.client() as client:
        make_plan(client, "readings", project_templates(root))
    gets = [r["path"] for r in org.emulator.requests[before:] if r["method"] == "GET"]
    assert not [p for p in gets if re.search(r"/steps/[0-9a-f]+$", p)], gets


class BodilessWrites(httpx.BaseTransport):
    """Answers the writes whose answers tallyform never reads (attaching a tag, moving a
    form field out of its step) with 204 and no body, after the emulator made them: no
    source shows what Tallyfy answers there."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.emptied = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.inner.handle_request(request)
        path = request.url.path
        if path.endswith(("/checklists/tags", "/move-out")):
            self.emptied += 1
            return httpx.Response(204)
        return answer


def test_a_write_whose_answer_is_not_read_is_done_whatever_it_answers() -> None:
    emulator = Emulator()
    transport = BodilessWrites(EmulatorTransport(emulator))
    with TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        transport=transport,
        credentials=StaticToken(DEFAULT_TOKEN, "TEST"),
    ) as client:
        result = make_plan(client, "bodiless", project_templates())
        assert result.plan is not None
        report = apply_plan(client, result.plan)
        assert not report.failed, [str(o.error) for o in report.failed]
        assert transport.emptied > 0, "the examples attach tags"
        again = make_plan(client, "bodiless", project_templates())
        assert again.plan is not None and again.plan.empty


def test_templates_that_show_their_values_outweigh_lists_of_nulls() -> None:
    """Users, tags and folders listed with ``custom_fields: null``: a view that is not a
    member's, unless the org's templates show their values (a member's view, had Tallyfy
    written null for records with no value there; no source says it does not)."""
    nulls = {
        "users": [{"id": 1, "custom_fields": None}],
        "tags": [{"id": "t", "custom_fields": None}],
        "folders": {"f": {"id": "f", "custom_fields": None}},
    }
    with client_for(Emulator()) as client:
        with pytest.raises(KeysHidden):
            require_visible_values(client, {**nulls, "templates": []})
        with pytest.raises(KeysHidden):
            hidden = [{"id": "x", "custom_fields": None}]
            require_visible_values(client, {**nulls, "templates": hidden})
        shown = [{"id": "x", "custom_fields": {}}]
        require_visible_values(client, {**nulls, "templates": shown})
