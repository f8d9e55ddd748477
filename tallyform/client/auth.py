"""Credentials: a personal access token, or an application's client id and secret.

A personal access token is read from the environment (``TALLYFY_API_TOKEN`` unless the
org says otherwise) and used as it is. An application exchanges its client id and secret
(also from the environment) for a token at the OAuth endpoint (client-credentials grant,
reference 2.4), renews it before it expires, and once more if the API answers 401.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

import httpx

from tallyform.client.errors import AuthError
from tallyform.client.redact import register_secret

RENEW_MARGIN = 300.0  # seconds before expiry when a token is renewed


class Credentials(Protocol):
    #: Where the credentials came from, for error messages (never the secret itself).
    source: str

    def token(self) -> str: ...

    def renew(self) -> bool:
        """Get a fresh token after a 401; False when that is not possible."""
        ...


class StaticToken:
    """A token used as given (a personal access token, or the emulator's)."""

    def __init__(self, token: str, source: str) -> None:
        register_secret(token)
        self._token = token
        self.source = source

    def token(self) -> str:
        return self._token

    def renew(self) -> bool:
        return False


class ClientCredentials:
    """An application's token, fetched with its client id and secret and kept fresh."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        token_url: str,
        http: httpx.Client,
        source: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        register_secret(client_secret)
        self._client_id = client_id
        self._client_secret = client_secret
        self._token_url = token_url
        self._http = http
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.source = source
        self.fetched = 0

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - RENEW_MARGIN:
                self._fetch()
            assert self._token is not None
            return self._token

    def renew(self) -> bool:
        with self._lock:
            self._fetch()
        return True

    def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "scope": "*",
        }
        try:
            response = self._http.post(
                self._token_url, data=form, headers={"Accept": "application/json"}
            )
        except httpx.HTTPError as error:
            raise AuthError(
                f"cannot reach the token endpoint {self._token_url}: {type(error).__name__}"
            ) from None
        if response.status_code != 200:
            raise AuthError(
                f"the token endpoint refused the application credentials in {self.source} "
                f"({response.status_code}); check the client id and secret",
                method="POST",
                path=self._token_url,
                status=response.status_code,
            )
        body = response.json()
        token = str(body.get("access_token", ""))
        if not token:
            raise AuthError(
                f"the token endpoint {self._token_url} answered without an access_token"
            )
        register_secret(token)
        self._token = token
        self._expires_at = self._clock() + float(body.get("expires_in") or 3600)
        self.fetched += 1
