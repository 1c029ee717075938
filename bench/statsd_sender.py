#!/usr/bin/env python3
"""Paced StatsD/DogStatsD load generator (python3 standard library only).

Sends datagrams of K lines each to 127.0.0.1:PORT at a target rate of *lines* per
second for a fixed duration, paced with a token bucket, then prints what it actually
sent as one JSON object on stdout:

    {"lines": ..., "datagrams": ..., "errors": ..., "seconds": ..., "cpu_seconds": ...}

The lines look like what a FastAPI application instrumented with DogStatsD sends:
request timers with endpoint/method/status tags (the agent's request metric), plus
counters, gauges, histograms and a few other timers. A pool of datagrams is built
before sending starts so that the send loop does nothing but pace and send.

On Linux the datagrams go out with sendmmsg(2), up to 256 per call, called through
ctypes (still the standard library only): one send() per datagram costs the Python
interpreter about 5 µs, which capped this sender at about 180 000 datagrams/s on a
quiet core, below the rates the agent is asked to take. `--method send` keeps the
one-call-per-datagram loop (and is used where sendmmsg is not available).

Usage: statsd_sender.py --port PORT --rate LINES_PER_S --duration SECONDS
                        [--lines-per-datagram K] [--host 127.0.0.1] [--seed N]
                        [--method sendmmsg|send]
"""

import argparse
import ctypes
import json
import os
import random
import socket
import sys
import time

ENDPOINTS = [
    "/v1/search/hybrid",
    "/v1/search/vector",
    "/v1/memories",
    "/v1/memories/{id}",
    "/v1/events",
    "/v1/code/index",
    "/v1/code/search",
    "/health",
]
METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
STATUSES = ["200", "200", "200", "200", "201", "204", "400", "404", "500"]


def make_line(rng: random.Random) -> str:
    """One realistic DogStatsD line."""
    endpoint = rng.choice(ENDPOINTS)
    method = rng.choice(METHODS)
    status = rng.choice(STATUSES)
    kind = rng.random()
    if kind < 0.50:
        # The request timer the agent turns into mon_app_request_duration_seconds.
        return "http.request.duration:%.3f|ms|#endpoint:%s,method:%s,status:%s" % (
            rng.lognormvariate(2.5, 0.8), endpoint, method, status)
    if kind < 0.65:
        return "http.requests:1|c|#endpoint:%s,method:%s,status:%s" % (endpoint, method, status)
    if kind < 0.75:
        return "embedding.duration:%.3f|ms|#model:nomic-embed-text,batch:%d" % (
            rng.lognormvariate(3.0, 0.5), rng.choice([1, 8, 32]))
    if kind < 0.85:
        return "search.results:%d|h|#endpoint:%s,mode:%s" % (
            rng.randint(0, 50), endpoint, rng.choice(["hybrid", "vector", "lexical"]))
    if kind < 0.95:
        return "db.pool.in_use:%d|g|#pool:%s" % (rng.randint(0, 20), rng.choice(["read", "write"]))
    return "cache.hit:1|c|@0.5|#cache:%s" % rng.choice(["embeddings", "queries", "sessions"])


def build_pool(k: int, count: int, seed: int) -> list:
    """`count` distinct datagrams of `k` newline-separated lines each."""
    rng = random.Random(seed)
    pool = []
    for _ in range(count):
        pool.append("\n".join(make_line(rng) for _ in range(k)).encode())
    return pool


class _IOVec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [
        ("msg_name", ctypes.c_void_p), ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.POINTER(_IOVec)), ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p), ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    ]


class _MMsgHdr(ctypes.Structure):
    _fields_ = [("msg_hdr", _MsgHdr), ("msg_len", ctypes.c_uint)]


def mmsg_sender(sock: socket.socket, pool: list):
    """A function send(index, n) -> (sent, errors) that sends pool[index:index+n] (n <= len(pool))
    with one sendmmsg call per run of successes, or None where sendmmsg is not available."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        sendmmsg = libc.sendmmsg
    except (OSError, AttributeError):
        return None
    sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
    sendmmsg.restype = ctypes.c_int
    buffers = [ctypes.create_string_buffer(d, len(d)) for d in pool]
    iovecs = (_IOVec * len(pool))()
    for i, (b, d) in enumerate(zip(buffers, pool)):
        iovecs[i].iov_base = ctypes.addressof(b)
        iovecs[i].iov_len = len(d)
    # The pool twice over, so that any run of up to len(pool) datagrams is contiguous.
    headers = (_MMsgHdr * (2 * len(pool)))()
    for i in range(2 * len(pool)):
        headers[i].msg_hdr.msg_iov = ctypes.pointer(iovecs[i % len(pool)])
        headers[i].msg_hdr.msg_iovlen = 1
    base = ctypes.addressof(headers)
    size = ctypes.sizeof(_MMsgHdr)
    fd = sock.fileno()

    def send(index: int, n: int):
        sent = errors = 0
        while n > 0:
            r = sendmmsg(fd, base + index * size, n, 0)
            if r < 0:
                # The first datagram of the run failed (e.g. ECONNREFUSED from an earlier ICMP
                # error): counted and skipped, like a failed send().
                r, errors = 0, errors + 1
                index, n = index + 1, n - 1
            sent += r
            index, n = index + r, n - r
        return sent, errors

    send.keep = (buffers, iovecs, headers)
    return send


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True, help="target lines per second")
    parser.add_argument("--duration", type=float, required=True, help="seconds to send")
    parser.add_argument("--lines-per-datagram", "-k", type=int, default=1)
    parser.add_argument("--burst-ms", type=float, default=10.0,
                        help="token bucket depth, in milliseconds of the target rate (default 10)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--method", choices=("sendmmsg", "send"), default="sendmmsg",
                        help="sendmmsg(2) through ctypes, up to 256 datagrams a call (default), or one send() each")
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.host.startswith("127."):
        print("refusing to send anywhere but loopback", file=sys.stderr)
        return 2
    k = max(1, args.lines_per_datagram)

    pool = build_pool(k, 1024, args.seed)
    pool_len = len(pool)
    datagram_rate = args.rate / k  # datagrams per second
    capacity = max(1.0, datagram_rate * args.burst_ms / 1000.0)

    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    sock.connect((args.host, args.port))
    send = sock.send
    send_many = mmsg_sender(sock, pool) if args.method == "sendmmsg" else None
    method = "sendmmsg" if send_many else "send"
    now = time.perf_counter
    sleep = time.sleep

    sent = 0
    errors = 0
    index = 0
    tokens = 0.0
    cpu_start = os.times()
    start = now()
    last = start
    deadline = start + args.duration
    while True:
        t = now()
        if t >= deadline:
            break
        tokens = min(capacity, tokens + (t - last) * datagram_rate)
        last = t
        n = min(int(tokens), 256)  # re-check the clock at least every 256 datagrams
        if n <= 0:
            # Wait for about one datagram's worth of tokens (the OS rounds to ~0.1 ms+).
            sleep(min(0.001, (1.0 - tokens) / datagram_rate))
            continue
        tokens -= n
        if send_many:
            done, failed = send_many(index, n)
            sent += done
            errors += failed
            index = (index + n) % pool_len
            continue
        for _ in range(n):
            try:
                send(pool[index])
                sent += 1
            except OSError:
                errors += 1
            index += 1
            if index == pool_len:
                index = 0
    elapsed = now() - start
    cpu_end = os.times()
    sock.close()
    cpu = (cpu_end.user - cpu_start.user) + (cpu_end.system - cpu_start.system)
    print(json.dumps({
        "lines": sent * k,
        "datagrams": sent,
        "errors": errors,
        "seconds": round(elapsed, 3),
        "lines_per_second": round(sent * k / elapsed, 1) if elapsed > 0 else 0,
        "cpu_seconds": round(cpu, 3),
        "target_lines_per_second": args.rate,
        "lines_per_datagram": k,
        "method": method,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
