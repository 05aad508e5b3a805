#!/usr/bin/env python3
"""The operator's page in a real browser (issue 26 §4): headless Chromium
driven through chromedriver's W3C WebDriver HTTP API, with the standard
library only (no pip package, nothing downloaded at run time).

    python3 operator_page.py SERVER_BINARY

Starts the reference server on loopback with an admin token, enrols two
devices (one whose id is `<script>alert(1)</script>`), then in Chromium:
signs in, sees both devices, checks that the hostile id is shown as text
and no script ran, revokes a device with the page's own form, and checks
that a form post from another origin (a page served by this test on
127.0.0.2) is refused and changes nothing. Prints one line per check and
`operator-page: N passed, N failed` last (scripts/test.sh counts it).
Every wait is bounded; every address is loopback.
"""

import html
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

TOKEN = "browser-test-token-0123456789abcdef"
EVIL = "<script>alert(1)</script>"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = 30  # seconds, for anything the server or the browser must do

passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def http_json(method, url, body=None, timeout=WAIT):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class WebDriver:
    """The few WebDriver commands this test needs."""

    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "unhandledPromptBehavior": "ignore",
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                 "--no-first-run", "--disable-extensions", "--disable-background-networking"],
                    },
                }
            }
        }
        status, answer = http_json("POST", f"{self.base}/session", caps, timeout=60)
        if status != 200:
            raise RuntimeError(f"no browser session: {answer}")
        self.session = f"{self.base}/session/{answer['value']['sessionId']}"

    def cmd(self, method, path, body=None):
        return http_json(method, f"{self.session}{path}", body)

    def go(self, url):
        return self.cmd("POST", "/url", {"url": url})

    def find_all(self, css):
        status, answer = self.cmd("POST", "/elements", {"using": "css selector", "value": css})
        return [list(e.values())[0] for e in answer["value"]] if status == 200 else []

    def text(self, element):
        return self.cmd("GET", f"/element/{element}/text")[1]["value"]

    def type(self, element, text):
        return self.cmd("POST", f"/element/{element}/value", {"text": text})

    def click(self, element):
        return self.cmd("POST", f"/element/{element}/click", {})

    def script(self, source):
        return self.cmd("POST", "/execute/sync", {"script": source, "args": []})[1]["value"]

    def alert_open(self):
        status, _ = self.cmd("GET", "/alert/text")
        return status == 200

    def quit(self):
        try:
            http_json("DELETE", self.session, timeout=10)
        except OSError:
            pass


def wait_for(what, predicate):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    print(f"timed out waiting for {what}")
    return False


def attacker_page(target):
    """A page on another origin whose form posts to the operator page (no script: the test clicks)."""
    return f"""<!doctype html><html><body>
<form method="post" action="{html.escape(target)}">
<input type="hidden" name="csrf" value="guessed"><input type="hidden" name="reason" value="pwned">
<button id="go" type="submit">win a prize</button></form></body></html>""".encode()


def main():
    server_binary = sys.argv[1]
    work = tempfile.mkdtemp(prefix="operator-page-")
    server = subprocess.Popen(
        [server_binary, "--db", os.path.join(work, "server.db"), "--addr", "127.0.0.1:0", "--admin-token", TOKEN],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    driver_port = free_port()
    chromedriver = subprocess.Popen([CHROMEDRIVER, f"--port={driver_port}"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    attacker = None
    browser = None
    try:
        line = server.stdout.readline()
        base = line.strip().split("listening on ", 1)[1]
        for device_id, user, password in [(EVIL, "amira", "correct horse battery"), ("tablet-1", "jonas", "staple tuna")]:
            status, answer = http_json("POST", f"{base}/enroll",
                                       {"user": user, "password": password, "device_id": device_id})
            check(f"enrol {device_id!r}", status == 200, answer)

        # Another origin: 127.0.0.2 (another site than 127.0.0.1), serving the attacker's page.
        target = f"{base}/operator/devices/tablet-1/revoke"
        page = attacker_page(target)

        class Attacker(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        attacker = http.server.HTTPServer(("127.0.0.2", 0), Attacker)
        threading.Thread(target=attacker.serve_forever, daemon=True).start()
        attacker_url = f"http://127.0.0.2:{attacker.server_address[1]}/"

        ready = wait_for("chromedriver", lambda: http_json("GET", f"http://127.0.0.1:{driver_port}/status", timeout=2)
                         [1]["value"]["ready"] if _reachable(driver_port) else False)
        check("chromedriver ready", ready)
        browser = WebDriver(driver_port)

        browser.go(f"{base}/operator")
        tokens = browser.find_all("input[name=token]")
        check("the page asks for the admin token", len(tokens) == 1)
        browser.type(tokens[0], TOKEN)
        browser.click(browser.find_all("button[type=submit]")[0])
        check("signed in: the device table is shown", wait_for("the table", lambda: browser.find_all("table#devices")))

        ids = [browser.text(e) for e in browser.find_all("td.device-id")]
        owners = [browser.text(e) for e in browser.find_all("td.owner")]
        check("both devices are listed with their owners", sorted(ids) == sorted([EVIL, "tablet-1"])
              and sorted(owners) == ["amira", "jonas"], f"{ids} {owners}")
        check("the hostile device id is shown as text", EVIL in ids, ids)
        check("no alert was raised", not browser.alert_open())
        scripts = browser.script("return document.scripts.length")
        check("the page holds no script element", scripts == 0, scripts)
        cookie_visible = browser.script("return document.cookie")
        check("the session cookie is HttpOnly (not visible to scripts)", cookie_visible == "", cookie_visible)

        # A cross-site form post: refused, nothing revoked.
        browser.go(attacker_url)
        go = browser.find_all("#go")
        check("the attacker's page loaded", len(go) == 1)
        if go:
            browser.click(go[0])
            wait_for("the answer", lambda: "Refused" in (browser.script("return document.body.innerText") or ""))
            body = browser.script("return document.body.innerText") or ""
            check("the cross-site post is refused", "Refused" in body, body[:200])
        browser.go(f"{base}/operator")
        wait_for("the table", lambda: browser.find_all("table#devices"))
        revoked = browser.script(
            "return [...document.querySelectorAll('tr.device')].filter(r => r.innerText.includes('revoked ')).length")
        check("nothing was revoked by the cross-site post", revoked == 0, revoked)

        # The operator's own form (same origin, the session's CSRF token) revokes.
        row_form = browser.script(
            "const r = [...document.querySelectorAll('tr.device')].find(r => r.dataset.device === 'tablet-1');"
            "r.querySelector('input[name=reason]').value = 'reported lost'; return true")
        check("the revoke form is there", row_form is True)
        buttons = [b for b in browser.find_all("tr.device button") if browser.text(b) == "Revoke"]
        target_button = browser.script(
            "const r = [...document.querySelectorAll('tr.device')].find(r => r.dataset.device === 'tablet-1');"
            "return r.querySelector('button').outerHTML")
        check("each unrevoked device has a Revoke button", len(buttons) == 2 and "Revoke" in target_button)
        browser.script(
            "[...document.querySelectorAll('tr.device')].find(r => r.dataset.device === 'tablet-1')"
            ".querySelector('form').requestSubmit(); return true")
        revoked_now = wait_for("the revocation", lambda: browser.script(
            "const r = [...document.querySelectorAll('tr.device')].find(r => r.dataset.device === 'tablet-1');"
            "return !!r && r.innerText.includes('reported lost')"))
        check("the page's own form revokes the device", revoked_now)
        status, answer = http_json("POST", f"{base}/renew", {"user": "jonas", "password": "staple tuna",
                                                              "device_id": "tablet-1"})
        check("the revoked device gets no grant", status == 403, answer)
    finally:
        if browser:
            browser.quit()
        if attacker:
            attacker.shutdown()
        for process in (chromedriver, server):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    print(f"operator-page: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def _reachable(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
