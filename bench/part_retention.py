#!/usr/bin/env python3
"""bench/run part `retention`: the time to drop one day of raw samples the way monquery's
retention does it (IngestWriter.drop: `ALTER TABLE metrics DETACH PARTITION ... CONCURRENTLY`
then `DROP TABLE`), against `DELETE` of the same number of rows (another day, filled the same
way), in the same run, on a private PostgreSQL 15 (fsync off). Per repetition two past days
of the `metrics` table get RETENTION_ROWS rows each (5 000 series, 5-s samples, indexed
like production), VACUUM ANALYZE, then one day is dropped and the other deleted (the order
alternates between repetitions); the DELETE is followed by the VACUUM that would be needed
to reuse the space, timed apart. Times are server-side (`\\timing` in one psql session).

Settings: RETENTION_ROWS (2000000; smoke 20000), RETENTION_REPS (3; smoke 1).
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

ROWS = int(os.environ.get("RETENTION_ROWS", "20000" if B.SMOKE else "2000000"))
REPS = int(os.environ.get("RETENTION_REPS", "1" if B.SMOKE else "3"))
SERIES = 5000
TIME_RE = re.compile(r"^Time: ([\d.]+) ms", re.M)


def timed(stack, statements):
    """Runs the statements one by one (autocommit); returns their server-side ms."""
    out = stack.psql("\n".join(statements) + "\n", timing=True)
    times = [float(t) for t in TIME_RE.findall(out)]
    if len(times) != len(statements):
        raise RuntimeError("expected %d timings, got: %s" % (len(statements), out[-500:]))
    return times


def main():
    stack = B.Stack("retention")
    stack.start_postgres()
    url = stack.database_url()
    result = {"machine": B.describe_machine(), "settings": {"rows": ROWS, "reps": REPS, "series": SERIES},
              "reps": []}
    for rep in range(REPS):
        B.monbench("prepare-db", "--database-url", url, "--days-back", 4)
        days = stack.psql("SELECT to_char(d, 'YYYYMMDD'), to_char(d, 'YYYY-MM-DD') FROM (VALUES "
                          "(date_trunc('day', now() AT TIME ZONE 'UTC') - interval '3 days'), "
                          "(date_trunc('day', now() AT TIME ZONE 'UTC') - interval '2 days')) v(d)").splitlines()
        (c1, d1), (c2, d2) = [line.split("\t") for line in days]
        drop_day, delete_day = ((c1, d1), (c2, d2)) if rep % 2 == 0 else ((c2, d2), (c1, d1))
        fill = []
        for _, day in (drop_day, delete_day):
            fill.append("INSERT INTO metrics (ts, series_id, value) SELECT '%s 00:00+00'::timestamptz "
                        "+ make_interval(secs => (g / %d) * 5), 1 + g %% %d, (g %% 1000) / 10.0 "
                        "FROM generate_series(0, %d) g;" % (day, SERIES, SERIES, ROWS - 1))
        stack.psql("\n".join(fill) + "\nVACUUM ANALYZE metrics;")
        counts = [int(stack.psql("SELECT count(*) FROM metrics_p%s" % c)) for c, _ in (drop_day, delete_day)]
        size = stack.psql("SELECT pg_size_pretty(pg_total_relation_size('metrics_p%s'))" % drop_day[0])
        entry = {"rep": rep + 1, "rows_dropped": counts[0], "rows_deleted": counts[1], "partition_size": size}
        order = ["drop", "delete"] if rep % 2 == 0 else ["delete", "drop"]
        part = B.Part("retention-%d" % (rep + 1), pids=[stack.pg_pid])
        with part:
            for what in order:
                if what == "drop":
                    t = timed(stack, ["ALTER TABLE metrics DETACH PARTITION metrics_p%s CONCURRENTLY;" % drop_day[0],
                                      "DROP TABLE metrics_p%s;" % drop_day[0]])
                    entry["drop_ms"] = sum(t)
                    entry["detach_ms"], entry["drop_table_ms"] = t
                else:
                    t = timed(stack, ["DELETE FROM metrics WHERE ts >= '%s 00:00+00' AND ts < '%s 00:00+00'::timestamptz"
                                      " + interval '1 day';" % (delete_day[1], delete_day[1]),
                                      "VACUUM metrics_p%s;" % delete_day[0]])
                    entry["delete_ms"], entry["vacuum_after_delete_ms"] = t
        entry["contention"] = part.result
        entry["delete_over_drop"] = entry["delete_ms"] / entry["drop_ms"]
        result["reps"].append(entry)
        B.log("retention rep %d: %d rows: drop partition %.1f ms (detach %.1f + drop %.1f), DELETE %.1f ms "
              "(+ VACUUM %.1f ms): DELETE/drop %.0fx%s" % (
                  rep + 1, counts[0], entry["drop_ms"], entry["detach_ms"], entry["drop_table_ms"],
                  entry["delete_ms"], entry["vacuum_after_delete_ms"], entry["delete_over_drop"],
                  " CONTENDED" if part.result["contended"] else ""))
        # The next repetition starts from the same empty days.
        stack.psql("DROP TABLE IF EXISTS metrics_p%s; DROP TABLE IF EXISTS metrics_p%s;" % (c1, c2))
    result["summary"] = {
        "drop_ms": B.stats([r["drop_ms"] for r in result["reps"]]),
        "delete_ms": B.stats([r["delete_ms"] for r in result["reps"]]),
        "vacuum_after_delete_ms": B.stats([r["vacuum_after_delete_ms"] for r in result["reps"]]),
        "delete_over_drop": B.stats([r["delete_over_drop"] for r in result["reps"]]),
    }
    B.write_result("retention", result)
    stack.stop()


if __name__ == "__main__":
    main()
