#!/usr/bin/env python3
"""Drives headless Chromium over its DevTools pipe (no WebSocket client needed): opens the
login helper page (which logs in and lands on the dashboard), then chooses a range in the
dashboard's picker like a person would: the period selector (its change event, handled by
dashboard.js), then the custom range form. Prints, as JSON, what the page showed after each
step: its URL, the selector's value, the range note and the text of the latency panel.

Usage: dashboard-picker.py CHROMIUM LOGIN_URL PROFILE_DIR CUSTOM_FROM CUSTOM_TO
(CUSTOM_* as a datetime-local input takes them: 2026-12-05T09:00:00)."""
import json
import os
import subprocess
import sys
import time


def main():
    chromium, login, profile, custom_from, custom_to = sys.argv[1:6]
    to_chrome_r, to_chrome_w = os.pipe()
    from_chrome_r, from_chrome_w = os.pipe()

    def child_fds():
        # Chromium reads commands on fd 3 and writes answers on fd 4.
        read, write = os.dup(to_chrome_r), os.dup(from_chrome_w)
        os.dup2(read, 3)
        os.dup2(write, 4)

    process = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
         "--remote-debugging-pipe", "--user-data-dir=" + profile, "about:blank"],
        pass_fds=(3, 4), preexec_fn=child_fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(to_chrome_r)
    os.close(from_chrome_w)
    buffer = b""
    counter = [0]
    deadline = time.monotonic() + 90

    def send(method, params=None, session=None):
        nonlocal buffer
        counter[0] += 1
        message = {"id": counter[0], "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(to_chrome_w, json.dumps(message).encode() + b"\0")
        while True:
            if time.monotonic() > deadline:
                raise SystemExit("timed out waiting for " + method)
            while b"\0" not in buffer:
                chunk = os.read(from_chrome_r, 65536)
                if not chunk:
                    raise SystemExit("chromium closed the pipe")
                buffer += chunk
            raw, buffer = buffer.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == counter[0]:
                if "error" in answer:
                    raise RuntimeError(method + ": " + json.dumps(answer["error"]))
                return answer.get("result", {})

    try:
        target = send("Target.createTarget", {"url": login})["targetId"]
        session = send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

        def evaluate(expression):
            result = send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
            if "exceptionDetails" in result:
                # A script error (an element missing, the page navigating): say which, not a
                # None that fails later with no reason.
                details = result["exceptionDetails"]
                raise RuntimeError("evaluate %r: %s" % (expression[:80], details.get("exception", {}).get(
                    "description", details.get("text", "an exception"))))
            return result.get("result", {}).get("value")

        def wait_for(condition, what):
            while time.monotonic() < deadline:
                try:
                    if evaluate("document.readyState") == "complete" and condition(evaluate("location.href") or ""):
                        return
                except RuntimeError:
                    pass  # the page navigated under the evaluation
                time.sleep(0.2)
            raise SystemExit("timed out waiting for " + what)

        def snapshot():
            # The latency panel once it has text: a CI run read it empty once, right after the
            # custom range's page loaded (stop 40).
            wait_for(lambda url: evaluate(
                "(document.getElementById('chart-latency') || {textContent: ''}).textContent.trim() !== ''"),
                "the latency panel's text")
            return json.loads(evaluate(
                "JSON.stringify({url: location.href, select: document.getElementById('period').value, "
                "note: document.querySelector('.period-note').textContent, "
                "latency: (document.getElementById('chart-latency') || {textContent: ''}).textContent})"))

        steps = []
        # The login page's own URL names the dashboard in its `next=`: wait for the path itself.
        wait_for(lambda url: url.split("?")[0].endswith("/ui/monitoring/advanced"), "the dashboard after login")
        steps.append(snapshot())
        evaluate("var s = document.getElementById('period'); s.value = '6h'; "
                 "s.dispatchEvent(new Event('change')); true")
        wait_for(lambda url: "period=6h" in url, "the period selector's page")
        steps.append(snapshot())
        evaluate("document.querySelector('.custom-range').open = true; "
                 "document.getElementById('range-from').value = %s; "
                 "document.getElementById('range-to').value = %s; "
                 "document.querySelector('form.range').requestSubmit(); true"
                 % (json.dumps(custom_from), json.dumps(custom_to)))
        wait_for(lambda url: "from=" in url, "the custom range's page")
        steps.append(snapshot())
        print(json.dumps(steps))
    finally:
        try:
            send("Browser.close")
        except BaseException:
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    main()
