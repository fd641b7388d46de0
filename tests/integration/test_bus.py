"""The bus end to end: every service reachable through the gateway, load shared between
instances, failures contained (kill -9 of a service or of the gateway), malformed traffic
sent straight to the broker dropped."""
import os
import signal
import threading
import time

import pytest
import requests
import zmq

from conftest import SERVICES


def ping(broker, service, timeout=10):
    return requests.get(f"{broker.url}/_ping/{service}", timeout=timeout)


def test_a_request_travels_to_every_service_and_back(broker):
    for service in SERVICES:
        r = ping(broker, service)
        assert r.status_code == 200, (service, r.text)
        assert r.json()["service"] == service
        assert r.headers["X-Request-Id"]


def test_the_gateway_answers_its_own_ping_without_the_bus(broker):
    r = ping(broker, "gateway")
    assert r.status_code == 200 and r.json() == {"service": "gateway"}


def test_two_token_instances_share_the_load(fresh_broker):
    b = fresh_broker(scale={"token": 2})
    deadline = time.time() + 10
    while time.time() < deadline:
        if b.get("/readyz").json()["instances"]["token"] == 2:
            break
        time.sleep(0.1)
    assert b.get("/readyz").json()["instances"]["token"] == 2
    instances = {}
    errors = []

    def stream():
        session = requests.Session()
        for _ in range(100):
            r = session.get(b.url + "/_ping/token", timeout=10)
            if r.status_code != 200:
                errors.append(r.status_code)
                continue
            name = r.json()["instance"]
            instances[name] = instances.get(name, 0) + 1

    threads = [threading.Thread(target=stream) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(instances) == 2, instances
    assert all(count > 0 for count in instances.values())


class Stream:
    """Requests to one path in a loop on a thread, recording (status, seconds)."""

    def __init__(self, url, method="GET"):
        self.url = url
        self.method = method
        self.results = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        session = requests.Session()
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                status = session.request(self.method, self.url, timeout=20).status_code
            except requests.RequestException:
                status = "error"
                session = requests.Session()
            self.results.append((status, time.monotonic() - started))
            time.sleep(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def statuses(self):
        return {status for status, _ in self.results}


def test_kill_9_of_a_service_fails_fast_and_it_comes_back(fresh_broker):
    b = fresh_broker()
    old = b.pids("saml")[0]
    # POST is not idempotent, so the broker never re-sends it to the new instance: a request
    # that meets the dead instance (in flight, or with no instance left) must come back 503.
    with Stream(b.url + "/_ping/saml", "POST") as victim, \
            Stream(b.url + "/_ping/saml") as retried, Stream(b.url + "/_ping/token") as bystander:
        time.sleep(0.5)
        os.kill(old, signal.SIGKILL)
        new = b.wait_pid("saml", other_than=old)
        # Served again by the new instance.
        deadline = time.time() + 15
        while time.time() < deadline:
            r = ping(b, "saml")
            if r.status_code == 200 and r.json()["instance"].endswith(f":{new}"):
                break
            time.sleep(0.1)
        assert r.status_code == 200 and r.json()["instance"].endswith(f":{new}"), r.text
        time.sleep(0.3)
    # Requests to the dead service failed with 503 rather than hanging until the client gave up.
    assert victim.statuses() <= {200, 503}, victim.statuses()
    assert 503 in victim.statuses(), victim.results
    assert "error" not in victim.statuses()
    # GETs may be re-sent to the new instance; they never hang either.
    assert retried.statuses() <= {200, 503}, retried.statuses()
    # The other service never noticed.
    assert bystander.statuses() == {200}, bystander.statuses()
    assert "died" in b.log_text() or "killed" in b.log_text().lower()


def test_no_instance_means_503_at_once(broker):
    b = broker
    # A service name that no worker serves: the broker answers 503 without waiting.
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(b.bus_endpoint)
    meta = meta_frame("rid-1", int(time.time() * 1000) + 5000)
    sock.send_multipart([b"MDPC02", b"\x01", b"nosuchservice", meta, b"payload"])
    assert sock.poll(3000), "no answer from the broker"
    frames = sock.recv_multipart()
    assert frames[0] == b"MDPC02" and frames[1] == b"\x03"
    assert bus_status(frames[3]) == 503
    sock.close()


def test_a_gateway_restart_is_survived(fresh_broker):
    b = fresh_broker()
    old = b.pids("gateway")[0]
    os.kill(old, signal.SIGKILL)
    b.wait_pid("gateway", other_than=old)
    b.wait_ready(timeout=20)  # every worker re-registered with the new broker
    for service in SERVICES:
        assert ping(b, service).status_code == 200


# ---- malformed traffic straight to the broker -------------------------------------------------

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


def meta_frame(request_id, deadline_ms, idempotent=False):
    rid = request_id.encode()
    out = b"\x0a" + varint(len(rid)) + rid + b"\x10" + varint(deadline_ms)
    if idempotent:
        out += b"\x18\x01"
    return out


def bus_status(meta):
    """Reads field 6 (bus_status) from a packed Meta."""
    i = 0
    while i < len(meta):
        key = meta[i]
        i += 1
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, shift = 0, 0
            while True:
                b = meta[i]
                i += 1
                value |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            if field == 6:
                return value
        elif wire == 2:
            length, shift = 0, 0
            while True:
                b = meta[i]
                i += 1
                length |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            i += length
        else:
            return None
    return 0


MALFORMED = [
    [b""],
    [b"garbage"],
    [b"MDPC02"],
    [b"MDPC02", b"\x01"],
    [b"MDPC02", b"\x01", b"token"],
    [b"MDPC02", b"\x01", b"token", b"not a meta", b"body"],
    [b"MDPC02", b"\x01", b"token", b"\xff\xff\xff\xff", b"body"],
    [b"MDPC02", b"\x01", b"Bad Service!", b"", b"body"],
    [b"MDPC02", b"\x01", b"x" * 1000, b"", b"body"],
    [b"MDPC02", b"\x09", b"token", b"", b"body"],
    [b"MDPC02", b"\x01\x01", b"token", b"", b"body"],
    [b"MDPC02", b"\x01", b"token", meta_frame("r", 1), b"a", b"extra"],
    [b"MDPW02"],
    [b"MDPW02", b"\x01"],
    [b"MDPW02", b"\x01", b"Not Valid"],
    [b"MDPW02", b"\x01", b"token", b"extra"],
    [b"MDPW02", b"\x04", b"12345678", b"", b"meta", b"body"],
    [b"MDPW02", b"\x04"],
    [b"MDPW02", b"\x05"],
    [b"MDPW02", b"\x06"],
    [b"MDPW02", b"\x07"],
    [b"MDPW02", b"\xff" * 100],
    [os.urandom(64) for _ in range(8)],
]


def test_malformed_frames_are_dropped_and_nothing_crashes(broker):
    ctx = zmq.Context.instance()
    before = {s: broker.pids(s) for s in SERVICES + ["gateway"]}
    for frames in MALFORMED:
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 100)
        sock.connect(broker.bus_endpoint)
        sock.send_multipart(frames)
        sock.close()
    # A fake worker that registers and then answers garbage to whatever it gets.
    fake = ctx.socket(zmq.DEALER)
    fake.setsockopt(zmq.LINGER, 0)
    fake.connect(broker.bus_endpoint)
    fake.send_multipart([b"MDPW02", b"\x01", b"fuzzsvc"])
    client = ctx.socket(zmq.DEALER)
    client.setsockopt(zmq.LINGER, 0)
    client.connect(broker.bus_endpoint)
    client.send_multipart([b"MDPC02", b"\x01", b"fuzzsvc", meta_frame("fz", int(time.time() * 1000) + 2000), b"x"])
    if fake.poll(3000):
        request = fake.recv_multipart()
        while request[1] == b"\x05" and fake.poll(3000):  # skip heartbeats
            request = fake.recv_multipart()
        if request[1] == b"\x02":
            address = request[2]
            fake.send_multipart([b"MDPW02", b"\x04", address, b"", b"\xff\xfe", b"junk"])
    fake.close()
    client.close()
    # A frame over the broker's size limit: the broker drops the peer, not itself.
    big = ctx.socket(zmq.DEALER)
    big.setsockopt(zmq.LINGER, 1000)
    big.connect(broker.bus_endpoint)
    big.send_multipart([b"MDPC02", b"\x01", b"token", b"", b"\0" * (17 * 1024 * 1024)])
    big.close()
    time.sleep(0.5)
    # Everything still answers, and no process was restarted.
    for service in SERVICES:
        assert ping(broker, service).status_code == 200
    assert broker.get("/readyz").status_code == 200
    after = {s: broker.pids(s) for s in SERVICES + ["gateway"]}
    assert before == after
    assert "dropped" in broker.log_text()


def test_http_body_that_does_not_unpack_at_a_worker_is_dropped(broker):
    """A client on the bus sends an HTTP-kind request whose payload is not an HttpRequest: the
    worker drops it (logged), the client gets 504 at its deadline, and the worker lives on."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(broker.bus_endpoint)
    sock.send_multipart([b"MDPC02", b"\x01", b"saml", meta_frame("bad-body", int(time.time() * 1000) + 800), b"\xff\xff\xff"])
    assert sock.poll(5000)
    frames = sock.recv_multipart()
    assert bus_status(frames[3]) == 504
    sock.close()
    assert ping(broker, "saml").status_code == 200
    assert "does not unpack" in broker.log_text()
