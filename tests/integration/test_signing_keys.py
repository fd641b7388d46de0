"""The signing keys in the management API and the developer dashboard, end to end through the
gateway: GET /api/v1/keys (every published key with its state, no private part) before and
after a rotation through the token service's route, and the dashboard's rotation (a session,
then its CSRF token; audited with the admin's email), which the token service then publishes."""
import time

import requests

from test_dashboard_accounts import account, audit


def db(broker):
    return broker.db()


def keys(broker):
    r = broker.api("GET", "/keys")
    assert r.status_code == 200, r.text
    assert "PRIVATE" not in r.text and '"d"' not in r.text and "private" not in r.text
    body = r.json()
    return body, {k["kid"]: k for k in body["data"]}


def epoch(timestamp):
    return int(time.mktime(time.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ"))) - time.timezone


def test_keys_list_states_after_a_rotation(broker):
    broker.get("/keys")  # the token service makes the first key on first need
    body, before = keys(broker)
    assert body["rotation_delay_seconds"] == 3600
    signing = [k for k in before.values() if k["state"] == "signing"]
    assert len(signing) == 1, before
    old = signing[0]
    assert old["alg"] == "RS256" and old["published_until"] is None

    r = broker.post("/api/v1/keys/rotate", headers={"Authorization": "Bearer " + broker.token()})
    assert r.status_code == 201, r.text
    new_kid = r.json()["kid"]
    _, after = keys(broker)
    new = after[new_kid]
    # The new key is next until its signs_from (the delay after now); the old one signs.
    assert new["state"] == "next" and new["published_until"] is None
    assert abs(epoch(new["signs_from"]) - (time.time() + 3600)) < 30
    assert new["signs_from"] == r.json()["active_from"]
    assert after[old["kid"]]["state"] == "signing"
    assert epoch(after[old["kid"]]["published_until"]) == epoch(new["signs_from"]) + 3600
    # Both published in the JWKS at once by the instance that served the rotation.
    jwks = {k["kid"] for k in broker.get("/keys").json()["keys"]}
    assert {new_kid, old["kid"]} <= jwks
    # Audited under the management client, through the token service's route too.
    rows = audit(broker, action="POST /api/v1/keys/rotate")
    assert any(row["target"] == new_kid and row["status"] == 201
               and row["actor_type"] == "client" for row in rows), rows

    # Its time comes: it signs, the old one is previous until published_until.
    # (The old key, made by this test's broker, became active seconds ago.)
    with db(broker) as conn:
        conn.execute("UPDATE signing_keys SET active_from = ? WHERE kid = ?",
                     (int(time.time()) - 100, old["kid"]))
        conn.execute("UPDATE signing_keys SET active_from = ? WHERE kid = ?",
                     (int(time.time()) - 1, new_kid))
    _, later = keys(broker)
    assert later[new_kid]["state"] == "signing"
    assert later[old["kid"]]["state"] == "previous"


def test_dashboard_rotation_needs_a_session_and_csrf_and_is_audited(broker):
    _, session, csrf = account(broker, "keys.rotator@example.com")
    url = broker.url + "/dashboard/api/v1/keys/rotate"
    _, before = keys(broker)
    # No session (a CSRF-looking header does not stand for one): 401.
    r = requests.post(url, headers={"X-CSRF-Token": csrf}, timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "invalid_session", r.text
    assert requests.get(broker.url + "/dashboard/api/v1/keys", timeout=10).status_code == 401
    # A session without its CSRF token, or with another: 403.
    for headers in ({}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": "0" * len(csrf)}):
        r = session.post(url, headers=headers, timeout=10)
        assert r.status_code == 403, (headers, r.text)
    assert keys(broker)[1].keys() == before.keys()

    r = session.post(url, headers={"X-CSRF-Token": csrf}, timeout=30)
    assert r.status_code == 201, r.text
    kid = r.json()["kid"]
    listed = session.get(broker.url + "/dashboard/api/v1/keys", timeout=10).json()
    states = {k["kid"]: k["state"] for k in listed["data"]}
    assert states[kid] == "next" and list(states.values()).count("signing") == 1, states
    rows = audit(broker, actor="keys.rotator@example.com")
    assert [row["status"] for row in rows
            if row["action"] == "POST /dashboard/api/v1/keys/rotate"] == [201, 403, 403, 403]
    # The token service publishes it at its next refresh of the keys (a minute at most), long
    # before it signs.
    deadline = time.time() + 75
    while kid not in {k["kid"] for k in broker.get("/keys").json()["keys"]}:
        assert time.time() < deadline, "the dashboard's key was never published"
        time.sleep(2)
