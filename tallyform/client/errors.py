"""tallyform's own API errors: the only exceptions that leave the client.

::

    TallyfyError                 any failed call; names method, path, status, server message
    ├── AuthError                401/403, or no credentials: says which org and variable to fix
    ├── NotFound                 404
    ├── ValidationFailed         422/400, with the API's field messages
    ├── RateLimited              429 still there after every retry
    ├── UnexpectedAnswer         an answer without what tallyform reads from it
    └── Unavailable              5xx, timeouts, dropped connections after every retry
        ├── OutcomeUnknown       a write that may or may not have happened
        └── ExchangeFailed       one try got no answer (the layers above decide what next)
"""

from __future__ import annotations

from tallyform.errors import TallyformError


class TallyfyError(TallyformError):
    """A call to the Tallyfy API failed."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.status = status

    def __str__(self) -> str:
        where = f"{self.method} {self.path}" if self.method and self.path else ""
        status = f" answered {self.status}" if self.status else ""
        prefix = f"{where}{status}: " if where else ""
        return f"{prefix}{self.message}"


class AuthError(TallyfyError):
    """The credentials were missing, refused, or not allowed to do this."""


class NotFound(TallyfyError):
    """The object (or endpoint) does not exist, or is archived."""


class ValidationFailed(TallyfyError):
    """The API refused the payload; ``field_errors`` maps each field to its messages."""

    def __init__(
        self, message: str, field_errors: dict[str, list[str]] | None = None, **where: object
    ) -> None:
        super().__init__(message, **where)  # type: ignore[arg-type]
        self.field_errors = field_errors or {}

    def __str__(self) -> str:
        details = "; ".join(
            f"{field}: {' '.join(messages)}"
            for field, messages in sorted(self.field_errors.items())
        )
        return super().__str__() + (f" ({details})" if details else "")


class RateLimited(TallyfyError):
    """Still rate-limited (429) after every retry."""


class UnexpectedAnswer(TallyfyError):
    """The API answered, but not in the shape tallyform reads (a member without ``id``)."""


class Unavailable(TallyfyError):
    """The API did not answer usefully (5xx, timeout, dropped connection) after every retry."""


class OutcomeUnknown(Unavailable):
    """A write was sent but no answer came back: it may or may not have taken effect.

    Repeating it blindly could duplicate an object; look for the object first.
    """


class ExchangeFailed(Unavailable):
    """One exchange ended without an answer: the connection could not be opened (``sent``
    False: nothing reached the server), or it was lost, or timed out, after the request
    went. ``kind`` names what happened (``ConnectError``, ``ReadTimeout``...).

    Raised by the session alone; the retry layer turns it into a retry, Unavailable or
    OutcomeUnknown, and the credentials into an AuthError.
    """

    def __init__(self, message: str, *, sent: bool, kind: str) -> None:
        super().__init__(message)
        self.sent = sent
        self.kind = kind
