"""What an answer that is not a success says, and the error it becomes: the server's
message and field errors (secrets redacted), and for a refusal of the credentials, advice
that names where they came from and what to check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tallyform.client.auth import ClientCredentials, Credentials
from tallyform.client.errors import AuthError, NotFound, TallyfyError, ValidationFailed
from tallyform.client.redact import redact

if TYPE_CHECKING:
    from tallyform.client.exchange import Reply
    from tallyform.client.shapes import Json


def server_message(reply: Reply) -> str:
    """The answer's ``message`` (or ``error``), else its reason phrase, else ``HTTP nnn``."""
    fallback = reply.reason or f"HTTP {reply.status}"
    try:
        body = reply.json()
    except ValueError:
        return redact(fallback)
    message: Json = None
    if isinstance(body, dict):
        message = body.get("message")
        error = body.get("error")
        if message is None and isinstance(error, dict):
            message = error.get("message")
        if message is None and isinstance(error, str):
            message = error
    return redact(str(message or fallback))


def field_errors(reply: Reply) -> dict[str, list[str]]:
    """The answer's ``errors``: each field with its messages ({} if it has none)."""
    try:
        body = reply.json()
    except ValueError:
        return {}
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, dict):
        return {}
    return {
        str(k): [redact(str(m)) for m in (v if isinstance(v, list) else [v])]
        for k, v in errors.items()
    }


def refusal(method: str, path: str, reply: Reply) -> TallyfyError:
    """The error an answer of 300 or more (but not 401/403) becomes."""
    status, message = reply.status, server_message(reply)
    if status == 404:
        return NotFound(message, method=method, path=path, status=status)
    if status in (400, 422):
        errors = field_errors(reply)
        return ValidationFailed(message, errors, method=method, path=path, status=status)
    return TallyfyError(message, method=method, path=path, status=status)


def credentials_refused(
    method: str,
    path: str,
    reply: Reply,
    credentials: Credentials,
    org: str,
    hint: str = "",
    local: bool = False,
) -> AuthError:
    """The error a 401 or 403 becomes: who refused what, for ``org`` ("org ID" or "org
    'NAME' (ID)"), and what to check; ``hint`` is added (which orgs the credentials belong
    to, after a 403). ``local``: the API is on this machine, most likely an emulator, whose
    tokens are its own."""
    application = isinstance(credentials, ClientCredentials)
    message = server_message(reply).rstrip(".!?")  # Tallyfy's own end in a full stop (or "!")
    if reply.status == 401:
        advice = (
            "Check the application's client id and secret."
            if application
            else "Personal access tokens last 6 months and end when you log out of the web "
            "app; get a new one under Settings > Integrations > REST API."
        )
        if local:
            advice = (
                "The API is on this machine: if it is `tallyform emulator serve`, use the "
                "admin token it printed when it started (the one given with --token, or "
                "its default, which `tallyform emulator serve --help` shows)."
            )
        said = f"Tallyfy refused the credentials from {credentials.source} for {org}: {message}. {advice}"
    else:
        act_as = (
            " An application may need to act as a member: set `act_as: EMAIL` under the org."
            if application
            else ""
        )
        said = f"the credentials from {credentials.source} are not allowed to do this in {org}: {message}.{act_as}"
    return AuthError(said + hint, method=method, path=path, status=reply.status)
