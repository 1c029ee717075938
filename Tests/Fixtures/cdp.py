"""Headless Chromium driven over its DevTools pipe (fd 3 in, fd 4 out; no WebSocket client
needed), for the dashboard tests' fixtures: log in through a helper page, evaluate script in
the page, wait for conditions, click like a person would."""
import json
import os
import subprocess
import time


class Chromium:
    def __init__(self, executable, profile, seconds=90):
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()

        def child_fds():
            # Chromium reads commands on fd 3 and writes answers on fd 4.
            read, write = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(read, 3)
            os.dup2(write, 4)

        self.process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
             "--remote-debugging-pipe", "--user-data-dir=" + profile, "about:blank"],
            pass_fds=(3, 4), preexec_fn=child_fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.to_chrome = to_chrome_w
        self.from_chrome = from_chrome_r
        self.buffer = b""
        self.counter = 0
        self.deadline = time.monotonic() + seconds
        self.session = None

    def send(self, method, params=None, session=None):
        self.counter += 1
        message = {"id": self.counter, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            if time.monotonic() > self.deadline:
                raise SystemExit("timed out waiting for " + method)
            while b"\0" not in self.buffer:
                chunk = os.read(self.from_chrome, 65536)
                if not chunk:
                    raise SystemExit("chromium closed the pipe")
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self.counter:
                if "error" in answer:
                    raise RuntimeError(method + ": " + json.dumps(answer["error"]))
                return answer.get("result", {})

    def open(self, url):
        """A new tab on `url`, attached: evaluate() runs in it."""
        target = self.send("Target.createTarget", {"url": url})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def evaluate(self, expression, await_promise=False):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": await_promise, "userGesture": True}, self.session)
        if "exceptionDetails" in result:
            # A script error (an element missing, the page navigating): say which, not a
            # None that fails later with no reason.
            details = result["exceptionDetails"]
            raise RuntimeError("evaluate %r: %s" % (expression[:80], details.get("exception", {}).get(
                "description", details.get("text", "an exception"))))
        return result.get("result", {}).get("value")

    def wait_for(self, condition, what):
        """Until the page is loaded and condition(its URL) holds (it may evaluate in the page)."""
        while time.monotonic() < self.deadline:
            try:
                if self.evaluate("document.readyState") == "complete" and condition(self.evaluate("location.href") or ""):
                    return
            except RuntimeError:
                pass  # the page navigated under the evaluation
            time.sleep(0.2)
        raise SystemExit("timed out waiting for " + what)

    def close(self):
        try:
            self.send("Browser.close")
        except BaseException:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
