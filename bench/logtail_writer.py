#!/usr/bin/env python3
"""Appends N structlog-style JSON lines to a file as fast as it can (stdlib only).

The lines are generated in memory first; the clock starts just before the first write.
One line in ten carries a `password` field (the agent must redact it); about half are
request events (path, method, status_code, duration_ms), which the agent also turns into
request-duration observations. Prints one JSON object on stdout:

    {"lines": N, "bytes": ..., "first_write": <epoch s>, "last_write": <epoch s>}

With --rate R, the lines are written at R lines/s instead (a slice every 10 ms, on
schedule), for the memory-under-burst measurement.

Usage: logtail_writer.py FILE N [--seed S] [--rate R]
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import datetime, timezone

ENDPOINTS = ["/v1/search/hybrid", "/v1/search/vector", "/v1/memories", "/v1/memories/8f3a2c", "/v1/events",
             "/v1/code/index", "/health"]
LOGGERS = ["mnemolite.api", "mnemolite.search", "mnemolite.embeddings", "mnemolite.db", "uvicorn.access"]


def make_lines(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    base = time.time()
    out = []
    for i in range(n):
        ts = datetime.fromtimestamp(base + i * 1e-5, tz=timezone.utc).isoformat(timespec="microseconds")
        ts = ts.replace("+00:00", "Z")
        request_id = "%032x" % rng.getrandbits(128)
        if i % 10 == 0:
            record = {"timestamp": ts, "level": "info", "event": "user login attempt", "logger": "mnemolite.auth",
                      "request_id": request_id, "user": "user%d@example.com" % rng.randint(1, 500),
                      "password": "hunter2-%d" % i, "ip": "10.0.%d.%d" % (rng.randint(0, 255), rng.randint(1, 254))}
        elif i % 2 == 1:
            status = rng.choice([200, 200, 200, 200, 201, 204, 400, 404, 500])
            record = {"timestamp": ts, "level": "error" if status >= 500 else "info", "event": "request finished",
                      "logger": "mnemolite.api", "request_id": request_id, "path": rng.choice(ENDPOINTS),
                      "method": rng.choice(["GET", "GET", "POST"]), "status_code": status,
                      "duration_ms": round(rng.lognormvariate(2.5, 0.8), 3)}
        else:
            record = {"timestamp": ts, "level": rng.choice(["debug", "info", "info", "warning"]),
                      "event": rng.choice(["embedding computed", "cache miss", "search executed",
                                           "memory stored", "slow query"]),
                      "logger": rng.choice(LOGGERS), "request_id": request_id,
                      "duration_ms": round(rng.lognormvariate(1.5, 1.0), 3), "results": rng.randint(0, 50),
                      "model": "nomic-embed-text"}
        out.append(json.dumps(record, separators=(", ", ": ")))
    return ("\n".join(out) + "\n").encode()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("lines", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0, help="lines/s (0: as fast as possible)")
    args = parser.parse_args()
    data = make_lines(args.lines, args.seed)
    fd = os.open(args.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    chunk = 1 << 16
    # Write whole lines only, so the agent never sees a line in two pieces from one write.
    first = time.time()
    pos = 0
    if args.rate > 0:
        per_slice = max(1, int(args.rate / 100))
        written = 0
        while pos < len(data):
            end = pos
            for _ in range(per_slice):
                if end >= len(data):
                    break
                end = data.index(b"\n", end) + 1
            os.write(fd, data[pos:end])
            written += data.count(b"\n", pos, end)
            pos = end
            delay = first + written / args.rate - time.time()
            if delay > 0:
                time.sleep(delay)
    while pos < len(data):
        end = data.rfind(b"\n", pos, pos + chunk) + 1 if pos + chunk < len(data) else len(data)
        if end <= pos:
            end = data.index(b"\n", pos) + 1
        os.write(fd, data[pos:end])
        pos = end
    last = time.time()
    os.close(fd)
    print(json.dumps({"lines": args.lines, "bytes": len(data), "first_write": first, "last_write": last}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
