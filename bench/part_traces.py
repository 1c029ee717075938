#!/usr/bin/env python3
"""bench/run part `traces` (issue 23): spans per second a release monagent accepts over
OTLP/HTTP and ships to a release monquery, which stores them in a private PostgreSQL 15 —
without loss (every span answered 200 is in the `spans` table afterwards).

The sender is what an OpenTelemetry SDK's BatchSpanProcessor does: POST /v1/traces with
`application/x-protobuf` bodies of 512 spans (its default max_export_batch_size) over a kept
connection, and on 503 (the agent's backlog is full, `traces.max_pending_spans`) waits the
Retry-After and sends the same body again. The bodies are encoded here from the OTLP field
numbers (proto/otlp) — a server span with a Redis GET, a PostgreSQL SELECT (with its
statement, which the agent redacts) and an internal span under it, 128 such traces per body —
with fresh trace and span ids and timestamps patched into a template for every request.

Steps: offered rates (TRACES_RATES, spans/s, paced per request) for TRACES_SECONDS each, then
one flat-out step with TRACES_SENDERS connections. Per step: spans answered 200, answers 503,
the rate achieved, the time until every accepted span is stored, spans lost (accepted and not
stored), and the CPU of monagent, monquery and PostgreSQL.

Target (issue 23): ≥ 20 000 spans/s accepted without loss: the 20 000 spans/s step answers
every request 200 and stores every span.

Settings: TRACES_SECONDS (30; smoke 2), TRACES_RATES ("20000 40000"; smoke "2000"),
TRACES_MAX_SECONDS (30; smoke 2), TRACES_SENDERS (2), TRACES_DRAIN_SECONDS (120).
"""
import http.client
import os
import random
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

SECONDS = float(os.environ.get("TRACES_SECONDS", "2" if B.SMOKE else "30"))
RATES = [int(x) for x in os.environ.get("TRACES_RATES", "2000" if B.SMOKE else "20000 40000").split()]
MAX_SECONDS = float(os.environ.get("TRACES_MAX_SECONDS", "2" if B.SMOKE else "30"))
SENDERS = int(os.environ.get("TRACES_SENDERS", "2"))
DRAIN_SECONDS = float(os.environ.get("TRACES_DRAIN_SECONDS", "120"))
TRACES_PER_BODY = 128
SPANS_PER_TRACE = 4
SPANS_PER_BODY = TRACES_PER_BODY * SPANS_PER_TRACE
TARGET = 20000
HOST = "bench-traces"


# --- protobuf, by field number (proto/otlp) --------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(number, wire):
    return varint(number << 3 | wire)


def length_delimited(number, payload):
    return key(number, 2) + varint(len(payload)) + payload


def any_string(text):
    return length_delimited(1, text.encode())             # AnyValue.string_value = 1


def key_value(name, text):
    return length_delimited(1, name.encode()) + length_delimited(2, any_string(text))   # KeyValue key=1, value=2


def attributes(pairs):
    return b"".join(length_delimited(9, key_value(k, v)) for k, v in pairs)           # Span.attributes = 9


def span(name, kind, child, attrs, error=False):
    """A Span with zero ids and times; the offsets (within it) of its trace id, span id,
    parent span id (children), start and end."""
    out = bytearray()
    offsets = {}
    out += key(1, 2) + varint(16)                         # trace_id = 1
    offsets["trace"] = len(out)
    out += bytes(16)
    out += key(2, 2) + varint(8)                          # span_id = 2
    offsets["span"] = len(out)
    out += bytes(8)
    if child:
        out += key(4, 2) + varint(8)                      # parent_span_id = 4
        offsets["parent"] = len(out)
        out += bytes(8)
    out += length_delimited(5, name.encode())             # name = 5
    out += key(6, 0) + varint(kind)                       # kind = 6 (2 server, 3 client, 1 internal)
    out += key(7, 1)                                      # start_time_unix_nano = 7 (fixed64)
    offsets["start"] = len(out)
    out += bytes(8)
    out += key(8, 1)                                      # end_time_unix_nano = 8 (fixed64)
    offsets["end"] = len(out)
    out += bytes(8)
    out += attributes(attrs)
    if error:
        out += length_delimited(15, key(3, 0) + varint(2))   # status = 15 {code = 3: ERROR}
    return bytes(out), offsets


# One trace: (name, kind, parent index, start offset ns, duration ns, attributes, error).
TRACE = [
    ("GET /api/v1/search", 2, None, 0, 24_000_000,
     [("http.request.method", "GET"), ("http.route", "/api/v1/search"), ("http.response.status_code", "200"),
      ("url.scheme", "http")], False),
    ("GET", 3, 0, 1_000_000, 2_000_000,
     [("db.system", "redis"), ("db.statement", "GET cache:search:42"), ("server.port", "6379")], False),
    ("SELECT", 3, 0, 4_000_000, 15_000_000,
     [("db.system", "postgresql"), ("db.name", "mnemolite"),
      ("db.statement", "SELECT id, title FROM memories WHERE owner = 'alice@example.com' AND score > 0.75")],
     False),
    ("rank results", 1, 0, 20_000_000, 3_000_000, [("results", "25")], False),
]


class Template:
    """One request body (128 traces of 4 spans) and where its ids and times sit."""

    def __init__(self):
        spans = []
        scope = bytearray()
        for t in range(TRACES_PER_BODY):
            for index, (name, kind, parent, offset, duration, attrs, error) in enumerate(TRACE):
                encoded, offsets = span(name, kind, parent is not None, attrs, error)
                head = key(2, 2) + varint(len(encoded))   # ScopeSpans.spans = 2
                base = len(scope) + len(head)
                spans.append((t, index, parent, offset, duration, {k: base + v for k, v in offsets.items()}))
                scope += head + encoded
        scope_head = length_delimited(1, length_delimited(1, b"mon-bench"))   # ScopeSpans.scope.name
        scope_body = scope_head + bytes(scope)
        # ResourceSpans.resource = 1 {Resource.attributes = 1: service.name}
        resource = length_delimited(1, length_delimited(1, key_value("service.name", "mnemolite")))
        scope_field = key(2, 2) + varint(len(scope_body))  # ResourceSpans.scope_spans = 2
        resource_spans = resource + scope_field
        spans_start = len(resource_spans) + len(scope_head)
        resource_spans_all = resource_spans + scope_body
        request_head = key(1, 2) + varint(len(resource_spans_all))   # ExportTraceServiceRequest.resource_spans = 1
        shift = len(request_head) + spans_start
        self.body = bytearray(request_head + resource_spans_all)
        self.spans = [(t, i, p, o, d, {k: shift + v for k, v in offs.items()}) for t, i, p, o, d, offs in spans]

    def fill(self, run, counter, now_ns):
        """The body with ids unique to (run, counter) and times around now."""
        body = bytearray(self.body)
        for t, index, parent, offset, duration, offs in self.spans:
            trace_no = counter * TRACES_PER_BODY + t
            struct.pack_into(">QQ", body, offs["trace"], run, trace_no + 1)
            struct.pack_into(">Q", body, offs["span"], (trace_no << 3) + index + 1)
            if parent is not None:
                struct.pack_into(">Q", body, offs["parent"], (trace_no << 3) + parent + 1)
            start = now_ns - 30_000_000 + offset
            struct.pack_into("<Q", body, offs["start"], start)
            struct.pack_into("<Q", body, offs["end"], start + duration)
        return bytes(body)


class Sender:
    """Counts what the agent answered, across threads."""

    def __init__(self, port, run):
        self.port = port
        self.run = run
        self.lock = threading.Lock()
        self.counter = 0
        self.accepted = 0
        self.refused = 0
        self.errors = []
        self.template = Template()

    def next_body(self):
        with self.lock:
            self.counter += 1
            counter = self.counter
        return self.template.fill(self.run, counter, time.time_ns())

    def post(self, connection, body):
        """Sends until 200 (waiting Retry-After on 503); False on any other answer."""
        while True:
            connection.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                with self.lock:
                    self.accepted += SPANS_PER_BODY
                return True
            if response.status == 503:
                with self.lock:
                    self.refused += 1
                time.sleep(min(1.0, float(response.getheader("Retry-After") or "0.05")))
                continue
            with self.lock:
                self.errors.append(response.status)
            return False

    def paced(self, rate, seconds):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        interval = SPANS_PER_BODY / rate
        start = time.monotonic()
        sent = 0
        while True:
            due = start + sent * interval
            if due - start >= seconds:
                break
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            self.post(connection, self.next_body())
            sent += 1
        connection.close()

    def flat_out(self, seconds, deadline_box):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while time.monotonic() < deadline_box[0]:
            self.post(connection, self.next_body())
        connection.close()


def stored(stack):
    return int(stack.psql("SELECT count(*) FROM spans WHERE host = '%s'" % HOST) or 0)


def step(stack, sender, pids, name, run):
    before_accepted, before_refused = sender.accepted, sender.refused
    base = stored(stack)
    with B.Part("traces-" + name, pids=list(pids.values()), wait=not B.SMOKE) as part:
        t0 = time.monotonic()
        run()
        sent_s = time.monotonic() - t0
        accepted = sender.accepted - before_accepted
        deadline = time.monotonic() + DRAIN_SECONDS
        count = stored(stack) - base
        while count < accepted and time.monotonic() < deadline:
            time.sleep(0.5)
            count = stored(stack) - base
        drained_s = time.monotonic() - t0
    result = {
        "step": name, "seconds": round(sent_s, 3), "spans_accepted": accepted,
        "answers_503": sender.refused - before_refused,
        "accepted_spans_per_second": round(accepted / sent_s, 1) if sent_s > 0 else None,
        "stored": count, "lost": accepted - count, "all_stored_after_s": round(drained_s, 3),
        "stored_spans_per_second": round(count / drained_s, 1) if drained_s > 0 else None,
        "part": part.result,
    }
    B.log("traces %s: %d spans accepted in %.1f s (%.0f/s), %d answers 503, stored %d after %.1f s, lost %d" % (
        name, accepted, sent_s, result["accepted_spans_per_second"] or 0, result["answers_503"], count, drained_s,
        accepted - count))
    return result


def cpu_seconds(pids):
    return {label: B.tree_ticks(pid) / B.CLK_TCK for label, pid in pids.items()}


def main():
    stack = B.Stack("traces")
    stack.start_postgres()
    monquery = stack.start_monquery()
    port = B.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONAGENT_")}
    env.update({
        "MONAGENT_INGEST_SOCKET": stack.ingest_socket, "MONAGENT_INTERVAL": "5", "MONAGENT_HOST": HOST,
        "MONAGENT_AGENT_ID": "bench-traces", "MONAGENT_STATE_DIR": stack.tmp,
        "MONAGENT_SPOOL_DIRECTORY": os.path.join(stack.tmp, "spool"), "MONAGENT_STATSD_ADDRESS": "",
        "MONAGENT_COLLECTORS": "cpu", "MONAGENT_TRACES_ENABLED": "true",
        "MONAGENT_TRACES_OTLP_LISTEN": "127.0.0.1:%d" % port, "MALLOC_ARENA_MAX": "2",
    })
    agent = stack.spawn("monagent", [os.path.join(B.BIN, "monagent"), "run"], env=env)
    for _ in range(300):
        stack.check_alive(agent)
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            break
        except OSError:
            time.sleep(0.1)
    else:
        raise RuntimeError("monagent's OTLP listener did not come up:\n" + stack.log_tail("monagent"))
    pids = {"monagent": agent.pid, "monquery": monquery.pid, "postgres": stack.pg_pid}
    sender = Sender(port, run=random.getrandbits(63))
    # Warm-up: the first spans create today's partition and the statements' plans.
    sender.post(http.client.HTTPConnection("127.0.0.1", port, timeout=30), sender.next_body())
    # Stored before the first step counts (a late warm-up body made a step count another's spans).
    deadline = time.monotonic() + DRAIN_SECONDS
    while stored(stack) < sender.accepted and time.monotonic() < deadline:
        time.sleep(0.2)

    steps = []
    for rate in RATES:
        before = cpu_seconds(pids)
        result = step(stack, sender, pids, "paced-%d" % rate, lambda: sender.paced(rate, SECONDS))
        after = cpu_seconds(pids)
        result["offered_spans_per_second"] = rate
        result["cpu_s"] = {k: round(after[k] - before[k], 2) for k in pids}
        steps.append(result)
        stack.check_alive(agent)

    def flat_out():
        deadline = [time.monotonic() + MAX_SECONDS]
        threads = [threading.Thread(target=sender.flat_out, args=(MAX_SECONDS, deadline)) for _ in range(SENDERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    before = cpu_seconds(pids)
    result = step(stack, sender, pids, "flat-out", flat_out)
    after = cpu_seconds(pids)
    result["senders"] = SENDERS
    result["cpu_s"] = {k: round(after[k] - before[k], 2) for k in pids}
    steps.append(result)
    stack.check_alive(agent)
    if sender.errors:
        raise RuntimeError("the agent answered %s; log:\n%s" % (sorted(set(sender.errors)), stack.log_tail("monagent")))

    target_step = next((s for s in steps if s.get("offered_spans_per_second") == TARGET), None)
    met = None
    if target_step is not None:
        met = (target_step["lost"] == 0 and target_step["answers_503"] == 0
               and target_step["accepted_spans_per_second"] >= 0.97 * TARGET)
    best = max((s for s in steps if s["lost"] == 0), key=lambda s: s["accepted_spans_per_second"] or 0, default=None)
    B.write_result("traces", {
        "machine": B.describe_machine(),
        "settings": {"seconds": SECONDS, "rates": RATES, "max_seconds": MAX_SECONDS, "senders": SENDERS,
                     "spans_per_request": SPANS_PER_BODY, "drain_seconds": DRAIN_SECONDS},
        "steps": steps,
        "best_lossless_spans_per_second": best["accepted_spans_per_second"] if best else None,
        "targets": {"traces": {"target": "≥ %d spans/s accepted without loss" % TARGET, "met": met}},
    })


if __name__ == "__main__":
    main()
