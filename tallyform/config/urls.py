"""Checks on the URLs of ``tallyform.yaml`` (``api_url``, ``token_url``), made offline.

A URL that credentials are sent to must be one that cannot leak them by mistake:

- ``https://``, or ``http://`` to a loopback host (``localhost``, ``127.0.0.0/8``,
  ``::1``, where the emulator runs); plain HTTP to any other host sends the token in
  clear text, so it needs ``allow_insecure_http: true`` on the org, in so many words;
- no ``user:password@`` (secrets come only from the environment, and a password in a
  URL would replace the bearer token and end up in logs);
- a host, a valid port, no query or fragment, and no spaces, line breaks or other
  control characters.

Each check returns the problem as one sentence, or None; a problem never repeats the
URL's password.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

_UNPRINTABLE = re.compile(r"[\x00-\x20\x7f-\x9f]")
_CHARACTER_NAMES = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", " ": "a space"}


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost`` or a loopback address)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str, setting: str, allow_insecure_http: bool = False) -> str | None:
    """What is wrong with ``url`` as the value of ``setting``, or None if nothing is."""
    unprintable = _UNPRINTABLE.search(url)
    if unprintable:
        char = unprintable.group()
        name = _CHARACTER_NAMES.get(char, f"the control character U+{ord(char):04X}")
        return f"`{setting}` holds {name}; write the URL on one line with no spaces"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError as error:
        return f"`{setting}` is not a valid URL ({error}); for example https://go.tallyfy.com/api"
    if parts.scheme not in ("http", "https"):
        start = f"starts with {parts.scheme}://" if parts.scheme else "has no scheme"
        return (
            f"`{setting}` {start}; it must start with https:// (for example "
            "https://go.tallyfy.com/api)"
        )
    return _host_problem(parts, port, setting, allow_insecure_http)


def _host_problem(
    parts: SplitResult, port: int | None, setting: str, allow_insecure_http: bool
) -> str | None:
    if parts.username is not None or parts.password is not None:
        return (
            f"`{setting}` must not hold a user name or password (`user:password@`): "
            "credentials come only from the environment (token_env)"
        )
    host = parts.hostname
    if not host:
        return f"`{setting}` names no host; for example https://go.tallyfy.com/api"
    if port == 0:
        return f"`{setting}` has port 0; leave the port out or give the real one"
    if parts.query or parts.fragment:
        return f"`{setting}` must not have a query (`?...`) or fragment (`#...`)"
    if parts.scheme == "http" and not is_loopback(host) and not allow_insecure_http:
        return (
            f"`{setting}` uses plain http:// to {host}, which would send the token in "
            "clear text; use https://, or set `allow_insecure_http: true` on this org if "
            "you mean it"
        )
    return None
