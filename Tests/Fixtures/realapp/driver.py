"""Drives app.py for SECONDS seconds and writes the truth JSON (RealClientTests).

The client records what it sent and what it got (per endpoint template: requests, status
counts, its own durations); the app's own records (server-side durations, cache hits and
misses per type, error lines) come from GET /__truth at the end.
Usage: driver.py BASE_URL SECONDS OUT.json
"""

import json
import random
import sys
import time
import urllib.error
import urllib.request

base, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
rng = random.Random(19)
words = [f"w{i}" for i in range(40)]
client = {"requests": {}, "statuses": {}, "durations_ms": {}}


def call(template, path):
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(base + path, timeout=10) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    ms = (time.perf_counter() - start) * 1000
    client["requests"][template] = client["requests"].get(template, 0) + 1
    codes = client["statuses"].setdefault(template, {})
    codes[str(status)] = codes.get(str(status), 0) + 1
    client["durations_ms"].setdefault(template, []).append(ms)


deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    roll = rng.random()
    if roll < 0.4:
        call("/v1/search", f"/v1/search?q={rng.choice(words)}")
    elif roll < 0.7:
        call("/v1/memories/{id}", f"/v1/memories/{rng.randint(1, 60)}")
    elif roll < 0.9:
        call("/v1/graph/{id}", f"/v1/graph/{rng.randint(1, 30)}")
    else:
        call("/health", "/health")

with urllib.request.urlopen(base + "/__truth", timeout=10) as response:
    server = json.load(response)
with open(out, "w") as f:
    json.dump({"client": client, "server": server}, f)
print(json.dumps({k: sum(v.values()) for k, v in client["statuses"].items()}))
