"""The emulator as an httpx transport: the real client talks to it in-process, with no socket.

A dropped connection becomes the exception httpx raises when a server hangs up without
answering, so the client meets the same failure in-process as over the network.
"""

from __future__ import annotations

import httpx

from tallyform.emulator.app import Emulator
from tallyform.emulator.wire import Request

IN_PROCESS_URL = "http://emulator.tallyform.invalid/api"


class EmulatorTransport(httpx.BaseTransport):
    """Route httpx requests straight into an :class:`Emulator`."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        base = f"{request.url.scheme}://{request.url.netloc.decode()}/api"
        answer = self.emulator.handle(
            Request.build(
                request.method,
                request.url.path,
                request.url.query.decode(),
                dict(request.headers),
                body,
                base,
            )
        )
        if answer.drop:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return httpx.Response(
            answer.status, headers=answer.headers, content=answer.content(), request=request
        )
