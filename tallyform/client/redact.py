"""Keeping secrets out of everything tallyform prints or logs.

Every token, client secret and Authorization value the client holds is registered here;
:func:`redact` replaces them in any text, and :class:`RedactingFilter` does it for every
log record of the ``tallyform`` loggers, whatever the code that logged it forgot.
:func:`masked_body` is a request's or answer's body as ``-vv`` logs it, secrets masked.
"""

from __future__ import annotations

import json
import logging
import re
import threading

MASK = "***"
# A secret this long or longer is masked wherever it appears, even inside a longer word.
# A shorter one (a test org's token, say "t0k") is masked wherever it stands on its own,
# not inside a longer run of letters and digits, so that it cannot turn every "t0k" in an
# id or a word into "***" and the output stays readable; it is masked whatever its length.
_ANYWHERE = 6
_ALNUM = "A-Za-z0-9"

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Remember a secret, of any length, so that it is masked from now on."""
    global _pattern
    if not value:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        _pattern = re.compile("|".join(_alternative(s) for s in sorted(_secrets, key=len)[::-1]))


def _alternative(secret: str) -> str:
    """The regular expression matching one secret where it must be masked."""
    escaped = re.escape(secret)
    if len(secret) >= _ANYWHERE:
        return escaped
    return f"(?<![{_ALNUM}]){escaped}(?![{_ALNUM}])"


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ***."""
    pattern = _pattern
    return text if pattern is None else pattern.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """Masks secrets in log records (message and arguments, once formatted)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        return True


def install_log_redaction(logger_name: str = "tallyform") -> None:
    """Attach the redacting filter to a logger, its handlers and every logger below it.

    A logger's filters see only records logged to it by name, not those of its children,
    so each ``tallyform.*`` logger that exists gets its own (call again after importing
    more modules; it is idempotent).
    """
    root = logging.getLogger(logger_name)
    children = [
        logging.getLogger(name)
        for name in list(logging.root.manager.loggerDict)
        if name.startswith(logger_name + ".")
    ]
    targets: list[logging.Filterer] = [root, *root.handlers, *children]
    for target in targets:
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())


# -- bodies, as -vv logs them -------------------------------------------------------------

BODY_LIMIT = 4000  # characters of one body that -vv logs; the rest is said to be left out
_SECRET_KEYS = frozenset({"token", "password", "secret", "client_secret", "api_key", "apikey"})
_SECRET_SUFFIXES = ("_token", "_secret", "_password")
_FORM_SECRET = re.compile(r"(?i)(^|&)((?:[a-z_]*_)?(?:token|secret|password|api_?key))=[^&]*")


def _secret_key(key: object) -> bool:
    if not isinstance(key, str):
        return False
    lowered = key.lower()
    return lowered in _SECRET_KEYS or lowered.endswith(_SECRET_SUFFIXES)


def _masked(value: object) -> object:
    if isinstance(value, dict):
        return {k: MASK if _secret_key(k) else _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def masked_body(content: bytes, limit: int = BODY_LIMIT) -> str:
    """A request's or response's body as -vv shows it: JSON compacted with the value of
    every secret-named key (``password``, ``client_secret``, ``*_token`` ...) masked, form
    fields likewise, every registered secret masked, and cut at ``limit`` characters."""
    if not content:
        return "(empty)"
    text = content.decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        text = _FORM_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}={MASK}", text)
    else:
        text = json.dumps(_masked(parsed), ensure_ascii=False, separators=(",", ":"))
    text = redact(text)
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text) - limit} more characters left out)"
    return text
