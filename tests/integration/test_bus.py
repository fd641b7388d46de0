"""The bus end to end: every service reachable through the gateway, load shared between
instances, failures contained (kill -9 of a service or of the gateway), malformed traffic
sent straight to the broker dropped, and the bus private: only the services' own CURVE keys
are admitted, each only as itself, and secrets go only to the service that uses them."""
import os
import re
import signal
import stat
import subprocess
import threading
import time

import pytest
import requests
import zmq
import zmq.auth

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
    sock = keyed_dealer(b, "oidc")
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


def read_varint(data, i):
    """The varint at data[i:] and the index after it."""
    value, shift = 0, 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def fields_of(message):
    """The varint and length-delimited fields of a packed message: {number: [values]}."""
    out, i = {}, 0
    while i < len(message):
        key, i = read_varint(message, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(message, i)
        elif wire == 2:
            length, i = read_varint(message, i)
            value, i = message[i:i + length], i + length
        else:
            raise AssertionError(f"wire type {wire} in {message[:40]!r}")
        out.setdefault(number, []).append(value)
    return out


def bus_status(meta):
    """Reads field 6 (bus_status) from a packed Meta."""
    return fields_of(meta).get(6, [0])[0]


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
    # From an authenticated peer (a service's own key) and from one in the clear.
    for keyed in (True, False):
        for frames in MALFORMED:
            sock = keyed_dealer(broker, "oidc", linger=100) if keyed else dealer(broker, linger=100)
            sock.send_multipart(frames)
            sock.close()
    # A fake worker (with the oidc key, so it may serve oidc) that registers and then answers
    # garbage to whatever it gets.
    fake = keyed_dealer(broker, "oidc")
    fake.send_multipart([b"MDPW02", b"\x01", b"oidc"])
    time.sleep(0.2)
    client = keyed_dealer(broker, "saml")
    client.send_multipart([b"MDPC02", b"\x01", b"oidc", meta_frame("fz", int(time.time() * 1000) + 2000), b"x"])
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
    big = keyed_dealer(broker, "oidc", linger=1000)
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


def test_http_kind_junk_from_a_service_is_refused_unread(broker):
    """A client on the bus sends an HTTP-kind request whose payload is not an HttpRequest: only
    the gateway's HTTP requests are served, so the worker answers 403 without reading it, and
    lives on."""
    sock = keyed_dealer(broker, "oidc")
    sock.send_multipart([b"MDPC02", b"\x01", b"saml", meta_frame("bad-body", int(time.time() * 1000) + 800), b"\xff\xff\xff"])
    assert sock.poll(5000)
    frames = sock.recv_multipart()
    assert bus_status(frames[3]) == 0 and frames[4][:3] == b"\x08\x93\x03", frames[3:]  # 403
    sock.close()
    assert ping(broker, "saml").status_code == 200
    assert "takes HTTP requests only from the gateway, not from oidc" in broker.log_text()


# ---- the private bus ----------------------------------------------------------------------------

def keys_dir(broker):
    """Where every process of the broker found its CURVE keys: generated on first start."""
    return os.path.join(broker.data_dir, "bus")


def dealer(broker, public=None, secret=None, server=None, linger=0, routing_id=None):
    """A DEALER on the bus endpoint: a CURVE client with the given keys, or in the clear."""
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, linger)
    if routing_id:
        sock.setsockopt(zmq.ROUTING_ID, routing_id)
    if public:
        sock.curve_publickey = public
        sock.curve_secretkey = secret
        sock.curve_serverkey = server
    sock.connect(broker.bus_endpoint)
    return sock


def broker_public_key(broker):
    return zmq.auth.load_certificate(os.path.join(keys_dir(broker), "broker.key"))[0]


def keyed_dealer(broker, role, linger=0, routing_id=None):
    """A DEALER with a service's real keys, as that service connects."""
    public, secret = zmq.auth.load_certificate(os.path.join(keys_dir(broker), f"{role}.key_secret"))
    return dealer(broker, public, secret, broker_public_key(broker), linger, routing_id)


def field(number, value):
    """One protobuf field: bytes as length-delimited, bool/int as a varint."""
    if isinstance(value, (bytes, str)):
        value = value.encode() if isinstance(value, str) else value
        return varint(number << 3 | 2) + varint(len(value)) + value
    return varint(number << 3) + varint(int(value))


def rpc_meta(request_id, rpc, caller=None):
    """A Meta for an RPC; caller is what a sender claims (the broker must overwrite it)."""
    out = (field(1, request_id) + field(2, int(time.time() * 1000) + 3000) + field(4, 1)
           + field(5, rpc))
    return out + (field(8, caller) if caller else b"")


KEYS_LIST = "TokenReads.KeysList"


def keys_list(with_private):
    """KeysListRequest{with_private}."""
    return field(1, True) if with_private else b""


def dir_call(sock, rpc, payload, caller=None, wait_ms=5000):
    """Sends an RPC to the directory and returns the reply payload, or None when nothing
    answers."""
    sock.send_multipart([b"MDPC02", b"\x01", b"directory", rpc_meta("it-" + rpc, rpc, caller),
                         payload])
    if not sock.poll(wait_ms):
        return None
    frames = sock.recv_multipart()
    assert frames[:2] == [b"MDPC02", b"\x03"] and bus_status(frames[3]) == 0, frames[:4]
    return frames[4]


def rpc_error_names():
    """The sso.RpcError names in lower case by number, as proto/bus.proto declares them."""
    proto = os.path.join(os.path.dirname(__file__), "..", "..", "proto", "bus.proto")
    with open(proto, encoding="utf-8") as f:
        body = re.search(r"enum RpcError \{(.*?)\}", f.read(), re.S).group(1)
    names = {int(number): name.lower()
             for name, number in re.findall(r"^\s*([A-Z_]+) = (\d+);", body, re.M)}
    assert names.get(0) == "ok" and names.get(1) == "access_denied", names
    return names


RPC_ERRORS = rpc_error_names()


def dir_error(reply):
    """The reply's error (field 1, an sso.RpcError varint) in lower case: "" when absent (OK),
    "rpc_error_<n>" for a number bus.proto does not name."""
    error = fields_of(reply or b"").get(1, [0])[0]
    assert isinstance(error, int), f"field 1 is not a varint: {reply[:40]!r}"
    return "" if error == 0 else RPC_ERRORS.get(error, f"rpc_error_{error}")


def dir_error_description(reply):
    """The reply's error_description (field 2), "" when absent."""
    return fields_of(reply or b"").get(2, [b""])[0].decode()


def instances(broker, service):
    return broker.get("/readyz").json()["instances"].get(service, 0)


def keys_requests_all_served(broker, count=10):
    """count GETs of /keys, each answered 200 by a real token instance."""
    statuses = [broker.get("/keys", timeout=15).status_code for _ in range(count)]
    return statuses == [200] * count, statuses


def rogue_heard(sock, service="token", broker=None):
    """A rogue's attempt: READY as service, then a directory KeysList with private keys.
    While it waits, the real /keys traffic flows. Returns (what the rogue heard within 2 s,
    whether every /keys request was served, token instances the gateway counted)."""
    sock.send_multipart([b"MDPW02", b"\x01", service.encode()])
    sock.send_multipart([b"MDPC02", b"\x01", b"directory", rpc_meta("rogue", KEYS_LIST),
                         keys_list(True)])
    time.sleep(0.3)
    counted = instances(broker, "token")
    served = keys_requests_all_served(broker)
    heard = []
    deadline = time.time() + 2
    while sock.poll(max(0, int((deadline - time.time()) * 1000))):
        heard.append(sock.recv_multipart())
    return heard, served, counted


def test_the_bus_keys_are_generated_private(broker):
    d = keys_dir(broker)
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    names = sorted(os.listdir(d))
    expected = sorted(f"{n}.key{s}" for n in ["broker"] + SERVICES for s in ("", "_secret"))
    assert names == expected, names
    for name in names:
        assert stat.S_IMODE(os.stat(os.path.join(d, name)).st_mode) == 0o600, name


@pytest.mark.parametrize("kind", ["no keys", "its own keys", "a stolen public key"])
def test_a_rogue_is_neither_registered_nor_answered(broker, kind):
    """A process that reaches the broker's port without a service's secret key: its READY as
    token registers nothing (every /keys request is served by the real token instance), and
    its KeysList to the directory gets no answer."""
    if kind == "no keys":
        sock = dealer(broker)
    elif kind == "its own keys":
        public, secret = zmq.curve_keypair()
        sock = dealer(broker, public, secret, broker_public_key(broker))
    else:
        stolen, _ = zmq.auth.load_certificate(os.path.join(keys_dir(broker), "token.key"))
        _, secret = zmq.curve_keypair()
        sock = dealer(broker, stolen, secret, broker_public_key(broker))
    try:
        heard, (served, statuses), counted = rogue_heard(sock, broker=broker)
    finally:
        sock.close()
    assert heard == [], f"the rogue heard {heard[:3]}"
    assert counted == 1, f"the gateway counts {counted} token instances"
    assert served, statuses
    for service in SERVICES:
        assert ping(broker, service).status_code == 200


def test_a_service_key_serves_only_its_own_service(broker):
    """The saml service's real key cannot register as token (nor as the directory): the broker
    answers the READY with DISCONNECT and keeps sending every request to the real ones."""
    for service in ("token", "directory"):
        sock = keyed_dealer(broker, "saml")
        try:
            heard, (served, statuses), counted = rogue_heard(sock, service, broker=broker)
        finally:
            sock.close()
        commands = [frames[1] for frames in heard if frames[0] == b"MDPW02"]
        assert commands == [b"\x06"], heard[:3]  # DISCONNECT, and no request
        assert counted == 1 and served, (counted, statuses)
    assert "READY for a service its key is not for" in broker.log_text()


def test_a_worker_routing_id_taken_over_by_another_key_is_dropped(broker):
    """A token worker leaves; a peer with the saml key reconnects under its routing id (ZeroMQ
    lets a peer choose it) and heartbeats. The broker must not keep the token worker alive for
    it nor send it token requests: every /keys request is served by the real token instance."""
    routing_id = b"\x00" + os.urandom(4)
    worker = keyed_dealer(broker, "token", routing_id=routing_id)
    worker.send_multipart([b"MDPW02", b"\x01", b"token"])
    deadline = time.time() + 5
    while instances(broker, "token") != 2 and time.time() < deadline:
        time.sleep(0.05)
    assert instances(broker, "token") == 2
    worker.close()
    # The broker's ROUTER refuses a second connection under a routing id still in use, so the
    # rogue may be dropped until the closed worker's pipe is gone: it tries again until the
    # broker has heard its heartbeat under the token worker's id (or the deadline passes).
    marker = "worker message from a key other than its READY's"
    deadline = time.time() + 10
    while True:
        rogue = keyed_dealer(broker, "saml", routing_id=routing_id)
        rogue.send_multipart([b"MDPW02", b"\x04"])  # HEARTBEAT, as the token worker would
        heard_by = time.time() + 1
        while marker not in broker.log_text() and time.time() < heard_by:
            time.sleep(0.05)
        if marker in broker.log_text() or time.time() > deadline:
            break
        rogue.close()
    try:
        served, statuses = keys_requests_all_served(broker)
        heard = []
        while rogue.poll(500):
            heard.append(rogue.recv_multipart())
    finally:
        rogue.close()
    requests_heard = [frames for frames in heard if frames[:2] == [b"MDPW02", b"\x02"]]
    assert requests_heard == [], requests_heard[:2]
    assert served and instances(broker, "token") == 1, (statuses, instances(broker, "token"))
    assert marker in broker.log_text()


def test_private_signing_keys_go_to_the_token_service_only(broker):
    """TokenReads.KeysList with private keys: refused to the saml key (even when it claims to
    be token in its meta), answered to the token key; the public list is the token service's
    too (it serves /keys; no other service calls KeysList). The old name "keys_list" is no
    operation any more: refused as unknown, to the token key too, with no key in it."""
    saml = keyed_dealer(broker, "saml")
    token = keyed_dealer(broker, "token")
    try:
        refused = dir_call(saml, KEYS_LIST, keys_list(True))
        assert dir_error(refused) == "access_denied", refused
        assert dir_error_description(refused) == f"{KEYS_LIST} is only for the token service"
        assert b"PRIVATE KEY" not in refused
        forged = dir_call(saml, KEYS_LIST, keys_list(True), caller="token")
        assert dir_error(forged) == "access_denied", forged
        assert b"PRIVATE KEY" not in forged
        public = dir_call(token, KEYS_LIST, keys_list(False))
        assert dir_error(public) == "" and b"kid" in public and b"PRIVATE KEY" not in public
        assert dir_error(dir_call(saml, KEYS_LIST, keys_list(False))) == "access_denied"
        private = dir_call(token, KEYS_LIST, keys_list(True))
        assert dir_error(private) == "" and b"PRIVATE KEY" in private
        for sock in (token, saml):
            old = dir_call(sock, "keys_list", field(2, keys_list(True)))
            assert dir_error(old) == "invalid_request", old
            assert dir_error_description(old) == "the directory has no such operation", old
            assert b"PRIVATE KEY" not in old and b"kid" not in old
    finally:
        saml.close()
        token.close()
    assert f"{KEYS_LIST} refused: only the token service may call it, not saml" \
        in broker.log_text()


@pytest.fixture(scope="module")
def saml_connection(broker, tmp_path_factory):
    """The id of a new SAML connection (of a new organization)."""
    d = tmp_path_factory.mktemp("idp")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(d / "key.pem"), "-out", str(d / "cert.pem"), "-days", "1", "-subj",
                    "/CN=Bus Test IdP"], check=True, capture_output=True)
    r = broker.api("POST", "/organizations", {"display_name": "Bus Test"})
    assert r.status_code == 201, r.text
    r = broker.api("POST", f"/organizations/{r.json()['id']}/connections", {
        "type": "saml", "saml": {"idp_entity_id": "https://idp.bus.example.com/saml",
                                 "idp_sso_url": "https://idp.bus.example.com/sso",
                                 "idp_certificates": [(d / "cert.pem").read_text()]}})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_the_sp_metadata_path_carries_no_private_key(broker, saml_connection):
    """UpstreamReads.ConnectionGet without secrets (what the SP metadata is built from)
    answers the SP certificate but never the SP private key; the metadata is still served."""
    sock = keyed_dealer(broker, "saml")
    try:
        get = field(1, saml_connection)  # ConnectionGetRequest{connection_id}
        reply = dir_call(sock, "UpstreamReads.ConnectionGet", get)
    finally:
        sock.close()
    assert dir_error(reply) == "" and b"BEGIN CERTIFICATE" in reply, reply
    assert b"PRIVATE KEY" not in reply
    r = broker.get(f"/sso/saml/{saml_connection}/metadata")
    assert r.status_code == 200 and "X509Certificate" in r.text
