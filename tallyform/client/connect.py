"""Building a client for an org of ``tallyform.yaml``: the embedded emulator or Tallyfy itself.

Secrets come only from the environment: the personal access token from ``token_env``
(``TALLYFY_API_TOKEN`` by default), or an application's id and secret from
``client_id_env``/``client_secret_env``. A missing variable is an AuthError that names it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import httpx

from tallyform.client.api import DEFAULT_PARALLELISM, TallyfyClient
from tallyform.client.auth import ClientCredentials, Credentials, StaticToken
from tallyform.client.errors import AuthError
from tallyform.client.pacing import Pacer
from tallyform.client.retry import RetryPolicy
from tallyform.config.project import OrgSettings
from tallyform.emulator import DEFAULT_TOKEN, IN_PROCESS_URL, Emulator, EmulatorTransport


def token_url_for(org: OrgSettings) -> str:
    """The OAuth endpoint: as configured, or beside the API (``https://go.tallyfy.com/oauth/token``)."""
    if org.token_url:
        return org.token_url
    return org.api_url.removesuffix("/api") + "/oauth/token"


def _credentials(org: OrgSettings, env: Mapping[str, str], http: httpx.Client) -> Credentials:
    if org.client_id_env:
        client_id = env.get(org.client_id_env, "")
        secret_env = org.client_secret_env or "TALLYFY_CLIENT_SECRET"
        secret = env.get(secret_env, "")
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
        return ClientCredentials(client_id, secret, token_url_for(org), http, source)
    token = env.get(org.token_env, "")
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
    parallelism: int = DEFAULT_PARALLELISM,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
) -> TallyfyClient:
    """A client for ``org``. An emulator org runs the emulator in-process on its state file."""
    if org.is_emulated:
        assert org.emulator is not None
        emulator = Emulator(state_file=org.emulator)
        return TallyfyClient(
            org_id=emulator.org_id,
            org_name=org.name,
            base_url=IN_PROCESS_URL,
            credentials=StaticToken(DEFAULT_TOKEN, source="the embedded emulator"),
            transport=EmulatorTransport(emulator),
            parallelism=parallelism,
            retry=retry,
        )
    assert org.org_id is not None
    http = httpx.Client(transport=transport, timeout=60.0)
    return TallyfyClient(
        org_id=org.org_id,
        org_name=org.name,
        base_url=org.api_url,
        credentials=_credentials(org, os.environ if env is None else env, http),
        http=http,
        pacer=Pacer(org.requests_per_minute),
        parallelism=parallelism,
        retry=retry,
    )
