"""Client secret rotation through /oauth/token (issue 20): POST /api/v1/clients/{id}/rotate_secret
hands out a new secret once; the previous one keeps authenticating the client for
overlap_seconds (default 24 h, 0 = it stops at once) and then stops, also when the directory
verified it a moment before (its verification cache); a second rotation replaces the previous
one, so at most two secrets work. Wrong overlap values are refused with 400 and change nothing."""
import calendar
import secrets
import time

import pytest

from apihelpers import assert_json_error

REDIRECT_URI = "https://app.rotation.example/callback"


def make_client(broker):
    r = broker.api("POST", "/clients", {"name": "rotation-" + secrets.token_hex(4),
                                        "redirect_uris": [REDIRECT_URI]})
    assert r.status_code == 201, r.text
    return r.json()


def authenticates(broker, client_id, secret):
    """Redeems a code that does not exist: invalid_grant (400) means the client authenticated,
    invalid_client (401) that it did not."""
    r = broker.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": "no-such-code-" + secrets.token_hex(8),
        "redirect_uri": REDIRECT_URI, "code_verifier": "v" * 43},
        auth=(client_id, secret))
    assert r.status_code in (400, 401), (r.status_code, r.text)
    assert r.json()["error"] == ("invalid_grant" if r.status_code == 400 else "invalid_client")
    return r.status_code == 400


def rotate(broker, client_id, body=None, raw=None):
    return broker.api("POST", f"/clients/{client_id}/rotate_secret", body, raw=raw)


def epoch(rfc3339):
    return calendar.timegm(time.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ"))


def test_the_previous_secret_works_during_the_overlap_and_not_after(broker):
    client = make_client(broker)
    old = client["client_secret"]
    assert authenticates(broker, client["id"], old)  # verified, so cached by the directory
    r = rotate(broker, client["id"], {"overlap_seconds": 2})
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert set(rotated) == {"id", "client_id", "client_secret", "previous_secret_expires_at"}
    assert rotated["id"] == rotated["client_id"] == client["id"]
    new = rotated["client_secret"]
    assert new and new != old
    assert authenticates(broker, client["id"], new)
    assert authenticates(broker, client["id"], old)
    assert r.headers.get("Cache-Control") == "no-store", r.headers
    # The secret is shown once: never by a GET.
    assert new not in broker.api("GET", f"/clients/{client['id']}").text
    ends = epoch(rotated["previous_secret_expires_at"])
    assert time.time() - 1 <= ends <= time.time() + 3
    time.sleep(max(0.0, ends - time.time()) + 1.1)
    assert not authenticates(broker, client["id"], old)
    assert authenticates(broker, client["id"], new)


def test_overlap_zero_stops_the_previous_secret_at_once(broker):
    client = make_client(broker)
    old = client["client_secret"]
    assert authenticates(broker, client["id"], old)
    r = rotate(broker, client["id"], {"overlap_seconds": 0})
    assert r.status_code == 200, r.text
    assert r.json()["previous_secret_expires_at"] is None
    assert not authenticates(broker, client["id"], old)
    assert authenticates(broker, client["id"], r.json()["client_secret"])


def test_a_second_rotation_replaces_the_previous_secret(broker):
    client = make_client(broker)
    first = client["client_secret"]
    r = rotate(broker, client["id"])  # no body: the default overlap, 24 hours
    assert r.status_code == 200, r.text
    second = r.json()["client_secret"]
    assert 86400 - 5 <= epoch(r.json()["previous_secret_expires_at"]) - time.time() <= 86400 + 5
    assert authenticates(broker, client["id"], first)
    r = rotate(broker, client["id"], {})
    assert r.status_code == 200, r.text
    third = r.json()["client_secret"]
    assert len({first, second, third}) == 3
    assert authenticates(broker, client["id"], third)
    assert authenticates(broker, client["id"], second)
    assert not authenticates(broker, client["id"], first)


@pytest.mark.parametrize("raw", [
    '{"overlap_seconds":""}', '{"overlap_seconds":null}', '{"overlap_seconds":-1}',
    '{"overlap_seconds":2592001}', '{"overlap_seconds":1.5}', '{"overlap_seconds":"86400"}',
    '{"overlap_seconds":"24h"}', '{"overlap_seconds":true}', '{"overlap_seconds":[60]}',
    '{"overlap_seconds":"<script>alert(1)</script>"}',
    # Numbers out of every range, bodies that are not an object: refused before the field.
    '{"overlap_seconds":1e400}', '{"overlap_seconds":99999999999999999999999}', "[]", "{",
    "not json",
])
def test_wrong_overlap_values_are_refused_and_change_nothing(broker, raw):
    client = make_client(broker)
    r = broker.api("POST", f"/clients/{client['id']}/rotate_secret", raw=raw,
                   headers={"Content-Type": "application/json"})
    body = assert_json_error(r, 400, "invalid_request")
    if raw.startswith('{"overlap_seconds"') and "999999" not in raw and "e400" not in raw:
        assert "overlap_seconds must be a whole number of seconds from 0" in \
            body["error_description"], body
    assert authenticates(broker, client["id"], client["client_secret"])


def test_unknown_clients_and_the_admin_client(broker):
    assert_json_error(rotate(broker, "cli_doesnotexist", {}), 404)
    assert_json_error(rotate(broker, "cli_doesnotexist%2F..", {}), 404)
    admin = broker.api("GET", "/clients").json()["data"]
    admin_id = next(c["id"] for c in admin if c["is_admin"])
    body = assert_json_error(rotate(broker, admin_id, {}), 409, "conflict")
    assert "SSO_ADMIN_CLIENT_SECRET" in body["error_description"]
    # The admin's token still comes with its secret.
    assert broker.token(fresh=True)
    r = broker.api("GET", f"/clients/{admin_id}/rotate_secret")
    assert_json_error(r, 405)
