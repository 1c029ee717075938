#!/usr/bin/env python3
"""bench/run part `ingest`: samples/s that a release monquery stores from synthetic agents
(`mon-bench ingest`: the real wire protocol, one batch in flight per agent, as fast as the
ACKs come back) into a private PostgreSQL 15 (fsync off), for batches of 1k, 5k and 20k
samples; side by side in the same run, into a twin of the `metrics` table (same columns,
partitioned by day, same (series_id, ts) index):
  - raw `psql` binary COPY (`\\copy ... FROM file WITH (FORMAT binary)`) and text COPY,
  - the naive path: single-row INSERTs, one statement and one commit per sample.
Then the time from a sample's timestamp (the agent stamps it at the end of its cycle and
ships at once) until the API shows it: `mon-bench send-one` sends one gauge
(mon_host_cpu_usage_ratio{cpu="all"}) with a new value, and the script polls
/api/monitoring/metrics/summary (served from the last-value cache) and
/api/monitoring/system/cpu (served from PostgreSQL) until the value appears — on an idle,
freshly started daemon, and while INGEST_AGENTS agents push 1k-sample batches flat out.

The agents' series exist before each timed run (created in metric_series and ANALYZEd by the
script, as after the first minutes of a real daemon's life): this measures sustained ingest,
not the first batch of an agent. (A first batch of 20k new series takes longer than the
daemon's 30-s statement timeout while metric_series has no statistics: see BENCHMARKS.md.)

Settings: INGEST_SECONDS (60; smoke 3), INGEST_BATCHES ("1000 5000 20000"; smoke "200 1000
2000"), INGEST_AGENTS (4; smoke 2),
COPY_ROWS (default: the rows the largest ingest step stored; smoke 20000), COPY_REPS (3; smoke 1), INSERT_SECONDS (10; smoke 1),
VISIBLE_REPS (10; smoke 2).
"""
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

SECONDS = float(os.environ.get("INGEST_SECONDS", "3" if B.SMOKE else "60"))
BATCHES = [int(x) for x in os.environ.get("INGEST_BATCHES", "200 1000 2000" if B.SMOKE else "1000 5000 20000").split()]
AGENTS = int(os.environ.get("INGEST_AGENTS", "2" if B.SMOKE else "4"))
# Rows per COPY: by default as many as the largest ingest step stored, so both paths write the same
# amount into an empty table (a bigger index costs more per row, and autovacuum starts on a
# partition that grew by millions of rows: a 3M-row COPY against a 6M-row ingest step flattered COPY).
COPY_ROWS = int(os.environ.get("COPY_ROWS", "20000" if B.SMOKE else "0"))
COPY_REPS = int(os.environ.get("COPY_REPS", "1" if B.SMOKE else "3"))
INSERT_SECONDS = float(os.environ.get("INSERT_SECONDS", "1" if B.SMOKE else "10"))
VISIBLE_REPS = int(os.environ.get("VISIBLE_REPS", "2" if B.SMOKE else "10"))
SERIES = 5000


def twin_table(stack):
    days = stack.psql("SELECT to_char(d, 'YYYYMMDD'), d::date, (d + interval '1 day')::date "
                      "FROM generate_series(date_trunc('day', now() AT TIME ZONE 'UTC') - interval '1 day', "
                      "date_trunc('day', now() AT TIME ZONE 'UTC') + interval '2 day', interval '1 day') d")
    sql = ["CREATE TABLE bench_raw (ts timestamptz NOT NULL, series_id bigint NOT NULL, "
           "value double precision NOT NULL) PARTITION BY RANGE (ts);",
           "CREATE INDEX bench_raw_series_ts_idx ON bench_raw (series_id, ts);"]
    for line in days.splitlines():
        name, lo, hi = line.split("\t")
        sql.append("CREATE TABLE bench_raw_p%s PARTITION OF bench_raw FOR VALUES FROM ('%s 00:00+00') "
                   "TO ('%s 00:00+00');" % (name, lo, hi))
    stack.psql("\n".join(sql))


def copy_file(stack, fmt, rows):
    path = os.path.join(stack.tmp, "copy.%s" % fmt)
    # Rows like the agents': SERIES series, one sample each per millisecond step, from now on.
    query = ("SELECT now() + make_interval(secs => (g / %d) * 0.001), (1 + g %% %d)::bigint, ((g * 7919) %% 10000) / 100.0::float8 "
             "FROM generate_series(0::bigint, %d) g" % (SERIES, SERIES, rows - 1))
    stack.psql("\\copy (%s) TO '%s' WITH (FORMAT %s)" % (query, path, fmt))
    return path


def precreate_series(stack, prefix, agents, size):
    """The series `mon-bench ingest --host-prefix PREFIX` will send (host PREFIX-k, name
    mon_bench_ingest_value, labels group=g<i%16>, slot=<i>), then ANALYZE metric_series."""
    stack.psql("""
INSERT INTO metric_series (host, name, labels_key, labels, kind)
SELECT '%(prefix)s-' || k, 'mon_bench_ingest_value', format('group="g%%s",slot="%%s"', i %% 16, i),
       jsonb_build_object('group', 'g' || (i %% 16), 'slot', i::text), 'gauge'
FROM generate_series(1, %(agents)d) k, generate_series(0, %(size)d - 1) i
ON CONFLICT DO NOTHING;
ANALYZE metric_series;""" % {"prefix": prefix, "agents": agents, "size": size})


def timed_psql(stack, sql):
    t0 = time.monotonic()
    stack.psql(sql)
    return time.monotonic() - t0


def value_shown(stack, endpoint, host, value):
    url = stack.http + endpoint + ("&" if "?" in endpoint else "?") + "host=" + urllib.parse.quote(host)
    try:
        code, body = B.http_get(url, timeout=5)
    except OSError:
        return False
    if code != 200:
        return False
    data = json.loads(body)
    hosts = data.get("hosts") or []
    if not hosts:
        return False
    h = hosts[0]
    shown = (h.get("system") or {}).get("cpu_percent") if "summary" in endpoint \
        else (h.get("current") or {}).get("usage_percent")
    return shown is not None and abs(shown - value * 100) < 1e-6


def visibility(stack, reps, tag):
    """Per rep: send one sample, poll both endpoints until they show it; ms after its timestamp."""
    out = {"summary_ms": [], "cpu_ms": [], "ack_ms": [], "timeouts": 0}
    endpoints = {"summary_ms": "/api/monitoring/metrics/summary", "cpu_ms": "/api/monitoring/system/cpu?period=1h"}
    for rep in range(reps):
        value = (rep + 1) / 1000.0 + (0.5 if tag == "load" else 0)
        host = "probe-%s" % tag
        sent = B.monbench("send-one", "--socket", stack.ingest_socket, "--host", host, "--value", value)
        out["ack_ms"].append(sent["ack_ms"])
        pending = dict(endpoints)
        deadline = time.time() + 10
        while pending and time.time() < deadline:
            for key, endpoint in list(pending.items()):
                if value_shown(stack, endpoint, host, value):
                    out[key].append(time.time() * 1000 - sent["timestamp_ms"])
                    del pending[key]
            time.sleep(0.005)
        out["timeouts"] += len(pending)
        time.sleep(0.2)
    return {k: (B.stats(v) if isinstance(v, list) else v) for k, v in out.items()} | {"raw": out}


def main():
    stack = B.Stack("ingest")
    stack.start_postgres()
    stack.start_monquery()
    twin_table(stack)
    monbench = os.path.join(B.BIN, "mon-bench")
    daemon = [stack.query.pid, stack.pg_pid]
    result = {"machine": B.describe_machine(),
              "settings": {"seconds": SECONDS, "batches": BATCHES, "agents": AGENTS, "copy_rows": COPY_ROWS,
                           "copy_reps": COPY_REPS, "insert_seconds": INSERT_SECONDS, "visible_reps": VISIBLE_REPS,
                           "postgresql": "private cluster, fsync=off (scripts/lib.sh mon_pg_start)"},
              "ingest": [], "copy_binary": [], "copy_text": [], "insert": None}

    # --- monquery ingest, per batch size -------------------------------------------------
    for size in BATCHES:
        stack.psql("TRUNCATE metrics")
        precreate_series(stack, "ingest%d" % size, AGENTS, size)
        part = B.Part("ingest-%d" % size, pids=daemon)
        B.log("ingest: %d agents, %d-sample batches, %.0f s" % (AGENTS, size, SECONDS))
        q0, p0 = B.tree_ticks(stack.query.pid), B.tree_ticks(stack.pg_pid)
        with part:
            report = B.monbench("ingest", "--socket", stack.ingest_socket, "--agents", AGENTS, "--batch-samples",
                                size, "--duration-ms", int(SECONDS * 1000), "--host-prefix", "ingest%d" % size)
        q1, p1 = B.tree_ticks(stack.query.pid), B.tree_ticks(stack.pg_pid)
        stack.check_alive(stack.query)
        stored = int(stack.psql("SELECT count(*) FROM metrics"))
        entry = {"batch_samples": size, "samples_per_second": report["samples_per_second"],
                 "samples": report["samples"], "batches": report["batches"], "seconds": report["duration_s"],
                 "ack_ms": report["ack_ms"], "rows_in_metrics": stored,
                 "monquery_cpu_s": (q1 - q0) / B.CLK_TCK, "postgres_cpu_s": (p1 - p0) / B.CLK_TCK,
                 "contention": part.result}
        # Every acknowledged sample is stored (+ the warm-up batches, + monquery's own series).
        entry["all_stored"] = stored >= report["samples"]
        result["ingest"].append(entry)
        B.log("ingest: %d-sample batches: %.0f samples/s (ack median %.1f ms)%s"
              % (size, report["samples_per_second"], report["ack_ms"]["median"],
                 " CONTENDED" if part.result["contended"] else ""))
    stack.psql("TRUNCATE metrics")

    # --- raw COPY and single-row INSERT into the twin table -----------------------------
    copy_rows = COPY_ROWS or max(e["rows_in_metrics"] for e in result["ingest"])
    result["settings"]["copy_rows"] = copy_rows
    result["settings"]["copy_rows_from"] = "COPY_ROWS" if COPY_ROWS else "the largest ingest step's stored rows"
    files = {"binary": copy_file(stack, "binary", copy_rows), "text": copy_file(stack, "text", copy_rows)}
    for rep in range(COPY_REPS):
        for fmt in ("binary", "text"):
            stack.psql("TRUNCATE bench_raw")
            part = B.Part("copy-%s-%d" % (fmt, rep + 1), pids=daemon)
            with part:
                seconds = timed_psql(stack, "\\copy bench_raw FROM '%s' WITH (FORMAT %s)" % (files[fmt], fmt))
            rows = int(stack.psql("SELECT count(*) FROM bench_raw"))
            result["copy_" + fmt].append({"rows": rows, "seconds": seconds, "rows_per_second": rows / seconds,
                                          "contention": part.result})
            B.log("copy %s: %d rows in %.2f s = %.0f rows/s" % (fmt, rows, seconds, rows / seconds))
    stack.psql("TRUNCATE bench_raw")
    part = B.Part("insert", pids=daemon)
    with part:
        report = B.monbench("insert", "--database-url", stack.database_url(), "--table", "bench_raw",
                            "--duration-ms", int(INSERT_SECONDS * 1000), "--series", SERIES)
    result["insert"] = dict(report, contention=part.result)
    B.log("insert: %.0f rows/s (single-row INSERT, autocommit)" % report["rows_per_second"])
    stack.psql("TRUNCATE bench_raw")

    # --- visibility ----------------------------------------------------------------------
    # A fresh daemon: the runs above left 100k+ synthetic series in its last-value cache, which
    # the summary endpoint sorts on every call (see the api part); a real daemon holds a few
    # hundred series per host.
    stack.query.terminate()
    stack.query.wait(30)
    stack.procs.remove(stack.query)
    stack.start_monquery()
    daemon = [stack.query.pid, stack.pg_pid]
    precreate_series(stack, "load", AGENTS, 1000)
    part = B.Part("visible-idle", pids=daemon)
    with part:
        idle = visibility(stack, VISIBLE_REPS, "idle")
    result["visible_idle"] = dict(idle, contention=part.result)
    load_seconds = max(SECONDS, VISIBLE_REPS * 1.5 + 2)
    box = {}

    def push():
        box["report"] = B.monbench("ingest", "--socket", stack.ingest_socket, "--agents", AGENTS,
                                   "--batch-samples", 1000, "--duration-ms", int(load_seconds * 1000),
                                   "--host-prefix", "load")
    thread = threading.Thread(target=push)
    part = B.Part("visible-load", pids=daemon)
    with part:
        thread.start()
        time.sleep(1.0)
        loaded = visibility(stack, VISIBLE_REPS, "load")
        thread.join()
    result["visible_load"] = dict(loaded, contention=part.result, background=box.get("report", {}).get(
        "samples_per_second"))
    B.log("visible: idle summary %s ms, cpu %s ms; under load summary %s ms, cpu %s ms" % (
        idle["summary_ms"] and round(idle["summary_ms"]["median"], 1), idle["cpu_ms"] and round(
            idle["cpu_ms"]["median"], 1), loaded["summary_ms"] and round(loaded["summary_ms"]["median"], 1),
        loaded["cpu_ms"] and round(loaded["cpu_ms"]["median"], 1)))

    # --- ratios and targets ----------------------------------------------------------------
    best = max(result["ingest"], key=lambda e: e["samples_per_second"])
    copy_b = B.stats([c["rows_per_second"] for c in result["copy_binary"]])
    copy_t = B.stats([c["rows_per_second"] for c in result["copy_text"]])
    insert = result["insert"]["rows_per_second"]
    result["summary"] = {
        "ingest_samples_per_second": {str(e["batch_samples"]): e["samples_per_second"] for e in result["ingest"]},
        "best_batch_samples": best["batch_samples"],
        "copy_binary_rows_per_second": copy_b, "copy_text_rows_per_second": copy_t,
        "insert_rows_per_second": insert,
    }
    result["ratios"] = {
        "ingest_over_copy_binary": {str(e["batch_samples"]): e["samples_per_second"] / copy_b["median"]
                                    for e in result["ingest"]},
        "ingest_over_insert": {str(e["batch_samples"]): e["samples_per_second"] / insert for e in result["ingest"]},
        "copy_binary_over_insert": copy_b["median"] / insert,
    }
    visible_worst = max((v["max"] for v in (idle["summary_ms"], idle["cpu_ms"], loaded["summary_ms"],
                                            loaded["cpu_ms"]) if v), default=None)
    result["targets"] = {
        "ingest": {"target": ">= 50 % of raw psql binary COPY into the same table, same run",
                   "met": best["samples_per_second"] / copy_b["median"] >= 0.5},
        "visible": {"target": "sample visible in the API <= 1 s after its cycle ends",
                    "met": visible_worst is not None and visible_worst <= 1000
                    and idle["timeouts"] == 0 and loaded["timeouts"] == 0,
                    "worst_ms": visible_worst},
    }
    B.log("ingest: best %.0f samples/s (%d) = %.0f %% of binary COPY (%.0f rows/s), %.1fx single-row INSERT "
          "(%.0f rows/s)" % (best["samples_per_second"], best["batch_samples"],
                             100 * best["samples_per_second"] / copy_b["median"], copy_b["median"],
                             best["samples_per_second"] / insert, insert))
    B.write_result("ingest", result)
    stack.stop()


if __name__ == "__main__":
    main()
