"""The emulator's state file: a snapshot and a journal, crash-safe, compacted, and
loading the files of earlier versions."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tallyform.emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator, EmulatorTransport
from tallyform.emulator.store import StateFile, StateFileError, fresh_state
from tests.emulator_helpers import auth, connect, data, new_capture, new_step, new_template


def load(path: Path) -> dict[str, Any]:
    found = StateFile(path).load()
    assert found is not None
    return found


def ok(response: httpx.Response) -> None:
    assert response.status_code < 300, (response.status_code, response.text)


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def every_kind_of_write(emulator: Emulator) -> None:
    """At least one write through every write route, leaving something of each behind."""
    with connect(emulator, "in_process") as api:
        for kind in ("checklist", "step", "capture", "prerun"):
            key = {"key": "k", "applies_to": kind, "field_type": "text"}
            data(api.post("/custom-field-keys", json=key), 201)
        folder = data(api.post("/folders", json={"name": "F", "folder_type": "checklist"}), 201)
        child = data(
            api.post(
                "/folders",
                json={"name": "C", "folder_type": "checklist", "parent_id": folder["id"]},
            ),
            201,
        )
        data(api.put(f"/folders/{child['id']}", json={"name": "Child"}))
        template = new_template(
            api,
            title="All",
            folder_id=folder["id"],
            prerun=[
                {"label": "Who", "field_type": "text", "required": True},
                {"label": "When", "field_type": "date", "required": False},
            ],
        )
        base = f"/checklists/{template['id']}"
        data(api.put(f"{base}/custom-fields", json={"custom_fields": {"k": "t"}}))
        prerun = data(api.get(base))["prerun"]
        data(
            api.put(
                f"{base}/preruns/{prerun[0]['id']}/custom-fields",
                json={"custom_fields": {"k": "p"}},
            )
        )
        ok(api.delete(f"{base}/preruns/{prerun[1]['id']}"))
        data(api.put(base, json={"title": "All!", "folder_id": folder["id"], "prerun": prerun[:1]}))
        steps = [
            new_step(api, template["id"], title=f"S{n}", guests=[f"g{n}@example.com"])
            for n in range(4)
        ]
        first, second = (f"{base}/steps/{s['id']}" for s in steps[:2])
        data(api.put(first, json={"title": "S0!", "assignees": [2]}))
        data(api.put(f"{first}/custom-fields", json={"custom_fields": {"k": "s"}}))
        data(api.put(f"{second}/reorder", json={"position": 4}))
        fields = [new_capture(api, template["id"], steps[0]["id"], label=f"F{n}") for n in range(3)]
        capture = f"{first}/captures/{fields[0]['id']}"
        data(api.put(capture, json={"label": "F0!", "field_type": "textarea", "required": True}))
        data(api.put(f"{capture}/custom-fields", json={"custom_fields": {"k": "c"}}))
        data(api.put(f"{first}/captures", json={"capture_id": fields[2]["id"], "position": 1}))
        data(
            api.put(
                f"{first}/captures/{fields[1]['id']}/move-out",
                json={"target_step_id": steps[2]["id"]},
            )
        )
        ok(api.delete(f"{first}/captures/{fields[2]['id']}"))
        ok(api.delete(f"{base}/steps/{steps[3]['id']}"))
        rule = {
            "automated_alias": "R",
            "conditions": [
                {
                    "conditionable_id": steps[0]["id"],
                    "conditionable_type": "Step",
                    "operation": "completed",
                    "statement": None,
                }
            ],
            "then_actions": [
                {
                    "action_type": "visibility",
                    "action_verb": "show",
                    "target_step_id": steps[2]["id"],
                }
            ],
        }
        made = data(api.post(f"{base}/automated-actions", json=rule), 201)
        data(
            api.put(
                f"{base}/automated-actions/{made['id']}", json={**rule, "automated_alias": "R!"}
            )
        )
        other = data(api.post(f"{base}/automated-actions", json=rule), 201)
        ok(api.delete(f"{base}/automated-actions/{other['id']}"))
        tags = [data(api.post("/tags", json={"title": f"tag{n}"}), 201) for n in range(3)]
        data(api.put(f"/tags/{tags[0]['id']}", json={"color": "#000000"}))
        link = {"tag_type": "private", "subject_type": "Checklist", "subject_id": template["id"]}
        links = [
            data(api.post("/checklists/tags", json={**link, "tag_id": t["id"]}), 201) for t in tags
        ]
        ok(api.delete(f"/checklists/tags/{links[0]['id']}"))
        ok(api.delete(f"/tags/{tags[1]['id']}"))  # its link goes with it
        doomed = new_template(api, title="Doomed")
        data(
            api.post(
                "/checklists/tags",
                json={**link, "subject_id": doomed["id"], "tag_id": tags[2]["id"]},
            ),
            201,
        )
        ok(api.delete(f"/checklists/{doomed['id']}"))
        ok(api.delete(f"/checklists/{doomed['id']}/delete"))
        archived = new_template(api, title="Back")
        ok(api.delete(f"/checklists/{archived['id']}"))
        data(api.put(f"/checklists/{archived['id']}/restore"))
        ok(api.delete(f"/folders/{folder['id']}"))  # its template and child move out
    transport = httpx.Client(transport=EmulatorTransport(emulator), base_url="http://e.invalid")
    with transport as raw:
        form = {
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        }
        token = raw.post("/oauth/token", data=form).json()["access_token"]
        minted = raw.post(
            f"/api/applications/{emulator.org_id}/users/bob@example.com/token",
            headers={**auth(token)},
        )
        assert minted.status_code == 200, minted.text


def test_every_kind_of_write_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "org.json"
    emulator = Emulator(state_file=path)
    every_kind_of_write(emulator)
    assert len(lines(path)) > 40, "each write appended a line"
    assert Emulator(state_file=path).state == emulator.state
    assert sorted(p.name for p in tmp_path.iterdir()) == ["org.json", "org.json.lock"]


def _writes(path: Path, count: int) -> tuple[Emulator, list[dict[str, Any]]]:
    """An emulator on ``path`` after ``count`` writes, and the state after each."""
    emulator = Emulator(state_file=path)
    states = [copy.deepcopy(emulator.state)]
    with connect(emulator, "in_process") as api:
        template = new_template(api, title="T")
        states.append(copy.deepcopy(emulator.state))
        for n in range(count - 1):
            new_step(api, template["id"], title=f"S{n}")
            states.append(copy.deepcopy(emulator.state))
    return emulator, states


def test_a_write_cut_off_at_any_byte_loads_as_the_state_before_it(tmp_path: Path) -> None:
    path = tmp_path / "org.json"
    _, states = _writes(path, 3)
    whole = path.read_bytes()
    last = lines(path)[-1]
    start = len(whole) - len(last)
    for cut in range(start, len(whole) + 1):
        path.write_bytes(whole[:cut])
        expected = states[-1] if cut == len(whole) else states[-2]
        assert load(path) == expected, f"cut at byte {cut}"


def test_the_next_write_cuts_off_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "org.json"
    _, states = _writes(path, 2)
    whole = path.read_bytes()
    path.write_bytes(whole[:-7])  # the last write, half on disk
    emulator = Emulator(state_file=path)
    assert emulator.state == states[-2]
    with connect(emulator, "in_process") as api:
        new_template(api, title="After")
    assert load(path) == emulator.state
    assert all(line.endswith(b"\n") for line in lines(path))


def test_a_damaged_entry_ends_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "org.json"
    _, states = _writes(path, 4)
    rows = lines(path)
    assert len(rows) == 5
    damaged = bytearray(rows[2])
    damaged[20] ^= 0x01  # one bit flipped: the checksum no longer matches
    path.write_bytes(b"".join([*rows[:2], bytes(damaged), *rows[3:]]))
    assert load(path) == states[1], "the state of the last entry before the damage"


def test_an_entry_that_does_not_apply_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "org.json"
    _writes(path, 1)
    payload = json.dumps([["template", "f" * 32, {"id": "f" * 32}, ["no-such-step"]]]).encode()
    with path.open("ab") as out:
        out.write(b"%08x " % zlib.crc32(payload) + payload + b"\n")
    with pytest.raises(StateFileError, match=f"state file {path} has a journal entry at byte"):
        StateFile(path).load()


def test_the_journal_is_folded_into_the_snapshot_when_it_grows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tallyform.emulator.store.COMPACT_MIN_BYTES", 20_000)
    path = tmp_path / "org.json"
    emulator = Emulator(state_file=path)
    longest = 0
    with connect(emulator, "in_process") as api:
        template = new_template(api, title="T")
        for n in range(60):
            new_step(api, template["id"], title=f"S{n}", summary="x" * 500)
            longest = max(longest, len(lines(path)))
    assert longest < 60, "the journal was compacted on the way"
    assert len(path.read_bytes()) < 20_000 + 2 * len(lines(path)[0])
    assert json.loads(lines(path)[0]) != fresh_state(), "the snapshot moved on"
    assert load(path) == emulator.state
    assert Emulator(state_file=path).state == emulator.state
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["org.json", "org.json.lock"], "no temporary file is left"


@pytest.mark.parametrize("indent", [None, 2], ids=["one-line", "pretty-printed"])
def test_a_state_file_of_an_earlier_version_loads_and_takes_writes(
    tmp_path: Path, indent: int | None
) -> None:
    old = fresh_state()
    old["tags"]["a" * 32] = {
        "id": "a" * 32,
        "title": "old",
        "color": "#3fb65b",
        "type": "private",
        "auto_generated": False,
        "created_at": "2026-01-01T00:00:00.000Z",
        "deleted_at": None,
        "custom_fields": {},
    }
    path = tmp_path / ".tallyform" / "local-org.json"
    path.parent.mkdir()
    separators = (",", ":") if indent is None else None
    path.write_text(json.dumps(old, indent=indent, separators=separators))  # no line end
    emulator = Emulator(state_file=path)
    assert emulator.state == old
    with connect(emulator, "in_process") as api:
        new_template(api, title="New")
        new_template(api, title="Newer")
    reloaded = load(path)
    assert reloaded == emulator.state and "a" * 32 in reloaded["tags"]
    assert json.loads(lines(path)[0])["tags"] == old["tags"], "the first line is a snapshot"


def test_a_reader_sees_whole_writes_only(tmp_path: Path) -> None:
    """``plan`` reads the file while an apply appends: a half-written entry is not seen,
    and the writer's next entry lands after the finished one."""
    path = tmp_path / "org.json"
    writer, states = _writes(path, 2)
    whole = path.read_bytes()
    last = lines(path)[-1]
    path.write_bytes(whole[: -len(last) // 2])  # the writer is halfway through its line
    assert load(path) == states[-2]
    path.write_bytes(whole)  # ... and finishes it
    assert load(path) == states[-1]


def test_two_emulators_on_one_file_keep_both_their_writes(tmp_path: Path) -> None:
    """A process that finds entries it did not write appends after them and does not
    fold them away (compaction is left to a process that has read them)."""
    path = tmp_path / "org.json"
    first = Emulator(state_file=path)
    with connect(first, "in_process") as api:
        one = new_template(api, title="One")
    second = Emulator(state_file=path)
    with connect(second, "in_process") as api:
        two = new_template(api, title="Two")
    with connect(first, "in_process") as api:
        three = new_template(api, title="Three")
    titles = {t["id"]: t["title"] for t in load(path)["checklists"].values()}
    assert titles == {one["id"]: "One", two["id"]: "Two", three["id"]: "Three"}


def test_a_removed_state_file_is_written_again_whole(tmp_path: Path) -> None:
    path = tmp_path / "org.json"
    emulator, _ = _writes(path, 1)
    path.unlink()
    with connect(emulator, "in_process") as api:
        new_template(api, title="Again")
    assert load(path) == emulator.state


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    import httpx
    import tallyform.emulator.store as state
    from tallyform.emulator import Emulator, EmulatorTransport, IN_PROCESS_URL
    from tests.emulator_helpers import auth

    state.COMPACT_MIN_BYTES = 30_000  # compact often: kills land in compactions too
    emulator = Emulator(state_file=state.Path(sys.argv[1]))
    base = f"{IN_PROCESS_URL}/organizations/{emulator.org_id}"
    with httpx.Client(transport=EmulatorTransport(emulator), base_url=base, headers=auth()) as api:
        for n in range(100_000):
            made = api.post("/checklists", json={"title": f"T{n}", "type": "form", "summary": "x" * 300})
            print(made.json()["data"]["id"], flush=True)
    """
)


def test_a_writer_killed_at_any_moment_leaves_a_state_with_every_answered_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "org.json"
    answered: list[str] = []
    for round_ in range(4):
        process = subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(path)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert process.stdout is not None
        deadline = time.monotonic() + 0.3 + 0.2 * round_
        while time.monotonic() < deadline or len(answered) < 5 * (round_ + 1):
            line = process.stdout.readline()
            assert line, "the writer stopped by itself"
            answered.append(line.strip())
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        answered += [line.strip() for line in process.stdout.read().splitlines()]
        process.stdout.close()
        saved = load(path)
        missing = set(answered) - set(saved["checklists"])
        assert not missing, f"round {round_}: answered writes lost: {sorted(missing)[:3]}"
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert left == ["org.json", "org.json.lock"]


def test_a_broken_pretty_printed_file_is_located_where_it_breaks(tmp_path: Path) -> None:
    path = tmp_path / "org.json"
    text = json.dumps(fresh_state(), indent=2).splitlines()
    text[30] = text[30].rstrip(",") + " oops,"
    path.write_text("\n".join(text))
    with pytest.raises(StateFileError, match=r"is not valid JSON \(line 31, "):
        StateFile(path).load()
