"""Applying a plan: the writes, in the order the API allows, never duplicating an object.

Per template, in this order:

1. the template itself (create, or one PUT carrying its settings, people and the whole
   kick-off form), then its tallyform key and the keys of new kick-off fields;
2. new steps (they append), their keys, then step updates;
3. new form fields, their keys, field updates and moves;
4. rules: deletes, updates, creates (rules may name the new steps and fields);
5. deletes of fields, kick-off fields and steps (nothing refers to them any more);
6. the order of steps and fields, with the reorder calls;
7. tags.

Every create passes a lookup to the client, so a create whose answer was lost is looked
for before it is sent again. Templates are independent and applied in parallel; an error
stops its template only, and a re-run plans what is left.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tallyform.client import TallyfyClient, TallyfyError
from tallyform.engine.changes import Change
from tallyform.engine.live import LiveOrg, key_of
from tallyform.engine.payloads import field_body, rule_body, step_body, step_deadline, template_body
from tallyform.engine.state import KEY_FIELD, RECORD_KINDS, TemplateState

Progress = Callable[[str], None]


@dataclass
class Outcome:
    template: str
    done: int = 0
    error: str | None = None
    writes: list[str] = field(default_factory=list)


class KeySetupRefused(Exception):
    """The tallyform_key custom fields are missing and this token may not define them."""


def define_keys(client: TallyfyClient, org: LiveOrg) -> None:
    """Define ``tallyform_key`` for each record kind that lacks it (an org admin's job)."""
    for kind in org.missing_key_kinds:
        body = {
            "key": KEY_FIELD,
            "label": "tallyform key",
            "applies_to": kind,
            "field_type": "text",
            "is_required": False,
            "is_active": True,
        }

        def lookup(kind: str = kind) -> Any:
            found = client.list_all("/custom-field-keys", {"applies_to": kind})
            return next((k for k in found if k.get("key") == KEY_FIELD), None)

        try:
            created = client.create("/custom-field-keys", body, lookup)
        except TallyfyError as error:
            if error.status == 403:
                raise KeySetupRefused(
                    "tallyform needs a text custom field 'tallyform_key' on templates, steps, form fields "
                    "and kick-off fields, and only an org admin can define it. Ask an admin to run "
                    "`tallyform apply` once, or to add that custom field key in Tallyfy, then run apply again."
                ) from None
            raise
        org.key_kinds.add(kind)
        org.key_defs.append(created)


class TemplateApplier:
    """Carries out one template's changes."""

    def __init__(
        self,
        client: TallyfyClient,
        org: LiveOrg,
        desired: TemplateState | None,
        live: TemplateState | None,
        changes: list[Change],
        progress: Progress,
        me: Any = None,
    ) -> None:
        self.client = client
        self.me = me  # the caller's user id: new templates are looked for among theirs
        self.org = org
        self.desired = desired
        self.live = live
        self.changes = changes
        self.progress = progress
        self.key = (desired or live).key  # type: ignore[union-attr]
        self.ids: dict[str, str] = {}
        self.template_id = live.live_id if live else None
        self.outcome = Outcome(self.key)

    # -- helpers ----------------------------------------------------------------------

    def _done(self, text: str) -> None:
        self.outcome.done += 1
        self.outcome.writes.append(text)
        self.progress(f"{self.key}: {text}")

    def _base(self) -> str:
        return f"/checklists/{self.template_id}"

    def _write_key(self, path: str, kind: str, raw: dict[str, Any] | None, key: str) -> None:
        current = (raw or {}).get("custom_fields") or {}
        writable = self.org.writable_keys(kind)
        values = {k: v for k, v in current.items() if k in writable and k != KEY_FIELD}
        self.client.put(f"{path}/custom-fields", {"custom_fields": {**values, KEY_FIELD: key}})

    def _changed(self, kind: str, action: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind and c.action == action]

    def _folder_id(self) -> str | None:
        with _shared_lock:  # folders are shared between templates applied in parallel
            return self._ensure_folder()

    def _ensure_folder(self) -> str | None:
        assert self.desired is not None
        path = self.desired.attrs["folder"]
        if not path:
            return None
        parent: str | None = None
        walked: list[str] = []
        for name in path.split("/"):
            walked.append(name)
            found = self.org.folder_id("/".join(walked))
            if found is None:
                body = {"name": name, "folder_type": "checklist", "parent_id": parent}
                created = self.client.create("/folders", body, lambda: None)
                self.org.folders[str(created["id"])] = created
                found = str(created["id"])
            parent = found
        return parent

    def _fresh(self) -> dict[str, Any]:
        return self.client.get_template(str(self.template_id))

    # -- the phases -------------------------------------------------------------------

    def run(self) -> Outcome:
        try:
            if self.desired is None:
                self.client.delete(self._base())
                self._done("template archived")
                return self.outcome
            self._template()
            self._steps()
            self._fields()
            self._rules()
            self._deletes()
            self._order()
            self._tags()
        except TallyfyError as error:
            self.outcome.error = str(error)
        return self.outcome

    def _prerun(self) -> list[dict[str, Any]]:
        assert self.desired is not None
        entries = []
        for position, (key, wanted) in enumerate(self.desired.kickoff.items(), start=1):
            found = self.live.kickoff.get(key) if self.live else None
            entry = {**field_body(wanted, found.raw if found else None), "position": position}
            if found is not None:
                entry["id"] = found.live_id
            entries.append(entry)
        return entries

    def _template(self) -> None:
        desired = self.desired
        assert desired is not None
        own = [c for c in self.changes if c.kind == "template"] + [
            c
            for c in self.changes
            if c.kind == "kickoff" and c.action in ("create", "update", "reorder")
        ]
        if self.live is not None:
            for key, found in self.live.kickoff.items():
                self.ids[key] = str(found.live_id)
            for key, step in self.live.steps.items():
                self.ids[key] = str(step.live_id)
            for key, item in self.live.fields.items():
                self.ids[key] = str(item.live_id)
        if self.live is not None and not own:
            return
        body = {
            **template_body(desired.attrs, self.org, self._folder_id()),
            "prerun": self._prerun(),
        }
        before = {str(f.live_id) for f in self.live.kickoff.values()} if self.live else set()
        if self.live is None:

            def lookup() -> Any:
                rows = self.client.list_all("/checklists", {"q": desired.attrs["title"]})
                mine = [
                    r
                    for r in rows
                    if r.get("title") == desired.attrs["title"]
                    and not key_of(r)
                    and r.get("created_by") in (self.me, None)
                ]
                return mine[-1] if mine else None

            created = self.client.create("/checklists", body, lookup)
            self.template_id = str(created["id"])
            if desired.attrs.get("kickoff_title") or desired.attrs.get("kickoff_description"):
                self.client.put(self._base(), body | {"prerun": []})  # only writable on update
            self._done("template created")
            record = self._fresh()
        else:
            new = any(e.get("id") is None for e in body["prerun"])

            def lookup_prerun() -> Any:
                fresh = self._fresh()
                labels = {e["label"] for e in body["prerun"] if e.get("id") is None}
                added = {p["label"] for p in fresh["prerun"] if str(p["id"]) not in before}
                return fresh if labels <= added else None

            if new:
                self.client.create(self._base(), body, lookup_prerun, method="PUT")
            else:
                self.client.put(self._base(), body)
            self._done("template updated")
            record = (
                self._fresh()
                if new
                else {"prerun": [], "custom_fields": (self.live.raw or {}).get("custom_fields")}
            )
        if self.live is None or self.live.matched_by == "title":
            self._write_key(self._base(), "checklist", record, desired.key)
        # A new kick-off field may reuse the key of a step field it replaces.
        live_kickoff = set(self.live.kickoff) if self.live else set()
        assigned: set[str] = set()
        for entry in record["prerun"]:
            entry_id = str(entry["id"])
            if entry_id in before or key_of(entry):
                continue
            entry_key: str | None = next(
                (
                    k
                    for k, f in desired.kickoff.items()
                    if f.attrs["label"] == entry["label"]
                    and k not in live_kickoff
                    and k not in assigned
                ),
                None,
            )
            if entry_key is not None:
                assigned.add(entry_key)
                self.ids[entry_key] = entry_id
                self._write_key(f"{self._base()}/preruns/{entry_id}", "prerun", entry, entry_key)
        for key, found in self.live.kickoff.items() if self.live else []:
            if found.matched_by == "title" and key in desired.kickoff:
                self._write_key(f"{self._base()}/preruns/{found.live_id}", "prerun", found.raw, key)

    def _steps(self) -> None:
        desired = self.desired
        assert desired is not None
        live_steps = self.live.steps if self.live else {}
        pending: list[str] = []
        for key, step in desired.steps.items():
            if key in live_steps:
                continue
            body = step_body(step, self.org, self.ids, str(self.template_id))
            known = set(self.ids.values())

            def lookup(title: str = step.attrs["title"], known: set[str] = known) -> Any:
                rows = self._fresh()["steps"]
                return next(
                    (
                        s
                        for s in rows
                        if s["title"] == title and str(s["id"]) not in known and not key_of(s)
                    ),
                    None,
                )

            created = self.client.create(f"{self._base()}/steps", body, lookup)
            self.ids[key] = str(created["id"])
            self._write_key(f"{self._base()}/steps/{created['id']}", "step", created, key)
            if step_deadline(step, self.ids) is False:
                pending.append(key)
            self._done(f"step {key} created")
        changed = {c.path[1] for c in self._changed("step", "update")}
        for key in [*changed, *pending]:
            step = desired.steps[key]
            found = live_steps.get(key)
            self.client.put(
                f"{self._base()}/steps/{self.ids[key]}",
                step_body(step, self.org, self.ids, str(self.template_id)),
            )
            if found is not None and found.matched_by == "title":
                self._write_key(f"{self._base()}/steps/{found.live_id}", "step", found.raw, key)
            self._done(f"step {key} updated")

    def _fields(self) -> None:
        desired = self.desired
        assert desired is not None
        live_fields = self.live.fields if self.live else {}
        # How many fields each step holds, so a moved field goes last as a new one does.
        counts: dict[str, int] = {}
        for found_field in live_fields.values():
            counts[found_field.attrs["step"]] = counts.get(found_field.attrs["step"], 0) + 1
        for key, item in desired.fields.items():
            step_id = self.ids[item.attrs["step"]]
            found = live_fields.get(key)
            if found is None:
                known = set(self.ids.values())

                def lookup(
                    label: str = item.attrs["label"],
                    step_id: str = step_id,
                    known: set[str] = known,
                ) -> Any:
                    step = self.client.get(f"{self._base()}/steps/{step_id}")
                    return next(
                        (
                            c
                            for c in step.get("captures") or []
                            if c["label"] == label and str(c["id"]) not in known and not key_of(c)
                        ),
                        None,
                    )

                created = self.client.create(
                    f"{self._base()}/steps/{step_id}/captures", field_body(item, None), lookup
                )
                self.ids[key] = str(created["id"])
                self._write_key(
                    f"{self._base()}/steps/{step_id}/captures/{created['id']}",
                    "capture",
                    created,
                    key,
                )
                counts[item.attrs["step"]] = counts.get(item.attrs["step"], 0) + 1
                self._done(f"field {key} created")
                continue
            change = next((c for c in self._changed("field", "update") if c.path[1] == key), None)
            if change is None:
                continue
            names = {a.name for a in change.attributes}
            old_step = self.ids.get(found.attrs["step"])
            if "step" in names and old_step:
                counts[found.attrs["step"]] = counts.get(found.attrs["step"], 1) - 1
                counts[item.attrs["step"]] = counts.get(item.attrs["step"], 0) + 1
                self.client.put(
                    f"{self._base()}/steps/{old_step}/captures/{found.live_id}/move-out",
                    {"target_step_id": step_id, "position": counts[item.attrs["step"]]},
                )
            if names - {"step", "key"}:
                self.client.put(
                    f"{self._base()}/steps/{step_id}/captures/{found.live_id}",
                    field_body(item, found.raw),
                )
            if found.matched_by == "title":
                self._write_key(
                    f"{self._base()}/steps/{step_id}/captures/{found.live_id}",
                    "capture",
                    found.raw,
                    key,
                )
            self._done(f"field {key} updated")

    def _rules(self) -> None:
        desired = self.desired
        assert desired is not None
        url = f"{self._base()}/automated-actions"
        for change in self._changed("rule", "delete"):
            self.client.delete(f"{url}/{change.live_id}")
            self._done(f"rule {change.path[1]!r} deleted")
        kickoff = set(desired.kickoff)
        for change in self._changed("rule", "update"):
            name = change.path[1]
            self.client.put(
                f"{url}/{change.live_id}",
                rule_body(name, desired.rules[name].attrs, self.org, self.ids, kickoff),
            )
            self._done(f"rule {name!r} updated")
        for change in self._changed("rule", "create"):
            name = change.path[1]

            def lookup(name: str = name) -> Any:
                return next(
                    (
                        r
                        for r in self._fresh()["automated_actions"]
                        if r.get("automated_alias") == name
                    ),
                    None,
                )

            self.client.create(
                url, rule_body(name, desired.rules[name].attrs, self.org, self.ids, kickoff), lookup
            )
            self._done(f"rule {name!r} created")

    def _deletes(self) -> None:
        if self.live is None:
            return
        for change in self._changed("field", "delete"):
            found = self.live.fields[change.path[1]]
            step_id = self.live.steps[found.attrs["step"]].live_id
            self.client.delete(f"{self._base()}/steps/{step_id}/captures/{found.live_id}")
            self._done(f"field {change.path[1]} deleted")
        for change in self._changed("kickoff", "delete"):
            self.client.delete(f"{self._base()}/preruns/{change.live_id}")
            self._done(f"kick-off field {change.path[1]} deleted")
        doomed = [c.path[1] for c in self._changed("step", "delete")]
        # A step another doomed step counts from goes after that step.
        while doomed:
            anchors = {(self.live.steps[k].attrs["deadline"] or {}).get("step") for k in doomed}
            key = next((k for k in doomed if k not in anchors), doomed[0])
            doomed.remove(key)
            self.client.delete(f"{self._base()}/steps/{self.live.steps[key].live_id}")
            self._done(f"step {key} deleted")

    def _order(self) -> None:
        desired = self.desired
        assert desired is not None
        if self.live is None and not any(c.action == "reorder" for c in self.changes):
            return
        wanted = list(desired.steps)
        current = [k for k in (self.live.steps if self.live else {}) if k in desired.steps]
        current += [k for k in wanted if k not in current]
        self._reorder(
            wanted,
            current,
            lambda k, p: self.client.put(
                f"{self._base()}/steps/{self.ids[k]}/reorder", {"position": p}
            ),
        )
        for step_key in wanted:
            want_fields = desired.field_order(step_key)
            now = [
                k
                for k in (
                    self.live.field_order(step_key)
                    if self.live and step_key in self.live.steps
                    else []
                )
                if k in want_fields
            ]
            now += [k for k in want_fields if k not in now]
            step_id = self.ids[step_key]
            self._reorder(
                want_fields,
                now,
                self._field_mover(step_id),
            )

    def _field_mover(self, step_id: str) -> Callable[[str, int], Any]:
        def move(key: str, position: int) -> Any:
            body = {"capture_id": self.ids[key], "position": position}
            return self.client.put(f"{self._base()}/steps/{step_id}/captures", body)

        return move

    def _reorder(
        self, wanted: list[str], current: list[str], move: Callable[[str, int], Any]
    ) -> None:
        moved = False
        for index, key in enumerate(wanted):
            if current[index] != key:
                move(key, index + 1)
                current.remove(key)
                current.insert(index, key)
                moved = True
        if moved:
            self._done("order fixed")

    def _tags(self) -> None:
        desired = self.desired
        assert desired is not None
        wanted = set(desired.attrs["tags"])
        live_tags = (self.live.raw or {}).get("tags") or [] if self.live else []
        have = {t.get("title"): t for t in live_tags}
        for title in sorted(wanted - set(have)):
            with _shared_lock:  # tags are shared between templates applied in parallel
                tag_id = self._ensure_tag(title)
            body = {
                "subject_id": self.template_id,
                "subject_type": "Checklist",
                "tag_id": tag_id,
                "tag_type": "private",
            }
            self.client.create("/checklists/tags", body, lambda: None)
            self._done(f"tag {title} attached")
        for title in sorted(set(have) - wanted):
            self.client.delete(f"/checklists/tags/{have[title]['id']}")
            self._done(f"tag {title} removed")

    def _ensure_tag(self, title: str) -> str:
        tag_id = self.org.tag_id(title)
        if tag_id is None:

            def lookup() -> Any:
                return next(
                    (
                        t
                        for t in self.client.list_all("/tags")
                        if t["title"].lower() == title.lower()
                    ),
                    None,
                )

            tag = self.client.create("/tags", {"title": title}, lookup)
            tag_id = str(tag["id"])
            self.org.tags[tag_id] = title
        return tag_id


_shared_lock = threading.RLock()


def apply_changes(
    client: TallyfyClient,
    org: LiveOrg,
    states: dict[str, tuple[TemplateState | None, TemplateState | None]],
    changes: list[Change],
    progress: Progress,
) -> list[Outcome]:
    """Carry out ``changes``; templates run in parallel. Returns one outcome per template."""
    if any(kind not in org.key_kinds for kind in RECORD_KINDS):
        define_keys(client, org)
    grouped: dict[str, list[Change]] = {}
    for change in changes:
        grouped.setdefault(change.template, []).append(change)
    creates = any(c.kind == "template" and c.action == "create" for c in changes)
    me = client.check_credentials().get("id") if creates else None  # once, not per template

    def run(key: str) -> Outcome:
        desired, live = states[key]
        return TemplateApplier(client, org, desired, live, grouped[key], progress, me).run()

    return client.map(run, list(grouped))
