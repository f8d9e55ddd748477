"""The Tallyfy API client: auth, pagination, pacing, retries that never duplicate.

The only package besides the emulator that imports httpx (in :mod:`.exchange` alone), and
the one httpx type it names is :data:`Transport`, what carries its requests (the emulator
offers one, and tests wrap it to inject faults); an answer is a :class:`Reply`, bodies
are JSON values and TypedDicts (:mod:`.shapes`).
Everything else asks it for data and gives it changes; its exceptions are tallyform's own
(:mod:`.errors`).

Names are imported on first use (PEP 562), so that commands that never call the API
(``validate``, ``fmt``) start without loading httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tallyform.lazy import lazy_names

if TYPE_CHECKING:
    from tallyform.client.api import TallyfyClient, unwrap
    from tallyform.client.auth import ActAsUser, ClientCredentials, Credentials, StaticToken
    from tallyform.client.errors import (
        AuthError,
        NotFound,
        OutcomeUnknown,
        RateLimited,
        TallyfyError,
        Unavailable,
        ValidationFailed,
    )
    from tallyform.client.exchange import Reply, Session, Transport, http_session
    from tallyform.client.pacing import Pacer
    from tallyform.client.retry import RetryPolicy
    from tallyform.client.shapes import CurrentUser, Json, JsonBody, Record
    from tallyform.client.stats import ClientStats

# Imported at once: it is light, and its function `redact` must win over the module's name.
from tallyform.client.redact import install_log_redaction, redact, register_secret

_MODULES = {
    "ActAsUser": "auth",
    "AuthError": "errors",
    "ClientCredentials": "auth",
    "ClientStats": "stats",
    "CurrentUser": "shapes",
    "Json": "shapes",
    "JsonBody": "shapes",
    "Record": "shapes",
    "Reply": "exchange",
    "Credentials": "auth",
    "NotFound": "errors",
    "OutcomeUnknown": "errors",
    "Pacer": "pacing",
    "RateLimited": "errors",
    "RetryPolicy": "retry",
    "StaticToken": "auth",
    "TallyfyClient": "api",
    "TallyfyError": "errors",
    "Unavailable": "errors",
    "ValidationFailed": "errors",
    "unwrap": "api",
    "Session": "exchange",
    "Transport": "exchange",
    "http_session": "exchange",
}


__getattr__ = lazy_names(__name__, _MODULES)


__all__ = [
    "ActAsUser",
    "AuthError",
    "ClientCredentials",
    "ClientStats",
    "Credentials",
    "CurrentUser",
    "Json",
    "JsonBody",
    "NotFound",
    "OutcomeUnknown",
    "Pacer",
    "RateLimited",
    "Record",
    "Reply",
    "RetryPolicy",
    "StaticToken",
    "TallyfyClient",
    "TallyfyError",
    "Unavailable",
    "ValidationFailed",
    "install_log_redaction",
    "redact",
    "register_secret",
    "unwrap",
    "Session",
    "Transport",
    "http_session",
]
