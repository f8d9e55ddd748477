"""Processes (runs) and their tasks: launching, reading, answering, completing, reopening
and archiving, with the paths and bodies Tallyfy's own clients send.

Sources (reference 4.4 and 5.5; Tallyfy's API pages "Launch process", "List process
tasks", "Complete task", "Archive process"; the Python SDK's ``task_management``; the Go
CLI's ``pkg/tallyfy/resources.go``):

- ``POST /runs`` ``{"checklist_id", "name", "prerun": {PRERUN_ID: value}}``: 201 and the
  run. Keys that are no kick-off field's id are dropped silently; a required kick-off
  field without an answer is a 422, one error per field (``prerun.ID``: "LABEL is
  required"). A template that is archived or unknown is a 422 on ``checklist_id``.
- ``GET /runs/{id}/tasks``: a page of tasks (10 unless ``per_page``, at most 100), each
  with ``step_id``, ``status`` (``auto-skipped`` for a task rules hide, ``completed``,
  else ``not-started``), ``owners`` ``{users: [id], guests: [email], groups: [id]}``,
  ``deadline`` (a time, or null) and ``taskdata``.
- ``PUT /runs/{id}/tasks/{task}`` ``{"taskdata": {CAPTURE_ID: value}}``: form values
  (a completion cannot carry them); keys that are no form field of the task are dropped.
- ``POST /runs/{id}/completed-tasks`` ``{"task_id", "is_approved"}``: ``is_approved`` is
  required on an approval task (true approves, false rejects) and on an expiring task
  false records it as expired, else acknowledged; ignored elsewhere. A required form
  field without a value is a 422 (``taskdata.ID``: "LABEL is required").
- ``DELETE /runs/{id}/completed-tasks/{task}``: reopens the task.
- ``DELETE /runs/{id}``: archives the run (200, ``status: archived``); it is then 404.

What Tallyfy's pages leave open, answered here and listed in :mod:`.questions`
(RUN1 to RUN6): a hidden task completed is a 422; completing a completed task changes
nothing and answers 200, as api-v2 does not refuse it; a deadline that counts from a
step not yet completed is null until that step is completed; a rule's deadline counts
from the launch; no work week moves a deadline. Which steps show, who is
assigned and each deadline come from the rule engine (:mod:`.processes`).
"""

from __future__ import annotations

from typing import Any

from tallyform.emulator.call import Call, dict_of
from tallyform.emulator.processes import (
    Replayed,
    allowed,
    answer,
    deadline_of,
    owners,
    replay,
)
from tallyform.emulator.store import copied, new_id, now
from tallyform.emulator.wire import ApiError, Response, invalid, item, not_found, page_of
from tallyform.logic.engine import members

_RUN_FIELDS = (
    "id",
    "increment_id",
    "name",
    "checklist_id",
    "checklist_title",
    "status",
    "started_by",
    "owner_id",
    "prerun",
    "created_at",
    "started_at",
    "last_updated",
    "archived_at",
    "completed_at",
)


def _runs(call: Call) -> dict[str, Any]:
    """The org's runs (a state from before runs were kept has none: a read adds nothing)."""
    runs: dict[str, Any] = call.state.get("runs") or {}
    return runs


def _run(call: Call, *, changing: bool = False) -> dict[str, Any]:
    found = _runs(call).get(call.params["run"])
    if found is None or found["archived_at"] is not None:
        raise not_found()
    if changing:
        call.changes.row("runs", found["id"])
    return dict_of(found)


def _task(run: dict[str, Any], task_id: Any) -> dict[str, Any]:
    for task in run["tasks"]:
        if task["id"] == task_id:
            return dict_of(task)
    raise not_found()


def _render_run(run: dict[str, Any]) -> dict[str, Any]:
    return {name: copied(run.get(name)) for name in _RUN_FIELDS}


def _status(replayed: Replayed, step: str) -> str:
    if step in replayed.process.completed:
        return "completed"
    return "not-started" if step in replayed.process.visible else "auto-skipped"


def _render_task(
    call: Call, run: dict[str, Any], task: dict[str, Any], replayed: Replayed
) -> dict[str, Any]:
    step = task["step_id"]
    status = _status(replayed, step)
    return {
        **{k: copied(v) for k, v in task.items()},
        "run_id": run["id"],
        "checklist_id": run["checklist_id"],
        "status": status,
        "status_label": status,
        "owners": owners(replayed, step, call.state, run["started_by"]),
        "deadline": deadline_of(replayed, step, run),
        "is_completable": status == "not-started",
        "is_oneoff_task": False,
    }


def launch(call: Call) -> Response:
    """``POST /runs``: a process of a template, its launch rules applied."""
    body = call.body()
    template = call.state["checklists"].get(body.get("checklist_id"))
    if template is None or template["archived_at"] is not None:
        raise invalid({"checklist_id": ["The selected checklist id is invalid."]})
    sent = body.get("prerun")
    prerun = (
        {p["id"]: sent[p["id"]] for p in template["prerun"] if p["id"] in sent}
        if isinstance(sent, dict)
        else {}
    )
    blank = {
        f"prerun.{p['id']}": [f"{p['label']} is required"]
        for p in template["prerun"]
        if p["required"] and not members(answer(prerun.get(p["id"]), call.state))
    }
    if blank:
        raise invalid(blank)
    stamp = now()
    counters = call.state["counters"]
    counters["increment_id"] += 1
    run: dict[str, Any] = {
        "id": new_id(),
        "increment_id": counters["increment_id"],
        "name": str(body.get("name") or template["title"]),
        "checklist_id": template["id"],
        "checklist_title": template["title"],
        "status": "active",
        "started_by": call.user["id"],
        "owner_id": call.user["id"],
        "prerun": prerun,
        "created_at": stamp,
        "started_at": stamp,
        "last_updated": stamp,
        "archived_at": None,
        "completed_at": None,
        "template": copied(template),
        "events": [],
        "tasks": [
            {
                "id": new_id(),
                "title": step["title"],
                "alias": step["alias"],
                "step_id": step["id"],
                "position": step["position"],
                "task_type": step.get("step_type") or "task",
                "created_at": stamp,
                "last_updated": stamp,
                "completed_at": None,
                "completer_id": None,
                "is_approved": None,
                "taskdata": {},
            }
            for step in template["steps"]
        ],
    }
    call.state.setdefault("runs", {})[run["id"]] = run
    call.changes.row("runs", run["id"])
    call.changes.doc("counters")
    return item(_render_run(run), 201)


def list_runs(call: Call) -> Response:
    """``GET /runs``: the org's live runs, newest first; ``checklist_id`` keeps one
    template's (as the SDK's and the MCP server's ``get_organization_runs`` filter)."""
    template = call.request.query.get("checklist_id")
    rows = [
        run
        for run in _runs(call).values()
        if run["archived_at"] is None and (not template or run["checklist_id"] == template)
    ]
    rows.sort(key=lambda run: str(run["created_at"]), reverse=True)
    return page_of(call.request, rows, _render_run)


def get_run(call: Call) -> Response:
    return item(_render_run(_run(call)))


def archive_run(call: Call) -> Response:
    """``DELETE /runs/{id}``: archived, and 404 from then on."""
    run = _run(call, changing=True)
    run["archived_at"] = run["last_updated"] = now()
    run["status"] = "archived"
    return item(_render_run(run))


def list_tasks(call: Call) -> Response:
    run = _run(call)
    replayed = replay(run, call.state)
    return page_of(call.request, run["tasks"], lambda t: _render_task(call, run, t, replayed))


def get_task(call: Call) -> Response:
    run = _run(call)
    return item(_render_task(call, run, _task(run, call.params["task"]), replay(run, call.state)))


def update_task(call: Call) -> Response:
    """``PUT /runs/{id}/tasks/{task}``: its form values (``taskdata``), kept for its completion."""
    run = _run(call, changing=True)
    task = _task(run, call.params["task"])
    sent = call.body().get("taskdata")
    if sent is not None and not isinstance(sent, dict):
        raise invalid({"taskdata": ["The taskdata must be an array."]})
    step = next(s for s in run["template"]["steps"] if s["id"] == task["step_id"])
    ids = {c["id"] for c in step.get("captures") or []}
    task["taskdata"].update({k: v for k, v in (sent or {}).items() if k in ids})
    task["last_updated"] = now()
    return item(_render_task(call, run, task, replay(run, call.state)))


def _outcomes(task: dict[str, Any], approved: Any) -> list[str]:
    kind = task["task_type"]
    if kind == "approval":
        if not isinstance(approved, bool):
            raise invalid({"is_approved": ["The is approved field is required."]})
        return ["approved" if approved else "rejected"]
    if kind in ("expiring", "expiring_email"):
        return ["expired" if approved is False else "acknowledged"]
    return []


def _refuse(message: str) -> ApiError:
    return invalid({"task_id": [message]})


def complete_task(call: Call) -> Response:
    """``POST /runs/{id}/completed-tasks``: the task completed; the rules it triggers fire."""
    run = _run(call, changing=True)
    body = call.body()
    if not body.get("task_id"):
        raise invalid({"task_id": ["The task id field is required."]})
    task = _task(run, body["task_id"])
    replayed = replay(run, call.state)
    step = task["step_id"]
    if step in replayed.process.completed:  # api-v2 does not refuse it (run_complete_twice)
        return item(_render_task(call, run, task, replayed))
    why = allowed(replayed, step, reopening=False)
    if why is not None:
        raise _refuse(why)
    outcomes = _outcomes(task, body.get("is_approved"))
    fields = next(s for s in run["template"]["steps"] if s["id"] == step).get("captures") or []
    blank = {
        f"taskdata.{c['id']}": [f"{c['label']} is required"]
        for c in fields
        if c["required"] and not members(answer(task["taskdata"].get(c["id"]), call.state))
    }
    if blank:
        raise invalid(blank)
    stamp = now()
    run["events"].append(
        {"kind": "complete", "step": step, "outcomes": outcomes, "values": copied(task["taskdata"])}
    )
    task.update(completed_at=stamp, completer_id=call.user["id"], last_updated=stamp)
    task["is_approved"] = {"approved": True, "rejected": False}.get(next(iter(outcomes), ""))
    return item(_render_task(call, run, task, _settled(run, call)))


def reopen_task(call: Call) -> Response:
    """``DELETE /runs/{id}/completed-tasks/{task}``: the task reopened; its rules evaluated."""
    run = _run(call, changing=True)
    task = _task(run, call.params["task"])
    why = allowed(replay(run, call.state), task["step_id"], reopening=True)
    if why is not None:
        raise _refuse(why)
    run["events"].append({"kind": "reopen", "step": task["step_id"]})
    return item(_render_task(call, run, task, _settled(run, call)))


def _settled(run: dict[str, Any], call: Call) -> Replayed:
    """The run replayed after an event, its tasks' completion brought in line (a rule may
    have reopened a task; a reopened task is no longer completed)."""
    replayed = replay(run, call.state)
    stamp = run["last_updated"] = now()
    for task in run["tasks"]:
        if task["step_id"] not in replayed.process.completed and task["completed_at"]:
            task.update(completed_at=None, completer_id=None, is_approved=None, last_updated=stamp)
    return replayed
