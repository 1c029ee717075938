#!/usr/bin/env python3
"""Drives headless Chromium over its DevTools pipe (no WebSocket client needed): opens the
login helper page (which logs in and lands on the dashboard), then chooses a range in the
dashboard's picker like a person would: the period selector (its change event, handled by
dashboard.js), then the custom range form. Prints, as JSON, what the page showed after each
step: its URL, the selector's value, the range note and the text of the latency panel.

Usage: dashboard-picker.py CHROMIUM LOGIN_URL PROFILE_DIR CUSTOM_FROM CUSTOM_TO
(CUSTOM_* as a datetime-local input takes them: 2026-12-05T09:00:00)."""
import json
import sys

from cdp import Chromium


def main():
    chromium, login, profile, custom_from, custom_to = sys.argv[1:6]
    browser = Chromium(chromium, profile)
    evaluate, wait_for = browser.evaluate, browser.wait_for
    try:
        browser.open(login)

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
        browser.close()


if __name__ == "__main__":
    main()
