"""Keeping secrets out of everything tallyform prints or logs.

Every token, client secret and Authorization value the client holds is registered here;
:func:`redact` replaces them in any text, and :class:`RedactingFilter` does it for every
log record of the ``tallyform`` loggers, whatever the code that logged it forgot.
"""

from __future__ import annotations

import logging
import threading

MASK = "***"
_MIN_SECRET = 6  # shorter strings would mask ordinary words

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret so that it is masked from now on."""
    if value and len(value) >= _MIN_SECRET:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ***."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


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
