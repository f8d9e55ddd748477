"""The Tallyfy API client: auth, pagination, pacing, retries that never duplicate.

The only package besides the emulator that imports httpx. Everything else asks it for
data and gives it changes; its exceptions are tallyform's own (:mod:`.errors`).
"""

from tallyform.client.api import (
    ClientStats,
    Session,
    TallyfyClient,
    Transport,
    http_session,
    is_whole,
    unwrap,
    whole_template,
)
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
from tallyform.client.pacing import Pacer
from tallyform.client.redact import install_log_redaction, redact, register_secret
from tallyform.client.retry import RetryPolicy

__all__ = [
    "ActAsUser",
    "AuthError",
    "ClientCredentials",
    "ClientStats",
    "Credentials",
    "NotFound",
    "OutcomeUnknown",
    "Pacer",
    "RateLimited",
    "RetryPolicy",
    "StaticToken",
    "TallyfyClient",
    "TallyfyError",
    "Unavailable",
    "ValidationFailed",
    "install_log_redaction",
    "redact",
    "register_secret",
    "Session",
    "Transport",
    "http_session",
    "is_whole",
    "unwrap",
    "whole_template",
]
