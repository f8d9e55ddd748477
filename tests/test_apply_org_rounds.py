"""Org-wide creates (tallyform's keys, tags, folders) run in parallel rounds.

A bootstrap of a real org creates dozens of folders and tags before any template; one at
a time, each waits for the last. They need nothing of each other except a folder its
parent, so a folder's round comes after its parent's, and the tree comes out whole.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path

import httpx

from tallyform.client import StaticToken, TallyfyClient
from tallyform.emulator import DEFAULT_TOKEN, IN_PROCESS_URL, Emulator, EmulatorTransport
from tallyform.engine import make_plan
from tallyform.engine.apply import apply_plan, org_rounds
from tallyform.model.changes import Change
from tests.conftest import EXAMPLES, project_templates

ORG_WIDE = re.compile(r"/organizations/[^/]+/(custom-field-keys|tags|folders)$")


class _Overlap(httpx.BaseTransport):
    """Counts how many org-wide creates are in flight at once (each takes 20 ms)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        org_wide = request.method == "POST" and ORG_WIDE.search(request.url.path)
        if not org_wide:
            return self.inner.handle_request(request)
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(0.02)
            return self.inner.handle_request(request)
        finally:
            with self.lock:
                self.now -= 1


def test_org_wide_creates_overlap_and_every_folder_lands_under_its_parent(
    tmp_path: Path,
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "project")
    templates = project_templates(tmp_path / "project")
    emulator = Emulator()
    transport = _Overlap(EmulatorTransport(emulator))
    client = TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        transport=transport,
        credentials=StaticToken(DEFAULT_TOKEN, "TEST"),
    )
    with client:
        result = make_plan(client, "local", templates)
        assert result.plan is not None and result.org is not None
        org_wide = result.plan.org_changes()
        report = apply_plan(client, result.plan, workers=8)
        assert not report.failed and not report.not_done
        assert report.done[: len(org_wide)] == org_wide, "reported in the plan's order"
        again = make_plan(client, "local", templates)
    assert again.plan is not None and again.plan.empty
    assert transport.most > 1
    folders = emulator.state["folders"]
    paths = set()
    for folder in folders.values():
        parent = folders.get(folder.get("parent_id") or "")
        paths.add(f"{parent['name']}/{folder['name']}" if parent else folder["name"])
    declared = {t.folder for t in templates if t.folder}
    assert declared <= paths
    assert {"People", "Finance", "Marketing"} <= paths  # the parents, at the top


def test_rounds_put_each_folder_after_its_parent() -> None:
    changes = [
        Change("create", "folder", ("A/B/C",), desired="A/B/C"),
        Change("create", "tag", ("x",), desired="x"),
        Change("create", "folder", ("A",), desired="A"),
        Change("create", "folder", ("A/B",), desired="A/B"),
        Change("create", "key", ("template",), desired="template"),
    ]
    rounds = [[c.path[0] for c in batch] for batch in org_rounds(changes)]
    assert rounds == [["template"], ["x", "A"], ["A/B"], ["A/B/C"]]
