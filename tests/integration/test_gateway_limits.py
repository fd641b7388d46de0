"""The gateway's own limits on anonymous clients (issue 16, item 5) and the separate operations
listener (item 8), against the real processes over raw sockets:

- SSO_MAX_CONNECTIONS_PER_IP: connections past the limit are closed at accept;
- SSO_REQUEST_READ_TIMEOUT_MS: a request (headers and body) not complete in time is cut off,
  with a 408 while the headers are still coming;
- SSO_MAX_BODY_BYTES_IN_FLIGHT: bodies past the budget are answered 503 with Retry-After;
- SSO_OPS_ADDR: /metrics on its own listener, 404 on the public one.

Each refusal is counted in sso_gateway_refused_total{reason=...}; requests from elsewhere keep
being served meanwhile. Both HTTP modes run: on the broker's thread (SSO_GATEWAY_THREADS=0,
with the ops listener) and on MHD's own threads (2, without it). Time bounds are generous.
"""
import json
import re
import select
import socket
import time

import pytest
import requests

from conftest import Broker, free_port
from test_http_input import scrape

PER_IP = 6
READ_TIMEOUT_S = 3.0
MAX_BODY = 65536
IN_FLIGHT = 2 * MAX_BODY


@pytest.fixture(scope="module", params=["broker-thread", "mhd-threads"])
def gateway(request):
    ops_port = free_port() if request.param == "broker-thread" else None
    env = {
        "SSO_MAX_CONNECTIONS_PER_IP": str(PER_IP),
        "SSO_REQUEST_READ_TIMEOUT_MS": str(int(READ_TIMEOUT_S * 1000)),
        "SSO_MAX_BODY_BYTES": str(MAX_BODY),
        "SSO_MAX_BODY_BYTES_IN_FLIGHT": str(IN_FLIGHT),
        "SSO_GATEWAY_THREADS": "0" if ops_port else "2",
    }
    if ops_port:
        env["SSO_OPS_ADDR"] = f"127.0.0.1:{ops_port}"
    b = Broker(extra_env=env)
    b.ops_url = f"http://127.0.0.1:{ops_port}" if ops_port else None
    try:
        b.start()
        yield b
    finally:
        b.cleanup()


class Listener:
    """The ops listener, for scrape()."""

    def __init__(self, url):
        self.url = url

    def get(self, path):
        return requests.get(self.url + path, timeout=10)


def metrics_of(broker):
    """Scrapes wherever /metrics is served (the ops listener when there is one)."""
    return scrape(Listener(broker.ops_url) if broker.ops_url else broker)


def refused(broker, reason):
    return metrics_of(broker).get(("sso_gateway_refused_total", frozenset({("reason", reason)})), 0)


def connect(broker, source="127.0.0.1", timeout=10):
    host, port = broker.url.split("//")[1].split(":")
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect((host, int(port)))
    return s


def closed_by_server(s, within):
    """True when the server closes s (or resets it) within `within` seconds."""
    s.settimeout(within)
    try:
        while True:
            if not s.recv(4096):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def status_of(data):
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", data)
    return int(m.group(1)) if m else None


def json_body(data):
    """The JSON body of a response, which must be exactly Content-Length long."""
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    assert m and int(m.group(1)) == len(body), data[:300]
    return json.loads(body)


def read_response(s, timeout=10):
    """The whole first response on s (headers and a Content-Length body)."""
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    while m and len(body) < int(m.group(1)):
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def healthz_from(broker, source):
    """GET /healthz over a connection from `source` (a loopback address); the status."""
    with connect(broker, source) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return status_of(read_response(s))


def wait_until_served(broker, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if healthz_from(broker, "127.0.0.1") == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("127.0.0.1 is not served again")


# ---- SSO_MAX_CONNECTIONS_PER_IP ---------------------------------------------------------------


def test_connections_past_the_per_address_limit_are_closed_and_counted(gateway):
    before = refused(gateway, "per_ip_limit")
    held = [connect(gateway) for _ in range(PER_IP)]
    # The held ones started a request, so nothing else of theirs is pending.
    started = time.monotonic()
    for s in held:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    extra = [connect(gateway) for _ in range(3)]
    try:
        for s in extra:
            assert closed_by_server(s, within=5), "a connection past the limit stayed open"
        extras_checked = time.monotonic()
        # Another address is served meanwhile, so is the ops listener (its places are its
        # own), and the held connections still work.
        assert healthz_from(gateway, "127.0.0.2") == 200
        if gateway.ops_url:
            assert requests.get(gateway.ops_url + "/healthz", timeout=10).status_code == 200
        held[0].sendall(b"\r\n")
        # Answered: 200, or, on a machine too slow to check the extras within the module's
        # short read timeout, the 408 of that timeout; never closed unanswered.
        status = status_of(read_response(held[0]))
        assert status == 200 or (status == 408
                                 and time.monotonic() - started >= READ_TIMEOUT_S), status
    finally:
        for s in held + extra:
            s.close()
    # Their places are given back when they close.
    wait_until_served(gateway)
    # Each extra was refused for the limit while the held ones kept their places; on a machine
    # so slow that the held ones reached the read timeout before the extras were checked, a
    # place may have come free and a later extra been closed by that timeout instead.
    in_time = extras_checked - started < READ_TIMEOUT_S
    assert refused(gateway, "per_ip_limit") >= before + (3 if in_time else 1)


# ---- SSO_REQUEST_READ_TIMEOUT_MS --------------------------------------------------------------


def trickle(s, data, every=0.2, limit=20.0):
    """Sends data one byte every `every` seconds until the server ends the connection; returns
    what the server wrote, or fails after `limit` seconds."""
    started = time.time()
    answer = b""
    s.setblocking(False)
    for i in range(len(data)):
        if time.time() - started > limit:
            break
        try:
            s.send(data[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            return answer
        except BlockingIOError:
            pass
        time.sleep(every)
        try:
            chunk = s.recv(4096)
            if not chunk:
                return answer
            answer += chunk
        except BlockingIOError:
            pass
        except ConnectionResetError:
            return answer
    raise AssertionError(f"still open after {time.time() - started:.1f}s; got {answer[:200]!r}")


def test_headers_trickled_a_byte_at_a_time_are_cut_off_with_408_and_counted(gateway):
    before = refused(gateway, "read_timeout")
    started = time.time()
    with connect(gateway) as slow:
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"
        slow.sendall(request[:5])
        # Normal requests are served meanwhile.
        assert healthz_from(gateway, "127.0.0.2") == 200
        answer = trickle(slow, request[5:])
    seconds = time.time() - started
    assert READ_TIMEOUT_S - 0.5 <= seconds <= READ_TIMEOUT_S + 5, seconds
    # Plain HTTP: the 408 reaches the client unless the reset overtakes it.
    if answer:
        assert status_of(answer) == 408, answer[:200]
        assert json_body(answer)["error"] == "request_timeout"
    assert refused(gateway, "read_timeout") >= before + 1


def test_a_body_trickled_a_byte_at_a_time_is_cut_off_and_counted(gateway):
    before = refused(gateway, "read_timeout")
    started = time.time()
    with connect(gateway) as slow:
        slow.sendall(b"POST /oauth/token HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 200\r\n\r\n")
        answer = trickle(slow, b"a" * 200)
    seconds = time.time() - started
    assert READ_TIMEOUT_S - 0.5 <= seconds <= READ_TIMEOUT_S + 5, seconds
    # Plain HTTP: the 408 (after a 100 Continue, if one went) reaches the client unless the
    # reset overtakes it.
    assert answer == b"" or status_of(answer) in (100, 408), answer[:200]
    if answer and status_of(answer) == 408:
        assert json_body(answer)["error"] == "request_timeout"
    assert refused(gateway, "read_timeout") >= before + 1


def test_a_connection_that_sends_nothing_is_closed_at_the_deadline_and_counted(gateway):
    before = refused(gateway, "read_timeout")
    started = time.time()
    with connect(gateway) as silent:
        assert closed_by_server(silent, within=READ_TIMEOUT_S + 5)
        assert time.time() - started >= READ_TIMEOUT_S - 0.5
    assert refused(gateway, "read_timeout") >= before + 1


def test_an_idle_kept_alive_connection_is_closed_without_counting_a_refusal(gateway):
    with connect(gateway) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(read_response(s)) == 200
        before = refused(gateway, "read_timeout")
        assert closed_by_server(s, within=READ_TIMEOUT_S + 5)
    assert refused(gateway, "read_timeout") == before


def test_a_request_completed_in_time_is_served_over_a_kept_alive_connection(gateway):
    with connect(gateway) as s:
        for _ in range(3):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert status_of(read_response(s)) == 200
            time.sleep(READ_TIMEOUT_S / 3)


# ---- SSO_MAX_BODY_BYTES_IN_FLIGHT -------------------------------------------------------------


def post_head(length=None, chunked=False):
    head = (b"POST /oauth/token HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n")
    if chunked:
        head += b"Transfer-Encoding: chunked\r\n"
    else:
        head += b"Content-Length: %d\r\n" % length
    return head + b"\r\n"


def test_bodies_past_the_in_flight_budget_are_503_with_retry_after_and_counted(gateway):
    before = refused(gateway, "body_bytes_in_flight")
    # Six clients at once declare the largest body: two fill the budget. The bodies wait (a
    # server closing with unread bytes resets the connection, which can discard its answer).
    clients = [connect(gateway, f"127.0.0.{10 + i}") for i in range(6)]
    try:
        for s in clients:
            s.sendall(post_head(MAX_BODY))
        # The refusals come at once, well within the read deadline of the two holding the
        # budget; after them, nothing more.
        readable, waited = [], time.time()
        while len(readable) < 4 and time.time() - waited < 5:
            readable, _, _ = select.select(clients, [], [], 0.1)
        time.sleep(0.2)
        readable, _, _ = select.select(clients, [], [], 0)
        answered = {clients.index(s): read_response(s) for s in readable}
        assert len(answered) == 4, {i: a[:80] for i, a in answered.items()}
        for data in answered.values():
            assert status_of(data) == 503, data[:200]
            assert re.search(rb"(?i)\r\nretry-after: *\d+\r\n", data), data[:300]
            assert json_body(data)["error"] == "temporarily_unavailable"
        # A chunked body (no length declared) is refused once it passes the budget.
        with connect(gateway) as chunked:
            chunked.sendall(post_head(chunked=True) + b"3e8\r\n" + b"a" * 1000 + b"\r\n0\r\n\r\n")
            assert status_of(read_response(chunked)) == 503
        # The two holding the budget finish and are served (an invalid grant, not a 503).
        for i, s in enumerate(clients):
            if i not in answered:
                s.sendall(b"a" * MAX_BODY)
                status = status_of(read_response(s))
                assert status is not None and status != 503, status
    finally:
        for s in clients:
            s.close()
    # Their bytes are given back: a large body is taken again.
    r = requests.post(gateway.url + "/oauth/token", data=b"a" * MAX_BODY, timeout=10,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code not in (413, 503), r.text
    assert refused(gateway, "body_bytes_in_flight") >= before + 5


def test_one_address_holds_at_most_its_share_of_the_body_budget(gateway):
    """Declared bodies that are never sent must not let one address take the whole budget from
    everyone else: its share is an eighth of it, or one largest body when that is more."""
    before = refused(gateway, "body_bytes_in_flight")
    first, second = connect(gateway, "127.0.0.30"), connect(gateway, "127.0.0.30")
    other = connect(gateway, "127.0.0.31")
    try:
        first.sendall(post_head(MAX_BODY))
        time.sleep(0.3)  # its share is taken before the second asks
        second.sendall(post_head(MAX_BODY))
        data = read_response(second)
        assert status_of(data) == 503, data[:200]
        # Another address still gets the rest of the budget, and both bodies are served.
        other.sendall(post_head(MAX_BODY))
        readable, _, _ = select.select([other], [], [], 0.5)
        assert readable == [], "the other address was refused"
        for s in (first, other):
            s.sendall(b"a" * MAX_BODY)
            status = status_of(read_response(s))
            assert status is not None and status != 503, status
    finally:
        for s in (first, second, other):
            s.close()
    assert refused(gateway, "body_bytes_in_flight") >= before + 1


# ---- SSO_OPS_ADDR -----------------------------------------------------------------------------


def test_metrics_move_to_the_ops_listener_and_leave_the_public_one(gateway):
    if gateway.ops_url is None:
        # Without SSO_OPS_ADDR, the public listener serves /metrics as it always did.
        r = gateway.get("/metrics")
        assert r.status_code == 200
        assert "# TYPE sso_http_requests_total counter" in r.text
        return
    r = requests.get(gateway.ops_url + "/metrics", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    assert "# TYPE sso_http_requests_total counter" in r.text
    assert "sso_gateway_refused_total" in r.text
    public = gateway.get("/metrics")
    assert public.status_code == 404
    assert public.json()["error"] == "not_found"
    # The probes answer on both; the ops listener has nothing else.
    for url in (gateway.url, gateway.ops_url):
        assert requests.get(url + "/healthz", timeout=10).status_code == 200
        assert requests.get(url + "/readyz", timeout=10).status_code == 200
    for path in ("/oauth/token", "/keys", "/static/app.css", "/_ping/gateway"):
        assert requests.get(gateway.ops_url + path, timeout=10).status_code == 404, path

