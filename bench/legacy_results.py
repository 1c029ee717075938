#!/usr/bin/env python3
"""Turns the raw output of bench/statsd-throughput and bench/logtail-throughput (results.tsv,
machine.txt in their BENCH_OUT) into bench/run's results file (<part>-<stamp>.json).

usage: legacy_results.py statsd|logtail BENCH_OUT RESULT.json
Environment: STEP_SECONDS and SETTLE_SECONDS as given to statsd-throughput (for the
contention rule: a step where the rest of the machine used more than 0.2 core).
"""
import csv
import json
import os
import statistics
import sys

CONTENDED_CORES = float(os.environ.get("BENCH_CONTENDED_CORES", "0.2"))


def machine(out):
    info = {}
    try:
        with open(os.path.join(out, "machine.txt")) as f:
            for line in f:
                if ": " in line:
                    k, v = line.rstrip("\n").split(": ", 1)
                    info[k] = v
    except OSError:
        pass
    return info


def med(values):
    values = list(values)
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "count": len(values)}


def statsd(out):
    rows = list(csv.DictReader(open(os.path.join(out, "results.tsv")), delimiter="\t"))
    if not rows:
        raise SystemExit("statsd: results.tsv has no rows")
    step = float(os.environ.get("STEP_SECONDS", "10")) + float(os.environ.get("SETTLE_SECONDS", "3"))
    reps = sorted({int(r["rep"]) for r in rows})
    result = {"zero_loss_lines_per_second": {}, "steps": rows}
    for k in ("1", "20"):
        best = []
        for rep in reps:
            steps = sorted((r for r in rows if r["k"] == k and int(r["rep"]) == rep), key=lambda r: int(r["offered"]))
            top = 0
            for r in steps:
                if int(r["received_lines"]) != int(r["sent_lines"]) or int(r["rcvbuf_errors"]) != 0:
                    break
                # A step the sender could not offer (below 95 % of its target) does not count.
                if float(r["achieved"]) < 0.95 * int(r["offered"]):
                    break
                top = int(r["offered"])
            best.append(top)
        result["zero_loss_lines_per_second"][k] = med(best)
    contended = [r for r in rows if float(r["others_cpu_s"]) / step > CONTENDED_CORES]
    result["contention"] = {"contended": bool(contended), "contended_steps": len(contended), "steps": len(rows),
                            "rule": "others_cpu_s / (STEP_SECONDS + SETTLE_SECONDS) > %.1f core" % CONTENDED_CORES}
    best20 = result["zero_loss_lines_per_second"]["20"]["median"]
    best1 = result["zero_loss_lines_per_second"]["1"]["median"]
    result["targets"] = {"statsd": {"target": ">= 200 000 lines/s with 1 line per datagram and >= 1 000 000 with 20,"
                                              " without loss into one agent (issue 22)",
                                    "met": best1 >= 200000 and best20 >= 1000000}}
    return result


def logtail(out):
    rows = list(csv.DictReader(open(os.path.join(out, "results.tsv")), delimiter="\t"))
    if not rows:
        raise SystemExit("logtail: results.tsv has no rows")
    result = {"agent_lines_per_second": med(float(r["agent_lines_per_s"]) for r in rows),
              "e2e_lines_per_second": med(float(r["e2e_lines_per_s"]) for r in rows),
              "agent_cpu_s": med(float(r["agent_cpu_s"]) for r in rows),
              "monquery_cpu_s": med(float(r["monquery_cpu_s"]) for r in rows),
              "postgres_cpu_s": med(float(r["postgres_cpu_s"]) for r in rows),
              "lines_per_rep": int(rows[0]["lines"]),
              # Every repetition's figures in rep order (the medians above are of these).
              "per_rep": {"agent_lines_per_second": [float(r["agent_lines_per_s"]) for r in rows],
                          "e2e_lines_per_second": [float(r["e2e_lines_per_s"]) for r in rows]},
              "reps": rows}
    contended = [r for r in rows if float(r["others_cpu_s"]) / max(float(r["e2e_s"]), 0.001) > CONTENDED_CORES]
    result["contention"] = {"contended": bool(contended), "contended_reps": len(contended), "reps": len(rows)}
    result["checks_ok"] = all(int(r["counted"]) == int(r["lines"]) and int(r["rows"]) == int(r["lines"])
                              and int(r["unredacted"]) == 0 for r in rows)
    result["targets"] = {"logtail": {"target": ">= 50 000 lines/s end to end (file write -> stored in PostgreSQL),"
                                               " structlog JSON lines of ~300 bytes, redaction on (issue 22)",
                                     "met": result["e2e_lines_per_second"]["median"] >= 50000 and result["checks_ok"]}}
    return result


def main():
    kind, out, target = sys.argv[1:4]
    result = {"statsd": statsd, "logtail": logtail}[kind](out)
    result.update({"part": kind, "machine": machine(out), "raw_output": out,
                   "smoke": os.environ.get("BENCH_SMOKE", "0") == "1",
                   "command": os.environ.get("BENCH_COMMAND", "bench/run %s" % kind)})
    with open(target, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    print("results: %s" % target, file=sys.stderr)


if __name__ == "__main__":
    main()
