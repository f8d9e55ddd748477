"""Applications: the client-credentials grant, and user tokens minted with its token.

``POST /oauth/token`` (outside ``/api``; also at :data:`ACCOUNT_TOKEN`, the account host,
which under the ``oauth_account_host`` quirk is the only one: reference 9.19) with a form body ``grant_type=client_credentials``,
``client_id``, ``client_secret``, ``scope=*`` answers ``{token_type, expires_in,
access_token}``; there is no refresh token, a client asks again. The token acts for the
application's user (the seeded admin) and expires after ``expires_in`` seconds, unless the
``app_tokens_cannot_act`` quirk refuses it everywhere but the mint below.

``POST /api/applications/{org}/users/{email}/token`` with an application's token (reference
2.4, Tallyfy's client-credentials-flow.mdx) mints a token that acts as that member of the
org, for ``expires_in`` seconds (3 months): same answer shape, no body needed. Only a token
from ``/oauth/token`` may call it (403 otherwise), only for its own org (403 with Tallyfy's
documented message), and only for a member's email (404 otherwise, case-insensitive).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

from tallyform.emulator.store import new_id
from tallyform.emulator.wire import Request, Response, forbidden, not_found

#: The token endpoint at the API host, and at the account host. The account host
#: (``account.tallyfy.com`` in one page of Tallyfy's docs) is one path prefix away on the
#: emulator, so an in-process or served emulator answers both.
API_TOKEN = "/oauth/token"
ACCOUNT_TOKEN = "/account/oauth/token"
TOKEN_PATHS = (API_TOKEN, ACCOUNT_TOKEN)

#: What Tallyfy answers an application's token used where it has no permission
#: (reference 2.4, the Postman troubleshooting page).
NO_APPLICATION_PERMISSION = "You don't have application's permissions for this organization!"


def issue_token(
    request: Request,
    state: dict[str, Any],
    lifetime: int,
    wall_clock: Callable[[], float] = time.time,
) -> Response:
    form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
    if form.get("grant_type") != "client_credentials":
        return Response(
            400,
            {
                "error": "unsupported_grant_type",
                "message": "The authorization grant type is not supported.",
            },
        )
    client_id = form.get("client_id", "")
    application = state["applications"].get(client_id)
    if application is None or application["secret"] != form.get("client_secret"):
        return Response(401, {"error": "invalid_client", "message": "Client authentication failed"})
    token = f"app-{new_id()}"
    state["tokens"][token] = application["user_id"]
    state["token_expiry"][token] = wall_clock() + lifetime
    state.setdefault("app_tokens", {})[token] = client_id
    return Response(200, {"token_type": "Bearer", "expires_in": lifetime, "access_token": token})


def is_app_token(state: dict[str, Any], token: str) -> bool:
    """Whether ``token`` was issued by ``/oauth/token`` (an application's own token)."""
    return token in state.get("app_tokens", {})


def mint_user_token(
    state: dict[str, Any],
    caller: str,
    org: str,
    email: str,
    lifetime: int,
    wall_clock: Callable[[], float] = time.time,
) -> Response:
    """A new token acting as the member ``email`` of ``org``, for an application's token.

    Refusals raise :class:`~tallyform.emulator.wire.ApiError` (403, or 404 for a stranger).
    """
    if not is_app_token(state, caller):
        raise forbidden("Only an application's token can get a user's token.")
    if org != state["org"]["id"]:
        raise forbidden(NO_APPLICATION_PERMISSION)
    wanted = unquote(email).strip().lower()
    user = next((u for u in state["users"] if str(u["email"]).lower() == wanted), None)
    if user is None:
        raise not_found()
    token = f"user-{new_id()}"
    state["tokens"][token] = user["id"]
    state["token_expiry"][token] = wall_clock() + lifetime
    return Response(200, {"token_type": "Bearer", "expires_in": lifetime, "access_token": token})
