"""Wiring a client to an org of ``tallyform.yaml``: the embedded emulator or Tallyfy itself.

Secrets come only from the environment: the personal access token from ``token_env``
(``TALLYFY_API_TOKEN`` by default), or an application's id and secret from
``client_id_env``/``client_secret_env``. A missing variable is an AuthError that names it.
An application with ``act_as: EMAIL`` sends that member's token, minted with its own.
A value is used with surrounding whitespace removed (a secret pasted with its line
break); one holding a space, a control character or anything but ASCII inside is an
AuthError naming the variable and what is wrong, never the value.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import click

from tallyform.client import (
    ActAsUser,
    AuthError,
    ClientCredentials,
    Credentials,
    Pacer,
    RetryPolicy,
    Session,
    StaticToken,
    TallyfyClient,
    Transport,
)
from tallyform.client.pacing import shared_bucket
from tallyform.config.project import OrgSettings
from tallyform.emulator import DEFAULT_TOKEN, IN_PROCESS_URL, Emulator, EmulatorTransport, statelock
from tallyform.errors import TallyformError

ACCOUNT_HOSTS = {"go.tallyfy.com": "account.tallyfy.com"}


def token_url_for(org: OrgSettings) -> str | list[str]:
    """The OAuth endpoint: as configured; else beside the API
    (``https://go.tallyfy.com/oauth/token``), then on the account host
    (``https://account.tallyfy.com/oauth/token``): Tallyfy's pages name both (reference
    9.19). For another host (a local emulator) the account host is that host's ``/account``."""
    if org.token_url:
        return org.token_url
    base = org.api_url.removesuffix("/api")
    scheme, _, rest = base.partition("://")
    host, slash, path = rest.partition("/")
    account = ACCOUNT_HOSTS.get(host)
    elsewhere = f"{scheme}://{account}{slash}{path}" if account else f"{base}/account"
    return [f"{base}/oauth/token", f"{elsewhere}/oauth/token"]


_NOT_IN_A_TOKEN = re.compile(r"[^\x21-\x7e]")


def _secret(env: Mapping[str, str], name: str) -> str:
    """The variable's value without surrounding whitespace; "" if unset or empty."""
    value = env.get(name, "").strip()
    bad = _NOT_IN_A_TOKEN.search(value)
    if bad:
        char = bad.group()
        what = (
            "a line break"
            if char in "\r\n"
            else "a space"
            if char.isspace()
            else "a control character"
            if ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0
            else "a character that is not ASCII"
        )
        raise AuthError(
            f"{name} holds {what} (at character {bad.start() + 1} of {len(value)}); a token "
            "or secret is one word of ASCII letters, digits and punctuation: set it again, "
            "copied exactly"
        )
    return value


def _credentials(org: OrgSettings, env: Mapping[str, str], http: Session) -> Credentials:
    if org.client_id_env:
        client_id = _secret(env, org.client_id_env)
        secret_env = org.client_secret_env or "TALLYFY_CLIENT_SECRET"
        secret = _secret(env, secret_env)
        missing = [
            name
            for name, value in ((org.client_id_env, client_id), (secret_env, secret))
            if not value
        ]
        if missing:
            raise AuthError(
                f"org '{org.name}' uses an application: set {' and '.join(missing)} in the environment"
            )
        source = f"{org.client_id_env}/{secret_env}"
        app = ClientCredentials(client_id, secret, token_url_for(org), http, source)
        if org.act_as and org.org_id:
            return ActAsUser(app, org.api_url, org.org_id, org.act_as, http)
        return app
    token = _secret(env, org.token_env)
    if not token and org.token_env in env:
        raise AuthError(
            f"org '{org.name}' needs an API token, and {org.token_env} is set but empty; in "
            "CI, the secret is not given to this job (a pull request from a fork, a secret "
            "of an environment the job does not name, or a misspelt secret name)"
        )
    if not token:
        raise AuthError(
            f"org '{org.name}' needs an API token: set {org.token_env} in the environment "
            "(a personal access token from Settings > Integrations > REST API)"
        )
    return StaticToken(token, source=org.token_env)


def open_client(
    org: OrgSettings,
    *,
    env: Mapping[str, str] | None = None,
    transport: Transport | None = None,
    retry: RetryPolicy | None = None,
) -> TallyfyClient:
    """A client for ``org``. An emulator org runs the emulator in-process on its state file."""
    if org.is_emulated:
        assert org.emulator is not None
        # a damaged or busy state file is its own error (StateFileError, StateFileBusy)
        emulator = Emulator(state_file=org.emulator, keep_requests=0)
        return TallyfyClient(
            org_id=emulator.org_id,
            org_name=org.name,
            base_url=IN_PROCESS_URL,
            credentials=StaticToken(DEFAULT_TOKEN, source="the embedded emulator"),
            transport=EmulatorTransport(emulator),
            retry=retry,
        )
    assert org.org_id is not None
    environment = os.environ if env is None else env
    return TallyfyClient(
        org_id=org.org_id,
        org_name=org.name,
        base_url=org.api_url,
        # an application's token is fetched over the client's own connections
        credentials=lambda session: _credentials(org, environment, session),
        transport=transport,
        pacer=Pacer(  # one budget per org for every tallyform process of this machine
            org.requests_per_minute,
            clock=time.time,
            shared=shared_bucket(org.org_id, org.api_url),
        ),
        retry=retry,
    )


def connect(org: OrgSettings) -> TallyfyClient:
    """A client for ``org`` whose credentials have been checked once (GET /me)."""
    client = open_client(org)
    try:
        if not org.is_emulated:
            client.check_credentials()
    except BaseException:
        client.close()
        raise
    return client


@contextmanager
def embedded_guard(org: OrgSettings, wait: float = 0.0) -> Iterator[None]:
    """For an embedded-emulator org, hold the writer lock of its state file for the block
    (:mod:`tallyform.emulator.statelock`), waiting up to ``wait`` seconds for another
    apply to let go.

    Each process keeps its own copy of an embedded org's state, so two applies at once
    (or an apply while ``emulator serve`` serves the file) would overwrite each other's
    writes: the second is refused instead. Tallyfy orgs need no such guard (the org's
    apply lock, taken through the API, serves them).
    """
    if org.emulator is None:
        yield
        return
    try:
        statelock.acquire(org.emulator, wait, holder=_command())
    except statelock.StateFileBusy as busy:  # (NotAStateFile says enough as it is)
        raise TallyformError(_in_use(org, busy.holder)) from None
    try:
        yield
    finally:
        statelock.release(org.emulator)


def _command() -> str:
    """What this process is, for another that finds the lock taken: `tallyform apply`."""
    context = click.get_current_context(silent=True)
    return context.command_path if context is not None else "tallyform"


def _in_use(org: OrgSettings, holder: str) -> str:
    if "emulator serve" in holder:
        return (
            f"the embedded org '{org.name}' ({org.emulator}) is being served by another "
            f"process ({holder}); nothing was changed. Stop it first, or reach it as an org "
            "with `org_id:` and `api_url:`."
        )
    return (
        f"another tallyform apply is running on the embedded org '{org.name}' "
        f"({org.emulator}; {holder}); nothing was changed. Wait for it to finish, or pass "
        "--lock-timeout SECONDS to wait."
    )
