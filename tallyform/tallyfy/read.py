"""Reading the live org: people, tags, folders, tallyform's keys and the templates.

What is read, and nothing more: the custom-field keys (is ``tallyform_key`` defined?),
users, groups, tags and template folders (to name people, tags and folders as the YAML
does), the template list (to find the templates tallyform owns), and each owned or
declared template whole, in one request each, in parallel: ``workers`` requests at once,
as the engine decides. Each template comes back in the one shape
:func:`~tallyform.tallyfy.wire.whole_template` gives it.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tallyform.client import TallyfyClient, TallyfyError, Unavailable, ValidationFailed, unwrap
from tallyform.model.state import KEY_RECORDS
from tallyform.parallel import in_parallel
from tallyform.tallyfy.records import (
    Folder,
    Group,
    KeyDefinition,
    ListedTemplate,
    Member,
    Tag,
    TemplateRecord,
    Wire,
)
from tallyform.tallyfy.shape import require_members
from tallyform.tallyfy.wire import (
    DEFAULT_APPLIES_TO,
    IDS_FIELD,
    KEY_FIELD,
    UI_APPLIES_TO,
    WHOLE,
    hides_keys,
    is_whole,
    key_of,
    map_children,
    shows_keys,
    steps_show_keys,
    template_shows_keys,
    whole_template,
)

log = logging.getLogger("tallyform.tallyfy")
IDS_RECORD = "ids"  # the key setup change that defines tallyform_ids on templates
# What read_org looks up in each list it reads: (list, path, keys each member must hold).
_READ_SHAPES = (
    ("users", "/users", ("id",)),
    ("groups", "/groups", ("id", "name")),
    ("tags", "/tags", ("id", "title")),
    ("keys", "/custom-field-keys", ("applies_to",)),
)


@dataclass
class LiveOrg:
    """The org as far as a plan needs it, in typed records (:mod:`.records`)."""

    users: dict[int, str] = field(default_factory=dict)  # id -> lowercase email
    groups: dict[str, str] = field(default_factory=dict)  # id -> name
    tags: dict[str, str] = field(default_factory=dict)  # id -> title
    folders: dict[str, Folder] = field(default_factory=dict)  # id -> folder
    key_kinds: set[str] = field(default_factory=set)  # applies_to values with tallyform_key
    applies_to: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_APPLIES_TO))
    templates: list[ListedTemplate] = field(default_factory=list)  # the list, not archived
    archived: list[ListedTemplate] = field(default_factory=list)  # archived templates
    key_defs: list[KeyDefinition] = field(default_factory=list)  # active custom-field keys

    def writable_keys(self, record: str) -> set[str]:
        """Custom-field keys of a record kind that a PUT may carry (system keys may not)."""
        kind = self.applies_to[record]
        return {
            k.key
            for k in self.key_defs
            if k.key is not None and k.applies_to == kind and not k.system
        }

    def user_id(self, email: str) -> int:
        return next(uid for uid, known in self.users.items() if known == email.lower())

    def group_id(self, name: str) -> str:
        return next(gid for gid, known in self.groups.items() if known == name)

    def tag_id(self, title: str) -> str | None:
        return next(
            (tid for tid, known in self.tags.items() if known.lower() == title.lower()), None
        )

    def folder_id(self, path: str) -> str | None:
        return next((fid for fid in self.folders if self.folder_path(fid) == path), None)

    def folder_path(self, folder_id: str | None) -> str | None:
        names: list[str] = []
        seen: set[str] = set()
        while folder_id and folder_id in self.folders and folder_id not in seen:
            seen.add(folder_id)
            names.append(self.folders[folder_id].name)
            folder_id = self.folders[folder_id].parent_id
        return "/".join(reversed(names)) or None

    @property
    def missing_key_kinds(self) -> list[str]:
        """The record kinds (template, step, field, kickoff) whose tallyform_key is missing,
        and ``ids`` where templates have no tallyform_ids key for their children's map."""
        missing = [r for r in KEY_RECORDS if self.applies_to[r] not in self.key_kinds]
        return missing + ([] if self.ids_defined else [IDS_RECORD])

    @property
    def ids_defined(self) -> bool:
        """Whether templates have the tallyform_ids key (their children's map)."""
        kind = self.applies_to["template"]
        return any(k.key == IDS_FIELD and k.applies_to == kind for k in self.key_defs)

    def user_email(self, user_id: Any) -> str:
        return self.users.get(user_id, f"#{user_id}") if isinstance(user_id, int) else str(user_id)

    def group_name(self, group_id: Any) -> str:
        return self.groups.get(str(group_id), f"#{group_id}")


def read_org(
    client: TallyfyClient,
    applies_to: dict[str, str] | None = None,
    search: Mapping[str, tuple[str, ...]] | None = None,
    workers: int = 1,
) -> LiveOrg:
    """Everything but the templates' contents, read in parallel (the template list too).

    With ``search`` (key -> title, a plan of a few templates), the template list is
    searched by those titles instead of read whole (:func:`find_templates`); when that
    cannot find every key, the whole list is read after all.
    """
    readers: dict[str, Callable[[], Any]] = {
        "users": lambda: client.list_all("/users", workers=workers),
        "groups": lambda: client.list_all("/groups", workers=workers),
        "tags": lambda: client.list_all("/tags", workers=workers),
        "folders": lambda: read_folders(
            client, workers
        ),  # as sent: their custom fields are checked
        "keys": lambda: client.list_all(
            "/custom-field-keys", {"is_active": "true"}, workers=workers
        ),
    }
    lists: dict[str, Callable[[], Any]] = {
        "templates": lambda: list_templates(client, workers=workers),
        "archived": lambda: client.list_all("/checklists", {"archived": "only"}, workers=workers),
    }
    if search is not None:
        readers["found"] = lambda: find_templates(client, search, workers)
    else:
        readers.update(lists)  # with the rest, not after it: one round trip fewer
    results = dict(
        zip(
            readers,
            in_parallel(lambda name: readers[name](), list(readers), workers),
            strict=True,
        )
    )
    if results.get("found") is not None:
        results["templates"], results["archived"] = results["found"], []
    elif search is not None:  # the search could not find every key: read the whole list
        read = in_parallel(lambda name: lists[name](), list(lists), workers)
        results["templates"], results["archived"] = read
    for name, path, keys in _READ_SHAPES:
        require_members(results[name], client.org_path(path), *keys)
    require_visible_values(client, results)
    members = [Member.from_wire(row) for row in results["users"]]
    groups = [Group.from_wire(row) for row in results["groups"]]
    tags = [Tag.from_wire(row) for row in results["tags"]]
    defined = [KeyDefinition.from_wire(row) for row in results["keys"]]
    return LiveOrg(
        users={member.id: member.email for member in members},
        groups={group.id: group.name for group in groups},
        tags={tag.id: tag.title for tag in tags},
        folders=folder_records(results["folders"]),
        key_kinds=(kinds := {k.applies_to for k in defined if k.key == KEY_FIELD}),
        templates=[ListedTemplate.from_wire(row) for row in results["templates"]],
        archived=[ListedTemplate.from_wire(row) for row in results["archived"]],
        key_defs=defined,
        applies_to=as_defined({**DEFAULT_APPLIES_TO, **(applies_to or {})}, kinds),
    )


def as_defined(applies_to: dict[str, str], kinds: set[str]) -> dict[str, str]:
    """``applies_to`` with each record kind's value taken from the keys the org has: where
    tallyform_key is missing under the expected value but defined under the UI's name
    for that kind (an org whose API takes the UI's names, or an admin who made the keys
    by hand), that one is used, and the log says so."""
    resolved = dict(applies_to)
    for record, value in applies_to.items():
        other = UI_APPLIES_TO.get(record)
        if value not in kinds and other is not None and other in kinds:
            log.info("tallyform_key for %ss is defined with applies_to '%s'", record, other)
            resolved[record] = other
    return resolved


def find_templates(
    client: TallyfyClient, titles: Mapping[str, tuple[str, ...]], workers: int = 1
) -> list[dict[str, Any]] | None:
    """The live templates that carry each key of ``titles``, found by searching the list
    for the key's titles (``q``, Tallyfy's case-insensitive title search), whole.

    None unless every key is carried by a row found that way: a key not found (a new
    template, or one renamed in Tallyfy) could still be carried by a template of another
    title, and only the whole list can say it is not, so the caller reads the whole list.
    Rows whose custom fields the list leaves out are read on their own to learn their key.
    """
    every = {title for named in titles.values() for title in named}
    # The search matches part of a title: one for "Intake" finds "Intake (EU)" too.
    wanted = sorted(t for t in every if not any(o != t and o.lower() in t.lower() for o in every))
    searches = in_parallel(
        lambda title: list_templates(client, {"q": title}, workers), wanted, workers
    )
    rows = {str(row["id"]): row for found in searches for row in found}
    unkeyed = [row for row in rows.values() if not shows_keys(row)]
    for read in in_parallel(lambda row: _read_own(client, str(row["id"])), unkeyed, workers):
        rows[str(read["id"])] = read
    carried = {key_of(row) for row in rows.values()}
    if not set(titles) <= carried:
        return None
    return list(rows.values())


def read_folders(client: TallyfyClient, workers: int = 1) -> dict[str, dict[str, Any]]:
    """Every template folder by id, however deep: Tallyfy's list may hold only the top
    level, with each folder's ``children`` nested (as its SDK and n8n node read them), or
    every folder flat; both are walked, and each folder gets its ``parent_id``."""
    query = {"folder_type": "checklist", "with": "children"}
    rows = client.list_all("/folders", query, workers=workers)
    folders: dict[str, dict[str, Any]] = {}
    pending: list[tuple[Any, str | None]] = [(row, None) for row in rows]
    while pending:
        row, parent = pending.pop()
        if not isinstance(row, dict) or row.get("id") is None:
            continue
        folder_id = str(row["id"])
        known = row.get("parent_id")
        parent_id = str(known) if known not in (None, "") else parent
        folders.setdefault(folder_id, {**row, "parent_id": parent_id})
        pending += [(child, folder_id) for child in unwrap(row.get("children")) or []]
    return folders


def folder_records(rows: Mapping[str, Wire]) -> dict[str, Folder]:
    """The folders :func:`read_folders` read, by id, as records."""
    return {
        folder_id: Folder.from_wire(row, row.get("parent_id")) for folder_id, row in rows.items()
    }


def read_all_whole(
    client: TallyfyClient, rows: list[ListedTemplate], workers: int = 1
) -> list[TemplateRecord]:
    """The live template of each row of the list, whole, in order: from the row itself when
    it carries everything, keys included (no request, and no worker thread), else read on
    its own (:func:`read_template`) or missing only its steps' keys (:func:`with_step_keys`).
    """
    found = [_mapped(whole_template(row.wire)) if _usable(row.wire) else None for row in rows]

    def complete(index: int) -> dict[str, Any]:
        raw = found[index]
        if raw is None:
            return read_template(client, rows[index].id, workers)
        return with_step_keys(client, raw, workers)

    rest = [i for i, raw in enumerate(found) if raw is None or not template_shows_keys(raw)]
    for index, raw in zip(rest, in_parallel(complete, rest, workers), strict=True):
        found[index] = raw
    return [TemplateRecord.from_wire(raw) for raw in found if raw is not None]


def _mapped(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with its children that show no key of their own named by its map."""
    map_children(raw)
    return raw


def _usable(row: dict[str, Any]) -> bool:
    """Whether a list row can stand for its template: whole, and showing the custom fields
    of the template and its kick-off fields (only a template's own read carries those)."""
    if not is_whole(row) or not shows_keys(row):
        return False
    return all(shows_keys(entry) for entry in unwrap(row.get("prerun")) or [])


def read_template(client: TallyfyClient, template_id: str, workers: int = 1) -> dict[str, Any]:
    """A live template whole, with the tallyform keys of its steps and form fields."""
    raw = get_template(client, template_id)
    map_children(raw)
    _require_keys(raw, f"/checklists/{template_id}", [raw, *raw["prerun"]])
    return with_step_keys(client, raw, workers)


def with_step_keys(client: TallyfyClient, raw: dict[str, Any], workers: int = 1) -> dict[str, Any]:
    """``raw`` with the tallyform keys of its steps and form fields.

    Where a step, or a form field in it, comes without its custom fields (Tallyfy may show
    those only on a direct read), that step is read on its own, with its form fields.
    """
    template_id = raw["id"]
    steps = raw.get("steps") or []
    map_children(raw)
    shown = steps_show_keys(steps)
    if all(shown):
        return raw
    unread = [step for step, known in zip(steps, shown, strict=True) if not known]
    full = in_parallel(
        lambda s: client.get(f"/checklists/{template_id}/steps/{s['id']}"),
        unread,
        workers,
    )
    for step, read in zip(unread, full, strict=True):
        path = f"/checklists/{template_id}/steps/{step['id']}"
        if not isinstance(read, dict):
            raise TallyfyError("the answer is not a step", method="GET", path=path)
        step["custom_fields"] = read.get("custom_fields")
        by_id = {str(c.get("id")): c for c in unwrap(read.get("captures")) or []}
        for capture in step.get("captures") or []:
            found = by_id.get(str(capture.get("id")))
            if found is not None and "custom_fields" in found:
                capture["custom_fields"] = found["custom_fields"]
        _require_keys(raw, path, [step, *(step.get("captures") or [])])
    return raw


class KeysHidden(TallyfyError):
    """A direct read shows no custom-field values: these credentials cannot see them."""


def _require_keys(template: dict[str, Any], path: str, records: list[dict[str, Any]]) -> None:
    """Stop when a direct read still shows no custom fields: tallyform's identity lives
    there, and planning without it would match everything by title and rewrite every key
    on every apply (reference 3.9: guests and public views see ``null``)."""
    if all(shows_keys(r) for r in records):
        return
    hidden = any(hides_keys(r) for r in records)
    said = "`custom_fields: null`" if hidden else "no `custom_fields`"
    raise KeysHidden(
        f"these credentials cannot see custom-field values: Tallyfy answers {said} on a "
        f"direct read of template '{template.get('title')}'. " + _MEMBER_ADVICE,
        method="GET",
        path=path,
    )


#: The org-wide lists a plan reads anyway whose rows carry ``custom_fields`` (reference 3.9:
#: users, folders and tags are among the ten record kinds that do), by the path named.
_VALUED_LISTS = (("users", "/users"), ("tags", "/tags"), ("folders", "/folders"))


def require_visible_values(client: TallyfyClient, results: Mapping[str, Any]) -> None:
    """Stop before anything is planned, so before any write, when the org's own lists say
    these credentials cannot see custom-field values: every row that carries
    ``custom_fields`` shows ``null``, and at least one does.

    Why these lists: Tallyfy's custom-fields page (reference 3.9; the audit's Q1, docs
    commit ``2d3cbc760``) makes the values visible "only to members": a guest, or an
    application's token not signed in as a member, "always sees ``custom_fields`` as
    ``null``", on every record kind. So one record shows what the viewer may see as well
    as a template would, and the users list, which a plan reads anyway (to name people)
    and which is never empty (an org has at least its admin), shows it even in a new org
    with no template, tag or folder yet: the refusal comes before the first write instead
    of at the first create. Tags and folders (named by the page as fetched with
    ``custom_fields``) count too. Nothing is concluded from a row that leaves the key out
    (the page says 8 of the 10 record kinds' answers carry it, not which 8), nor from a mix
    of values and nulls; templates are checked where they are read
    (:func:`_require_keys`), and a listed template that shows its values outweighs them all
    (where members saw ``null`` on a user with no value, the org's templates still decide).
    No request is added."""
    listed = results.get("templates") or []
    if any(isinstance(r, dict) and shows_keys(r) for r in listed):
        return  # a template's own values are seen: what the other lists show is no sign
    hidden: list[str] = []
    for name, path in _VALUED_LISTS:
        rows = results.get(name)
        if isinstance(rows, dict):  # folders come by id
            rows = list(rows.values())
        carrying = [r for r in rows or [] if isinstance(r, dict) and "custom_fields" in r]
        if any(not hides_keys(r) for r in carrying):
            return
        if carrying:
            hidden.append(path)
    if hidden:
        raise KeysHidden(
            "these credentials cannot see custom-field values: Tallyfy answers "
            f"`custom_fields: null` on every row of {' and '.join(hidden)} (a view that is "
            "not a member's). " + _MEMBER_ADVICE,
            method="GET",
            path=client.org_path(hidden[0]),
        )


_MEMBER_ADVICE = (
    "tallyform keeps each object's identity in its tallyform_key custom field, so it cannot "
    "plan without them. Use a member's token (an org admin's, or a member who can edit the "
    "templates); an application sets `act_as: EMAIL` under the org in tallyform.yaml. "
    "Nothing was changed."
)


def get_template(client: TallyfyClient, template_id: str) -> dict[str, Any]:
    """One template with its steps, form fields, kick-off fields, rules and tags, in one request.

    Includes are unwrapped and steps, fields and kick-off fields sorted by position,
    whatever shape or order the API sends them in.
    """
    template: dict[str, Any] = client.get(f"/checklists/{template_id}", {"with": WHOLE})
    return whole_template(template)


def list_templates(
    client: TallyfyClient, params: dict[str, Any] | None = None, workers: int = 1
) -> list[dict[str, Any]]:
    """The template list, asking for each row whole (``with=steps,tags,folder``).

    Tallyfy documents ``with`` on the list; whether every row then carries all a GET of
    the template carries is not confirmed, so callers check each row with
    :func:`~tallyform.tallyfy.wire.is_whole` and read the ones that are not on their own.
    The 2025 Swagger file's enum for the list's ``with`` lacks ``tags``: a list that
    refuses the includes (a 400 or 422, or a server error on every try) is read again
    without them, and so are later lists of this client.
    """
    query = dict(params or {})
    if client not in _WITH_REFUSED:
        try:
            # A few tries only: a list that keeps failing with `with` is read without it,
            # which costs a read per template, not minutes of waiting.
            whole = {**query, "with": WHOLE}
            return client.list_all("/checklists", whole, tries=WITH_TRIES, workers=workers)
        except (ValidationFailed, Unavailable) as refusal:
            if refusal.status is None:  # no answer at all: not about `with`
                raise
            _WITH_REFUSED.add(client)
            log.info(  # handled, and `tallyform probe` reports it: not worth a warning
                "the template list refused with=%s (%s); reading it without, and each "
                "template on its own",
                WHOLE,
                refusal.status,
            )
    rows: list[dict[str, Any]] = client.list_all("/checklists", query, workers=workers)
    return rows


WITH_TRIES = 3
_WITH_REFUSED: weakref.WeakSet[TallyfyClient] = weakref.WeakSet()


def ensure_keys_listed(client: TallyfyClient, org: LiveOrg, workers: int = 1) -> None:
    """Template lists that omit custom fields make ownership unknowable without reading each."""
    missing = [t for t in org.templates if not t.shows_keys]
    if not missing:
        return
    log.info(
        "the template list carries no custom fields; reading %d templates one by one", len(missing)
    )
    full = in_parallel(lambda t: _read_own(client, t.id), missing, workers)
    by_id = {row.id: row for row in map(ListedTemplate.from_wire, full)}
    org.templates = [by_id.get(t.id, t) for t in org.templates]


def _read_own(client: TallyfyClient, template_id: str) -> dict[str, Any]:
    """A template read on its own, its own key required (its steps' keys are read later,
    and only for the templates tallyform owns)."""
    raw = get_template(client, template_id)
    _require_keys(raw, f"/checklists/{template_id}", [raw])
    return raw


def my_user_id(client: TallyfyClient) -> int | None:
    """The id of the member the credentials belong to (None where ``/me`` shows none)."""
    return client.current_user().get("id")
