"""The emulated organization's data, and keeping it in a JSON file that a crash cannot corrupt.

State is one JSON-able dict, shaped close to what the API returns so that handlers
render it with little work. It starts with one organization, two tokens (an admin's and
a standard member's) and the people listed in :data:`SEED_USERS` and :data:`SEED_GROUPS`.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

DEFAULT_ORG_ID = "7a11f0a7a11f0a7a11f0a7a11f0a7a11"
DEFAULT_ORG_NAME = "Emulated Organization"
DEFAULT_TOKEN = "emulator-admin-token"
DEFAULT_MEMBER_TOKEN = "emulator-member-token"
DEFAULT_CLIENT_ID = "1"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"
APP_TOKEN_LIFETIME = 604800  # seconds: client-credentials tokens last 7 days
USER_TOKEN_LIFETIME = 7776000  # seconds: user tokens minted by an application last 3 months
STATE_VERSION = 1

# (id, email, first name, last name, role)
SEED_USERS = [
    (1, "alice@example.com", "Alice", "Admin", "admin"),
    (2, "bob@example.com", "Bob", "Baker", "standard"),
    (3, "carol@example.com", "Carol", "Chen", "standard"),
    (4, "dave@example.com", "Dave", "Diaz", "standard"),
    (5, "erin@example.com", "Erin", "Evans", "light"),
]
# (name, member ids)
SEED_GROUPS = [
    ("Finance", [1, 3]),
    ("HR", [2]),
    ("IT", [4]),
    ("Legal", [3]),
    ("Support", [4, 5]),
    ("Marketing", [3]),
    ("Engineering", [4, 5]),
]


def now() -> str:
    """A timestamp as the API writes them: ISO 8601, milliseconds, Zulu."""
    moment = datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_id() -> str:
    """A fresh 32-character lowercase hex id, like the API's."""
    return uuid.uuid4().hex


def _seed_user(uid: int, email: str, first: str, last: str, role: str) -> dict[str, Any]:
    return {
        "id": uid,
        "email": email,
        "username": email.split("@")[0],
        "first_name": first,
        "last_name": last,
        "full_name": f"{first} {last}",
        "role": role,
        "active": True,
        "is_suspended": False,
        "timezone": "UTC",
        "created_at": "2026-01-01T00:00:00.000Z",
        "last_updated": "2026-01-01T00:00:00.000Z",
        "custom_fields": {},
    }


def fresh_state(
    org_id: str = DEFAULT_ORG_ID,
    admin_token: str = DEFAULT_TOKEN,
    member_token: str = DEFAULT_MEMBER_TOKEN,
) -> dict[str, Any]:
    """A new organization with its seed people and nothing else."""
    groups = [
        {
            "id": uuid.uuid5(uuid.NAMESPACE_URL, f"tallyform-emulator/{org_id}/group/{name}").hex,
            "name": name,
            "description": f"The {name} team",
            "logo": None,
            "members": members,
            "guests": [],
            "created_at": "2026-01-01T00:00:00.000Z",
            "updated_at": "2026-01-01T00:00:00.000Z",
            "deleted_at": None,
        }
        for name, members in SEED_GROUPS
    ]
    return {
        "version": STATE_VERSION,
        "org": {"id": org_id, "name": DEFAULT_ORG_NAME, "created_at": "2026-01-01T00:00:00.000Z"},
        "tokens": {admin_token: 1, member_token: 2},
        # OAuth applications (client credentials); their tokens act for the admin.
        "applications": {DEFAULT_CLIENT_ID: {"secret": DEFAULT_CLIENT_SECRET, "user_id": 1}},
        # Tokens issued by /oauth/token, and the application (client id) each belongs to.
        "app_tokens": {},
        "token_expiry": {},
        "users": [_seed_user(*row) for row in SEED_USERS],
        "groups": groups,
        "guests": [],
        "checklists": {},
        "tags": {},
        "tag_links": [],
        "folders": {},
        "custom_field_keys": [],
        "counters": {"increment_id": 0, "tag_link": 0, "custom_field_key": 0, "option": 0},
    }


class StateFileError(ValueError):
    """The state file exists but cannot be used; the message names it and what to do."""


class StateFile:
    """Keeps the state in a JSON file, replaced atomically on every save.

    The new content goes to a temporary file in the same folder, is flushed to disk,
    then renamed over the old file: a crash at any moment leaves either the old state
    or the new one, never a torn file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any] | None:
        """The saved state, None if there is none yet; StateFileError if it cannot be used."""
        try:
            text = self.path.read_text("utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            raise self._unusable(f"cannot be read ({error})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise self._unusable(
                f"is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("org"), dict):
            raise self._unusable("does not hold an emulated organization")
        if data.get("version") != STATE_VERSION:
            raise self._unusable(f"has an unknown version {data.get('version')!r}")
        return data

    def _unusable(self, what: str) -> StateFileError:
        return StateFileError(
            f"the emulator's state file {self.path} {what}; move it aside (or delete it) "
            "to start a fresh emulated organization"
        )

    def save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                # dumps, not dump: dump streams through the slow pure-Python encoder.
                out.write(json.dumps(data, separators=(",", ":")))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


def snapshot(data: dict[str, Any]) -> dict[str, Any]:
    """A deep copy, for handlers that must not leak references into responses."""
    return copy.deepcopy(data)
