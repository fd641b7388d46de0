"""Behind a load balancer (issue 23's HAProxy): SSO_TRUSTED_PROXIES names the proxies whose
X-Forwarded-For the gateway believes, so the lockout of failed client authentications counts
per client, not per proxy. A client cannot use the header to escape a lockout when its proxy is
not trusted, nor by writing addresses at the left of a trusted proxy's line; a bad list stops
the gateway at start with the reason."""
import base64
import http.client
import os
import secrets
import subprocess
import time

from conftest import BIN
from test_client_lockout import BASE_MS, assert_locked, redeem

CLIENT_A, CLIENT_B = "198.51.100.10", "198.51.100.20"


def fail_until_locked(broker, headers, limit=40):
    """Random client ids with a wrong secret until the address is locked out: how many
    failures it took, or None."""
    for i in range(limit):
        form = {"grant_type": "client_credentials"}
        r = broker.post("/oauth/token", data=form, headers=headers,
                        auth=("cli_random" + secrets.token_hex(6), "guess"))
        if r.status_code == 429:
            assert_locked(r)
            return i
        assert r.status_code == 401, r.text
    return None


def random_guess(broker, headers):
    return broker.post("/oauth/token", data={"grant_type": "client_credentials"},
                       headers=headers, auth=("cli_random" + secrets.token_hex(6), "guess"))


def two_lines(broker, first, second):
    """A random guess with two X-Forwarded-For lines (requests cannot send a header twice)."""
    body = "grant_type=client_credentials"
    auth = base64.b64encode(f"cli_random{secrets.token_hex(6)}:guess".encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", broker.http_port, timeout=10)
    conn.putrequest("POST", "/oauth/token")
    conn.putheader("Authorization", "Basic " + auth)
    conn.putheader("Content-Type", "application/x-www-form-urlencoded")
    conn.putheader("Content-Length", str(len(body)))
    conn.putheader("X-Forwarded-For", first)
    conn.putheader("X-Forwarded-For", second)
    conn.endheaders(body.encode())
    status = conn.getresponse().status
    conn.close()
    return status


def test_a_trusted_proxy_names_the_client(fresh_broker):
    broker = fresh_broker(extra_env={"SSO_CLIENT_AUTH_LOCKOUT_BASE_MS": str(BASE_MS),
                                     "SSO_TRUSTED_PROXIES": "127.0.0.0/8, ::1"})
    # Client A, behind the proxy (the right-most entry is what the proxy saw), is locked out.
    assert fail_until_locked(broker, {"X-Forwarded-For": f"6.6.6.6, {CLIENT_A}"}) is not None
    # Client B behind the same proxy is not: its failure is a 401, not a 429.
    assert random_guess(broker, {"X-Forwarded-For": CLIENT_B}).status_code == 401
    # A's own words at the left do not make it B: A is still locked.
    assert random_guess(broker, {"X-Forwarded-For": f"{CLIENT_B}, {CLIENT_A}"}).status_code \
        == 429
    # Two header lines read as one list, the last line at the right.
    assert two_lines(broker, CLIENT_B, CLIENT_A) == 429
    assert two_lines(broker, CLIENT_A, CLIENT_B) == 401
    # Garbage in the proxy's line: the proxy itself is what is known, not A, not a new name.
    assert random_guess(broker, {"X-Forwarded-For": "not-an-address"}).status_code == 401


def test_an_untrusted_peer_cannot_choose_its_address(fresh_broker):
    broker = fresh_broker(extra_env={"SSO_CLIENT_AUTH_LOCKOUT_BASE_MS": str(BASE_MS)})
    # Without SSO_TRUSTED_PROXIES, X-Forwarded-For is the client's own words: a new value on
    # every attempt still counts against the one TCP address, which is locked out.
    locked = None
    for i in range(40):
        r = random_guess(broker, {"X-Forwarded-For": f"203.0.113.{i + 1}"})
        if r.status_code == 429:
            locked = i
            break
        assert r.status_code == 401, r.text
    assert locked is not None and locked < 25, locked
    assert random_guess(broker, {"X-Forwarded-For": CLIENT_B}).status_code == 429
    time.sleep(2 * BASE_MS / 1000 + 0.2)


def test_a_bad_list_stops_the_gateway(tmp_path):
    for bad in ("10.0.0.0/33", "example.com", "10.0.0.1,,10.0.0.2"):
        env = dict(os.environ, SSO_TRUSTED_PROXIES=bad, SSO_DATA_DIR=str(tmp_path),
                   SSO_HTTP_ADDR="127.0.0.1:0", SSO_BROKER_ENDPOINT="tcp://127.0.0.1:0")
        r = subprocess.run([os.path.join(BIN, "sso-gateway")], env=env, capture_output=True,
                           text=True, timeout=20)
        assert r.returncode != 0, (bad, r.stdout, r.stderr)
        assert "SSO_TRUSTED_PROXIES" in r.stderr + r.stdout, (bad, r.stderr)
