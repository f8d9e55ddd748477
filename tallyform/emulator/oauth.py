"""The OAuth token endpoint for applications: the client-credentials grant.

``POST /oauth/token`` (outside ``/api``) with a form body ``grant_type=client_credentials``,
``client_id``, ``client_secret``, ``scope=*`` answers ``{token_type, expires_in,
access_token}``; there is no refresh token, a client asks again. The token acts for the
application's user (the seeded admin) and expires after ``expires_in`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from tallyform.emulator.state import new_id
from tallyform.emulator.wire import Request, Response


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
    application = state["applications"].get(form.get("client_id", ""))
    if application is None or application["secret"] != form.get("client_secret"):
        return Response(401, {"error": "invalid_client", "message": "Client authentication failed"})
    token = f"app-{new_id()}"
    state["tokens"][token] = application["user_id"]
    state["token_expiry"][token] = wall_clock() + lifetime
    return Response(200, {"token_type": "Bearer", "expires_in": lifetime, "access_token": token})
