#!/usr/bin/env python3
"""bench/run part `cycle`: wall time of one collection cycle, and of its /proc part, with
MonCore's collectors called directly by `mon-bench cycle` (the six host collectors with 3
process groups, the PostgreSQL and the Redis source against a private PostgreSQL and Redis),
and the pread floor: the same /proc files (the list is taken with strace from one cycle)
read with descriptors kept open and pread(2) in a plain loop, and with open/read/close.

Settings: CYCLE_ITERATIONS (2000; smoke 30), CYCLE_PAUSE_MS (5: pause between iterations,
so that the caches are not hotter than at a 5-s interval... as far as 5 ms can tell).
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

ITERATIONS = int(os.environ.get("CYCLE_ITERATIONS", "30" if B.SMOKE else "2000"))
PAUSE_MS = int(os.environ.get("CYCLE_PAUSE_MS", "5"))
OPEN_RE = re.compile(r'^\d+\s+openat\(AT_FDCWD, "(/proc[^"]*)", ([A-Z_|]+)(?:, \d+)?\)\s+=\s+(\d+)')


def proc_files(stack, monbench):
    """The /proc paths one host cycle opens (directories end with /), from strace."""
    trace = os.path.join(stack.tmp, "strace.txt")
    r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat", "-o", trace, monbench, "cycle",
                        "--iterations", "1", "--warmup", "0", "--pause-ms", "0", "--host-only"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError("strace mon-bench cycle failed: " + r.stderr[-1000:])
    paths = []
    seen = set()
    with open(trace) as f:
        for line in f:
            m = OPEN_RE.match(line)
            if not m:
                continue
            path, flags = m.group(1), m.group(2)
            if path.startswith("/proc/self") or path.startswith("/proc/sys/kernel"):
                continue   # the runtime's own reads at start, not the collectors'
            if "O_DIRECTORY" in flags:
                path += "/"
            if path not in seen:
                seen.add(path)
                paths.append(path)
    return paths


def main():
    stack = B.Stack("cycle")
    stack.start_postgres()
    stack.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
               "CREATE TABLE app_items (id bigserial PRIMARY KEY, body text, n int);"
               "INSERT INTO app_items (body, n) SELECT md5(g::text), g % 100 FROM generate_series(1, 20000) g;"
               "ANALYZE;")
    stack.start_redis()
    seed = "".join("SET %s:%d %s\r\n" % (kind, i, "x" * 64) for kind in ("search", "emb", "graph", "other")
                   for i in range(500))
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(stack.redis_port), "--pipe"], input=seed,
                   text=True, stdout=subprocess.DEVNULL, check=True)
    monbench = os.path.join(B.BIN, "mon-bench")
    floor_list = None
    files = []
    if subprocess.run(["which", "strace"], stdout=subprocess.DEVNULL).returncode == 0:
        files = proc_files(stack, monbench)
        floor_list = os.path.join(stack.tmp, "proc-files.txt")
        with open(floor_list, "w") as f:
            f.write("\n".join(files) + "\n")
        B.log("cycle: one host cycle opens %d /proc paths (%d directories)"
              % (len(files), sum(1 for p in files if p.endswith("/"))))
    else:
        B.log("cycle: strace missing, no pread floor (apt-get install strace)")

    args = ["cycle", "--iterations", ITERATIONS, "--pause-ms", PAUSE_MS, "--warmup", min(20, ITERATIONS),
            "--postgres-url", stack.database_url(), "--redis-url", "redis://127.0.0.1:%d/0" % stack.redis_port]
    if floor_list:
        args += ["--floor-files", floor_list]
    B.log("cycle: mon-bench %s" % " ".join(map(str, args)))
    part = B.Part("cycle", pids=[stack.pg_pid, stack.redis_pid])
    with part:
        report = B.monbench(*args)
    proc = report["proc_ms"]["median"]
    floor = report.get("floor")
    ratio = proc / floor["pread_ms"]["median"] if floor else None
    result = {
        "machine": B.describe_machine(),
        "settings": {"iterations": ITERATIONS, "pause_ms": PAUSE_MS},
        "report": report,
        "proc_files": files,
        "ratios": {"proc_over_pread_floor": ratio,
                   "proc_over_open_read_close": proc / floor["open_read_close_ms"]["median"] if floor else None},
        "contention": part.result,
        "targets": {"proc_part": {"target": "<= 0.5 ms (within ~2x of the pread floor)",
                                  "met": proc <= 0.5 and (ratio is None or ratio <= 2)}},
    }
    B.log("cycle: /proc part median %.3f ms (min %.3f, max %.3f); host cycle %.3f ms; pread floor %s ms; "
          "full sequential %s ms" % (proc, report["proc_ms"]["min"], report["proc_ms"]["max"],
                                     report["host_cycle_ms"]["median"],
                                     "%.3f" % floor["pread_ms"]["median"] if floor else "n/a",
                                     "%.2f" % report["full_sequential_ms"]["median"]
                                     if report.get("full_sequential_ms") else "n/a"))
    if report["failures"]:
        B.log("cycle: collector failures: %s" % report["failures"])
    B.write_result("cycle", result)
    stack.stop()


if __name__ == "__main__":
    main()
