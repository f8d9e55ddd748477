"""Every open question of the API reference, in one place: what is asked, the likeliest
answer (the emulator's default), the pessimistic one and the quirk that models it.

The reference (``tallyfy-api.md``) lists its open questions in section 9 ("Uncertain") and
section 10 (the audit of tallyform's requests, 2026-11-25); the fidelity audit
(``tallyfy-api-audit.md``, December 2026) adds some, named by its request numbers (R6,
W2...) and its paging section (P3). Each :class:`OpenQuestion` names the :mod:`.quirks`
switch or choice that takes its pessimistic answer; the same name is the check that
settles the question on a live org (``tallyform probe``). A question with no name is one
no quirk models, because tallyform does not depend on the answer, or already takes the
answer that is safe either way; its ``pessimistic`` says which.

One quirk may answer a question asked in several places (``refs``); each quirk answers
exactly one question here, so a probe runs each check once.

| refs | name (quirk and probe check) | likeliest (default) | pessimistic |
|---|---|---|---|
| 9.3 | nested_steps_built | nested steps ignored | built (another reading: never strict) |
| 9.4, 10.3 | prerun_omitted_deleted | omitted entries kept | deleted |
| 9.8, 10.10 | field_type_immutable | type changes in place | 422 |
| 9.11 | low_rate_limit | 600 a minute per user | 10/s, 100/min, 1,000/h per org (not strict: pacing) |
| 9.19 | oauth_account_host | token at the API host | only at the account host |
| 9.20, 10.8 | bodiless_deletes | 200 with a message | 204, no body |
| 9.21, 10.5, W22 | tags_without_tag_id | association id and tag_id | the tag only; PHP casts ids |
| 10.1 | top_level_folders | every folder listed | top level only |
| 10.2 | nulls_refused | nulls accepted | 422 |
| 10.2, W4, W8 | empty_string | "" clears | refused (422) or ignored |
| 10.4 | unpositioned_first | last | first |
| 10.6 | no_custom_fields_in_lists | lists carry values | only direct reads |
| 10.6 | custom_fields_null | values visible | null to an app's own token |
| 10.6 | prerun_without_custom_fields | kick-off rows carry values | absent |
| 10.6 | captures_without_custom_fields | nested fields carry values | absent |
| 10.6 | partial_custom_fields | every level carries values | nested levels absent or null |
| 10.6, W1 | applies_to_ui_names | API nouns | UI names only |
| 10.7 | app_tokens_cannot_act | an app token acts | 403 |
| W2 | custom_field_write_forbidden | members may write values | 403 |
| W3 | prerun_dropped_on_create | prerun kept | dropped |
| W17 | rule_put_appends | PUT replaces | appends |
| W23 | deleted_tags_keep_title | deleted tags are gone | title stays taken |
| R6 | list_without_includes | with honoured | ignored |
| R6 | list_with_refused | with accepted | 4xx to tags, or 5xx |
| R6, Q1 | thin_listed_steps | listed steps whole | thin |
| P3 | page_drift | stable pages | rows move during a read |

and the questions no quirk models (9.1 and 10.9, 9.2, 9.5 to 9.7, 9.9, 9.10, 9.12 to
9.18, 9.22 to 9.26), each in :data:`OPEN_QUESTIONS` with the reason; among them those of
processes and tasks, which ``tallyform test --org`` meets (RUN1 to RUN6, issue 20): the
emulator answers them as :mod:`.runs` says, and a live org answers them for itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpenQuestion:
    """One open question. ``name`` is the quirk that models the pessimistic answer and the
    probe check that settles it (None: not modelled); ``refs`` where the reference and the
    audit ask it ("9.3": reference section 9, item 3; "W1": the audit's write W1)."""

    name: str | None
    question: str
    likeliest: str
    pessimistic: str
    source: str
    refs: tuple[str, ...]

    @property
    def quirk(self) -> str | None:
        return self.name

    @property
    def probe_check(self) -> str | None:
        return self.name


_Q = OpenQuestion

OPEN_QUESTIONS: tuple[OpenQuestion, ...] = (
    # Modelled: each quirk, in the order of Quirks' fields ---------------------------------
    _Q(
        "top_level_folders",
        "Does GET /folders list every folder, or only the top level?",
        "every folder, flat; with=children nests them",
        "top-level folders only; children with parent_id or with=children",
        "Swagger getAllFolders; SDK get_folders and n8n ask with=children",
        ("10.1", "R4"),
    ),
    _Q(
        "nulls_refused",
        "Is a null in a write body accepted?",
        "accepted (read as no value)",
        "422 naming each key (a URL key 'must be a valid URL')",
        "DOC create-template.mdx; official clients leave absent values out",
        ("10.2",),
    ),
    _Q(
        "prerun_omitted_deleted",
        "Does a template PUT delete the kick-off fields its prerun array leaves out?",
        "no: they stay; DELETE .../preruns/{id} deletes one",
        "yes: deleted (a 422 if a rule uses one)",
        "MCP add_kickoff_field resends every entry; undocumented",
        ("9.4", "10.3"),
    ),
    _Q(
        "unpositioned_first",
        "Where does a form field created without position go?",
        "last",
        "first",
        "SDK crud_operations.py sends position (default 1); undocumented",
        ("10.4",),
    ),
    _Q(
        "no_custom_fields_in_lists",
        "Do list rows and nested objects carry custom_fields?",
        "yes, as a direct read does",
        "no: only a direct read of a template or a step carries values",
        "DOC custom-fields.mdx says fetched records carry them; lists are not mentioned",
        ("10.6", "Q1"),
    ),
    _Q(
        "bodiless_deletes",
        "What do deletes of fields, steps, rules and tag links answer?",
        "200 with a message",
        "204 with no body",
        "Swagger: 204 for capture and prerun deletes; DOC: archive is 200",
        ("9.20", "10.8", "W15"),
    ),
    _Q(
        "field_type_immutable",
        "May a form or kick-off field's field_type change in place?",
        "yes",
        "422",
        "MCP form_fields.py allows it; n8n says immutable",
        ("9.8", "10.10", "W12"),
    ),
    _Q(
        "app_tokens_cannot_act",
        "May an application's own token (client credentials) act?",
        "yes, for the application's user",
        "403 everywhere but the member-token mint",
        "DOC client-credentials-flow.mdx",
        ("10.7", "R2"),
    ),
    _Q(
        "list_without_includes",
        "Does the template list honour with=steps,tags,folder?",
        "yes: rows carry what a GET of the template would",
        "with is ignored: rows carry no steps or tags",
        "DOC list-templates.mdx documents with; no Tallyfy client sends it",
        ("R6",),
    ),
    _Q(
        "custom_fields_null",
        "Can these credentials see custom-field values?",
        "yes",
        "an application's own token (not signed in as a member) sees custom_fields null on "
        "every object, lists and direct reads; writes answer 200 but stay unseen; members' "
        "tokens, minted ones included, see the values",
        "DOC custom-fields.mdx, docs commit 2d3cbc760: values are visible only to members; "
        "a guest or an app token not signed in as a member sees null",
        ("10.6", "Q1", "Q4"),
    ),
    _Q(
        "prerun_without_custom_fields",
        "Do kick-off entries in template list rows carry custom_fields?",
        "yes",
        "no (the template's own GET still does)",
        "audit Q1, risk 2 (17 kick-off key writes on every plan)",
        ("10.6", "Q1"),
    ),
    _Q(
        "captures_without_custom_fields",
        "Do form fields nested in steps carry custom_fields?",
        "yes",
        "only on their step's own GET",
        "audit Q1, risk 2 (23 field key writes on every plan)",
        ("10.6", "Q1"),
    ),
    _Q(
        "partial_custom_fields",
        "Do the steps, form fields and kick-off entries nested in a list row carry "
        "custom_fields as the row does?",
        "present at every level",
        "absent, or null, below the template (choice; strict: null)",
        "DOC commit 8a4ba1143: 8 of the 10 entity transformers emit custom_fields",
        ("10.6",),
    ),
    _Q(
        "custom_field_write_forbidden",
        "May a member who is not an admin write template-side custom-field values?",
        "yes",
        "403 on PUT .../custom-fields of a template, step, form field or kick-off field",
        "DOC custom-fields.mdx names writers only for tasks, members, guests, folders, tags",
        ("W2",),
    ),
    _Q(
        "applies_to_ui_names",
        "Which applies_to values name template-side records in custom-field keys?",
        "the API's nouns: checklist, step, capture, prerun",
        "the UI's names only: template, step, form_field, kickoff_field (422 otherwise)",
        'DOC commit 95a292e17: \'applies_to enum uses "process" not "run"\'',
        ("10.6", "W1"),
    ),
    _Q(
        "list_with_refused",
        "Does the template list accept with=steps,tags,folder?",
        "accepted",
        "a 400 or 422 to with naming tags, or a 500 to any with (choice; strict: 422)",
        "the 2025 Swagger enum of the list's with lacks tags",
        ("R6",),
    ),
    _Q(
        "thin_listed_steps",
        "Are steps nested in list rows as whole as a GET of the template gives?",
        "yes",
        "no deadline, assignees or settings",
        "DOC get-template.mdx promises nested relations only for the single GET",
        ("R6", "Q1"),
    ),
    _Q(
        "empty_string",
        'How does a write clear a value: does "" clear it?',
        'clears (Laravel reads "" as null)',
        "refused: 422 'must be a valid URL' and the like; or ignored: the value stays "
        "(choice; strict: refused)",
        "DOC create-template.mdx: webhook 'must be a valid URL'; clearing is undocumented",
        ("10.2", "W4", "W8"),
    ),
    _Q(
        "rule_put_appends",
        "Does an automation PUT whose conditions and actions carry no ids replace them?",
        "replaces both lists",
        "appends them (those with a known id update it; those left out stay)",
        "SDK merges before its PUT; undocumented",
        ("W17",),
    ),
    _Q(
        "prerun_dropped_on_create",
        "Does POST /checklists keep its prerun array?",
        "kept",
        "dropped: kick-off fields take a PUT after the create",
        "DOC create-template.mdx lists prerun; no Tallyfy client sends it on create",
        ("W3",),
    ),
    _Q(
        "nested_steps_built",
        "Does POST /checklists build a nested steps array, with each step's form fields?",
        "ignored: steps are created one by one",
        "built (the cheap reading, not a pessimistic one, so never in strict: a client that "
        "also creates them one by one would make each twice)",
        "CLI blueprint import posts a whole template; builders create steps one by one",
        ("9.3",),
    ),
    _Q(
        "tags_without_tag_id",
        "What are the tag items under with=tags, and what does a non-numeric link id do?",
        "the association's integer id with tag_id and the tag's data; a non-numeric id is 0",
        "the tag itself {id: tag hex, title, color}; DELETE /checklists/tags/{hex} is "
        "PHP's (int) cast of it, which can detach another template's tag",
        "SDK reads id and tag_id and refuses non-numeric ids; DOC and Swagger show the tag",
        ("9.21", "10.5", "W22"),
    ),
    _Q(
        "deleted_tags_keep_title",
        "Is a deleted tag's title free again?",
        "yes: the tag is gone",
        "no: soft-deleted (deleted_at), its title stays taken (422 on a create)",
        "tags carry deleted_at; the apply lock makes and deletes one tag per apply",
        ("W23",),
    ),
    _Q(
        "page_drift",
        "Do rows stay on their page while a list is read page by page?",
        "yes",
        "an edit during the read moves a row to the top: one row seen twice, another missed",
        "list order is by last update; pages 2..N are read in parallel",
        ("P3",),
    ),
    _Q(
        "low_rate_limit",
        "What rate limit applies?",
        "600 requests a minute per user (Retry-After on a 429)",
        "100 a minute and 1,000 an hour per org, a burst throttle, an hourly Retry-After "
        "longer than a client's retry cap",
        "DOC troubleshooting.mdx says 600/min; the api-support README 100/min and 1,000/h",
        ("9.11", "P1"),
    ),
    _Q(
        "oauth_account_host",
        "Where is the client-credentials token endpoint?",
        "at the API host: {host}/oauth/token (the account host answers too)",
        "only at the account host (account.tallyfy.com/oauth/token)",
        "two DOC pages disagree (client-credentials-flow.mdx and another)",
        ("9.19", "Q4"),
    ),
    # Not modelled ------------------------------------------------------------------------
    _Q(
        None,
        "Which base URL: go.tallyfy.com/api or api.tallyfy.com?",
        "both front the same API; default to the documented go.tallyfy.com/api",
        "not modelled: tallyform takes the base from api_url",
        "DOC index.mdx; SDK core.py and CLI types.go default to api.tallyfy.com",
        ("9.1", "10.9"),
    ),
    _Q(
        None,
        "Which X-Tallyfy-Client value is required?",
        "present, any value",
        "not modelled: tallyform sends the documented APIClient",
        "DOC demands APIClient; n8n and the SDK send other values",
        ("9.2",),
    ),
    _Q(
        None,
        "What does a step create answer, and is its position kept?",
        "201, appended at the end",
        "not modelled: the emulator already ignores position; tallyform reorders",
        "SDK (citing api-v2) says position is discarded; n8n sends it",
        ("9.5",),
    ),
    _Q(
        None,
        "Are template step capture ids stable ids usable in rules?",
        "yes, opaque 32-hex",
        "not modelled: tallyform treats every id as opaque",
        "prerun and run form-field ids are timeline ids",
        ("9.6",),
    ),
    _Q(
        None,
        "Do step and field ids change when a launched template gets a new version?",
        "no: timeline ids stay",
        "not modelled: the emulator never versions; tallyform falls back to titles",
        "MCP automation.py (rules use steps.timeline_id)",
        ("9.7",),
    ),
    _Q(
        None,
        "What format does field_validation take?",
        "an array of rule names",
        "not modelled: tallyform sends an array",
        "MCP and SDK send arrays; a migrator doc shows a Laravel rule string",
        ("9.9",),
    ),
    _Q(
        None,
        "What shape has a 422 body?",
        "error, message and errors together",
        "not modelled: the emulator sends all three; tallyform reads either",
        "Laravel's {message, errors} vs the docs' {error, errors}",
        ("9.10",),
    ),
    _Q(
        None,
        "Does pagination carry has_more_pages and honour limit?",
        "no: Fractal's total, count, per_page, current_page, total_pages, links",
        "not modelled: tallyform reads total_pages only",
        "n8n alone names has_more_pages and limit",
        ("9.12",),
    ),
    _Q(
        None,
        "Which template list filter names a folder: folder or folder_id?",
        "folder",
        "not modelled: tallyform does not filter the list by folder",
        "DOC and SDK send folder; the CLI folder_id",
        ("9.13",),
    ),
    _Q(
        None,
        "Which values does a template's status take?",
        "unknown enum",
        "not modelled: tallyform never reads or sends status",
        "DOC shows active; CLI mocks published and draft",
        ("9.14",),
    ),
    _Q(
        None,
        "How do email step types map to the UI (email, expiring_email)?",
        "email = draft, expiring_email = auto-send at the deadline",
        "not modelled: tallyform passes the type through",
        "DOC step types",
        ("9.15",),
    ),
    _Q(
        None,
        "Which step booleans are the UI's Advanced settings?",
        "everyone_must_complete, assign_run_starter, can_complete_only_assignees...",
        "not modelled: tallyform passes the booleans through",
        "DOC step settings pages",
        ("9.16",),
    ),
    _Q(
        None,
        "What do the assignment verbs assign_only and assign do?",
        "assign_only replaces, assign adds, unassign removes",
        "not modelled: the emulator stores rules, it never runs them",
        "MCP automation.py",
        ("9.17",),
    ),
    _Q(
        None,
        "Which step deadline anchor: start_run or start_process?",
        "start_run",
        "not modelled: tallyform sends start_run",
        "SDK and MCP send start_run; legacy material start_process",
        ("9.18",),
    ),
    _Q(
        None,
        "Must template and step titles be unique, and tag titles?",
        "templates and steps may repeat; tag titles are unique per org",
        "not modelled: the emulator refuses a taken tag title, repeats the rest",
        "only a CLI mock shows 422 'title already taken' for a tag",
        ("9.22",),
    ),
    _Q(
        None,
        "In which order do steps arrive?",
        "ascending position",
        "not modelled: tallyform sorts by position itself",
        "unstated",
        ("9.23",),
    ),
    _Q(
        None,
        "Are captures in a single step's GET a bare array?",
        "bare on GET .../steps/{id}; wrapped collections under with=steps",
        "not modelled: tallyform accepts both shapes",
        "SDK, MCP and n8n iterate a bare array",
        ("9.24",),
    ),
    _Q(
        None,
        "Are a template's users integers or strings?",
        "integers (numeric strings probably accepted)",
        "not modelled: tallyform sends integers",
        "DOC create vs update pages; MCP sends ints",
        ("9.25",),
    ),
    _Q(
        None,
        "Which maximum lengths apply beyond the documented ones?",
        "MCP's input limits (step title 600, label 200, tag 30, folder 32)",
        "not modelled: the emulator enforces those; tallyform validates them offline",
        "MCP input schemas",
        ("9.26",),
    ),
)

_RUN_QUESTIONS: tuple[OpenQuestion, ...] = (
    _Q(
        None,
        "What does completing a task that rules hide answer?",
        "a 422 (the emulator's answer)",
        "not modelled: test --org reads the task list first and never completes a task "
        "shown as auto-skipped",
        "DOC list-process-tasks: hidden tasks are 'auto-skipped'; nothing on completing one",
        ("RUN1",),
    ),
    _Q(
        None,
        "What does completing a completed task answer?",
        "200 and nothing changes (the emulator's answer)",
        "not modelled: api-v2 dispatches task.completed again, so test --org never "
        "completes a task the task list shows completed",
        "MCP task_management.py (Task.php, TaskService.php)",
        ("RUN2",),
    ),
    _Q(
        None,
        "When is a task due whose deadline counts from another step not yet completed?",
        "no deadline until that step is completed (the emulator's answer)",
        "not modelled: test --org accepts no deadline while that step is not completed",
        "DOC edit-steps: 'due X time after another specific step is completed'",
        ("RUN3",),
    ),
    _Q(
        None,
        "From when does a rule's deadline action count?",
        "from the launch, as tallyform's rule engine has it",
        "not modelled: test --org accepts a deadline counted from the launch or from any "
        "step's completion when the scenario names no step",
        "DOC deadline-actions: 'current deadline', 'another step's deadline' or a date field",
        ("RUN4",),
    ),
    _Q(
        None,
        "Are deadlines moved to the org's working days and hours?",
        "yes, always forward (DOC deadline-actions)",
        "not modelled: the emulator has no work week; test --org allows a live org's "
        "deadline up to 3 days later than counted",
        "DOC deadline-actions, 'How deadlines handle non-working days'",
        ("RUN5",),
    ),
    _Q(
        None,
        "Which status has a task that is neither completed nor hidden?",
        "not-started (the docs' example also shows active)",
        "not modelled: test --org reads only auto-skipped (hidden) and completed",
        "DOC list-process-tasks example; SDK Task.status default",
        ("RUN6",),
    ),
)

OPEN_QUESTIONS += _RUN_QUESTIONS

#: The questions a quirk models, by quirk (and probe check) name.
BY_NAME: dict[str, OpenQuestion] = {q.name: q for q in OPEN_QUESTIONS if q.name is not None}


def question_for(name: str) -> OpenQuestion:
    """The open question the quirk (or probe check) ``name`` answers; KeyError if none."""
    return BY_NAME[name]
