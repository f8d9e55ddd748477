"""Asking a live org how its API answers what the reference leaves open (``tallyform probe``).

The reference (sections 9 and 10) and the audit list questions no public source settles;
the emulator answers each the likeliest way by default and the pessimistic way as a
named quirk. A probe settles them for one org: it makes one throwaway template (titled
``tallyform probe ... (safe to delete)``), a tag and two folders, asks each question with
the smallest write that shows the answer, and archives and deletes what it made at the
end, after an error or Ctrl-C too. Each :class:`Finding` is named as the emulator's quirk
for the same question, so a probe of the emulator reports exactly the quirks it runs with.

What the probe learns that tallyform acts on is kept per org (:class:`Readings`, saved by
the CLI under ``.tallyform/probe/``): the custom-field ``applies_to`` values the org
accepts, whether an empty string clears a value, and whether a template's create builds
the steps and form fields nested in it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tallyform.client import TallyfyClient, TallyfyError, redact, unwrap
from tallyform.tallyfy.read import get_template
from tallyform.tallyfy.wire import DEFAULT_APPLIES_TO, KEY_FIELD, UI_APPLIES_TO, WHOLE

PROBE_TITLE = "tallyform probe {stamp} (safe to delete)"
PROBE_URL = "https://example.com/tallyform-probe"
PROBE_TRIES = 3  # a refusal is an answer here: a few tries against a blip, not minutes
FULL_RATE = 600  # requests a minute the reference documents (5.4)


@dataclass(frozen=True)
class Finding:
    """One open question, answered by what the org did.

    ``quirk`` is True where the org gives the emulator's pessimistic answer (its quirk of
    the same ``name`` is on), False where it gives the likeliest, None where one run could
    not tell. ``choice`` names the answer where a question has more than two.
    """

    name: str
    question: str
    sent: str
    got: str
    quirk: bool | None
    does: str
    choice: str | None = None

    @property
    def reading(self) -> str:
        if self.choice is not None:
            return self.choice
        return {True: "pessimistic", False: "likeliest", None: "not settled"}[self.quirk]


@dataclass
class Readings:
    """What tallyform does differently in an org, from that org's probe."""

    applies_to: dict[str, str] = field(default_factory=dict)  # record kind -> value
    clears_with_empty: bool = True  # whether "" clears a value
    builds_nested_steps: bool = False  # whether POST /checklists builds nested steps

    @classmethod
    def of(cls, findings: list[Finding]) -> Readings:
        readings = cls()
        by_name = {f.name: f for f in findings}
        applies = by_name.get("applies_to_ui_names")
        if applies is not None and applies.quirk:
            readings.applies_to = dict(UI_APPLIES_TO)
        empty = by_name.get("empty_string")
        if empty is not None and empty.choice in ("refused", "ignored"):
            readings.clears_with_empty = False
        nested = by_name.get("nested_steps_built")
        readings.builds_nested_steps = nested is not None and nested.quirk is True
        return readings

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Readings:
        if not isinstance(data, dict):
            return cls()
        applies = data.get("applies_to")
        return cls(
            applies_to={str(k): str(v) for k, v in applies.items()}
            if isinstance(applies, dict)
            else {},
            clears_with_empty=bool(data.get("clears_with_empty", True)),
            builds_nested_steps=data.get("builds_nested_steps") is True,
        )


@dataclass(frozen=True)
class Answer:
    """What one request got: its status (None: it was not sent), its body or error text."""

    status: int | None
    body: Any = None
    error: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 300

    def rows(self) -> list[dict[str, Any]]:
        """The rows of a list's answer (none if it was refused or is not a list)."""
        found = self.body.get("data") if isinstance(self.body, dict) else self.body
        return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []

    def said(self) -> str:
        if self.status is None:
            return "not sent"
        if self.ok:
            return f"{self.status}"
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in sorted(self.errors.items()))
        return f"{self.status} {self.error}".strip() + (f" ({details})" if details else "")


# The requests a probe sends, in order, for --dry-run (ids stand for what the org gives).
PLANNED_REQUESTS = (
    "GET /custom-field-keys?is_active=true",
    "POST /checklists  (a throwaway template with a kick-off field and a nested step)",
    "GET /checklists/{id}?with=steps,tags,folder",
    "POST /checklists/{id}/steps, POST .../steps/{step}/captures  (where the create built none)",
    "PUT /checklists/{id}  (a kick-off field, where the create dropped it)",
    "POST /custom-field-keys  (tallyform_key per record kind, where the org lacks one)",
    "PUT /checklists/{id}/custom-fields, PUT .../steps/{step}/custom-fields, "
    "PUT .../captures/{capture}/custom-fields, PUT .../preruns/{prerun}/custom-fields",
    "GET /checklists/{id}, GET /checklists/{id}/steps/{step}",
    "GET /checklists?q={title}&with=steps,tags,folder  (and without `with`, if refused)",
    'PUT /checklists/{id}  (webhook set, then null, then "")',
    "POST /checklists/{id}/automated-actions, PUT the same rule, GET /checklists/{id}",
    "POST .../steps/{step}/captures (no position), PUT it with another field_type, DELETE it",
    "PUT /checklists/{id}  (prerun left out of the kick-off array)",
    "POST /tags, POST /checklists/tags, GET /checklists/{id}?with=tags, "
    "DELETE /checklists/tags/{link}, DELETE /tags/{tag}, POST /tags (same title), DELETE /tags/{tag}",
    "POST /folders (two, one inside the other), GET /folders?folder_type=checklist, DELETE both",
    "GET /checklists?per_page=1  (pages 1 to 4, to see rows move between pages)",
    "POST {host}/oauth/token  (made-up credentials: is the token endpoint there?)",
    "DELETE /checklists/{id}  (archive the throwaway template)",
)


class Probe:
    """One probe of one org: the throwaway objects it made, and what it found."""

    def __init__(self, client: TallyfyClient, application: bool = False) -> None:
        self.client = client
        self.application = application
        self.stamp = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
        self.title = PROBE_TITLE.format(stamp=self.stamp)
        self.findings: list[Finding] = []
        self.template_id: str | None = None
        self.step_ids: list[str] = []
        self.capture_id: str | None = None
        self.prerun_id: str | None = None
        self.made_tags: list[str] = []
        self.made_folders: list[str] = []  # deepest last
        self.left: list[str] = []  # what the clean-up could not remove, for the user
        self.cleaned = False

    # -- sending ------------------------------------------------------------------------

    def send(self, method: str, path: str, body: Any = None, params: Any = None) -> Answer:
        """One request, its answer kept whatever its status (a refusal is an answer here)."""
        full = self.client.org_path(path)
        try:
            reply = self.client.request(method, full, params=params, json=body, tries=PROBE_TRIES)
        except TallyfyError as error:  # no answer at all, or rate-limited to the end
            return Answer(error.status, None, error.message)
        try:
            parsed = reply.json() if reply.content else None
        except ValueError:
            parsed = None
        if reply.status < 300:
            return Answer(reply.status, parsed)
        said = parsed if isinstance(parsed, dict) else {}
        found = said.get("errors")
        errors: dict[str, Any] = found if isinstance(found, dict) else {}
        return Answer(
            reply.status,
            None,
            redact(str(said.get("message") or reply.reason or "")),
            {
                str(k): [str(m) for m in (v if isinstance(v, list) else [v])]
                for k, v in errors.items()
            },
        )

    def made(self, method: str, path: str, body: Any) -> dict[str, Any]:
        """A write the probe needs to go on (making its throwaway objects): its answer's
        object, or a clear error naming the request."""
        answer = self.send(method, path, body)
        made = unwrap(answer.body) if answer.ok else None
        if not isinstance(made, dict) or "id" not in made:
            raise TallyfyError(
                f"the probe could not make what it needs ({answer.said()}); what it made so "
                "far is archived or deleted",
                method=method,
                path=self.client.org_path(path),
                status=answer.status,
            )
        return made

    def found(self, finding: Finding) -> None:
        self.findings.append(finding)

    @property
    def base(self) -> str:
        return f"/checklists/{self.template_id}"

    def read(self) -> dict[str, Any]:
        return get_template(self.client, str(self.template_id))

    # -- the run ------------------------------------------------------------------------

    def run(self) -> list[Finding]:
        """Every check, in order; what was made is archived or deleted whatever happens."""
        try:
            for check in self.checks():
                check()
        finally:
            self.clean_up()
        return self.findings

    def checks(self) -> list[Callable[[], None]]:
        return [
            self.app_token,
            self.create,
            self.keys,
            self.listing,
            self.clearing,
            self.rule_put,
            self.form_fields,
            self.prerun_omitted,
            self.tags,
            self.folders,
            self.pages,
            self.rate_limit,
            self.token_host,
        ]

    def clean_up(self) -> None:
        """Archive the throwaway template and delete the tags and folders the probe made."""
        removals = [(f"/tags/{tag_id}", f"tag {tag_id}") for tag_id in self.made_tags]
        removals += [(f"/folders/{f}", f"folder {f}") for f in reversed(self.made_folders)]
        if self.template_id is not None:
            removals.append((self.base, f"template {self.template_id}"))
        for path, what in removals:
            try:
                self.client.delete(path)
            except TallyfyError:
                self.left.append(what)
        self.cleaned = True

    # -- the checks ----------------------------------------------------------------------

    def app_token(self) -> None:
        self.found(
            Finding(
                "app_tokens_cannot_act",
                "May an application's own token act in the org, or only the member tokens it mints?",
                "GET /me with these credentials",
                "answered (the probe runs)"
                if not self.application
                else "answered: the application's token acts",
                False if self.application else None,
                "an application that must act as a member sets `act_as: EMAIL` under the org",
            )
        )

    def create(self) -> None:
        body = {
            "title": self.title,
            "type": "procedure",
            "summary": "Made by `tallyform probe` to learn how this org's API answers; "
            "archived when the probe ends. Safe to delete.",
            "prerun": [{"label": "Probe kick-off", "field_type": "text", "required": False}],
            "steps": [
                {
                    "title": "Probe step A",
                    "step_type": "task",
                    "position": 1,
                    "captures": [
                        {
                            "label": "Probe field",
                            "field_type": "text",
                            "required": False,
                            "position": 1,
                        }
                    ],
                }
            ],
        }
        self.template_id = str(self.made("POST", "/checklists", body)["id"])
        template = self.read()
        built = [s for s in template["steps"] if s.get("title") == "Probe step A"]
        self.found(
            Finding(
                "nested_steps_built",
                "Does POST /checklists build the nested `steps` (with their form fields) it is sent?",
                "POST /checklists with one nested step holding one form field",
                f"{len(template['steps'])} step(s) in the new template",
                bool(built),
                "a new template's POST carries its steps and form fields, which its map keys"
                if built
                else "each step and form field is created on its own (one write each)",
            )
        )
        kept = [p for p in template["prerun"] if p.get("label") == "Probe kick-off"]
        self.found(
            Finding(
                "prerun_dropped_on_create",
                "Does POST /checklists keep the `prerun` (kick-off fields) it is sent?",
                "POST /checklists with one kick-off field",
                f"{len(template['prerun'])} kick-off field(s) in the new template",
                not kept,
                "kick-off fields are written with the template's own PUT",
            )
        )
        self.complete(template, built, kept)

    def complete(self, template: dict[str, Any], built: list[Any], kept: list[Any]) -> None:
        """Give the throwaway template what the create did not build: two steps (the
        first with a form field and a deadline) and a kick-off field."""
        if built:
            step_a = built[0]
            captures = step_a.get("captures") or []
            self.capture_id = str(captures[0]["id"]) if captures else None
        else:
            step_a = self.made("POST", f"{self.base}/steps", self.step("Probe step A"))
        self.step_ids.append(str(step_a["id"]))
        step_b = self.made("POST", f"{self.base}/steps", self.step("Probe step B"))
        self.step_ids.append(str(step_b["id"]))
        if self.capture_id is None:
            field_body = {
                "label": "Probe field",
                "field_type": "text",
                "required": False,
                "position": 1,
            }
            made = self.made("POST", f"{self.step_path(0)}/captures", field_body)
            self.capture_id = str(made["id"])
        step_body = {**self.step("Probe step A"), "deadline": self.deadline()}
        self.send("PUT", self.step_path(0), step_body)
        if not kept:
            entry = {"label": "Probe kick-off", "field_type": "text", "required": False}
            self.send("PUT", self.base, {"title": self.title, "prerun": [entry]})
        template = self.read()
        prerun = template["prerun"]
        self.prerun_id = str(prerun[0]["id"]) if prerun else None

    def step(self, title: str) -> dict[str, Any]:
        return {"checklist_id": self.template_id, "title": title, "step_type": "task"}

    @staticmethod
    def deadline() -> dict[str, Any]:
        return {"value": 2, "unit": "days", "option": "from", "step": "start_run"}

    def step_path(self, index: int) -> str:
        return f"{self.base}/steps/{self.step_ids[index]}"

    def keys(self) -> None:
        """Which applies_to values the org takes, whether values can be written and seen."""
        listed = self.send(
            "GET", "/custom-field-keys", params={"is_active": "true", "per_page": 100}
        )
        rows = listed.rows()
        ours = {str(k.get("applies_to")) for k in rows or [] if k.get("key") == KEY_FIELD}
        refused = None
        for record, value in DEFAULT_APPLIES_TO.items():
            if value in ours or UI_APPLIES_TO[record] in ours:
                continue
            made = self.send("POST", "/custom-field-keys", self.key_body(value))
            if made.ok:
                ours.add(value)
                continue
            if made.status in (400, 422) and "applies_to" in made.errors:
                refused = made
                ui = self.send("POST", "/custom-field-keys", self.key_body(UI_APPLIES_TO[record]))
                if ui.ok:
                    ours.add(UI_APPLIES_TO[record])
        api_names = set(DEFAULT_APPLIES_TO.values())
        ui_names = set(UI_APPLIES_TO.values()) - api_names
        uses_ui = bool(ours & ui_names) or refused is not None
        self.found(
            Finding(
                "applies_to_ui_names",
                "Which `applies_to` values name a template, step, form field and kick-off field?",
                "GET /custom-field-keys; POST /custom-field-keys with the API's nouns where missing",
                f"tallyform_key defined for: {', '.join(sorted(ours)) or 'none'}"
                + (f"; the API's nouns refused ({refused.said()})" if refused else ""),
                uses_ui if ours or refused else None,
                "the org's values are used for its keys (kept from this probe)",
            )
        )
        self.values()

    @staticmethod
    def key_body(applies_to: str) -> dict[str, Any]:
        return {
            "key": KEY_FIELD,
            "label": "tallyform key",
            "applies_to": applies_to,
            "field_type": "text",
            "is_required": False,
            "is_active": True,
        }

    def values(self) -> None:
        value = {"custom_fields": {KEY_FIELD: "tallyform-probe"}}
        written = self.send("PUT", f"{self.base}/custom-fields", value)
        for path in (
            self.step_path(0),
            f"{self.step_path(0)}/captures/{self.capture_id}",
            f"{self.base}/preruns/{self.prerun_id}" if self.prerun_id else None,
        ):
            if path is not None:
                self.send("PUT", f"{path}/custom-fields", value)
        self.found(
            Finding(
                "custom_field_write_forbidden",
                "May these credentials write a template's custom-field values?",
                "PUT /checklists/{id}/custom-fields {tallyform_key: ...}",
                written.said(),
                written.status == 403,
                "apply stops before any write and says an admin must run it",
            )
        )
        template = self.send("GET", self.base).body
        template = unwrap(template) if isinstance(template, dict) else {}
        values = template.get("custom_fields") if isinstance(template, dict) else None
        self.found(
            Finding(
                "custom_fields_null",
                "Do these credentials see custom-field values on a direct read?",
                "GET /checklists/{id}",
                "custom_fields: null"
                if values is None and "custom_fields" in template
                else f"custom_fields: {values!r}"[:120],
                values is None and "custom_fields" in template,
                "plan stops before any write: a member's token is needed",
            )
        )

    def listing(self) -> None:
        """What the template list's rows carry, asked with the includes a plan asks for."""
        params = {"q": self.title, "with": WHOLE, "per_page": 100}
        listed = self.send("GET", "/checklists", params=params)
        self.found(
            Finding(
                "list_with_refused",
                "Does the template list take with=steps,tags,folder?",
                f"GET /checklists?with={WHOLE}",
                listed.said(),
                not listed.ok,
                "the list is read again without `with`, each template on its own",
                None if listed.ok else str(listed.status),
            )
        )
        refused = not listed.ok
        if refused:  # the 2025 Swagger enum lacks tags: steps alone may still be taken
            listed = self.send("GET", "/checklists", params={**params, "with": "steps"})
            refused = not listed.ok
        if refused:
            params.pop("with")
            listed = self.send("GET", "/checklists", params=params)
        rows = [r for r in listed.rows() if str(r.get("id")) == self.template_id]
        row = rows[0] if rows else {}
        steps = unwrap(row.get("steps")) if "steps" in row else None
        self.found(
            Finding(
                "list_without_includes",
                "Do list rows carry the includes asked for (steps, tags)?",
                f"GET /checklists?with={WHOLE}",
                "rows carry steps" if steps is not None else "rows carry no steps",
                steps is None if rows and not refused else None,
                "each template is read on its own (one request each)",
            )
        )
        self.found(
            Finding(
                "no_custom_fields_in_lists",
                "Do list rows carry the template's custom_fields?",
                "GET /checklists",
                "custom_fields present" if "custom_fields" in row else "no custom_fields",
                "custom_fields" not in row if rows else None,
                "each template's key is read with the template (one request each)",
            )
        )
        self.listed_children(row, steps)

    def listed_children(self, row: dict[str, Any], steps: list[Any] | None) -> None:
        prerun = unwrap(row.get("prerun")) or []
        self.found(
            Finding(
                "prerun_without_custom_fields",
                "Do kick-off fields in list rows carry their custom_fields?",
                "GET /checklists (the row's prerun)",
                f"{len(prerun)} kick-off field(s), "
                f"{sum(1 for p in prerun if 'custom_fields' in p)} with custom_fields",
                # Settled only where the row itself shows its custom fields: a row without
                # any is no_custom_fields_in_lists, which hides the kick-off fields' too.
                any("custom_fields" not in p for p in prerun)
                if prerun and isinstance(row.get("custom_fields"), dict) and self.steps_show(steps)
                else None,
                "the template is read on its own to learn its kick-off fields' keys",
            )
        )
        listed_a = next((s for s in steps or [] if s.get("title") == "Probe step A"), None)
        captures = unwrap(listed_a.get("captures")) or [] if listed_a else []
        self.found(
            Finding(
                "captures_without_custom_fields",
                "Do form fields nested in listed steps carry their custom_fields?",
                "GET /checklists (the row's steps' captures)",
                f"{len(captures)} form field(s), "
                f"{sum(1 for c in captures if 'custom_fields' in c)} with custom_fields",
                any("custom_fields" not in c for c in captures)
                if captures and listed_a is not None and "custom_fields" in listed_a
                else None,
                "steps are read on their own to learn their form fields' keys",
            )
        )
        self.found(self.partial(row, listed_a))
        thin = listed_a is not None and not isinstance(listed_a.get("deadline"), dict)
        self.found(
            Finding(
                "thin_listed_steps",
                "Do listed steps carry all a direct read does (deadline, assignees, settings)?",
                "GET /checklists (a step with a deadline)",
                "the listed step has no deadline" if thin else "the listed step has its deadline",
                thin if listed_a is not None else None,
                "templates are read on their own when listed steps are thin",
            )
        )

    @staticmethod
    def steps_show(steps: list[Any] | None) -> bool:
        return bool(steps) and all("custom_fields" in s for s in steps or [])

    @staticmethod
    def partial(row: dict[str, Any], step: dict[str, Any] | None) -> Finding:
        """Whether the objects nested in a list row show their custom fields when the row
        itself does: present, absent (left out) or null."""
        settled = isinstance(row.get("custom_fields"), dict) and step is not None
        shown = step.get("custom_fields", "absent") if step is not None else "absent"
        choice = "absent" if shown == "absent" else "null" if shown is None else "present"
        return Finding(
            "partial_custom_fields",
            "Do the steps nested in a list row show custom_fields when the row does?",
            "GET /checklists (the row's steps)",
            f"the row's custom_fields {'shown' if 'custom_fields' in row else 'left out'}; "
            f"its step's {choice}",
            choice != "present" if settled else None,
            "steps are read on their own to learn their keys",
            choice if settled else None,
        )

    def clearing(self) -> None:
        """How a set value is cleared: null, and the empty string tallyform sends."""
        base = {"title": self.title}
        self.send("PUT", self.base, {**base, "webhook": PROBE_URL})
        nulled = self.send("PUT", self.base, {**base, "webhook": None})
        self.found(
            Finding(
                "nulls_refused",
                "May a write body hold null?",
                'PUT /checklists/{id} {"webhook": null}',
                nulled.said(),
                not nulled.ok,
                "tallyform never sends null",
            )
        )
        self.send("PUT", self.base, {**base, "webhook": PROBE_URL})
        emptied = self.send("PUT", self.base, {**base, "webhook": ""})
        kept = self.read().get("webhook")
        choice = "refused" if not emptied.ok else "ignored" if kept else "clears"
        self.found(
            Finding(
                "empty_string",
                'Does "" clear a value?',
                'PUT /checklists/{id} {"webhook": ""} after setting it',
                f"{emptied.said()}; webhook is then {kept!r}",
                choice != "clears",
                'values are cleared with ""'
                if choice == "clears"
                else "a plan that clears a value stops before any write and says so",
                choice,
            )
        )

    def rule_put(self) -> None:
        body = {
            "automated_alias": "tallyform probe rule",
            "conditions": [
                {
                    "conditionable_id": self.step_ids[0],
                    "conditionable_type": "Step",
                    "operation": "completed",
                    "logic": "and",
                    "statement": "",
                }
            ],
            "then_actions": [
                {
                    "action_type": "visibility",
                    "action_verb": "show",
                    "target_step_id": self.step_ids[1],
                }
            ],
        }
        made = self.send("POST", f"{self.base}/automated-actions", body)
        if not made.ok:
            self.found(self.unsettled("rule_put_appends", "POST automated-actions", made))
            return
        rule_id = unwrap(made.body)["id"]
        self.send("PUT", f"{self.base}/automated-actions/{rule_id}", body)
        rules = [r for r in self.read()["automated_actions"] if str(r.get("id")) == str(rule_id)]
        conditions = len(rules[0].get("conditions") or []) if rules else 0
        self.found(
            Finding(
                "rule_put_appends",
                "Does a rule PUT without condition and action ids replace them, or append?",
                "POST a rule with one condition, PUT the same body",
                f"{conditions} condition(s) after the PUT",
                conditions > 1,
                "a changed rule is deleted and made again",
            )
        )

    def unsettled(self, name: str, sent: str, answer: Answer) -> Finding:
        return Finding(name, "(could not be asked)", sent, answer.said(), None, "as by default")

    def form_fields(self) -> None:
        path = f"{self.step_path(0)}/captures"
        made = self.send(
            "POST", path, {"label": "Probe field 2", "field_type": "text", "required": False}
        )
        if not made.ok:
            self.found(self.unsettled("unpositioned_first", "POST captures", made))
            return
        new_id = str(unwrap(made.body)["id"])
        step = unwrap(self.send("GET", self.step_path(0)).body) or {}
        order = [
            str(c.get("id"))
            for c in sorted(
                unwrap(step.get("captures")) or [], key=lambda c: c.get("position") or 0
            )
        ]
        self.found(
            Finding(
                "unpositioned_first",
                "Where does a form field created without `position` go?",
                "POST .../captures without position, beside one field",
                "first" if order[:1] == [new_id] else "last",
                order[:1] == [new_id] and len(order) > 1,
                "new form fields are sent with their position",
            )
        )
        retyped = self.send(
            "PUT",
            f"{path}/{new_id}",
            {"label": "Probe field 2", "field_type": "textarea", "required": False},
        )
        self.found(
            Finding(
                "field_type_immutable",
                "May a form field's field_type change in place?",
                "PUT .../captures/{id} with another field_type",
                retyped.said(),
                not retyped.ok,
                "a field whose type Tallyfy refuses to change is replaced",
            )
        )
        deleted = self.send("DELETE", f"{path}/{new_id}")
        bodiless = deleted.ok and deleted.body is None
        self.found(
            Finding(
                "bodiless_deletes",
                "What does a delete of a form field answer?",
                "DELETE .../captures/{id}",
                "no body" if bodiless else f"{deleted.said()} with a body",
                bodiless,
                "deletes are taken with or without a body",
            )
        )

    def prerun_omitted(self) -> None:
        before = len(self.read()["prerun"])
        self.send("PUT", self.base, {"title": self.title, "prerun": []})
        after = len(self.read()["prerun"])
        self.found(
            Finding(
                "prerun_omitted_deleted",
                "Does a template PUT delete the kick-off fields its `prerun` leaves out?",
                'PUT /checklists/{id} {"prerun": []}',
                f"{before} kick-off field(s) before, {after} after",
                after < before if before else None,
                "every template PUT carries the whole kick-off array",
            )
        )

    def tags(self) -> None:
        title = f"tf-probe-{self.stamp[-4:]}"
        made = self.send("POST", "/tags", {"title": title})
        if not made.ok:
            self.found(self.unsettled("tags_without_tag_id", "POST /tags", made))
            return
        tag_id = str(unwrap(made.body)["id"])
        self.made_tags.append(tag_id)
        link = {
            "subject_id": self.template_id,
            "subject_type": "Checklist",
            "tag_id": tag_id,
            "tag_type": "private",
        }
        self.send("POST", "/checklists/tags", link)
        items = self.read()["tags"]
        item: dict[str, Any] = next(iter(items), {})
        shaped = "tag_id" in item and isinstance(item.get("id"), int)
        self.found(
            Finding(
                "tags_without_tag_id",
                "What does a template's tag item under with=tags carry?",
                "POST /checklists/tags, GET /checklists/{id}?with=tags",
                f"keys {sorted(item)}, id {type(item.get('id')).__name__}" if item else "no item",
                not shaped if item else None,
                "a tag is detached only by an integer association id; else the plan says to "
                "remove it in Tallyfy",
            )
        )
        if shaped:
            self.send("DELETE", f"/checklists/tags/{item['id']}")
        self.send("DELETE", f"/tags/{tag_id}")
        self.made_tags.remove(tag_id)
        again = self.send("POST", "/tags", {"title": title})
        if again.ok:
            self.made_tags.append(str(unwrap(again.body)["id"]))
        self.found(
            Finding(
                "deleted_tags_keep_title",
                "Is a deleted tag's title free again?",
                "POST /tags, DELETE /tags/{id}, POST /tags with the same title",
                again.said(),
                again.status in (400, 422),
                "the apply lock's tag title is made unique to each apply",
            )
        )

    def folders(self) -> None:
        name = f"tf-probe-{self.stamp[-4:]}"
        top = self.send("POST", "/folders", {"name": name, "folder_type": "checklist"})
        if not top.ok:
            self.found(self.unsettled("top_level_folders", "POST /folders", top))
            return
        top_id = str(unwrap(top.body)["id"])
        self.made_folders.append(top_id)
        child = self.send(
            "POST",
            "/folders",
            {"name": f"{name} inner", "folder_type": "checklist", "parent_id": top_id},
        )
        child_id = str(unwrap(child.body)["id"]) if child.ok else None
        if child_id:
            self.made_folders.append(child_id)
        rows = self.client.list_all("/folders", {"folder_type": "checklist"})
        listed = {str(r.get("id")) for r in rows}
        self.found(
            Finding(
                "top_level_folders",
                "Does GET /folders list folders inside other folders?",
                "POST two folders, one inside the other; GET /folders?folder_type=checklist",
                "the inner folder is listed" if child_id in listed else "only the outer one",
                child_id not in listed if child_id else None,
                "folders are read with with=children and the tree is walked",
            )
        )

    def pages(self) -> None:
        """Whether rows move between pages while a list is read page by page."""
        seen: list[str] = []
        first = self.send("GET", "/checklists", params={"per_page": 1, "page": 1})
        meta = first.body.get("meta") if isinstance(first.body, dict) else None
        pagination = meta.get("pagination") if isinstance(meta, dict) else {}
        total = int((pagination or {}).get("total") or 0)
        pages = min(total, 4)
        seen += [str(r.get("id")) for r in first.rows()]
        for number in range(2, pages + 1):
            page = self.send("GET", "/checklists", params={"per_page": 1, "page": number})
            seen += [str(r.get("id")) for r in page.rows()]
        moved = len(set(seen)) < len(seen)
        self.found(
            Finding(
                "page_drift",
                "Do rows move between pages while a list is read?",
                f"GET /checklists?per_page=1, pages 1 to {max(pages, 1)}",
                f"{len(seen)} rows, {len(set(seen))} different",
                moved if pages > 1 else None,
                "pages are kept once by id and checked against the total; a short list is read again",
            )
        )

    def token_host(self) -> None:
        """Whether the OAuth token endpoint answers beside the API, or only on the account
        host (two documentation pages disagree)."""
        url = self.client.base_url.removesuffix("/api") + "/oauth/token"
        form = {"grant_type": "client_credentials", "client_id": "0", "client_secret": "probe"}
        status = self.client.form_post_status(url, form)
        self.found(
            Finding(
                "oauth_account_host",
                "Where is the OAuth token endpoint: beside the API, or on the account host?",
                f"POST {url} with made-up application credentials",
                "no answer" if status is None else f"{status}",
                status == 404 if status is not None else None,
                "an application's token is asked for beside the API, then on the account host",
            )
        )

    def rate_limit(self) -> None:
        headers = self.client.rate_limit_headers
        limit = headers.get("x-ratelimit-limit")
        try:
            number = int(limit) if limit is not None else None
        except ValueError:
            number = None
        self.found(
            Finding(
                "low_rate_limit",
                "How many requests a minute does the org allow?",
                "every request of this probe (X-RateLimit-* headers)",
                ", ".join(f"{k}: {v}" for k, v in sorted(headers.items())) or "no such headers",
                number < FULL_RATE if number is not None else None,
                "requests are paced under the stated limit and 429s wait as Retry-After says",
            )
        )


ANSWERS_VERSION = 1


def answers_document(
    org: str, org_id: str, findings: list[Finding], version: str
) -> dict[str, Any]:
    """A probe's answers as the JSON document kept for the org (and ``--json`` writes)."""
    return {
        "format_version": ANSWERS_VERSION,
        "org": org,
        "org_id": org_id,
        "probed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tallyform": version,
        "findings": [{**asdict(f), "reading": f.reading} for f in findings],
        "readings": Readings.of(findings).as_dict(),
    }


def readings_from(document: Any, org_id: str) -> Readings:
    """What a kept answers document tells tallyform to do in the org ``org_id``; the
    defaults where it was made for another org or cannot be read."""
    if not isinstance(document, dict) or document.get("org_id") != org_id:
        return Readings()
    return Readings.from_dict(document.get("readings"))
