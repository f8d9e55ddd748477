"""The emulator's URL map: every path of the reference's emulator checklist (section 7).

Paths are matched below ``/api``; org-scoped ones below ``/api/organizations/{org}``;
an application's user-token mint at ``/api/applications/{org}/users/{email}/token``.
More specific paths come first (``/checklists/tags`` before ``/checklists/{id}``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tallyform.emulator import automations, custom_fields, directory, runs, steps, templates
from tallyform.emulator.call import Call
from tallyform.emulator.wire import Response

Handler = Callable[[Call], Response]

_ID = r"(?P<{}>[^/]+)"
_CHECKLIST = "/checklists/" + _ID.format("checklist")
_STEP = _CHECKLIST + "/steps/" + _ID.format("step")
_CAPTURE = _STEP + "/captures/" + _ID.format("capture")
_PRERUN = _CHECKLIST + "/preruns/" + _ID.format("prerun")
_RUN = "/runs/" + _ID.format("run")
_TASK = _ID.format("task")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    org_scoped: bool
    writes: bool


def _values(kind: str) -> Handler:
    return lambda call: custom_fields.put_values(call, kind)


_ORG_ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "", directory.organization),
    ("GET", "/me", directory.me),
    # tags attached to templates (before /checklists/{id})
    ("POST", "/checklists/tags", directory.attach_tag),
    ("DELETE", "/checklists/tags/" + _ID.format("link"), directory.detach_tag),
    # templates
    ("GET", "/checklists", templates.list_templates),
    ("POST", "/checklists", steps.create_template),
    ("GET", _CHECKLIST, templates.get_template),
    ("PUT", _CHECKLIST, templates.update_template),
    ("DELETE", _CHECKLIST, templates.archive_template),
    ("PUT", _CHECKLIST + "/restore", templates.restore_template),
    ("DELETE", _CHECKLIST + "/delete", templates.delete_template_forever),
    ("PUT", _CHECKLIST + "/custom-fields", _values("checklist")),
    # kick-off fields
    ("DELETE", _PRERUN, templates.delete_prerun),
    ("PUT", _PRERUN + "/custom-fields", _values("prerun")),
    # steps
    ("GET", _CHECKLIST + "/steps", steps.list_steps),
    ("POST", _CHECKLIST + "/steps", steps.create_step),
    ("GET", _STEP, steps.get_step),
    ("PUT", _STEP, steps.update_step),
    ("DELETE", _STEP, steps.delete_step),
    ("PUT", _STEP + "/reorder", steps.reorder_step),
    ("PUT", _STEP + "/custom-fields", _values("step")),
    # form fields
    ("POST", _STEP + "/captures", steps.create_capture),
    ("PUT", _STEP + "/captures", steps.reorder_capture),
    ("PUT", _CAPTURE, steps.update_capture),
    ("DELETE", _CAPTURE, steps.delete_capture),
    ("PUT", _CAPTURE + "/move-out", steps.move_capture_out),
    ("PUT", _CAPTURE + "/custom-fields", _values("capture")),
    # automations
    ("POST", _CHECKLIST + "/automated-actions", automations.create_automation),
    (
        "PUT",
        _CHECKLIST + "/automated-actions/" + _ID.format("automation"),
        automations.update_automation,
    ),
    (
        "DELETE",
        _CHECKLIST + "/automated-actions/" + _ID.format("automation"),
        automations.delete_automation,
    ),
    # processes and their tasks
    ("GET", "/runs", runs.list_runs),
    ("POST", "/runs", runs.launch),
    ("GET", _RUN, runs.get_run),
    ("DELETE", _RUN, runs.archive_run),
    ("GET", _RUN + "/tasks", runs.list_tasks),
    ("GET", _RUN + "/tasks/" + _TASK, runs.get_task),
    ("PUT", _RUN + "/tasks/" + _TASK, runs.update_task),
    ("POST", _RUN + "/completed-tasks", runs.complete_task),
    ("DELETE", _RUN + "/completed-tasks/" + _TASK, runs.reopen_task),
    # catalogues and people
    ("GET", "/tags", directory.list_tags),
    ("POST", "/tags", directory.create_tag),
    ("GET", "/tags/" + _ID.format("tag"), directory.get_tag),
    ("PUT", "/tags/" + _ID.format("tag"), directory.update_tag),
    ("DELETE", "/tags/" + _ID.format("tag"), directory.delete_tag),
    ("GET", "/folders", directory.list_folders),
    ("POST", "/folders", directory.create_folder),
    ("GET", "/folders/" + _ID.format("folder"), directory.get_folder),
    ("PUT", "/folders/" + _ID.format("folder"), directory.update_folder),
    ("DELETE", "/folders/" + _ID.format("folder"), directory.delete_folder),
    ("GET", "/users", directory.list_users),
    ("GET", "/users/" + _ID.format("user"), directory.get_user),
    ("GET", "/guests", directory.list_guests),
    ("GET", "/guests/" + _ID.format("guest"), directory.get_guest),
    ("GET", "/groups", directory.list_groups),
    ("GET", "/groups/" + _ID.format("group"), directory.get_group),
    ("GET", "/custom-field-keys", custom_fields.list_keys),
    ("POST", "/custom-field-keys", custom_fields.create_key),
]

_ROOT_ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/me", directory.me),
    ("GET", "/me/organizations", directory.my_organizations),
]


#: Minting a user's token with an application's token (reference 2.4): below ``/api`` but
#: outside the org prefix, like ``/me``. Answered by :func:`.oauth.mint_user_token`, which
#: needs the caller's token, so it is matched apart from the handlers above.
USER_TOKEN = re.compile(r"^/api/applications/(?P<org>[^/]+)/users/(?P<email>[^/]+)/token/?$")


def match_user_token(method: str, path: str) -> dict[str, str] | None:
    """The ``org`` and ``email`` of a user-token mint, or None for any other request."""
    found = USER_TOKEN.match(path) if method == "POST" else None
    return found.groupdict() if found else None


def _compile(prefix: str, rows: list[tuple[str, str, Handler]], org_scoped: bool) -> list[Route]:
    return [
        Route(method, re.compile(f"^{prefix}{path}/?$"), handler, org_scoped, method != "GET")
        for method, path, handler in rows
    ]


ROUTES: list[Route] = _compile("/api", _ROOT_ROUTES, False) + _compile(
    "/api/organizations/(?P<org>[^/]+)", _ORG_ROUTES, True
)


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for a method and path, and its path parameters."""
    for route in ROUTES:
        if route.method != method:
            continue
        found = route.pattern.match(path)
        if found:
            return route, found.groupdict()
    return None
