#!/usr/bin/env python3
"""Per-endpoint table of a `bench/run api` result, in Markdown, for BENCHMARKS.md.

    bench/api_table.py RESULT.json [BEFORE.json]

One row per endpoint: p50/p99 at 1 and at the run's concurrency, the response size, and
whether p99 at that concurrency is within issue 21's target (50 ms; 100 ms for 30-day
periods). With BEFORE, a column shows the earlier p99 at the same concurrency.
"""
import json
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def run(entry, connections):
    return next((r for r in entry["runs"] if r["connections"] == connections), {})


def ms(value):
    return "—" if value is None else ("%.1f" % value if value < 100 else "%.0f" % value)


def main():
    after = load(sys.argv[1])
    before = load(sys.argv[2]) if len(sys.argv) > 2 else None
    c = after["settings"]["concurrency"]
    header = "| endpoint | path | p50 / p99 ms, 1 conn | p50 / p99 ms, %d conn | bytes | target | met |" % c
    rule = "|---|---|---|---|---|---|---|"
    if before:
        header = header.replace("| bytes |", "| before p99 ms, %d conn | bytes |" % c)
        rule += "---|"
    print(header)
    print(rule)
    rows = sorted(after["endpoints"].items(), key=lambda kv: -(run(kv[1], c).get("p99_ms") or 1e9))
    for name, entry in rows:
        one, many = run(entry, 1), run(entry, c)
        limit = 100.0 if name.endswith("_30d") else 50.0
        p99 = many.get("p99_ms")
        met = "yes" if p99 is not None and p99 <= limit and not many.get("non_2xx") else "**no**"
        cells = [name, "`%s`" % entry["path"], "%s / %s" % (ms(one.get("p50_ms")), ms(one.get("p99_ms"))),
                 "%s / %s" % (ms(many.get("p50_ms")), ms(p99))]
        if before:
            earlier = before["endpoints"].get(name)
            cells.append(ms(run(earlier, c).get("p99_ms")) if earlier else "—")
        cells += [str(entry["response"]["bytes"]), "≤ %d ms" % limit, met]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
