#!/usr/bin/env python3
"""Drives headless Chromium (Tests/Fixtures/cdp.py) through the dashboard's log pane like an
operator: expands a row to its whole JSON, copies its trace id, waits for a record the stream
brings and expands it, then filters by clicking a field of the JSON and a row's service.
Prints, as JSON, what the page showed at each step.

Usage: dashboard-logs.py CHROMIUM LOGIN_URL PROFILE_DIR READY_FILE SCREENSHOT
(SCREENSHOT: a PNG of the page with the first row and the streamed one expanded).
After the first steps it creates READY_FILE and waits for a row whose event is `live_event`:
the test stores that record once the file exists."""
import base64
import json
import sys
from urllib.parse import urlsplit

from cdp import Chromium

ROWS = "document.querySelectorAll('.log-pane tbody tr[data-id]')"


def row_with(event):
    return ("Array.from(%s).find(function (r) { return r.querySelector('.msg').textContent.indexOf(%s) === 0; })"
            % (ROWS, json.dumps(event)))


def main():
    chromium, login, profile, ready, screenshot = sys.argv[1:6]
    browser = Chromium(chromium, profile, seconds=150)
    evaluate, wait_for = browser.evaluate, browser.wait_for
    out = {}
    try:
        browser.open(login)
        wait_for(lambda url: urlsplit(url).path == "/ui/monitoring/logs" and evaluate(ROWS + ".length") >= 3,
                 "the logs page with its rows")
        origin = "%s://%s" % urlsplit(evaluate("location.href"))[:2]
        out["rows"] = evaluate(ROWS + ".length")
        out["row_html"] = evaluate(row_with("request_finished") + ".outerHTML")

        # The JSON button of a row the page rendered: fetched by id, shown under the row.
        evaluate(row_with("request_finished") + ".querySelector('.log-expand').click(); true")
        wait_for(lambda url: evaluate("!!document.querySelector('.log-detail .log-json')"), "the expanded record")
        out["expanded"] = evaluate("document.querySelector('.log-detail .log-json').textContent")
        out["expanded_state"] = evaluate(row_with("request_finished") + ".querySelector('.log-expand')"
                                         ".getAttribute('aria-expanded')")
        out["chips"] = evaluate("Array.from(document.querySelectorAll('.log-detail .log-fields a'))"
                                ".map(function (a) { return [a.textContent, a.getAttribute('href')]; })")

        # Copy the trace id: the page may write to the clipboard once permitted (a person's
        # browser asks; headless has no one to ask).
        browser.send("Browser.grantPermissions",
                     {"origin": origin, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        browser.send("Emulation.setFocusEmulationEnabled", {"enabled": True}, browser.session)
        evaluate(row_with("request_finished") + ".querySelector('.copy-trace').click(); true")
        wait_for(lambda url: evaluate(row_with("request_finished") + ".querySelector('.copy-trace').textContent")
                 != "copy id", "the copy button's answer")
        out["copy"] = evaluate(row_with("request_finished") + ".querySelector('.copy-trace').textContent")
        try:
            out["clipboard"] = evaluate("navigator.clipboard.readText()", await_promise=True)
        except RuntimeError as error:
            out["clipboard"] = "cannot read the clipboard: %s" % error

        # A record the stream brings: the same links and buttons, expanded from what it carried.
        open(ready, "w").close()
        wait_for(lambda url: evaluate("!!(" + row_with("live_event") + ")"), "the streamed record")
        out["live_links"] = evaluate(row_with("live_event") + ".querySelectorAll('a.filter-link').length")
        out["live_service_href"] = evaluate(row_with("live_event") + ".querySelectorAll('a.filter-link')[1]"
                                            ".getAttribute('href')")
        evaluate(row_with("live_event") + ".querySelector('.log-expand').click(); true")
        wait_for(lambda url: evaluate(row_with("live_event") + ".nextElementSibling.classList"
                                      ".contains('log-detail')"), "the streamed record expanded")
        out["live_expanded"] = evaluate(row_with("live_event") + ".nextElementSibling"
                                        ".querySelector('.log-json').textContent")

        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": 1280, "height": 1400, "deviceScaleFactor": 1, "mobile": False}, browser.session)
        shot = browser.send("Page.captureScreenshot", {"format": "png"}, browser.session)
        with open(screenshot, "wb") as file:
            file.write(base64.b64decode(shot["data"]))

        # Filter by a field's value: the chip user=alice.
        evaluate("Array.from(document.querySelectorAll('.log-detail .log-fields a')).find(function (a) {"
                 " return a.textContent === 'user=alice'; }).click(); true")
        wait_for(lambda url: "q=" in url, "the page filtered on user=alice")
        out["after_chip"] = {"url": evaluate("location.href"), "events": evaluate(
            "Array.from(%s).map(function (r) { return r.querySelector('.msg').textContent.split(' ')[0]; })" % ROWS)}

        # Filter by a row's service.
        evaluate("history.back(); true")
        wait_for(lambda url: "q=" not in url and evaluate(ROWS + ".length") >= 3, "the unfiltered page again")
        evaluate(row_with("job_done") + ".querySelectorAll('a.filter-link')[1].click(); true")
        wait_for(lambda url: "service=worker" in url, "the page filtered on service worker")
        out["after_service"] = {"url": evaluate("location.href"), "services": evaluate(
            "Array.from(%s).map(function (r) { return r.cells[2].textContent; })" % ROWS)}
        print(json.dumps(out))
    finally:
        browser.close()


if __name__ == "__main__":
    main()
