"""SCIM directories (issue 22, first part) through the gateway's management API and ssoctl: a
directory's token is shown once and stored as its hash only, a rotation keeps the previous
token live for its overlap (seen in the directory's tokens list: the SCIM service that would
take the tokens is not built yet), the users, groups and events the SCIM service will write
are listed, and deleting the organization deletes its directories. No token ever reaches a log
line, a list or the audit log."""
import calendar
import hashlib
import re
import time

from test_ssoctl import fields_of, ok, ok_json, run, table, unique

TOKEN_RE = re.compile(r"^scim_[A-Za-z0-9_-]{43}$")


def epoch(rfc3339):
    return calendar.timegm(time.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ"))


def database(broker):
    return broker.db()


def new_org(broker):
    r = broker.api("POST", "/organizations", {"display_name": unique("SCIM it ")})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_a_directory_from_creation_to_its_organizations_deletion(broker):
    org = new_org(broker)
    # Created with ssoctl: the base URL and the token, once, with a line that says so.
    made = ok(broker, "directories", "create", org, "--name", "Okta")
    shown = fields_of(made.stdout)
    assert "shown only once" in made.stderr
    dir_id, token = shown["ID"], shown["TOKEN"]
    assert dir_id.startswith("dir_") and TOKEN_RE.match(token), shown
    assert shown["BASE URL"] == f"{broker.url}/scim/v2/{dir_id}"
    assert shown["ORGANIZATION"] == org and shown["NAME"] == "Okta"

    # Never again: not in get, list (ssoctl and API), nor stored as itself.
    got = ok_json(broker, "directories", "get", dir_id)
    assert "token" not in got and len(got["tokens"]) == 1 and got["tokens"][0]["expires_at"] is None
    listed = ok(broker, "directories", "list", org)
    header, rows = table(listed.stdout)
    assert header == ["ID", "NAME", "BASE URL", "CREATED"] and rows[0][0] == dir_id
    assert token not in listed.stdout
    for path in (f"/directories/{dir_id}", f"/organizations/{org}/directories"):
        r = broker.api("GET", path)
        assert r.status_code == 200 and token not in r.text and '"token"' not in r.text
    with database(broker) as db:
        hashes = [h for (h,) in db.execute(
            "SELECT token_hash FROM scim_tokens WHERE directory_id = ?", (dir_id,))]
        assert hashes == [hashlib.sha256(token.encode()).hexdigest()]

    # Rotation with an overlap: a new token once; the previous one live until now + 2h.
    before = int(time.time())
    rotated = ok_json(broker, "directories", "rotate-token", dir_id, "--overlap", "2h")
    second = rotated["token"]
    assert TOKEN_RE.match(second) and second != token
    tokens = rotated["tokens"]
    assert len(tokens) == 2 and tokens[0]["expires_at"] is None
    assert before + 7200 <= epoch(tokens[1]["expires_at"]) <= int(time.time()) + 7200
    live = broker.api("GET", f"/directories/{dir_id}").json()["tokens"]
    assert [t["id"] for t in live] == [t["id"] for t in tokens]
    # A second rotation ends the oldest at once: never more than two live.
    again = ok(broker, "directories", "rotate-token", dir_id, "--overlap", "90m")
    assert "The previous token works until" in again.stderr
    third = fields_of(again.stdout)["TOKEN"]
    live = broker.api("GET", f"/directories/{dir_id}").json()["tokens"]
    assert len(live) == 2 and tokens[0]["id"] == live[1]["id"]
    with database(broker) as db:
        assert db.execute("SELECT count(*) FROM scim_tokens WHERE directory_id = ?",
                          (dir_id,)).fetchone()[0] == 2
    # Overlap 0: the previous token stops now.
    last = ok(broker, "directories", "rotate-token", dir_id, "--overlap", "0")
    assert "The previous token no longer works" in last.stderr
    assert len(broker.api("GET", f"/directories/{dir_id}").json()["tokens"]) == 1
    # Out of range: refused by ssoctl (usage) and by the API, with nothing changed.
    assert run(broker, "directories", "rotate-token", dir_id, "--overlap", "8d").returncode == 2
    r = broker.api("POST", f"/directories/{dir_id}/token", {"overlap_seconds": 604801})
    assert r.status_code == 400 and "604800 (7 days)" in r.json()["error_description"]
    assert len(broker.api("GET", f"/directories/{dir_id}").json()["tokens"]) == 1

    # What the SCIM service will write, listed by ssoctl.
    with database(broker) as db:
        db.execute("INSERT INTO scim_users (id, directory_id, user_name, user_name_lower, "
                   "email_lower, resource_json, created_at, updated_at) VALUES "
                   "('u-it-1', ?, 'Jo@Example.com', 'jo@example.com', 'jo@example.com', '{}', "
                   "1, 1)", (dir_id,))
        db.execute("INSERT INTO scim_groups (id, directory_id, display_name, display_name_lower, "
                   "resource_json, created_at, updated_at) VALUES ('g-it-1', ?, 'Admins', "
                   "'admins', '{}', 1, 1)", (dir_id,))
        db.execute("INSERT INTO scim_group_members (group_id, user_id) VALUES ('g-it-1', 'u-it-1')")
        for i, kind in enumerate(["user.created", "group.created", "group.user_added"]):
            db.execute("INSERT INTO scim_events (directory_id, type, resource_type, resource_id, "
                       "at) VALUES (?, ?, 'Group', 'g-it-1', ?)", (dir_id, kind, 10 + i))
    users = ok_json(broker, "directories", "users", dir_id)["data"]
    assert [(u["user_name"], u["email"], u["active"]) for u in users] == \
        [("Jo@Example.com", "jo@example.com", True)]
    header, rows = table(ok(broker, "directories", "groups", dir_id).stdout)
    assert header[:3] == ["ID", "NAME", "MEMBERS"] and rows == [["g-it-1", "Admins", "1", "-", "-"]]
    newest = ok(broker, "directories", "events", dir_id, "--limit", "1")
    header, rows = table(newest.stdout)
    assert len(rows) == 1 and rows[0][1] == "group.user_added"
    assert "use --limit for more" in newest.stderr

    # Audited, as every change is, without the token.
    audit = broker.api("GET", "/audit?page_size=200").json()["data"]
    mine = [e for e in audit if e["target"] == dir_id]
    # The rotation refused for its overlap (400) too: a rotation is audited under the directory.
    assert sorted(e["status"] for e in mine) == [200, 200, 200, 201, 400]
    assert all(t not in str(audit) for t in (token, second, third))

    # Another directory, deleted by ssoctl; then the organization takes this one with it.
    other = ok_json(broker, "directories", "create", org)
    assert other["name"] == "SCIM directory"
    deleted = ok(broker, "directories", "delete", other["id"])
    assert other["id"] in deleted.stdout
    assert run(broker, "directories", "get", other["id"]).returncode == 1
    assert broker.api("DELETE", f"/organizations/{org}").status_code == 204
    assert broker.api("GET", f"/directories/{dir_id}").status_code == 404
    with database(broker) as db:
        for table_name in ("scim_directories", "scim_tokens", "scim_users", "scim_groups",
                           "scim_events"):
            column = "id" if table_name == "scim_directories" else "directory_id"
            assert db.execute(f"SELECT count(*) FROM {table_name} WHERE {column} = ?",
                              (dir_id,)).fetchone()[0] == 0, table_name
        assert db.execute("SELECT count(*) FROM scim_group_members").fetchone()[0] == 0

    # No token in any process's log.
    log = broker.log_text()
    assert dir_id in log
    for t in (token, second, third):
        assert t not in log and t[len("scim_"):] not in log


def test_refusals_change_nothing(broker):
    org = new_org(broker)
    with database(broker) as db:
        count = db.execute("SELECT count(*) FROM scim_directories").fetchone()[0]
    for body in ({"name": ""}, {"name": "   "}, {"name": 5}, {"name": "x" * 201}, {"name": "a\u0007"}):
        r = broker.api("POST", f"/organizations/{org}/directories", body)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request", (body, r.text)
    r = broker.api("POST", "/organizations/org_nope/directories", {})
    assert r.status_code == 404 and "no organization org_nope" in r.json()["error_description"]
    r = broker.api("POST", f"/organizations/{org}/directories", raw="{")
    assert r.status_code == 400
    with database(broker) as db:
        assert db.execute("SELECT count(*) FROM scim_directories").fetchone()[0] == count
    # Another organization's directory is not in this one's list; unknown ids are 404.
    other = new_org(broker)
    theirs = broker.api("POST", f"/organizations/{other}/directories", {}).json()["id"]
    assert broker.api("GET", f"/organizations/{org}/directories").json()["data"] == []
    for path in ("/directories/dir_nope", "/directories/dir_nope/users",
                 "/directories/dir_nope/events"):
        assert broker.api("GET", path).status_code == 404
    assert broker.api("POST", "/directories/dir_nope/token", {}).status_code == 404
    assert run(broker, "directories", "users", "dir_nope").returncode == 1
    # Without a management token: 401 before anything.
    r = broker.api("GET", f"/directories/{theirs}", token="at_forged")
    assert r.status_code == 401
