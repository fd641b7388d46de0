"""Failed client authentications at /oauth/token are limited (issue 16, item 5).

After DIR_AUTH_LIMIT_FAILURES (5) failures a client id is locked out: every attempt, the right
secret too, is answered 429 with Retry-After and invalid_client, by both grants, without the
directory hashing anything; the lockout ends after SSO_CLIENT_AUTH_LOCKOUT_BASE_MS (1.5 s
here) and a success clears the count. Random client ids are limited by the caller's address."""
import secrets
import time

import pytest

from conftest import Broker

BASE_MS = 1500
REDIRECT_URI = "https://app.lockout.example/callback"


@pytest.fixture(scope="module")
def broker():
    b = Broker(extra_env={"SSO_CLIENT_AUTH_LOCKOUT_BASE_MS": str(BASE_MS)})
    try:
        b.start()
        yield b
    finally:
        b.cleanup()


def make_client(broker):
    r = broker.api("POST", "/clients", {"name": "lockout-" + secrets.token_hex(4),
                                        "redirect_uris": [REDIRECT_URI]})
    assert r.status_code == 201, r.text
    return r.json()


def redeem(broker, client_id, secret, basic=False):
    """An authorization_code request with a code that does not exist: 400 invalid_grant means
    the client authenticated."""
    form = {"grant_type": "authorization_code", "code": "no-such-code-" + secrets.token_hex(8),
            "redirect_uri": REDIRECT_URI, "code_verifier": "v" * 43}
    if basic:
        return broker.post("/oauth/token", data=form, auth=(client_id, secret))
    form.update({"client_id": client_id, "client_secret": secret})
    return broker.post("/oauth/token", data=form)


def credentials(broker, client_id, secret):
    return broker.post("/oauth/token", data={"grant_type": "client_credentials"},
                       auth=(client_id, secret))


def assert_locked(r):
    assert r.status_code == 429, (r.status_code, r.text)
    wait = int(r.headers["Retry-After"])
    assert 1 <= wait <= 2 * BASE_MS // 1000 + 1, wait
    body = r.json()
    assert body["error"] == "invalid_client", body
    assert f"retry after {wait} s" in body["error_description"], body
    assert r.headers.get("Cache-Control") == "no-store", r.headers
    return wait


def test_a_client_is_locked_out_after_failures_and_back_after_the_lockout(broker):
    client = make_client(broker)
    cid, secret = client["client_id"], client["client_secret"]
    for i in range(5):
        r = redeem(broker, cid, "wrong-" + str(i), basic=i % 2 == 1)
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", (i, r.text)
    assert_locked(redeem(broker, cid, "wrong-5"))
    # The right secret is refused too while the lockout lasts, by either grant and method.
    assert_locked(redeem(broker, cid, secret))
    assert_locked(redeem(broker, cid, secret, basic=True))
    wait = assert_locked(credentials(broker, cid, secret))
    time.sleep(wait + 0.1)
    r = redeem(broker, cid, secret)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    # The success cleared the count: four failures do not lock, the fifth does.
    for i in range(4):
        assert redeem(broker, cid, "wrong").status_code == 401
    assert redeem(broker, cid, "wrong").status_code == 401
    assert_locked(redeem(broker, cid, "wrong"))
    # Another client is not affected by this one's lockout.
    other = make_client(broker)
    r = redeem(broker, other["client_id"], other["client_secret"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text


def test_the_management_client_is_limited_too(broker):
    broker.token(fresh=True)
    for _ in range(5):
        assert credentials(broker, broker.admin_id, "wrong").status_code == 401
    assert_locked(credentials(broker, broker.admin_id, "wrong"))
    # A secret the directory verified a moment ago still passes (no PBKDF2 for it): guessing
    # cannot lock the client out of a secret it already proved.
    assert credentials(broker, broker.admin_id, broker.admin_secret).status_code == 200


def test_random_client_ids_are_limited_by_address(broker):
    time.sleep(2 * BASE_MS / 1000 + 0.2)  # the earlier tests' lockouts are over
    locked_at = None
    for i in range(40):
        r = redeem(broker, "cli_random" + secrets.token_hex(6), "guess")
        if r.status_code == 429:
            locked_at = i
            break
        assert r.status_code == 401, r.text
    # The address has failed 4 * 5 times (some of them in the tests before): locked.
    assert locked_at is not None and locked_at < 20, locked_at
    assert_locked(r)
