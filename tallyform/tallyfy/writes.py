"""Carrying out one change: a small executor for each kind and action.

An executor sends exactly the writes its change's spec counts
(:mod:`tallyform.model.kinds`), but where an org that was to build a template's nested
steps built none (then each is made on its own), builds request bodies from the change's normalised objects,
and records the ids of objects as they come into being. It never decides what to change,
nor which change sends the template's own PUT, whether a new step's deadline waits for a
step made later, which change writes the template's map of its children, or whether a new
template's POST carries its steps and form fields (where the org builds them): those are
the duties the planner set on each change, once (:func:`tallyform.engine.compose.assign_duties`). Every request that creates something (a POST, a template PUT that
adds kick-off fields, a move of a form field) passes a lookup to the client, so a create
whose answer was lost is looked for before it is sent again.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from tallyform.client import TallyfyClient, TallyfyError, ValidationFailed
from tallyform.errors import TallyformError
from tallyform.model.changes import Change
from tallyform.model.kinds import Action, ChangeSpec, Kind, spec
from tallyform.model.state import FieldState, TemplateState
from tallyform.tallyfy.payloads import (
    field_body,
    nested_step,
    rule_body,
    step_body,
    template_body,
)
from tallyform.tallyfy.read import IDS_RECORD, KeysHidden, LiveOrg, get_template, read_folders
from tallyform.tallyfy.records import (
    FieldRecord,
    Folder,
    KeyDefinition,
    StepRecord,
    TemplateRecord,
    Writable,
)
from tallyform.tallyfy.wire import (
    DEFAULT_APPLIES_TO,
    IDS_FIELD,
    KEY_FIELD,
    UI_APPLIES_TO,
    hides_keys,
    ids_value,
    key_of,
    whole_template,
)

log = logging.getLogger("tallyform.tallyfy")
R = TypeVar("R", TemplateRecord, StepRecord, FieldRecord)


class KeySetupRefused(TallyformError):
    """The tallyform_key custom fields are missing and this token may not define them."""


KEY_SETUP_ADVICE = (
    "tallyform needs a text custom field 'tallyform_key' on templates, steps, form fields "
    "and kick-off fields, and only an org admin can define it. Ask an admin to run "
    "`tallyform apply` once, or to add that custom field key in Tallyfy, then run apply again."
)


KEYS_HIDDEN_AT_CREATE = (
    "these credentials cannot see custom-field values: Tallyfy answered the new template "
    "with `custom_fields: null`, so tallyform could never find it again by its key. It "
    "was made but not keyed; use a member's token (an org admin's, or a member who can "
    "edit the templates; an application sets `act_as: EMAIL` under the org) and run "
    "apply again, which adopts it by its title."
)


class ClearNotTaken(TallyfyError):
    """Tallyfy refused, or ignored, the empty string that clears a value (audit W4)."""


CLEAR_ADVICE = (
    "tallyform clears a value by sending an empty string (Tallyfy's own clients never send "
    "null) and knows no other way: clear it in Tallyfy, or keep a value in the YAML. "
    "`tallyform probe` records how the org answers, and plan then says so before apply."
)


def cleared_keys(body: Any) -> list[str]:
    """The top-level keys a write body clears (sends as ``""``)."""
    return [k for k, v in body.items() if v == ""] if isinstance(body, dict) else []


def checked_clear(send: Callable[[], Any], body: Any, method: str, path: str) -> Any:
    """Send a write that may clear values, and make sure Tallyfy cleared them: a refusal
    names them, and an answer that still holds one is an error, not a plan that never
    converges (quirk ``empty_string``)."""
    cleared = cleared_keys(body)
    try:
        answer = send()
    except ValidationFailed as refusal:
        refused = [k for k in cleared if k in refusal.field_errors]
        if not refused:
            raise
        said = "; ".join(m for k in refused for m in refusal.field_errors[k])
        raise ClearNotTaken(
            f"Tallyfy refused to clear {', '.join(refused)} ({said}). {CLEAR_ADVICE}",
            method=method,
            path=path,
            status=refusal.status,
        ) from None
    kept = [
        k for k in cleared if isinstance(answer, dict) and answer.get(k) not in (None, "", [], {})
    ]
    if kept:
        raise ClearNotTaken(
            f"Tallyfy kept {', '.join(kept)} when asked to clear it with an empty string. "
            + CLEAR_ADVICE,
            method=method,
            path=path,
        )
    return answer


def applies_to_advice(record: str, kind: str, error: ValidationFailed) -> str:
    said = "; ".join(error.field_errors.get("applies_to", []))
    whose = (
        "the value tallyform.yaml sets for this org"
        if kind != DEFAULT_APPLIES_TO[record]
        else "tallyform's default, a guess: Tallyfy lists the values only in its live API reference"
    )
    return (
        f"Tallyfy refused the custom field key for {record}s with applies_to '{kind}' ({said}); "
        f"'{kind}' is {whose}. Set the right one in tallyform.yaml under the org, e.g. "
        f"`applies_to: {{{record}: VALUE}}`, and run apply again. No template was changed."
    )


@dataclass
class ApplyContext:
    """What every executor shares: the client, the org as read, and who is applying."""

    client: TallyfyClient
    org: LiveOrg
    me: Any = None  # the caller's user id: a lost template create is looked for among theirs
    shared: threading.RLock = field(default_factory=threading.RLock)  # org-wide objects
    claimed: set[str] = field(default_factory=set)  # template ids this apply made
    _title_locks: dict[str, threading.Lock] = field(default_factory=dict)

    def title_lock(self, title: str) -> threading.Lock:
        """One lock per template title: two new templates of one title are made one at a
        time, so the look-up after a lost answer can tell whose template it finds."""
        with self.shared:
            return self._title_locks.setdefault(title, threading.Lock())

    def existing_template(self, template_id: str) -> bool:
        """Whether the id was in the org before this apply, or made by it for another key."""
        with self.shared:
            if template_id in self.claimed:
                return True
        listed = (*self.org.templates, *self.org.archived)
        return any(row.id == template_id for row in listed)


# -- org-wide objects ---------------------------------------------------------------------


def create_key(context: ApplyContext, change: Change) -> None:
    """Define tallyform_key for one record kind (or tallyform_ids on templates, for the
    ``ids`` setup). Where Tallyfy refuses the API's noun for ``applies_to`` and the value
    is tallyform's default, the UI's name for the kind is tried (audit W1: the enum likely
    uses the UI's names), and kept for this apply."""
    field = IDS_FIELD if change.desired == IDS_RECORD else KEY_FIELD
    record = "template" if field == IDS_FIELD else str(change.desired)
    kind = context.org.applies_to[record]
    try:
        _define_key(context.client, kind, field)
    except ValidationFailed as error:
        ui = UI_APPLIES_TO[record]
        if "applies_to" not in error.field_errors:
            raise
        if kind != DEFAULT_APPLIES_TO[record] or ui == kind:
            raise KeySetupRefused(applies_to_advice(record, kind, error)) from None
        try:
            _define_key(context.client, ui, field)
        except ValidationFailed:
            raise KeySetupRefused(applies_to_advice(record, kind, error)) from None
        log.info("Tallyfy took applies_to '%s' for %ss, not '%s'", ui, record, kind)
        kind = ui
    except TallyfyError as error:
        if error.status == 403:
            raise KeySetupRefused(KEY_SETUP_ADVICE) from None
        raise
    with context.shared:
        context.org.applies_to[record] = kind
        if field == KEY_FIELD:
            context.org.key_kinds.add(kind)
        context.org.key_defs.append(KeyDefinition(field, kind))


def _define_key(client: TallyfyClient, kind: str, field: str = KEY_FIELD) -> Any:
    body = {
        "key": field,
        "label": "tallyform key" if field == KEY_FIELD else "tallyform ids",
        "applies_to": kind,
        "field_type": "text" if field == KEY_FIELD else "textarea",
        "is_required": False,
        "is_active": True,
    }

    def lookup() -> Any:
        found = client.list_all("/custom-field-keys", {"applies_to": kind})
        return next((k for k in found if k.get("key") == field), None)

    return client.create("/custom-field-keys", body, lookup)


def create_folder(context: ApplyContext, change: Change) -> None:
    client, org = context.client, context.org
    path = str(change.desired)
    parent_path, _, name = path.rpartition("/")
    with context.shared:  # folders of one round are added meanwhile
        parent = org.folder_id(parent_path) if parent_path else None
    body: dict[str, Any] = {"name": name, "folder_type": "checklist"}
    if parent is not None:
        body["parent_id"] = parent

    def lookup() -> Any:
        rows = read_folders(client).values()
        return next(
            (f for f in rows if f.get("name") == name and _same_id(f.get("parent_id"), parent)),
            None,
        )

    created = client.create("/folders", body, lookup)
    with context.shared:
        org.folders[str(created["id"])] = Folder.from_wire(created, parent)


def create_tag(context: ApplyContext, change: Change) -> None:
    client, title = context.client, str(change.desired)

    def lookup() -> Any:
        rows = client.list_all("/tags", {"q": title})
        return next((t for t in rows if str(t.get("title")).lower() == title.lower()), None)

    tag = client.create("/tags", {"title": title}, lookup)
    with context.shared:
        context.org.tags[str(tag["id"])] = title


def _same_id(value: Any, wanted: str | None) -> bool:
    return (str(value) if value not in (None, "") else None) == wanted


OrgExecutor = Callable[[ApplyContext, Change], None]
ORG_EXECUTORS: dict[ChangeSpec, OrgExecutor] = {
    spec(Kind.KEY, Action.CREATE): create_key,
    spec(Kind.FOLDER, Action.CREATE): create_folder,
    spec(Kind.TAG, Action.CREATE): create_tag,
}


# -- one template ---------------------------------------------------------------------------


class TemplateRun:
    """One template being applied: its id, and the ids of its objects as they come into being."""

    def __init__(
        self, context: ApplyContext, desired: TemplateState | None, live: TemplateState | None
    ) -> None:
        self.context = context
        self.client = context.client
        self.org = context.org
        self.desired = desired
        self.live = live
        self.template_id = live.live_id if live else None
        self.kickoff_ids = {k: str(f.live_id) for k, f in (live.kickoff if live else {}).items()}
        self.step_ids = {k: str(s.live_id) for k, s in (live.steps if live else {}).items()}
        self.field_ids = {k: str(f.live_id) for k, f in (live.fields if live else {}).items()}
        self.rule_ids = {n: str(r.live_id) for n, r in (live.rules if live else {}).items()}
        self.ids_due = False  # a child was made: the template's map is written at the end
        self.key_due: dict[str, Any] | None = None  # a new template: its key, at the end
        self.after: list[Callable[[], None]] = []  # writes due once every change is made
        self.waiting: dict[str, list[str]] = {}  # anchor step -> new steps whose deadline waits

    @property
    def wanted(self) -> TemplateState:
        assert self.desired is not None
        return self.desired

    @property
    def base(self) -> str:
        return f"/checklists/{self.template_id}"

    def step_url(self, step_key: str) -> str:
        return f"{self.base}/steps/{self.step_ids[step_key]}"

    def fresh(self) -> dict[str, Any]:
        return get_template(self.client, str(self.template_id))

    def object_ids(self) -> dict[str, str]:
        """Ids by key for rules: steps, then step fields and kick-off fields as declared."""
        ids = {**self.step_ids}
        ids.update({k: v for k, v in self.field_ids.items() if k in self.wanted.fields})
        ids.update({k: v for k, v in self.kickoff_ids.items() if k in self.wanted.kickoff})
        return ids

    def write_key(
        self, path: str, record: str, found: Writable | Mapping[str, Any] | None, key: str
    ) -> None:
        """The full-replace custom-field PUT: other writable values (of ``found``, a record
        read or an answer just given) are sent back as they were. A template's carries its
        children's map (tallyform_ids) as it stands now."""
        current = _custom_values(found)
        writable = self.org.writable_keys(record)
        values = {k: v for k, v in current.items() if k in writable and k != KEY_FIELD}
        values[KEY_FIELD] = key
        if record == "template" and self.org.ids_defined:
            values[IDS_FIELD] = ids_value(self.children_ids())
            self.ids_due = False
        self.client.put(f"{path}/custom-fields", {"custom_fields": values})

    def children_ids(self) -> dict[str, str]:
        """Each declared step, form field and kick-off field that exists: key -> id."""
        wanted = self.wanted
        found = {k: i for k, i in self.kickoff_ids.items() if k in wanted.kickoff}
        found.update({k: i for k, i in self.step_ids.items() if k in wanted.steps})
        found.update({k: i for k, i in self.field_ids.items() if k in wanted.fields})
        return found

    def folder_id(self) -> str | None:
        path = self.wanted.attrs["folder"]
        with self.context.shared:
            return self.org.folder_id(path) if path else None

    # -- the template's own write: settings, people, folder and the whole kick-off form ----

    def prerun(self) -> list[dict[str, Any]]:
        """Every kick-off field: the declared ones in order, then those still to be deleted
        (the whole current array is sent, as Tallyfy's own clients do)."""
        live_kickoff = self.live.kickoff if self.live else {}
        entries = []
        for key, wanted in self.wanted.kickoff.items():
            found = live_kickoff.get(key)
            entry = {**field_body(wanted, _record(found, FieldRecord))}
            if key in self.kickoff_ids:
                entry["id"] = self.kickoff_ids[key]
            entries.append(entry)
        for key, found in live_kickoff.items():
            if key not in self.wanted.kickoff:
                entries.append(
                    {**field_body(found, _record(found, FieldRecord)), "id": str(found.live_id)}
                )
        return [{**entry, "position": n} for n, entry in enumerate(entries, start=1)]

    def body(self) -> dict[str, Any]:
        return {
            **template_body(
                self.wanted.attrs, self.org, self.folder_id(), _record(self.live, TemplateRecord)
            ),
            "prerun": self.prerun(),
        }

    def learn_kickoff_ids(self, record: dict[str, Any], known: set[str]) -> None:
        """Ids of new kick-off fields, by label, among entries that were not there before."""
        for entry in record.get("prerun") or []:
            entry_id = str(entry["id"])
            if entry_id in known or key_of(entry):
                continue
            key = next(
                (
                    k
                    for k, f in self.wanted.kickoff.items()
                    if f.attrs["label"] == entry.get("label") and k not in self.kickoff_ids
                ),
                None,
            )
            if key is not None:
                self.kickoff_ids[key] = entry_id
                known.add(entry_id)

    def write_form(self) -> None:
        """The template PUT, sent by the one change the plan gave it to (``sends_form``).

        Should Tallyfy refuse a kick-off field's new type in place (reference 9.8), that
        field is replaced: the old entry stays while a new one is made, rules are pointed
        at the new one, and the old one is deleted once every change is made.
        """
        body = self.body()
        try:
            self.send_form(body)
        except ValidationFailed as refusal:
            retyped = _retyped_entries(refusal)
            if not retyped:
                raise
            self.replace_kickoff(body, retyped)

    def replace_kickoff(self, body: dict[str, Any], retyped: set[int]) -> None:
        live_kickoff = self.live.kickoff if self.live else {}
        keys = [k for k in self.wanted.kickoff if k in live_kickoff]
        by_id = {self.kickoff_ids[k]: k for k in keys}
        replaced = {
            by_id[str(entry["id"])]
            for n, entry in enumerate(body["prerun"])
            if n in retyped and str(entry.get("id")) in by_id
        }
        old_ids = {k: self.kickoff_ids.pop(k) for k in replaced}
        retired = set(old_ids.values())
        known = {*self.kickoff_ids.values(), *retired}
        prerun = [  # each retyped field sent as a new one, the old one kept beside it
            {k: v for k, v in e.items() if k != "id"} if str(e.get("id")) in retired else e
            for e in body["prerun"]
        ]
        prerun += [
            {**field_body(live_kickoff[k], _record(live_kickoff[k], FieldRecord)), "id": i}
            for k, i in old_ids.items()
        ]  # the old fields stay until no rule names them
        numbered = [{**e, "position": n} for n, e in enumerate(prerun, start=1)]
        self.send_form({**body, "prerun": numbered}, known)
        self.repoint_rules(replaced)
        for key, old in old_ids.items():
            if self.doomed_rules_naming({key}):
                self.after.append(partial(self.retire_kickoff, key, old))
            else:
                self.retire_kickoff(key, old)

    def retire_kickoff(self, key: str, old_id: str) -> None:
        """Delete a replaced kick-off field (no rule names it now), then key its successor."""
        self.client.delete(f"{self.base}/preruns/{old_id}")
        if key in self.kickoff_ids:
            self.write_key(self.kickoff_url(key), "kickoff", None, key)

    def send_form(self, body: dict[str, Any], known: set[str] | None = None) -> None:
        new_labels = Counter(e["label"] for e in body["prerun"] if "id" not in e)
        known = set(self.kickoff_ids.values()) if known is None else known
        if not new_labels:
            checked_clear(lambda: self.client.put(self.base, body), body, "PUT", self.base)
            return

        def lookup() -> Any:
            fresh = self.fresh()
            added = Counter(
                p.get("label") for p in fresh.get("prerun") or [] if str(p["id"]) not in known
            )
            return fresh if not new_labels - added else None

        record = checked_clear(
            lambda: self.client.create(self.base, body, lookup, method="PUT"),
            body,
            "PUT",
            self.base,
        )
        if not isinstance(record, dict) or "prerun" not in record:
            record = self.fresh()
        self.learn_kickoff_ids(record, known)

    def doomed_rules_naming(self, keys: set[str]) -> list[str]:
        """Live rules this plan deletes that name one of ``keys``."""
        return [
            name
            for name, found in (self.live.rules if self.live else {}).items()
            if name not in self.wanted.rules
            and {str(c.get("field")) for c in found.attrs["when"]} & keys
        ]

    def repoint_rules(self, keys: set[str]) -> None:
        """Send again each live rule that names one of ``keys``, as it stands, so it names
        the new object and the old one can go.

        The rule is sent as it is live, not as the repository wants it: a replacement may
        run before the steps or fields the wanted rule names exist, and a rule that will
        name another field still names the old one now. Its planned update, if any, comes
        later with the other rules.
        """
        live_kickoff = set(self.live.kickoff) if self.live else set()
        for name, found in (self.live.rules if self.live else {}).items():
            named = {str(c.get("field")) for c in found.attrs["when"]}
            if named & keys:
                body = rule_body(name, found.attrs, self.org, self.object_ids(), live_kickoff)
                self.remake_rule(name, body)

    def create_template(self, change: Change) -> None:
        """POST the template without its kick-off form, then PUT the form (and the kick-off
        texts, writable only on update) as Tallyfy's own clients do: none sends ``prerun`` on
        create, which Tallyfy may drop (audit W3). Then its key.

        With ``sends_steps`` the POST carries the template's steps, each with its form
        fields (the org's probe found it builds them); what it built is then read and
        matched to the declared steps and fields (:meth:`learn_built`), and the step and
        field changes create on their own only what it did not build."""
        wanted = self.wanted
        body = {k: v for k, v in self.body().items() if k != "prerun"}
        if change.sends_steps:
            body["steps"] = self.nested_steps()
        title = wanted.attrs["title"]
        me = self.context.me

        def lookup() -> Any:
            """Ours: made since the plan read the org, by us, for no other key of this apply."""
            rows = self.client.list_all("/checklists", {"q": title})
            mine = [
                r
                for r in rows
                if r.get("title") == title
                and not key_of(r)
                and r.get("created_by") in (me, None)
                and not self.context.existing_template(str(r.get("id")))
            ]
            return mine[-1] if mine else None

        with self.context.title_lock(title):
            created = self.client.create("/checklists", body, lookup)
            self.template_id = str(created["id"])
            with self.context.shared:
                self.context.claimed.add(self.template_id)
        if hides_keys(created):
            raise KeysHidden(KEYS_HIDDEN_AT_CREATE, method="POST", path=self.base)
        if change.sends_steps:
            self.learn_built(created)
        if change.sends_form:  # its kick-off form, or its kick-off texts
            self.send_form(self.body(), set())
        # Its key is written once every change is made, with its children's map: one write.
        self.key_due = created

    def nested_steps(self) -> list[dict[str, Any]]:
        """Every declared step, each with its form fields, as a template's create carries
        them."""
        wanted, org = self.wanted, self.org
        by_step = wanted.fields_by_step()
        return [
            nested_step(step, [wanted.fields[k] for k in by_step[key]], org, position)
            for position, (key, step) in enumerate(wanted.steps.items(), start=1)
        ]

    def learn_built(self, created: dict[str, Any]) -> None:
        """The ids of the steps and form fields the template's create built: its answer
        where that shows every step with its form fields, else a read of the template.

        Built nothing: the org ignored nested steps (whatever its probe said), and each
        step's and field's own change creates it. Built everything: each declared step is
        the built one of its title (the first not yet taken), each form field the built one
        of its label. Built some, or something else: an error naming them, before any step
        is sent again, so nothing is made twice; the next apply reads the template and
        adopts what was built by title."""
        steps = created.get("steps")
        shown = isinstance(steps, list) and all(
            isinstance(s, dict) and "captures" in s for s in steps
        )
        built = (whole_template(created) if shown else self.fresh())["steps"]
        if not built:
            return
        by_step = self.wanted.fields_by_step()
        for key, found in _claimed(self.wanted.steps, built, "title", self.base).items():
            self.step_ids[key] = str(found["id"])
            fields = {k: self.wanted.fields[k] for k in by_step[key]}
            captures = found.get("captures") or []
            if not captures:
                continue  # its fields were not built: their own changes create them
            where = f"{self.base}/steps/{found['id']}"
            for field_key, capture in _claimed(fields, captures, "label", where).items():
                self.field_ids[field_key] = str(capture["id"])

    def update_template(self, change: Change) -> None:
        if change.sends_form:
            self.write_form()
        if change.attribute("key") is not None:
            assert self.live is not None
            self.write_key(
                self.base, "template", _record(self.live, TemplateRecord), self.wanted.key
            )

    def restore_template(self, change: Change) -> None:
        self.template_id = change.live_id
        self.client.put(f"{self.base}/restore", None)

    def archive_template(self, change: Change) -> None:
        self.client.delete(self.base)

    # -- kick-off fields --------------------------------------------------------------------

    def kickoff_url(self, key: str) -> str:
        if key not in self.kickoff_ids:
            raise TallyfyError(
                f"the new kick-off field '{key}' was not in Tallyfy's answer (it is found by "
                "its label, which Tallyfy may have changed); run apply again to finish",
                path=self.base,
            )
        return f"{self.base}/preruns/{self.kickoff_ids[key]}"

    def create_kickoff(self, change: Change) -> None:
        if change.sends_form:  # else an earlier change's PUT made it, or the template's POST
            self.write_form()
        key = change.path[-1]
        url = self.kickoff_url(key)
        if not change.keyed_by_map:  # else its template's map names it
            self.write_key(url, "kickoff", None, key)

    def update_kickoff(self, change: Change) -> None:
        if change.sends_form:
            self.write_form()
        if change.attribute("key") is not None:
            key = change.path[-1]
            self.write_key(self.kickoff_url(key), "kickoff", _record(change.live, FieldRecord), key)

    def reorder_kickoff(self, change: Change) -> None:
        if change.sends_form:
            self.write_form()

    def delete_kickoff(self, change: Change) -> None:
        self.client.delete(f"{self.base}/preruns/{change.live_id}")

    # -- steps ---------------------------------------------------------------------------------

    def step_body(self, key: str, deadline_waits: bool = False) -> dict[str, Any]:
        found = self.live.steps.get(key) if self.live else None
        wanted = self.wanted.steps[key]
        ids, template_id = self.step_ids, str(self.template_id)
        live = _record(found, StepRecord)
        return step_body(wanted, self.org, ids, template_id, live, deadline_waits)

    def create_step(self, change: Change) -> None:
        """POST a new step and write its key, unless its template's create built it (then
        nothing but its deadline, where it waits for a step); a step whose deadline counts
        from a step not made yet sends it once that step is made."""
        key = change.path[-1]
        if not (change.built_by_template and key in self.step_ids):
            self.post_step(change)
        anchor = change.waits_for
        if anchor is not None and anchor in self.step_ids:
            self.client.put(self.step_url(key), self.step_body(key))
        elif anchor is not None:
            self.waiting.setdefault(anchor, []).append(key)
        for waiting in self.waiting.pop(key, []):  # their deadline counts from this step
            self.client.put(self.step_url(waiting), self.step_body(waiting))

    def post_step(self, change: Change) -> None:
        key = change.path[-1]
        wanted = self.wanted.steps[key]
        title = wanted.attrs["title"]
        known = set(self.step_ids.values())

        def lookup() -> Any:
            rows = self.fresh()["steps"]
            return next(
                (
                    s
                    for s in rows
                    if s["title"] == title and str(s["id"]) not in known and not key_of(s)
                ),
                None,
            )

        body = self.step_body(key, deadline_waits=change.waits_for is not None)
        created = self.client.create(f"{self.base}/steps", body, lookup)
        self.step_ids[key] = str(created["id"])
        if not change.keyed_by_map:  # else its template's map names it
            self.write_key(self.step_url(key), "step", created, key)

    def update_step(self, change: Change) -> None:
        key = change.path[-1]
        if change.changes_more_than("key"):
            url, body = self.step_url(key), self.step_body(key)
            checked_clear(lambda: self.client.put(url, body), body, "PUT", url)
        if change.attribute("key") is not None:
            self.write_key(self.step_url(key), "step", _record(change.live, StepRecord), key)

    def delete_step(self, change: Change) -> None:
        self.client.delete(f"{self.base}/steps/{change.live_id}")

    def reorder_steps(self, change: Change) -> None:
        for key, position in change.moves:
            self.client.put(f"{self.step_url(key)}/reorder", {"position": position})

    # -- form fields --------------------------------------------------------------------------

    def field_url(self, key: str) -> str:
        step = str(self.wanted.fields[key].step)
        return f"{self.step_url(step)}/captures/{self.field_ids[key]}"

    def captures_of(self, step_key: str) -> list[dict[str, Any]]:
        step = self.client.get(self.step_url(step_key))
        return list(step.get("captures") or []) if isinstance(step, dict) else []

    def create_field(self, change: Change) -> None:
        """POST a new form field at its position and write its key, unless its template's
        create built it."""
        key = change.path[-1]
        if change.built_by_template and key in self.field_ids:
            return
        wanted = self.wanted.fields[key]
        step_key, label = str(wanted.step), wanted.attrs["label"]
        known = set(self.field_ids.values())

        def lookup() -> Any:
            return next(
                (
                    c
                    for c in self.captures_of(step_key)
                    if c.get("label") == label and str(c["id"]) not in known and not key_of(c)
                ),
                None,
            )

        body = {**field_body(wanted, None), "position": change.position}
        created = self.client.create(f"{self.step_url(step_key)}/captures", body, lookup)
        self.field_ids[key] = str(created["id"])
        if not change.keyed_by_map:  # else its template's map names it
            self.write_key(self.field_url(key), "field", created, key)

    def move_field(self, change: Change) -> None:
        key = change.path[-1]
        attribute = change.attribute("step")
        assert attribute is not None
        field_id = self.field_ids[key]
        body = {"target_step_id": self.step_ids[attribute.new], "position": change.position}

        def lookup() -> Any:  # a move is not safe to repeat: is the field there already?
            return next(
                (c for c in self.captures_of(attribute.new) if str(c["id"]) == field_id), None
            )

        self.client.write_once(
            f"{self.step_url(attribute.old)}/captures/{field_id}/move-out", body, lookup, "PUT"
        )

    def update_field(self, change: Change) -> None:
        key = change.path[-1]
        found = change.live
        if change.changes_more_than("key"):
            body = field_body(self.wanted.fields[key], _record(found, FieldRecord))
            url = self.field_url(key)
            try:
                checked_clear(lambda: self.client.put(url, body), body, "PUT", url)
            except ValidationFailed as refusal:
                if "field_type" not in refusal.field_errors:
                    raise
                self.replace_field(key)
                return
        if change.attribute("key") is not None:
            self.write_key(self.field_url(key), "field", _record(found, FieldRecord), key)

    def replace_field(self, key: str) -> None:
        """Tallyfy refused the field's new type in place (reference 9.8): make it anew where
        the old one stands and point rules at it; once every change is made, the old one is
        deleted and the new one gets its key."""
        wanted = self.wanted.fields[key]
        step_key = str(wanted.step)
        old_id = self.field_ids[key]
        captures = self.captures_of(step_key)
        position = next(
            (n for n, c in enumerate(captures, 1) if str(c.get("id")) == old_id), len(captures)
        )
        known = {str(c.get("id")) for c in captures}

        def lookup() -> Any:
            return next(
                (
                    c
                    for c in self.captures_of(step_key)
                    if str(c.get("id")) not in known and c.get("label") == wanted.attrs["label"]
                ),
                None,
            )

        body = {**field_body(wanted, None), "position": position}
        created = self.client.create(f"{self.step_url(step_key)}/captures", body, lookup)
        self.field_ids[key] = str(created["id"])
        self.repoint_rules({key})
        if not self.doomed_rules_naming({key}):
            self.retire_field(key, step_key, old_id, created)
            return
        # A rule this plan deletes still names the old field: it goes last, once that rule
        # is gone; moved to the end meanwhile, so the planned moves of the others hold.
        body = {"capture_id": old_id, "position": len(captures) + 1}
        self.client.put(f"{self.step_url(step_key)}/captures", body)
        self.after.append(partial(self.retire_field, key, step_key, old_id, created))

    def retire_field(self, key: str, step_key: str, old_id: str, created: dict[str, Any]) -> None:
        """Delete a replaced form field (no rule names it now), then key its successor."""
        self.client.delete(f"{self.step_url(step_key)}/captures/{old_id}")
        self.write_key(self.field_url(key), "field", created, key)

    def finish(self) -> None:
        """What is due once every change is made: the old halves of replaced fields, then
        a new template's key, or the map of a template that gained children."""
        while self.after:
            self.after.pop(0)()
        if self.key_due is not None:
            self.write_key(self.base, "template", self.key_due, self.wanted.key)
            self.key_due = None
        elif self.ids_due and self.live is not None:
            self.write_key(
                self.base, "template", _record(self.live, TemplateRecord), self.wanted.key
            )

    def delete_field(self, change: Change) -> None:
        found = change.live
        assert isinstance(found, FieldState)
        step_id = self.step_ids[str(found.step)]
        self.client.delete(f"{self.base}/steps/{step_id}/captures/{change.live_id}")

    def reorder_fields(self, change: Change) -> None:
        step_key = change.path[1]
        for key, position in change.moves:
            body = {"capture_id": self.field_ids[key], "position": position}
            self.client.put(f"{self.step_url(step_key)}/captures", body)

    # -- rules ------------------------------------------------------------------------------------

    def rule_body(self, name: str) -> dict[str, Any]:
        attrs = self.wanted.rules[name].attrs
        return rule_body(name, attrs, self.org, self.object_ids(), set(self.wanted.kickoff))

    def create_rule(self, change: Change) -> None:
        name = change.path[-1]
        self.rule_ids[name] = self.post_rule(name, self.rule_body(name))

    def post_rule(self, name: str, body: dict[str, Any]) -> str:
        """POST a rule (looked for by its name before it is sent again); its new id."""

        def lookup() -> Any:
            rows = self.fresh()["automated_actions"]
            return next((r for r in rows if r.get("automated_alias") == name), None)

        created = self.client.create(f"{self.base}/automated-actions", body, lookup)
        return str(created["id"])

    def update_rule(self, change: Change) -> None:
        """Delete the rule and make it anew: whether a PUT of conditions and actions that
        carry no ids replaces them or appends to them is undocumented (audit W17), and an
        append would grow the rule on every apply. Nothing refers to a rule's id."""
        name = change.path[-1]
        self.remake_rule(name, self.rule_body(name))

    def remake_rule(self, name: str, body: dict[str, Any]) -> None:
        self.client.delete(f"{self.base}/automated-actions/{self.rule_ids[name]}")
        self.rule_ids[name] = self.post_rule(name, body)

    def delete_rule(self, change: Change) -> None:
        name = change.path[-1]
        rule_id = self.rule_ids.pop(name, None) or change.live_id
        self.client.delete(f"{self.base}/automated-actions/{rule_id}")

    # -- tags -------------------------------------------------------------------------------------

    def attach_tag(self, change: Change) -> None:
        title = change.path[-1]
        with self.context.shared:
            tag_id = self.org.tag_id(title)
        body = {
            "subject_id": self.template_id,
            "subject_type": "Checklist",
            "tag_id": tag_id,
            "tag_type": "private",
        }

        def lookup() -> Any:  # repeated taggings add rows to Tallyfy's audit trail
            rows = self.fresh()["tags"]
            return next((t for t in rows if _is_tag(t, tag_id, title)), None)

        self.client.write_once("/checklists/tags", body, lookup)

    def detach_tag(self, change: Change) -> None:
        self.client.delete(f"/checklists/tags/{change.live_id}")

    def execute(self, change: Change) -> None:
        TEMPLATE_EXECUTORS[change.spec](self, change)
        if change.writes_map:
            self.ids_due = True


def _claimed(
    declared: Mapping[str, Any], built: list[dict[str, Any]], name: str, path: str
) -> dict[str, dict[str, Any]]:
    """Declared objects (key -> state with ``attrs``) matched to built records, each to the
    first built one whose ``name`` (title or label) is its own and that no other took.
    Every declared one and every built one must find its match: else a TallyfyError naming
    what did not, since sending the missing ones could not tell which were made."""
    matched: dict[str, dict[str, Any]] = {}
    free = list(range(len(built)))
    for key, wanted in declared.items():
        at = next((n for n in free if built[n].get(name) == wanted.attrs[name]), None)
        if at is not None:
            matched[key] = built[at]
            free.remove(at)
    missing = [key for key in declared if key not in matched]
    if missing or free:
        extra = [str(built[n].get(name)) for n in free]
        raise TallyfyError(
            "Tallyfy built the template's nested "
            + ("steps" if name == "title" else "form fields")
            + " otherwise than sent"
            + (f"; not built: {', '.join(missing)}" if missing else "")
            + (f"; built besides: {', '.join(extra)}" if extra else "")
            + ". Nothing was sent again; run apply again: it reads the template and adopts "
            "what was built by its titles",
            method="POST",
            path=path,
        )
    return matched


def _is_tag(link: Mapping[str, Any], tag_id: str | None, title: str) -> bool:
    """Whether a template's tag item is this tag: by ``tag_id``, else by its title (an item
    may carry the tag's own data instead, reference 9.21)."""
    if link.get("tag_id") is not None:
        return str(link.get("tag_id")) == str(tag_id)
    return str(link.get("title") or "").lower() == title.lower()


def _retyped_entries(refusal: ValidationFailed) -> set[int]:
    """Kick-off entries (by index) whose new type Tallyfy refused in place."""
    found = set()
    for name in refusal.field_errors:
        parts = name.split(".")
        if (
            len(parts) == 3
            and parts[0] == "prerun"
            and parts[2] == "field_type"
            and parts[1].isdigit()
        ):
            found.add(int(parts[1]))
    return found


def _record(state: Any, kind: type[R]) -> R | None:
    """The record a live state was decoded from, if it is one of ``kind``."""
    found = getattr(state, "record", None)
    return found if isinstance(found, kind) else None


def _custom_values(found: Writable | Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The custom-field values of a record read, or of an answer just given."""
    if isinstance(found, Mapping):
        values = found.get("custom_fields")
        return values if isinstance(values, Mapping) else {}
    return found.custom_fields if found is not None else {}


TemplateExecutor = Callable[[TemplateRun, Change], None]
TEMPLATE_EXECUTORS: dict[ChangeSpec, TemplateExecutor] = {
    spec(Kind.TEMPLATE, Action.CREATE): TemplateRun.create_template,
    spec(Kind.TEMPLATE, Action.UPDATE): TemplateRun.update_template,
    spec(Kind.TEMPLATE, Action.RESTORE): TemplateRun.restore_template,
    spec(Kind.TEMPLATE, Action.ARCHIVE): TemplateRun.archive_template,
    spec(Kind.KICKOFF, Action.CREATE): TemplateRun.create_kickoff,
    spec(Kind.KICKOFF, Action.UPDATE): TemplateRun.update_kickoff,
    spec(Kind.KICKOFF, Action.REORDER): TemplateRun.reorder_kickoff,
    spec(Kind.KICKOFF, Action.DELETE): TemplateRun.delete_kickoff,
    spec(Kind.STEP, Action.CREATE): TemplateRun.create_step,
    spec(Kind.STEP, Action.UPDATE): TemplateRun.update_step,
    spec(Kind.STEP, Action.DELETE): TemplateRun.delete_step,
    spec(Kind.STEP, Action.REORDER): TemplateRun.reorder_steps,
    spec(Kind.FIELD, Action.CREATE): TemplateRun.create_field,
    spec(Kind.FIELD, Action.MOVE): TemplateRun.move_field,
    spec(Kind.FIELD, Action.UPDATE): TemplateRun.update_field,
    spec(Kind.FIELD, Action.DELETE): TemplateRun.delete_field,
    spec(Kind.FIELD, Action.REORDER): TemplateRun.reorder_fields,
    spec(Kind.RULE, Action.CREATE): TemplateRun.create_rule,
    spec(Kind.RULE, Action.UPDATE): TemplateRun.update_rule,
    spec(Kind.RULE, Action.DELETE): TemplateRun.delete_rule,
    spec(Kind.TAGGING, Action.CREATE): TemplateRun.attach_tag,
    spec(Kind.TAGGING, Action.DELETE): TemplateRun.detach_tag,
}
