"""The developer dashboard's accounts end to end through the gateway: setup links (once, 24 h,
malformed), the password rules, sign-in and its one answer for every refusal, the lockout and
its doubling, sessions (sign-out, a disabled admin's), CSRF, every /dashboard/api route without
a session, the audit log with actor and address, SSO_DASHBOARD_ADMIN_EMAIL at the first start,
and ssoctl admins / audit."""
import hashlib
import json
import os
import stat
import subprocess

import pytest
import requests

PASSWORD = "correct horse battery staple"


def db(broker):
    return broker.db()


def create_admin(broker, email):
    r = broker.api("POST", "/admins", {"email": email})
    assert r.status_code == 201, r.text
    admin = r.json()
    assert admin["setup_url"].startswith(broker.url + "/dashboard/setup#")
    return admin, admin["setup_url"].split("#", 1)[1]


def setup_password(broker, token, password=PASSWORD, confirm=None):
    return broker.post("/dashboard/setup", json={
        "token": token, "password": password,
        "password_confirm": password if confirm is None else confirm},
        headers={"Origin": broker.url})


def signin(broker, email, password=PASSWORD, session=None):
    s = session or requests.Session()
    r = s.post(broker.url + "/dashboard/api/signin", json={"email": email, "password": password},
               headers={"Origin": broker.url}, timeout=10)
    return s, r


def account(broker, email):
    """A signed-in admin: the session and its CSRF token."""
    admin, token = create_admin(broker, email)
    assert setup_password(broker, token).status_code == 200
    s, r = signin(broker, email)
    assert r.status_code == 200, r.text
    return admin, s, r.json()["csrf_token"]


def audit(broker, **query):
    r = broker.api("GET", "/audit?" + "&".join(f"{k}={v}" for k, v in query.items()))
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_setup_link_once_expired_malformed(broker):
    admin, token = create_admin(broker, "Setup.Once@Example.com")
    assert admin["email"] == "setup.once@example.com"
    assert setup_password(broker, token).status_code == 200
    # Used twice: 410, the password stays the first one.
    r = setup_password(broker, token, password="another long password")
    assert r.status_code == 410 and r.json()["error"] == "link_used"
    assert signin(broker, "setup.once@example.com", "another long password")[1].status_code == 401
    # Malformed or unknown tokens: 400, nothing granted.
    for bad in ["", "x", token[:-1], token + "A", "A" * 43, "<script>" * 5 + "aaa"]:
        r = setup_password(broker, bad)
        assert r.status_code == 400 and r.json()["error"] == "invalid_link", bad
    # Expired (24 h): 410 and no password.
    admin, token = create_admin(broker, "setup.late@example.com")
    with db(broker) as conn:
        conn.execute("UPDATE dashboard_setup_links SET expires_at = 1 WHERE admin_id = ?",
                     (admin["id"],))
    r = setup_password(broker, token)
    assert r.status_code == 410 and r.json()["error"] == "link_expired"
    assert signin(broker, "setup.late@example.com")[1].status_code == 401
    # A new link kills the old one.
    r = broker.api("POST", f"/admins/{admin['id']}/setup_link")
    assert r.status_code == 200
    fresh = r.json()["setup_url"].split("#", 1)[1]
    assert setup_password(broker, token).status_code == 400
    assert setup_password(broker, fresh).status_code == 200
    # Another site's POST: 403.
    admin, token = create_admin(broker, "setup.csrf@example.com")
    r = broker.post("/dashboard/setup", json={"token": token, "password": PASSWORD,
                                              "password_confirm": PASSWORD},
                    headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert setup_password(broker, token).status_code == 200


def test_password_rules(broker):
    admin, token = create_admin(broker, "rules@example.com")
    cases = [("short", None, "at least 12"), ("x" * 257, None, "at most 256"),
             ("rules@example.com", None, "not be the email"),
             ("RULES@EXAMPLE.COM", None, "not be the email"),
             ("a long enough password", "a different password", "differ")]
    for password, confirm, why in cases:
        r = setup_password(broker, token, password, confirm)
        assert r.status_code == 400 and r.json()["error"] == "invalid_password"
        assert why in r.json()["error_description"]
    # The link survives a refused password; 12 characters (not bytes) pass.
    assert setup_password(broker, token, "ééééééééééé1").status_code == 200
    assert signin(broker, "rules@example.com", "ééééééééééé1")[1].status_code == 200


def test_signin_cookie_session_signout(broker):
    admin, s, csrf = account(broker, "signin@example.com")
    cookie = [c for c in s.cookies if c.name == "sso_dashboard"][0]
    assert cookie.path == "/dashboard/" and cookie.has_nonstandard_attr("HttpOnly")
    r = s.get(broker.url + "/dashboard/api/session", timeout=10)
    assert r.status_code == 200
    assert r.json()["admin"] == {"id": admin["id"], "email": "signin@example.com"}
    old = s.cookies.get("sso_dashboard")
    r = s.post(broker.url + "/dashboard/api/signout", headers={"X-CSRF-Token": csrf}, timeout=10)
    assert r.status_code == 204
    # The cookie from before sign-out is refused.
    r = requests.get(broker.url + "/dashboard/api/session", cookies={"sso_dashboard": old},
                     timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "invalid_session"


def test_enumeration_safe_and_lockout(broker):
    create_admin(broker, "nopassword@example.com")
    admin, token = create_admin(broker, "disabled@example.com")
    assert setup_password(broker, token).status_code == 200
    assert broker.api("POST", f"/admins/{admin['id']}/disable").status_code == 200
    account(broker, "locked@example.com")
    answers = []
    for email, password in [("nobody@example.com", PASSWORD), ("locked@example.com", "wrong!"),
                            ("nopassword@example.com", PASSWORD),
                            ("disabled@example.com", PASSWORD)]:
        r = signin(broker, email, password)[1]
        answers.append((r.status_code, r.json()))
    assert len({json.dumps(a, sort_keys=True) for a in answers}) == 1, answers
    assert answers[0][0] == 401 and answers[0][1]["error"] == "invalid_credentials"
    # Four more failures make five: then even the right password is locked out.
    for _ in range(4):
        assert signin(broker, "locked@example.com", "wrong!")[1].status_code == 401
    r = signin(broker, "locked@example.com")[1]
    assert r.status_code == 429 and r.json()["error"] == "locked"
    assert 50 < r.json()["retry_after"] <= 60 and int(r.headers["Retry-After"]) <= 60
    # When it passes, the next failure locks for twice as long.
    lock_passes(broker, "locked@example.com")
    assert signin(broker, "locked@example.com", "wrong!")[1].status_code == 401
    r = signin(broker, "locked@example.com")[1]
    assert r.status_code == 429 and 110 < r.json()["retry_after"] <= 120
    assert [row["status"] for row in audit(broker, actor="locked@example.com",
                                           action="LOCK")] == [429, 429]


def test_csrf_less_post_refused(broker):
    admin, s, csrf = account(broker, "csrf@example.com")
    for headers in [{}, {"X-CSRF-Token": ""},
                    {"X-CSRF-Token": csrf[:-1] + ("1" if csrf.endswith("0") else "0")}]:
        r = s.post(broker.url + "/dashboard/api/v1/organizations", json={"display_name": "X"},
                   headers=headers, timeout=10)
        assert r.status_code in (403,), r.text
    r = s.post(broker.url + "/dashboard/api/v1/organizations", json={"display_name": "Made"},
               headers={"X-CSRF-Token": csrf}, timeout=10)
    assert r.status_code == 201, r.text
    names = [o["display_name"] for o in broker.api("GET", "/organizations").json()["data"]]
    assert "X" not in names and "Made" in names


def test_disabled_admin_session_ended(broker):
    admin, s, csrf = account(broker, "gone@example.com")
    assert s.get(broker.url + "/dashboard/api/session", timeout=10).status_code == 200
    assert broker.api("POST", f"/admins/{admin['id']}/disable").status_code == 200
    assert s.get(broker.url + "/dashboard/api/session", timeout=10).status_code == 401
    assert broker.api("POST", f"/admins/{admin['id']}/enable").status_code == 200
    assert s.get(broker.url + "/dashboard/api/session", timeout=10).status_code == 401
    # Deleted: the same.
    admin, s, csrf = account(broker, "deleted@example.com")
    assert broker.api("DELETE", f"/admins/{admin['id']}").status_code == 204
    assert s.get(broker.url + "/dashboard/api/session", timeout=10).status_code == 401


@pytest.mark.parametrize("method,path", [
    ("GET", "/dashboard/api/session"), ("POST", "/dashboard/api/signout"),
    ("GET", "/dashboard/api/config"), ("GET", "/dashboard/api/stats?range=week"),
    ("GET", "/dashboard/api/v1/organizations"), ("POST", "/dashboard/api/v1/organizations"),
    ("GET", "/dashboard/api/v1/admins"), ("GET", "/dashboard/api/v1/audit"),
    ("DELETE", "/dashboard/api/v1/admins/adm_x"), ("GET", "/dashboard/api/nothing")])
def test_every_dashboard_api_route_needs_a_session(broker, method, path):
    for cookies in [{}, {"sso_dashboard": "A" * 32}]:
        r = requests.request(method, broker.url + path, cookies=cookies, json={},
                             headers={"X-CSRF-Token": "x"}, timeout=10)
        assert r.status_code == 401 and r.json()["error"] == "invalid_session", (path, r.text)


def test_audit_lists_each_change_with_actor_and_address(broker):
    admin, s, csrf = account(broker, "auditor@example.com")
    r = s.post(broker.url + "/dashboard/api/v1/organizations", json={"display_name": "Audited"},
               headers={"X-CSRF-Token": csrf}, timeout=10)
    org = r.json()["id"]
    r = s.post(broker.url + f"/dashboard/api/v1/organizations/{org}/domains",
               json={"domain": "audited.example"}, headers={"X-CSRF-Token": csrf}, timeout=10)
    assert r.status_code == 201
    s.get(broker.url + "/dashboard/api/v1/organizations", timeout=10)  # a read: not audited
    rows = audit(broker, actor="auditor@example.com")
    actions = [(row["action"], row["status"], row["target"]) for row in rows]
    assert actions[0][0] == f"POST /dashboard/api/v1/organizations/{org}/domains"
    assert actions[1] == ("POST /dashboard/api/v1/organizations", 201, org)
    assert ("POST /dashboard/api/signin", 200, admin["id"]) in actions
    assert ("POST /dashboard/setup", 200, admin["id"]) in actions
    assert all(row["remote_addr"] == "127.0.0.1" and row["actor_type"] == "admin"
               for row in rows)
    assert not any(row["action"].startswith("GET") for row in rows)
    # Through /api/v1: the client's id.
    r = broker.api("PATCH", f"/organizations/{org}", {"display_name": "Renamed"})
    assert r.status_code == 200
    row = audit(broker, actor=broker.admin_id)[0]
    assert row["actor_type"] == "client" and row["action"] == f"PATCH /api/v1/organizations/{org}"
    assert row["target"] == org and row["remote_addr"] == "127.0.0.1"
    # A refused change is written too.
    assert broker.api("POST", "/organizations", {}).status_code == 400
    assert audit(broker, actor=broker.admin_id)[0]["status"] == 400


def test_config_and_stats(broker):
    admin, s, csrf = account(broker, "stats@example.com")
    config = s.get(broker.url + "/dashboard/api/config", timeout=10).json()
    assert config["public_url"] == broker.url and config["environment"] == "development"
    assert config["discovery_url"] == broker.url + "/.well-known/openid-configuration"
    assert config["simulator"] is True and config["test_organization_id"] == "org_test"
    stats = s.get(broker.url + "/dashboard/api/stats?range=day", timeout=10).json()
    assert stats["range"] == "day" and stats["bucket_seconds"] == 3600
    assert len(stats["buckets"]) == 24
    assert s.get(broker.url + "/dashboard/api/stats?range=x", timeout=10).status_code == 400


def test_pages_are_shells(broker):
    for path, script in [("/dashboard/", "/static/dashboard/app.js"),
                         ("/dashboard/signin", "/static/dashboard/signin.js"),
                         ("/dashboard/setup", "/static/dashboard/setup.js")]:
        r = broker.get(path)
        assert r.status_code == 200
        assert f'<script type="module" src="{script}"></script>' in r.text
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    # A token typed into a path: not quoted, and masked in the access log.
    token = "Q" * 43
    assert token not in broker.get("/dashboard/setup/" + token).text
    assert token not in broker.log_text()


def ssoctl(broker, *args):
    proc = subprocess.run([os.path.join(broker.bin_dir, "ssoctl"), *args], env=broker.env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc.stdout


def test_ssoctl_admins_and_audit(broker):
    created = json.loads(ssoctl(broker, "admins", "create", "--email", "cli@example.com",
                                "--json"))
    assert created["setup_url"].startswith(broker.url + "/dashboard/setup#")
    table = ssoctl(broker, "admins", "create", "--email", "cli2@example.com")
    assert "/dashboard/setup#" in table
    listed = json.loads(ssoctl(broker, "admins", "list", "--json"))["data"]
    assert "cli@example.com" in [a["email"] for a in listed]
    assert "cli@example.com" in ssoctl(broker, "admins", "list")
    ident = created["id"]
    assert json.loads(ssoctl(broker, "admins", "disable", ident, "--json"))["status"] == "disabled"
    assert json.loads(ssoctl(broker, "admins", "enable", ident, "--json"))["status"] == "active"
    link = json.loads(ssoctl(broker, "admins", "setup-link", ident, "--json"))["setup_url"]
    assert link != created["setup_url"]
    assert setup_password(broker, created["setup_url"].split("#", 1)[1]).status_code == 400
    assert setup_password(broker, link.split("#", 1)[1]).status_code == 200
    ssoctl(broker, "admins", "delete", ident)
    assert ident not in ssoctl(broker, "admins", "list")
    rows = json.loads(ssoctl(broker, "audit", "--actor", broker.admin_id, "--limit", "3",
                             "--json"))["data"]
    assert len(rows) == 3 and rows[0]["action"] == f"DELETE /api/v1/admins/{ident}"
    assert "DELETE /api/v1/admins/" in ssoctl(broker, "audit", "--limit", "5")
    bad = subprocess.run([os.path.join(broker.bin_dir, "ssoctl"), "admins", "create"],
                         env=broker.env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2


def test_first_admin_from_the_environment(fresh_broker):
    b = fresh_broker(extra_env={"SSO_DASHBOARD_ADMIN_EMAIL": "First@Example.com"})
    path = os.path.join(b.data_dir, "dashboard-setup-link")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        link = f.read().strip()
    assert link.startswith(b.url + "/dashboard/setup#")
    assert b.log_text().count(link) == 1  # printed once on the console
    token = link.split("#", 1)[1]
    assert setup_password(b, token).status_code == 200
    assert signin(b, "first@example.com")[1].status_code == 200
    # A second start does nothing: no new account, no new link.
    os.unlink(path)
    b.stop()
    b.start()
    assert not os.path.exists(path)
    assert b.log_text().count("/dashboard/setup#") == 1
    admins = b.api("GET", "/admins").json()["data"]
    assert [a["email"] for a in admins] == ["first@example.com"]


def lock_passes(broker, email):
    """Ends the sign-in lockout of email (account or not) at once, as waiting it out would."""
    digest = hashlib.sha256(email.lower().encode()).hexdigest()
    with db(broker) as conn:
        assert conn.execute("UPDATE dashboard_signin_failures SET locked_until = 1 "
                            "WHERE email_hash = ? AND locked_until > 1", (digest,)).rowcount == 1


def failed_signins(broker, email, attempts):
    """The answers to failed sign-ins of email (attempts numbers them), the lockout passing
    before the eighth and the tenth; retry_after rounded up to whole minutes (time passes)."""
    answers = []
    for attempt in attempts:
        if attempt in (8, 10):
            lock_passes(broker, email)
        # Any case of the address is the same address.
        r = signin(broker, email.upper() if attempt % 2 else email, "not the password!")[1]
        body = r.json()
        if "retry_after" in body:
            assert 0 < body["retry_after"] <= int(r.headers["Retry-After"]) + 1
            body["retry_after"] = -(-body["retry_after"] // 60) * 60
        answers.append((r.status_code, body, r.headers.get("Retry-After") is not None,
                        r.headers.get("Cache-Control")))
    return answers


def test_lockout_same_for_unknown_emails(broker):
    """An email without an account is counted and locked as an account is: the answers to
    failed sign-ins do not tell whether an account exists."""
    account(broker, "exists.lock@example.com")
    known = failed_signins(broker, "exists.lock@example.com", range(1, 8))
    unknown = failed_signins(broker, "nobody.lock@example.com", range(1, 8))
    assert unknown == known
    # Then the doubling, each lockout passed: the same again.
    known += failed_signins(broker, "exists.lock@example.com", range(8, 12))
    unknown += failed_signins(broker, "nobody.lock@example.com", range(8, 12))
    assert [a[0] for a in known] == [401] * 5 + [429, 429, 401, 429, 401, 429], known
    assert [a[1].get("retry_after") for a in known] == [None] * 5 + [60, 60, None, 120, None,
                                                                     240]
    assert unknown == known
    # Locked, even the right password is not checked; one without an account answers alike.
    assert signin(broker, "exists.lock@example.com")[1].status_code == 429
    assert signin(broker, "nobody.lock@example.com")[1].status_code == 429
    # A success clears the count: four failures after it do not lock.
    lock_passes(broker, "exists.lock@example.com")
    assert signin(broker, "exists.lock@example.com")[1].status_code == 200
    for _ in range(4):
        assert signin(broker, "exists.lock@example.com", "wrong!")[1].status_code == 401
    assert signin(broker, "exists.lock@example.com")[1].status_code == 200
    # Only hashes are kept, never the address someone typed.
    with db(broker) as conn:
        rows = conn.execute("SELECT * FROM dashboard_signin_failures").fetchall()
    assert rows and "nobody.lock" not in json.dumps(rows)
