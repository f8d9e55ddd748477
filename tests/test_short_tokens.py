"""A token is masked in everything tallyform prints, however short it is.

A real `tallyform plan` process talks to a loopback API that echoes the token it was sent
in its refusal (as a careless server or proxy might); the message tallyform prints must
show `***` in its place, while ordinary words that merely contain the token's letters
stay readable.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.process_helpers import cli_command, cli_env

ORG_ID = "1505bb7b9ba5f8972ffd3fe1ca18ec0c"


class _Echoing(BaseHTTPRequestHandler):
    """Refuses every request, quoting the Authorization header it got."""

    def do_GET(self) -> None:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        body = json.dumps({"message": f"token {token} refused (xy{token}z is not it)"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _echoing_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echoing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("token", ["k9", "t0ken", "a-much-longer-token-value"])
def test_a_token_of_any_length_is_masked(tmp_path: Path, token: str) -> None:
    (tmp_path / "templates").mkdir()
    with _echoing_api() as url:
        (tmp_path / "tallyform.yaml").write_text(
            f"version: 1\ntemplates: templates\ndefault_org: live\norgs:\n  live:\n"
            f"    org_id: {ORG_ID}\n    api_url: {url}\n    token_env: SHORT_TOKEN\n"
        )
        env = {**cli_env(), "SHORT_TOKEN": token}
        done = subprocess.run(
            cli_command("-C", str(tmp_path), "plan"),
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "token *** refused" in output, output
    assert f"{token} " not in output and f" {token}" not in output, output
    if len(token) < 6:  # a short one stays visible inside a longer word, which it is not
        assert f"xy{token}z" in output, output
