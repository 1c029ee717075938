"""Shared helpers of the bench/part_*.py parts (python3 standard library only).

The shell functions of scripts/lib.sh and bench/bench-lib.sh stay the single source for
starting PostgreSQL and Redis and for the contention check; this module calls them through
bash, and adds process CPU/RSS accounting, timed parts and the results file.

Environment (set by bench/run):
  BENCH_BIN          directory with the release monagent, monquery and mon-bench copies
  BENCH_RESULTS_DIR  where <part>-<stamp>.json goes (bench/results, or a temp dir for --smoke)
  BENCH_STAMP        UTC time stamp shared by the parts of one bench/run
  BENCH_SMOKE        1 = tiny sizes, no waiting for a quiet machine
  BENCH_WAIT_MAX     seconds to wait at most for a quiet machine before a timed part
"""
import atexit
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
SMOKE = os.environ.get("BENCH_SMOKE", "0") == "1"
BIN = os.environ.get("BENCH_BIN", "")
RESULTS_DIR = os.environ.get("BENCH_RESULTS_DIR", os.path.join(HERE, "results"))
STAMP = os.environ.get("BENCH_STAMP") or time.strftime("%Y%m%d-%H%M%S", time.gmtime())
# A part where the rest of the machine used more than this many cores is "contended"
# (the same rule as bench/metrics-render's summary).
CONTENDED_CORES = float(os.environ.get("BENCH_CONTENDED_CORES", "0.2"))


def log(message):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


def shell(function, *args, capture=True, env=None):
    """Runs a function of scripts/lib.sh / bench/bench-lib.sh."""
    script = '. "$1/scripts/lib.sh"; . "$1/bench/bench-lib.sh"; shift; "$@"'
    result = subprocess.run(["bash", "-c", script, "_", REPO, function, *args],
                            stdout=subprocess.PIPE if capture else None, text=True,
                            env=env, check=True)
    return (result.stdout or "").strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- /proc accounting ---------------------------------------------------------------------

def _stat_fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()


def cpu_ticks(pid, children=False):
    """utime+stime of a process (and cutime+cstime: its waited-for children), 0 if gone."""
    try:
        fields = _stat_fields(pid)
    except (OSError, ValueError):
        return 0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks


def child_pids(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def tree_ticks(pid):
    """CPU ticks of a process, its reaped children and its live descendants."""
    total = cpu_ticks(pid, children=True)
    for child in child_pids(pid):
        total += tree_ticks(child)
    return total


def status_kib(pid, key, name="status"):
    """A "Key: N kB" field of /proc/PID/status (or of another such file: smaps_rollup), 0 if unreadable."""
    try:
        with open("/proc/%d/%s" % (pid, name)) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(pid):
    return status_kib(pid, "VmRSS") + sum(tree_rss_kib(c) for c in child_pids(pid))


def machine_busy_ticks():
    with open("/proc/stat") as f:
        fields = f.readline().split()
    # user nice system idle iowait irq softirq steal
    return int(fields[1]) + int(fields[2]) + int(fields[3]) + int(fields[6]) + int(fields[7]) + int(fields[8])


def own_children_cpu_s():
    t = os.times()
    return t.children_user + t.children_system + t.user + t.system


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    s = sorted(values)

    def q(p):
        return s[min(len(s) - 1, int(round((len(s) - 1) * p)))]
    return {"count": len(s), "median": statistics.median(s), "min": s[0], "max": s[-1],
            "p90": q(0.9), "p99": q(0.99), "mean": sum(s) / len(s)}


# --- contention ---------------------------------------------------------------------------

def wait_quiet():
    """bench_wait_quiet of bench-lib.sh: waits (up to BENCH_WAIT_MAX s) while the project's
    tests or a swift build run, or the machine is busier than BENCH_QUIET_CORES. Returns the
    seconds waited."""
    if SMOKE or os.environ.get("BENCH_WAIT_MAX", "") == "0":
        return 0
    try:
        return int(shell("bench_wait_quiet") or 0)
    except (subprocess.CalledProcessError, ValueError):
        return 0


def busy_processes():
    """Names of processes matching BENCH_BUSY_PATTERN right now (to say who contended)."""
    pattern = os.environ.get("BENCH_BUSY_PATTERN", "monPackageTests|swift-build")
    r = subprocess.run(["pgrep", "-f", pattern], stdout=subprocess.PIPE, text=True)
    names = set()
    for pid in r.stdout.split():
        try:
            with open("/proc/%s/comm" % pid) as f:
                names.add(f.read().strip())
        except OSError:
            pass
    return sorted(names)


class Part:
    """One timed part: waits for a quiet machine first, then records the wall time, the
    machine's busy CPU, ours (the given process trees + this script's children) and the
    rest ("others"): contended when others averaged more than CONTENDED_CORES cores."""

    def __init__(self, name, pids=(), wait=True):
        self.name = name
        self.pids = list(pids)
        self.waited = wait_quiet() if wait else 0
        self.result = None

    def __enter__(self):
        self.busy_before = busy_processes()
        self.t0 = time.monotonic()
        self.m0 = machine_busy_ticks()
        self.o0 = sum(tree_ticks(p) for p in self.pids)
        self.c0 = own_children_cpu_s()
        return self

    def add_pid(self, pid):
        self.pids.append(pid)
        self.o0 += tree_ticks(pid)

    def __exit__(self, *exc):
        wall = time.monotonic() - self.t0
        machine = (machine_busy_ticks() - self.m0) / CLK_TCK
        ours = (sum(tree_ticks(p) for p in self.pids) - self.o0) / CLK_TCK + (own_children_cpu_s() - self.c0)
        others = machine - ours
        self.result = {
            "part": self.name, "wall_s": round(wall, 3), "machine_busy_cpu_s": round(machine, 2),
            "ours_cpu_s": round(ours, 2), "others_cpu_s": round(others, 2),
            "others_cores": round(others / wall, 3) if wall > 0 else None,
            "waited_s": self.waited, "loadavg_after": loadavg(),
            "busy_processes": sorted(set(self.busy_before) | set(busy_processes())),
        }
        self.result["contended"] = bool(wall > 0 and others / wall > CONTENDED_CORES)
        if self.result["contended"]:
            log("part %s: CONTENDED (others %.2f cores: %s)" % (self.name, others / wall,
                                                                ", ".join(self.result["busy_processes"]) or "?"))
        return False


# --- processes we start -------------------------------------------------------------------

class Stack:
    """Private PostgreSQL / Redis / monquery / other processes, all stopped at exit."""

    def __init__(self, name):
        self.tmp = tempfile.mkdtemp(prefix="bench-%s." % name, dir="/tmp")
        os.chmod(self.tmp, 0o755)
        self.logs = os.path.join(self.tmp, "logs")
        os.makedirs(self.logs)
        self.procs = []
        self.pg_dir = None
        self.redis_dir = None
        self.pg_port = None
        self.redis_port = None
        self.query = None
        atexit.register(self.stop)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._signal)

    def _signal(self, signum, frame):
        self.stop()
        sys.exit(128 + signum)

    # PostgreSQL
    def start_postgres(self, database="mon"):
        self.pg_port = free_port()
        self.pg_dir = os.path.join(self.tmp, "pg")
        log("starting PostgreSQL 15 on 127.0.0.1:%d (fsync off)" % self.pg_port)
        shell("mon_pg_start", self.pg_dir, str(self.pg_port), capture=False)
        subprocess.run([PG_BIN + "/createdb", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres",
                        database], check=True)
        return self.pg_port

    @property
    def pg_pid(self):
        with open(os.path.join(self.pg_dir, "data", "postmaster.pid")) as f:
            return int(f.readline())

    def database_url(self, database="mon"):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.pg_port, database)

    def psql(self, sql, database="mon", timing=False):
        """Runs SQL (stdin); returns stdout (tuples only, unaligned, tab-separated)."""
        args = [PG_BIN + "/psql", "-X", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", "-d",
                database, "-qtA", "-F", "\t", "-v", "ON_ERROR_STOP=1"]
        r = subprocess.run(args, input=("\\timing on\n" if timing else "") + sql, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError("psql failed: %s\n%s" % (r.stderr.strip(), sql[:500]))
        return r.stdout.strip()

    # Redis
    def start_redis(self):
        self.redis_port = free_port()
        self.redis_dir = os.path.join(self.tmp, "redis")
        log("starting redis-server on 127.0.0.1:%d" % self.redis_port)
        shell("mon_redis_start", self.redis_dir, str(self.redis_port), capture=False)
        return self.redis_port

    @property
    def redis_pid(self):
        with open(os.path.join(self.redis_dir, "redis.pid")) as f:
            return int(f.read().strip())

    # Any process
    def spawn(self, name, args, env=None, cwd=None):
        out = open(os.path.join(self.logs, name + ".log"), "w")
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                stdin=subprocess.DEVNULL)
        proc.bench_name = name
        self.procs.append(proc)
        return proc

    def check_alive(self, proc):
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s; log:\n%s" % (proc.bench_name, proc.returncode,
                                                                self.log_tail(proc.bench_name)))

    def log_tail(self, name, lines=30):
        try:
            with open(os.path.join(self.logs, name + ".log")) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    # monquery
    def start_monquery(self, extra_env=None):
        env = dict(os.environ)
        env.update({
            "MONQUERY_DATABASE_URL": self.database_url(),
            "MONQUERY_INGEST_SOCKET": os.path.join(self.tmp, "ingest.sock"),
            "MONQUERY_HTTP_LISTEN": "127.0.0.1:%d" % free_port(),
        })
        env.update(extra_env or {})
        empty = os.path.join(self.tmp, "empty.yaml")
        open(empty, "w").close()
        self.ingest_socket = env["MONQUERY_INGEST_SOCKET"]
        self.http = "http://" + env["MONQUERY_HTTP_LISTEN"]
        log("starting monquery (%s, ingest %s)" % (self.http, self.ingest_socket))
        self.query = self.spawn("monquery", [os.path.join(BIN, "monquery"), "serve", "--config", empty], env=env)
        for _ in range(300):
            self.check_alive(self.query)
            if os.path.exists(self.ingest_socket):
                try:
                    urllib.request.urlopen(self.http + "/health", timeout=2).read()
                    return self.query
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError("monquery did not come up:\n" + self.log_tail("monquery"))

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs = []
        if self.redis_dir:
            subprocess.run(["bash", "-c", '. "$1/scripts/lib.sh"; mon_redis_stop "$2"', "_", REPO,
                            self.redis_dir], check=False)
            self.redis_dir = None
        if self.pg_dir:
            subprocess.run(["bash", "-c", '. "$1/scripts/lib.sh"; mon_pg_stop "$2"', "_", REPO, self.pg_dir],
                           check=False)
            self.pg_dir = None
        if self.tmp and os.path.isdir(self.tmp):
            keep = os.environ.get("BENCH_KEEP_LOGS")
            if keep:
                subprocess.run(["cp", "-r", self.logs, keep], check=False)
            subprocess.run(["rm", "-rf", self.tmp], check=False)
            self.tmp = None


def monbench(*args, timeout=None):
    """Runs mon-bench and returns its JSON output."""
    r = subprocess.run([os.path.join(BIN, "mon-bench"), *map(str, args)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("mon-bench %s failed (%d): %s %s" % (args[0], r.returncode, r.stderr.strip(),
                                                                r.stdout[-2000:]))
    return json.loads(r.stdout)


def http_get(url, timeout=10, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()


def describe_machine():
    """bench_describe of bench-lib.sh as a dict (machine, toolchain, binaries, load)."""
    text = shell("bench_describe", BIN)
    info = {}
    for line in text.splitlines():
        if ": " in line:
            key, value = line.split(": ", 1)
            info[key] = value
    return info


def write_result(part, data):
    os.makedirs(RESULTS_DIR, exist_ok=True)
    path = os.path.join(RESULTS_DIR, "%s-%s.json" % (part, STAMP))
    data = dict(data)
    data.setdefault("part", part)
    data.setdefault("smoke", SMOKE)
    data.setdefault("stamp", STAMP)
    data["command"] = os.environ.get("BENCH_COMMAND", "bench/run %s" % part)
    with open(path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    log("results: %s" % path)
    return path
