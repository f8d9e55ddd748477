"""The benchmarks' served emulator: an :class:`EmulatorServer` in a process of its own.

Real loopback HTTP, with latency and Tallyfy's rate limit as ``tallyform emulator serve``
sets them, in its own process, so the emulator's work does not share tallyform's
interpreter lock. The org lives in memory (no state file is written on every change);
``--load FILE`` starts from a saved org. It prints its URL, then answers one line on
stdout for each command on stdin:

- ``stats``: a JSON object: ``requests`` answered, ``writes`` among them, ``rate_limited``
  (429s) and ``cpu``, the seconds of CPU this process has used;
- ``dump FILE``: writes the org to FILE (JSON) and answers ``ok``.

It stops when stdin closes, so it never outlives the benchmark.

Run (normally by :mod:`benchmarks.run`):
``python -m benchmarks.serve --latency-ms 50 --rate-limit 0``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tallyform.emulator import Emulator, EmulatorServer, FaultSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=int, default=0, help="a minute per token; 0: off")
    parser.add_argument("--load", type=Path, help="start from this org (JSON, as dump writes)")
    args = parser.parse_args(argv)
    emulator = Emulator(
        rate_limit=args.rate_limit or None, faults=FaultSettings(latency_ms=args.latency_ms)
    )
    if args.load is not None:
        emulator.state = json.loads(args.load.read_text("utf-8"))
    server = EmulatorServer(emulator).start()
    print(server.url, flush=True)
    try:
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "stats":
                log = list(emulator.requests)
                answer = {
                    "requests": len(log),
                    "writes": sum(1 for e in log if e["method"] != "GET"),
                    "rate_limited": sum(1 for e in log if e["status"] == 429),
                    "cpu": time.process_time(),
                }
                print(json.dumps(answer), flush=True)
            elif command == "dump":
                Path(argument).write_text(json.dumps(emulator.state), "utf-8")
                print("ok", flush=True)
            else:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
