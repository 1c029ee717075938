#!/usr/bin/env python3
"""bench/run part `page`: a full dashboard page in headless Chromium (issue 21's target:
every fragment loaded in <= 500 ms), on the data set of the `api` part (API_DAYS (7) days
for API_HOSTS (10) hosts, the same generator and rollups: part_api.py).

What "every fragment loaded" means here: the dashboard renders every fragment of a page on
the server (`renderAll` in Sources/MonQuery/DashboardPanels.swift) and sends them in the one
HTML document; the page's only other requests are its style sheet and script
(`/ui/assets/…`), and its script opens the live log stream (SSE, which never ends and is not
waited for) and refreshes the fragments every 5 s. So a load is timed from navigation start
to the end of the window's `load` event (Navigation Timing `loadEventEnd`: the document, the
style sheet and the script fetched, parsed and run), and the harness then checks that the
DOM holds every fragment of the page (`data-fragment` ids, the list of
`dashboardFragments` in Sources/MonQuery/API+Dashboard.swift); a load without them fails
the run. Beside the total, each load records the server's part (`requestStart` →
`responseStart`: the HTML is sent only once every fragment is rendered) and the
document's transfer (`responseStart` → `responseEnd`), so the browser's share is the rest.

The browser: one `chromium --headless=new` for the whole part, driven over the Chrome
DevTools Protocol with the small stdlib WebSocket client below (no package to install),
browser cache disabled (every load fetches the assets too), window 1280 × 2000. It logs in
like a person once (POST /ui/login with the admin token; the session cookie is then set in
the browser). Each page and period is loaded PAGE_WARMUP (2) times untimed, then PAGE_LOADS
(20; smoke 3) times, with the response cache off (`http.response_cache_ms` 0: every load
runs its queries) and then on (the default, 2 000 ms: loads within 2 s of an earlier one
share its answers), monquery restarted between the two.

Settings: PAGE_LOADS (20; smoke 3), PAGE_WARMUP (2; smoke 1), PAGE_PERIODS (1h,24h,7d, the
ones within API_DAYS), PAGE_ONLY (comma-separated page names), CHROMIUM (chromium), and the
data settings of part_api.py.
"""
import base64
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402
import part_api as A  # noqa: E402

LOADS = int(os.environ.get("PAGE_LOADS", "3" if B.SMOKE else "20"))
WARMUP = int(os.environ.get("PAGE_WARMUP", "1" if B.SMOKE else "2"))
CHROMIUM = os.environ.get("CHROMIUM", "chromium")
TARGET_MS = 500.0

# The built-in pages and their fragments (API.dashboardFragments).
PAGES = {
    "advanced": ["health-badge", "alerts", "anomalies", "card-api", "card-redis", "card-postgres", "card-system",
                 "chart-latency", "redis-hit-rate", "slow-queries", "logs"],
    "api": ["health-badge", "alerts", "card-api", "chart-latency", "chart-traffic", "endpoints", "top-errors"],
    "redis": ["health-badge", "alerts", "card-redis", "redis-hit-rate", "chart-redis", "redis-slowlog"],
    "postgres": ["health-badge", "alerts", "card-postgres", "chart-postgres", "slow-queries", "postgres-tables",
                 "postgres-indexes"],
    "logs": ["health-badge", "logs"],
}


def periods(days):
    wanted = os.environ.get("PAGE_PERIODS", "1h,24h,7d").split(",")
    return [p for p, d in (("1h", 0), ("24h", 1), ("7d", 7)) if d <= days and p in wanted]


def page_urls(days):
    only = [n for n in os.environ.get("PAGE_ONLY", "").split(",") if n]
    out = []
    for page in PAGES:
        if only and page not in only:
            continue
        # The log page shows the live stream and the latest records: the period does not apply.
        for period in (["1h"] if page == "logs" else periods(days)):
            out.append(("%s_%s" % (page, period), page, "/ui/monitoring/%s?period=%s" % (page, period)))
    return out


# --- a minimal WebSocket client (RFC 6455, text frames, client-masked) for the DevTools protocol ---

class WebSocket:
    def __init__(self, url, timeout=60):
        parsed = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((parsed.hostname, parsed.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
            % (parsed.path, parsed.hostname, parsed.port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("DevTools closed the WebSocket handshake")
            head += chunk
        head, self.buffer = head.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError("DevTools refused the WebSocket: %r" % head[:200])
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        if accept not in head:
            raise RuntimeError("DevTools answered a wrong Sec-WebSocket-Accept")

    def send(self, text):
        payload = text.encode()
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("DevTools closed the WebSocket")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def receive(self):
        message = b""
        while True:
            first, second = self._read(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if second & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = first & 0x0F
            if opcode == 0x8:
                raise RuntimeError("DevTools closed the WebSocket")
            if opcode in (0x9, 0xA):   # ping / pong: not used by DevTools
                continue
            message += payload
            if first & 0x80:
                return message.decode()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class DevTools:
    """One page target of a headless Chromium."""

    def __init__(self, stack):
        self.profile = tempfile.mkdtemp(prefix="page-chromium-", dir=stack.tmp)
        args = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--hide-scrollbars", "--mute-audio",
                "--disable-background-networking", "--disable-extensions", "--window-size=1280,2000",
                "--remote-debugging-port=0", "--remote-allow-origins=*", "--user-data-dir=" + self.profile,
                "about:blank"]
        self.log_path = os.path.join(stack.tmp, "chromium.log")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(self.log_path, "w"))
        stack.procs.append(self.proc)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        for _ in range(300):
            if self.proc.poll() is not None:
                raise RuntimeError("chromium exited: " + open(self.log_path).read()[-2000:])
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("chromium did not open its DevTools port")
        port = int(open(port_file).read().split()[0])
        targets = json.loads(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10).read())
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = WebSocket(page["webSocketDebuggerUrl"])
        self.next_id = 0
        self.events = []
        self.version = json.loads(urllib.request.urlopen("http://127.0.0.1:%d/json/version" % port,
                                                         timeout=10).read()).get("Browser")
        self.call("Page.enable")
        self.call("Network.enable")
        self.call("Network.setCacheDisabled", cacheDisabled=True)

    def call(self, method, **params):
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError("%s: %s" % (method, message["error"]))
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_event(self, method, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event["method"] == method:
                    del self.events[:i + 1]
                    return event
            self.events = []
            if time.monotonic() > deadline:
                raise RuntimeError("no %s within %d s" % (method, timeout))
            message = json.loads(self.ws.receive())
            if "method" in message:
                self.events.append(message)

    def close(self):
        self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# Runs after the load event: the Navigation Timing of the document and the fragments in the DOM.
PROBE = """(async () => {
  await new Promise(r => setTimeout(r, 0));
  const n = performance.getEntriesByType('navigation')[0];
  return JSON.stringify({
    path: location.pathname, status: n.responseStatus || null,
    request_start: n.requestStart, response_start: n.responseStart, response_end: n.responseEnd,
    dom_interactive: n.domInteractive, dom_content_loaded: n.domContentLoadedEventEnd, load_end: n.loadEventEnd,
    html_bytes: n.encodedBodySize,
    fragments: Array.from(document.querySelectorAll('[data-fragment]'), e => e.getAttribute('data-fragment')),
    resources: performance.getEntriesByType('resource').map(r => [r.name.replace(location.origin, ''),
        Math.round(r.startTime * 10) / 10, Math.round(r.responseEnd * 10) / 10])});
})()"""


def login(http):
    """The session cookie of an admin login (the dashboard's form, without following its redirect)."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None
    body = urllib.parse.urlencode({"token": A.ADMIN_TOKEN, "next": "/ui/monitoring/advanced"}).encode()
    request = urllib.request.Request(http + "/ui/login", data=body, method="POST")
    try:
        urllib.request.build_opener(NoRedirect).open(request, timeout=30)
        raise RuntimeError("/ui/login did not redirect")
    except urllib.error.HTTPError as e:
        if e.code != 303:
            raise RuntimeError("/ui/login answered %d" % e.code)
        cookie = e.headers.get("Set-Cookie", "")
    name, value = cookie.split(";", 1)[0].split("=", 1)
    return name, value


def load(browser, url, expected):
    t0 = time.monotonic()
    browser.call("Page.navigate", url=url)
    browser.wait_event("Page.loadEventFired")
    probe = json.loads(browser.call("Runtime.evaluate", expression=PROBE, awaitPromise=True,
                                    returnByValue=True)["result"]["value"])
    wall_ms = (time.monotonic() - t0) * 1000
    missing = [f for f in expected if f not in probe["fragments"]]
    if missing or not probe["path"].startswith("/ui/monitoring/"):
        raise RuntimeError("%s: fragments missing %s (landed on %s)" % (url, missing, probe["path"]))
    return {
        "page_ms": probe["load_end"], "server_ms": probe["response_start"] - probe["request_start"],
        "document_ms": probe["response_end"] - probe["response_start"],
        "browser_ms": probe["load_end"] - probe["response_end"],
        "dom_content_loaded_ms": probe["dom_content_loaded"], "request_start_ms": probe["request_start"],
        "wall_ms": wall_ms, "html_bytes": probe["html_bytes"], "resources": probe["resources"],
    }


def summarise(loads):
    out = {"loads": len(loads)}
    for key in ("page_ms", "server_ms", "document_ms", "browser_ms", "request_start_ms", "wall_ms"):
        values = sorted(l[key] for l in loads)
        s = B.stats(values)
        out[key] = {"p50": s["median"], "p99": s["p99"], "mean": s["mean"], "max": s["max"], "min": s["min"]}
    return out


def run_pages(stack, browser, mode, urls):
    results = {}
    for name, page, path in urls:
        B.monbench("push", "--socket", stack.ingest_socket, "--series", 300 * A.HOSTS, "--hosts", A.HOSTS)
        url = stack.http + path
        for _ in range(WARMUP):
            load(browser, url, PAGES[page])
        part = B.Part("page-%s-%s" % (mode, name), pids=[stack.query.pid, stack.pg_pid, browser.proc.pid])
        with part:
            loads = [load(browser, url, PAGES[page]) for _ in range(LOADS)]
        summary = summarise(loads)
        summary.update({"path": path, "fragments": PAGES[page], "contention": part.result,
                        "html_bytes": loads[-1]["html_bytes"], "runs_ms": [round(l["page_ms"], 1) for l in loads],
                        "server_runs_ms": [round(l["server_ms"], 1) for l in loads],
                        "resources_last": loads[-1]["resources"]})
        results[name] = summary
        B.log("page: %-6s %-14s p50 %6.1f ms  p99 %6.1f ms  (server p50 %6.1f p99 %6.1f, browser p50 %5.1f)%s" % (
            mode, name, summary["page_ms"]["p50"], summary["page_ms"]["p99"], summary["server_ms"]["p50"],
            summary["server_ms"]["p99"], summary["browser_ms"]["p50"],
            "  CONTENDED" if part.result["contended"] else ""))
    return results


def target(results):
    misses = {name: r["page_ms"]["p99"] for name, r in results.items() if r["page_ms"]["p99"] > TARGET_MS}
    return {"target": "a full dashboard page (every fragment loaded) p99 <= %d ms" % TARGET_MS,
            "pages": len(results), "within": len(results) - len(misses), "misses_p99_ms": misses, "met": not misses}


def main():
    stack = B.Stack("page")
    stack.start_postgres()
    url = stack.database_url()
    B.monbench("prepare-db", "--database-url", url, "--days-back", A.DAYS + 1)
    B.log("page: generating %d days for %d hosts (%d-s raw samples)" % (A.DAYS, A.HOSTS, A.STEP))
    t0 = time.monotonic()
    counts = A.generate(stack)
    generate_s = time.monotonic() - t0
    t0 = time.monotonic()
    rollup = B.monbench("rollup", "--database-url", url)
    rollup_s = time.monotonic() - t0
    B.log("page: %s generated in %.1f s, rollups in %.1f s" % (counts, generate_s, rollup_s))
    admin_hash = hashlib.sha256(A.ADMIN_TOKEN.encode()).hexdigest()
    urls = page_urls(A.DAYS)
    browser = DevTools(stack)
    B.log("page: %s, %d pages × %d loads" % (browser.version, len(urls), LOADS))
    modes = {}
    for mode, cache_ms in (("cache_off", "0"), ("cache_on", "2000")):
        stack.start_monquery({"MONQUERY_AUTH_ADMIN_TOKENS": "bench-admin:" + admin_hash,
                              "MONQUERY_HTTP_RESPONSE_CACHE_MS": cache_ms})
        name, value = login(stack.http)
        browser.call("Network.clearBrowserCookies")
        browser.call("Network.setCookie", name=name, value=value, url=stack.http + "/ui/", path="/ui",
                     httpOnly=True, sameSite="Strict")
        modes[mode] = {"response_cache_ms": int(cache_ms), "pages": run_pages(stack, browser, mode, urls)}
        stack.check_alive(stack.query)
        stack.query.terminate()
        stack.query.wait(10)
        stack.procs.remove(stack.query)
    browser.close()
    result = {
        "machine": B.describe_machine(),
        "browser": browser.version,
        "settings": {"days": A.DAYS, "hosts": A.HOSTS, "step_s": A.STEP, "statements": A.STATEMENTS,
                     "loads": LOADS, "warmup": WARMUP, "browser_cache": "disabled", "window": "1280x2000",
                     "timed": "navigation start to loadEventEnd (Navigation Timing), every data-fragment present"},
        "data": {"rows": counts, "generate_s": generate_s, "rollup": rollup, "rollup_s": rollup_s},
        "modes": modes,
        "targets": {mode: target(m["pages"]) for mode, m in modes.items()},
    }
    B.write_result("page", result)
    stack.stop()


if __name__ == "__main__":
    main()
