"""Webhooks to the app (issue 22): a loopback receiver that verifies every signature with the
Standard Webhooks algorithm (HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>" with
the base64 key after "whsec_", reimplemented here from the specification) and fails the first
attempts. The retries arrive, in order, exactly the events expected (login.succeeded through a
simulator login, connection.deactivated / activated through the API), and restarts of the
directory and of the gateway (the bus's broker) in the middle lose nothing and keep the order."""
import base64
import hashlib
import hmac
import http.server
import json
import os
import signal
import subprocess
import threading
import time

import pytest
import requests

from conftest import Broker
from test_op import query_of
from test_scim_directories import epoch
from test_simulator import Login, sim  # noqa: F401 (sim: the fixture of the simulator's client)


@pytest.fixture(scope="module")
def broker():
    # Short retries: the schedule keeps its ratios (50 ms, 300 ms, 1.2 s, 6 s, ...).
    b = Broker(extra_env={"SSO_WEBHOOK_FIRST_RETRY_MS": "50"})
    try:
        b.start()
        yield b
    finally:
        b.cleanup()


def verify(secret, msg_id, timestamp, body, signature_header):
    """The specification's check: one of the space-separated "v1,<base64>" signatures."""
    key = base64.b64decode(secret[len("whsec_"):])
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(part, "v1," + expected)
               for part in signature_header.split(" "))


class Receiver:
    """Answers 500 to the first `fail_first` requests and while `down`, else 204; records every
    request as (webhook-id, answered status, parsed body, signature valid)."""

    def __init__(self, fail_first=2):
        self.secret = None
        self.fail_first = fail_first
        self.down = False
        self.requests = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                msg_id = self.headers.get("webhook-id", "")
                stamp = self.headers.get("webhook-timestamp", "")
                valid = (receiver.secret is not None and stamp.isdigit()
                         and abs(int(stamp) - time.time()) < 300
                         and self.headers.get("Content-Type") == "application/json"
                         and verify(receiver.secret, msg_id, stamp, body,
                                    self.headers.get("webhook-signature", "")))
                with receiver.lock:
                    failing = len(receiver.requests) < receiver.fail_first or receiver.down
                    status = 500 if failing else 204
                    receiver.requests.append((msg_id, status, json.loads(body), valid))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered(self):
        with self.lock:
            return [(i, body) for i, status, body, _ in self.requests if status == 204]

    def wait_delivered(self, count, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline and len(self.delivered()) < count:
            time.sleep(0.05)
        return self.delivered()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def sign_in(broker, sim, email):
    login = Login(broker, sim)
    signed = login.post(fields={"email": email})
    assert signed.status_code == 200 and "SAMLResponse" in signed.text, signed.text[:300]
    assert "code" in query_of(login.acs(signed))


def restart(broker, service="directory"):
    """SIGTERM to a service: the directory stops cleanly (its sender records what it sent and
    gives back its other claims), the gateway with its broker drops every bus connection; the
    supervisor starts it again, and the others reconnect."""
    old = broker.wait_pid(service)
    os.kill(old, signal.SIGTERM)
    broker.wait_pid(service, other_than=old)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if broker.api("GET", "/webhooks").status_code == 200:
                return
        except requests.RequestException:
            pass  # the gateway is not listening yet
        time.sleep(0.1)
    raise AssertionError(f"the {service} did not come back:\n" + broker.log_tail())


def test_signed_retried_in_order_through_a_restart(broker, sim, receiver):
    r = broker.api("POST", "/webhooks", {
        "url": receiver.url, "description": "the app",
        "events": ["login.succeeded", "connection.activated", "connection.deactivated"]})
    assert r.status_code == 201, r.text
    hook = r.json()
    assert hook["secret"].startswith("whsec_") and hook["url"] == receiver.url
    receiver.secret = hook["secret"]
    # The secret is shown once.
    shown = broker.api("GET", f"/webhooks/{hook['id']}").json()
    assert "secret" not in shown and sorted(shown["events"]) == sorted(hook["events"])

    sign_in(broker, sim, "ada@example.com")
    assert broker.api("POST", "/connections/conn_simulator/disable").status_code == 200
    # Disabling again is no change, so no event.
    assert broker.api("POST", "/connections/conn_simulator/disable").status_code == 200
    assert broker.api("POST", "/connections/conn_simulator/enable").status_code == 200
    # The receiver goes down, and the directory, then the gateway with the bus's broker,
    # restart while deliveries are pending.
    with receiver.lock:
        receiver.down = True
    restart(broker, "directory")
    restart(broker, "gateway")
    sign_in(broker, sim, "grace@example.com")
    time.sleep(0.5)
    with receiver.lock:
        receiver.down = False

    got = receiver.wait_delivered(4)
    types = [body["type"] for _, body in got]
    assert types == ["login.succeeded", "connection.deactivated", "connection.activated",
                     "login.succeeded"], (types, broker.log_tail())
    # Exactly these: each message once, and every request (retries too) signed.
    time.sleep(1)
    assert len(receiver.delivered()) == 4
    assert len({msg_id for msg_id, _ in got}) == 4
    assert all(valid for _, _, _, valid in receiver.requests), receiver.requests
    assert sum(1 for _, status, _, _ in receiver.requests if status == 500) >= 2
    first, deactivated, activated, second = (body for _, body in got)
    assert first["data"]["email"] == "ada@example.com"
    assert first["data"]["organization_id"] == "org_test"
    assert second["data"]["email"] == "grace@example.com"
    assert deactivated["data"]["id"] == "conn_simulator"
    assert deactivated["data"]["status"] == "inactive" and activated["data"]["status"] == "active"
    assert all(body["timestamp"].endswith("Z") for _, body in got)
    # A retried message kept its webhook-id on every attempt.
    ids = [msg_id for msg_id, _, _, _ in receiver.requests]
    assert ids[0] == got[0][0]

    # The delivery log: all delivered, newest first, the first one's failures recorded.
    r = broker.api("GET", f"/webhooks/{hook['id']}/deliveries?status=delivered")
    assert r.status_code == 200, r.text
    deliveries = r.json()["data"]
    assert [d["event_type"] for d in deliveries] == list(reversed(types))
    oldest = deliveries[-1]
    assert oldest["attempts"] >= 3 and oldest["message_id"] == got[0][0]
    assert [a["http_status"] for a in oldest["attempt_log"]][-2:] == [500, 500]
    assert oldest["attempt_log"][0]["http_status"] == 204
    assert broker.api("GET", f"/webhooks/{hook['id']}/deliveries?status=pending").json()[
        "data"] == []

    # A manual redelivery: the same message (webhook-id) once more.
    r = broker.api("POST", f"/webhooks/{hook['id']}/deliveries/{oldest['id']}/retry")
    assert r.status_code == 201, r.text
    assert r.json()["message_id"] == oldest["message_id"]
    got = receiver.wait_delivered(5)
    assert got[-1][0] == oldest["message_id"], got

    # Not subscribed: a failed login sends nothing; a deleted endpoint gets nothing more.
    assert broker.api("DELETE", f"/webhooks/{hook['id']}").status_code == 204
    sign_in(broker, sim, "later@example.com")
    time.sleep(1)
    assert len(receiver.delivered()) == 5


def test_refusals(broker):
    for body, want in [
        ({"url": "http://app.example.com/h", "events": ["login.failed"]}, "https"),
        ({"url": "https://app.example.com/h", "events": []}, "at least one"),
        ({"url": "https://app.example.com/h", "events": ["login.maybe"]}, "unknown event"),
        ({"events": ["login.failed"]}, "url"),
    ]:
        r = broker.api("POST", "/webhooks", body)
        assert r.status_code == 400 and want in r.json()["error_description"], (body, r.text)
    assert broker.api("GET", "/webhooks/whk_nothing").status_code == 404
    assert broker.api("GET", "/webhooks/whk_nothing/deliveries").status_code == 404
    # Without events (optional in DESIGN.md section 2): every type.
    r = broker.api("POST", "/webhooks", {"url": "https://app.example.com/all"})
    assert r.status_code == 201 and "login.succeeded" in r.json()["events"] \
        and "directory.group.user_removed" in r.json()["events"], r.text
    assert broker.api("DELETE", f"/webhooks/{r.json()['id']}").status_code == 204


def test_ssoctl_webhooks(broker):
    ssoctl = os.path.join(broker.bin_dir, "ssoctl")

    def run(*args):
        return subprocess.run([ssoctl, *args], env=broker.env, capture_output=True, text=True,
                              timeout=60)

    made = run("--json", "webhooks", "create", "https://app.example.com/hooks", "--events",
               "login.failed,connection.activated", "--description", "App")
    assert made.returncode == 0, made.stderr
    hook = json.loads(made.stdout)
    assert hook["secret"].startswith("whsec_")
    listed = run("webhooks", "list")
    assert listed.returncode == 0 and hook["id"] in listed.stdout, listed.stderr
    shown = run("webhooks", "get", hook["id"])
    assert shown.returncode == 0 and "whsec_" not in shown.stdout, shown.stderr
    changed = run("--json", "webhooks", "update", hook["id"], "--disabled", "true", "--events",
                  "login.succeeded")
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["disabled"] is True
    assert json.loads(changed.stdout)["events"] == ["login.succeeded"]
    # Rotation: the old secret signs beside the new one for a day by default, for what
    # --overlap says, or not at all; a bad overlap is a usage error that changes nothing.
    rotated = run("--json", "webhooks", "rotate-secret", hook["id"])
    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(rotated.stdout)["secret"] not in ("", hook["secret"])
    until = json.loads(rotated.stdout)["previous_secret_expires_at"]
    assert 86400 - 120 <= epoch(until) - time.time() <= 86400 + 5, until
    for bad_overlap in ("8d", "-1", "", "1w"):
        refused = run("webhooks", "rotate-secret", hook["id"], "--overlap", bad_overlap)
        assert refused.returncode == 2 and "from 0 to 7 days" in refused.stderr, refused.stderr
    rotated = run("webhooks", "rotate-secret", hook["id"], "--overlap", "90m")
    assert rotated.returncode == 0 and "OLD SECRET SIGNS UNTIL" in rotated.stdout, rotated.stdout
    rotated = run("--json", "webhooks", "rotate-secret", hook["id"], "--overlap", "0")
    assert json.loads(rotated.stdout)["previous_secret_expires_at"] is None, rotated.stdout
    deliveries = run("webhooks", "deliveries", hook["id"])
    assert deliveries.returncode == 0, deliveries.stderr
    missing = run("webhooks", "redeliver", hook["id"], "dlv_nothing")
    assert missing.returncode != 0 and "dlv_nothing" in missing.stderr, missing.stderr
    bad = run("webhooks", "create", "https://app.example.com/hooks", "--events", "nope")
    assert bad.returncode != 0 and "unknown event" in bad.stderr, bad.stderr
    gone = run("webhooks", "delete", hook["id"])
    assert gone.returncode == 0, gone.stderr
