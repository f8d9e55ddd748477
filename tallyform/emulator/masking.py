"""What the request log keeps of a write's body: the parsed body, with secrets masked.

A JSON body is logged as parsed; a form-encoded one (the OAuth token request, or any body
that is not JSON but parses as form fields) as a dict of its fields; an empty body as
``{}`` (the emulator reads it so); anything else as a short note, never as raw text that
could hold a secret. The value of every key that
names a secret (``client_secret``, ``password``, ``access_token``, ``refresh_token``,
``token``, any ``*_secret``, ``*_token`` or ``*_password``), at any depth, becomes ``***``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from tallyform.emulator.wire import Request

MASK = "***"
_SECRET_KEYS = frozenset({"token", "password", "secret", "client_secret", "api_key", "apikey"})
_SECRET_SUFFIXES = ("_token", "_secret", "_password")


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in _SECRET_KEYS or lowered.endswith(_SECRET_SUFFIXES)


def masked(value: Any) -> Any:
    """``value`` with every secret-named key's value replaced by ``***``, at any depth."""
    if isinstance(value, dict):
        return {
            k: MASK if isinstance(k, str) and is_secret_key(k) else masked(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def _is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded"


def parsed_body(request: Request) -> Any:
    """The request body as data: JSON, form fields, ``{}`` when empty, else a short note."""
    if not request.body.strip():
        return {}
    text = request.body.decode("utf-8", "replace")
    if not _is_form(request):
        try:
            return json.loads(text)
        except ValueError:
            pass
    fields = _form_fields(text)
    return fields if fields else f"<{len(request.body)} bytes, not JSON>"


def _form_fields(text: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


def logged_body(request: Request) -> Any:
    """The body as the request log keeps it: parsed, secrets masked."""
    return masked(parsed_body(request))
