#!/usr/bin/env python3
"""A hostile pass against a running monagent's OTLP/HTTP intake: scripts/hostile-otlp.py PORT

Sends what a broken or hostile client would (truncated protobuf, wrong content types,
huge declared lengths, a gzip bomb, 1000 concurrent connections, a slowloris) and prints
each answer; ends with a valid request, which must still be answered 200. A report for a
person to read (the assertions live in TraceIntakeTests).
"""

import gzip
import socket
import sys
import threading
import time

port = int(sys.argv[1])
# A one-span ExportTraceServiceRequest (protobuf, hand-encoded: resource_spans > scope_spans > span).
span = (
    b"\x0a\x10" + bytes(range(1, 17))  # trace_id
    + b"\x12\x08" + bytes(range(1, 9))  # span_id
    + b"\x2a\x01x"  # name
    + b"\x39" + (1_700_000_000_000_000_000).to_bytes(8, "little")  # start
    + b"\x41" + (1_700_000_000_000_001_000).to_bytes(8, "little")  # end
)
scope = b"\x12" + bytes([len(span)]) + span
resource = b"\x12" + bytes([len(scope)]) + scope
valid = b"\x0a" + bytes([len(resource)]) + resource


def raw(data: bytes, timeout: float = 10, read: bool = True) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if not read:
            return ""
        try:
            answer = s.recv(4096)
        except (ConnectionResetError, socket.timeout) as error:
            return f"<{type(error).__name__}>"
        return answer.split(b"\r\n", 1)[0].decode(errors="replace") or "<closed>"


def post(body: bytes, ctype="application/x-protobuf", extra="", path="/v1/traces", length=None) -> str:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\n{extra}Connection: close\r\n\r\n"
    )
    return raw(head.encode() + body)


def length(n: int) -> bytes:
    """A protobuf varint (the length prefix of a length-delimited field)."""
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def nested_kvlist(depth: int) -> bytes:
    """A span whose one attribute's AnyValue is a kvlist nested `depth` times."""
    value = b"\x0a\x01x"  # AnyValue.string_value
    for _ in range(depth):
        kv = b"\x0a\x01k" + b"\x12" + length(len(value)) + value  # KeyValue{key, value}
        kvlist = b"\x0a" + length(len(kv)) + kv  # KeyValueList.values
        value = b"\x32" + length(len(kvlist)) + kvlist  # AnyValue.kvlist_value = 6
    kv = b"\x0a\x01a\x12" + length(len(value)) + value
    one = span + b"\x4a" + length(len(kv)) + kv  # Span.attributes = 9
    sc = b"\x12" + length(len(one)) + one
    rs = b"\x12" + length(len(sc)) + sc
    return b"\x0a" + length(len(rs)) + rs


def many_spans(count: int) -> bytes:
    spans = b"".join(
        b"\x12" + bytes([len(span)]) + span[:20] + i.to_bytes(8, "big") + span[28:] for i in range(1, count + 1))
    rs = b"\x12" + length(len(spans)) + spans
    return b"\x0a" + length(len(rs)) + rs


def json_span_body(extra: str = "") -> bytes:
    times = '"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000001000"'
    fields = extra if "TimeUnixNano" in extra else (times + ("," + extra if extra else ""))
    return ('{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"x",' + fields + "}").encode()


def json_span(extra: str) -> bytes:
    return b'{"resourceSpans":[{"scopeSpans":[{"spans":[' + json_span_body(extra) + b"]}]}]}"


cases = [
    ("valid protobuf", lambda: post(valid)),
    ("truncated protobuf", lambda: post(valid[:-5])),
    ("protobuf declaring a 2 GiB field", lambda: post(b"\x0a\x80\x80\x80\x80\x08\x01")),
    ("wrong content-type", lambda: post(valid, ctype="text/plain")),
    ("no content-type", lambda: raw(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")),
    ("GET /v1/traces", lambda: raw(b"GET /v1/traces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")),
    ("POST /v1/metrics", lambda: post(valid, path="/v1/metrics")),
    ("declared 10 GiB, 10 bytes sent", lambda: post(b"0123456789", length=10 << 30)),
    ("declared length not a number", lambda: raw(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999999999\r\n\r\n{}")),
    ("gzip bomb (64 MiB of zeros)", lambda: post(gzip.compress(b"\0" * (64 << 20)), extra="Content-Encoding: gzip\r\n")),
    ("corrupt gzip", lambda: post(b"\x1f\x8b\x08\x00garbage", extra="Content-Encoding: gzip\r\n")),
    ("JSON nested 100000 deep", lambda: post(b"[" * 100000, ctype="application/json")),
    ("JSON with a 3 MiB string id", lambda: post(b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"' + b"a" * (3 << 20) + b'"}]}]}]}', ctype="application/json")),
    ("protobuf AnyValue kvlist nested 5000 deep", lambda: post(nested_kvlist(5000))),
    ("protobuf: 60 000 minimal spans in one body (3.5 MB)", lambda: post(many_spans(60_000))),
    ("JSON doubleValue NaN / Infinity / 1e400", lambda: post(json_span('"attributes":[{"key":"a","value":{"doubleValue":"NaN"}},{"key":"b","value":{"doubleValue":"Infinity"}},{"key":"c","value":{"doubleValue":1e400}}]'), ctype="application/json")),
    ("JSON negative and reversed times", lambda: post(json_span('"startTimeUnixNano":"-5","endTimeUnixNano":"-1"'), ctype="application/json")),
    ("JSON end before start", lambda: post(json_span('"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1600000000000000000"'), ctype="application/json")),
    ("JSON all-zero and short ids", lambda: post(b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00000000000000000000000000000000","spanId":"0102","name":"x","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000001000"}]}]}]}', ctype="application/json")),
    ("JSON resource claiming another host", lambda: post(b'{"resourceSpans":[{"resource":{"attributes":[{"key":"host.name","value":{"stringValue":"db-prod-1"}},{"key":"service.name","value":{"stringValue":"evil"}}]},"scopeSpans":[{"spans":[' + json_span_body() + b']}]}]}', ctype="application/json")),
    ("Content-Encoding: br", lambda: post(valid, extra="Content-Encoding: br\r\n")),
    ("Content-Encoding: gzip, gzip", lambda: post(gzip.compress(gzip.compress(valid)), extra="Content-Encoding: gzip, gzip\r\n")),
    ("Content-Length and Transfer-Encoding both", lambda: raw(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\nGET /v1/traces HTTP/1.1\r\n\r\n")),
    ("path with an extra slash and a dot segment", lambda: post(valid, path="//v1/./traces")),
    ("chunked body over the limit", lambda: raw(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(b"100000\r\n" + b" " * 0x100000 + b"\r\n" for _ in range(5)) + b"0\r\n\r\n")),
]
for name, case in cases:
    started = time.time()
    try:
        answer = case()
    except Exception as error:  # noqa: BLE001 - a report, not a test
        answer = f"<{type(error).__name__}: {error}>"
    print(f"| {name} | {answer} | {time.time() - started:.2f} s |")

# 1000 concurrent connections that send nothing: the listener keeps at most max_connections.
held = []
for _ in range(1000):
    try:
        held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    except OSError as error:
        print(f"| connection refused by the kernel | {error} |")
        break
time.sleep(1)
closed = 0
for s in held:
    s.setblocking(False)
    try:
        if s.recv(1) == b"":
            closed += 1
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
print(f"| 1000 idle connections | {closed} closed at once by the agent |")
print(f"| valid request while 1000 are held | {post(valid)} |")
for s in held:
    s.close()

# Slowloris: one header byte every 2 s; the agent closes it at traces.idle_timeout_seconds.
def slowloris(result: list) -> None:
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    started = time.time()
    try:
        for byte in b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            s.send(bytes([byte]))
            time.sleep(2)
    except OSError:
        pass
    result.append(time.time() - started)


result: list = []
thread = threading.Thread(target=slowloris, args=(result,))
thread.start()
thread.join(120)
print(f"| slowloris (a byte every 2 s) | closed after {result[0]:.0f} s |" if result else "| slowloris | still open after 120 s |")
print(f"| valid request at the end | {post(valid)} |")
