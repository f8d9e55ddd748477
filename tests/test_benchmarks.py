"""The benchmark runs end to end at a tiny size and reports every case (nothing is timed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import run

CASE_KEYS = {
    "name",
    "templates",
    "parallelism",
    "rate_limited",
    "requests",
    "writes",
    "retries",
    "rate_limited_429s",
    "waited",
    "seconds",
    "client_cpu",
    "server_cpu",
    "server_requests",
    "changes",
    "objects_created",
    "latency_floor",
    "rate_floor",
    "floor",
    "ratio",
    "writes_per_object",
    "note",
}


def test_a_tiny_run_prints_the_table_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    argv = ["--sizes", "2", "--latency-ms", "0", "--rate-limit", "60000", "--emulator-seconds", "0"]
    assert run.main([*argv, "--rate-limited-size", "2", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert run.HEADER in printed
    document = json.loads(out.read_text("utf-8"))
    assert set(document["machine"]) == {"platform", "processor", "cpus", "python"}
    assert document["settings"]["sizes"] == [2]
    cases = document["cases"]
    assert [(c["name"], c["parallelism"], c["rate_limited"]) for c in cases] == [
        ("bootstrap", 1, False),
        ("bootstrap", 8, False),
        ("re-plan", 1, False),
        ("re-plan", 8, False),
        ("one-change apply", 8, False),
        ("changed-since", 8, False),
        ("bootstrap", 8, True),
        ("re-plan", 8, True),
    ]
    for case in cases:
        assert set(case) == CASE_KEYS
        assert case["requests"] == case["server_requests"] > 0  # the client's count is the server's
        assert (
            run.row(
                run.Case(**{k: case[k] for k in CASE_KEYS & set(run.Case.__dataclass_fields__)})
            )
            in printed
        )
    bootstrap = cases[1]
    assert bootstrap["objects_created"] == bootstrap["changes"] > 2 * 50
    assert 1 < bootstrap["writes_per_object"] < 2
    assert [c["requests"] for c in cases if c["name"] == "re-plan"] == [8, 8, 8]
    assert cases[5]["note"] == "2 templates planned"
    assert any(
        "changed-since plan of 2 of 2 templates: 8 requests" in t for t in document["targets"]
    )
    assert [row["templates"] for row in document["emulator_writes"]] == [0, 2]
    assert all(row["in_process_writes_per_s"] > 0 for row in document["emulator_writes"])
    assert [row["command"] for row in document["files"]] == ["validate", "fmt --check"]
    assert any(t.startswith("validate of 2 files: ") for t in document["targets"])


def test_sizes_below_two_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run.main(["--sizes", "1"])
    assert "at least 2 templates" in capsys.readouterr().err
