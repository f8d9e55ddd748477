"""Credentials: a personal access token, or an application's client id and secret.

A personal access token is read from the environment (``TALLYFY_API_TOKEN`` unless the
org says otherwise) and used as it is. An application exchanges its client id and secret
(also from the environment) for a token at the OAuth endpoint (client-credentials grant,
reference 2.4), renews it before it expires, and once more if the API answers 401.

An application that acts as a member (``act_as: EMAIL``) sends that member's token
instead, minted with the application's token as Tallyfy documents (:class:`ActAsUser`):
whether an application's own token may act at all is undocumented (reference 10.7).

:func:`send_renewing` is the auth flow of one request: a 401 renews the token once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote

from tallyform.client.errors import AuthError, ExchangeFailed
from tallyform.client.redact import redact, register_secret

if TYPE_CHECKING:
    from tallyform.client.exchange import Reply, Session
    from tallyform.client.shapes import Record

RENEW_MARGIN = 300.0  # seconds before expiry when a token is renewed


class Credentials(Protocol):
    #: Where the credentials came from, for error messages (never the secret itself).
    source: str

    def token(self) -> str: ...

    def renew(self) -> bool:
        """Get a fresh token after a 401; False when that is not possible."""
        ...


CredentialsOver = Callable[["Session"], Credentials]
"""Credentials made over the client's own session: an application's token is then
fetched over the connections the API calls use (``lambda session: ClientCredentials(...,
session, ...)``)."""


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
        token_url: str | Sequence[str],
        http: Session,
        source: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        register_secret(client_secret)
        self._client_id = client_id
        self._client_secret = client_secret
        # Where to ask, in order: Tallyfy's pages name two hosts for this endpoint (reference
        # 2.4, 9.19); one that answers 404 is passed over for the next, and the one that
        # answers is kept.
        self._token_urls = [token_url] if isinstance(token_url, str) else list(token_url)
        self._token_url = self._token_urls[0]
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
        reply = self._post(form)
        if reply.status != 200:
            raise AuthError(
                f"the token endpoint refused the application credentials in {self.source} "
                f"({reply.status}); check the client id and secret",
                method="POST",
                path=self._token_url,
                status=reply.status,
            )
        body = _json_object(reply)
        token = str(body.get("access_token", ""))
        if not token:
            raise AuthError(
                f"the token endpoint {self._token_url} answered without an access_token"
            )
        register_secret(token)
        self._token = token
        self._expires_at = self._clock() + float(body.get("expires_in") or 3600)
        self.fetched += 1

    def _post(self, form: dict[str, str]) -> Reply:
        """The token endpoint's answer: the first of the candidate URLs that is not a 404."""
        for url in self._token_urls:
            try:
                reply = self._http.post(url, form=form, headers={"Accept": "application/json"})
            except ExchangeFailed as failed:
                raise AuthError(f"cannot reach the token endpoint {url}: {failed.kind}") from None
            self._token_url = url
            if reply.status != 404:
                self._token_urls = [url]  # this one answers: ask it from now on
                return reply
        return reply


class ActAsUser:
    """A member's token, minted with an application's token and kept fresh (reference 2.4).

    ``POST {api_url}/applications/{org_id}/users/{email}/token`` with the application's
    token (from ``app``) answers ``{token_type, expires_in, access_token}``; the token acts
    as that member for ``expires_in`` seconds (Tallyfy documents 3 months). It is minted
    again shortly before it expires and after a 401; a mint refused with 401 gets the
    application a new token once and tries again.
    """

    def __init__(
        self,
        app: ClientCredentials,
        api_url: str,
        org_id: str,
        email: str,
        http: Session,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.email = email
        self._org_id = org_id
        self._url = (
            f"{api_url.rstrip('/')}/applications/{org_id}/users/{quote(email, safe='@+')}/token"
        )
        self._http = http
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.source = f"{app.source} acting as {email}"
        self.minted = 0

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - RENEW_MARGIN:
                self._mint()
            assert self._token is not None
            return self._token

    def renew(self) -> bool:
        with self._lock:
            self._mint()
        return True

    def _mint(self) -> None:
        reply = self._post(self.app.token())
        if reply.status == 401:  # the application's token is gone: get a new one
            self.app.renew()
            reply = self._post(self.app.token())
        if reply.status != 200:
            raise self._refused(reply)
        body = _json_object(reply)
        if "access_token" not in body and isinstance(body.get("data"), dict):
            body = body["data"]
        token = str(body.get("access_token") or "")
        if not token:
            raise AuthError(
                f"{self._url} answered without an access_token for {self.email}",
                method="POST",
                path=self._url,
                status=reply.status,
            )
        register_secret(token)
        self._token = token
        self._expires_at = self._clock() + float(body.get("expires_in") or 3600)
        self.minted += 1

    def _post(self, app_token: str) -> Reply:
        try:
            return self._http.post(
                self._url,
                headers={
                    "Authorization": f"Bearer {app_token}",
                    "Accept": "application/json",
                    "X-Tallyfy-Client": "APIClient",
                },
            )
        except ExchangeFailed as failed:
            raise AuthError(
                f"cannot reach {self._url} to get a token acting as {self.email}: {failed.kind}"
            ) from None

    def _refused(self, reply: Reply) -> AuthError:
        status = reply.status
        said = redact(str(_json_object(reply).get("message") or reply.reason))
        app = f"the application in {self.app.source}"
        if status == 401:
            advice = (
                f"Tallyfy refused {app} when asked for a token acting as {self.email} ({said}); "
                "check the client id and secret"
            )
        elif status == 403:
            advice = (
                f"{app} may not act as {self.email} in org {self._org_id} ({said}); "
                "the application must belong to this org and be allowed to act for its members"
            )
        elif status == 404:
            advice = (
                f"no member {self.email} in org {self._org_id} for {app} to act as ({said}); "
                "`act_as` must be the email of a member of the org"
            )
        else:
            advice = f"{app} could not get a token acting as {self.email}: {said}"
        return AuthError(advice, method="POST", path=self._url, status=status)


def send_renewing(credentials: Credentials, send: Callable[[], Reply]) -> Reply:
    """The auth flow of one request: ``send`` it (each try carries the credentials' token
    of the moment); after a 401, renew the token once, if the credentials can, and send
    it again."""
    reply = send()
    if reply.status == 401 and credentials.renew():
        reply = send()
    return reply


def _json_object(reply: Reply) -> Record:
    try:
        body = reply.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
