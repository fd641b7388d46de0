"""SCIM /Groups (issue 22) through the gateway with the real processes: Okta's group push and
Entra ID's group requests in the shapes their SCIM guides show, each followed by the state it
leaves (GET, the management API's groups, the members' read-only `groups`, the sync events);
a 10,000-member group built by one PATCH and emptied by another, also with two webhook endpoints
subscribed (one message per member, in order, in time); another directory's ids; bad input that
changes nothing."""
import json

from test_scim_directories import database
from test_scim_users import (ERROR_URN, LIST_URN, PATCH_URN, Scim, new_directory, okta_user,
                             scim_error)

GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"


def ops(*operations):
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


def new_users(scim, *names):
    ids = []
    for name in names:
        r = scim.call("POST", "/Users", body=okta_user(name))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def member_ids(group):
    return [m["value"] for m in group.get("members", [])]


def managed_groups(broker, directory):
    return broker.api("GET", f"/directories/{directory}/groups").json()["data"]


def events(broker, directory):
    return broker.api("GET", f"/directories/{directory}/events").json()["data"]


def test_resource_types_list_group(broker):
    scim = Scim(broker, *new_directory(broker))
    types = scim.call("GET", "/ResourceTypes").json()
    assert types["schemas"] == [LIST_URN] and types["totalResults"] == 2
    assert {t["id"] for t in types["Resources"]} == {"User", "Group"}
    group_type = scim.call("GET", "/ResourceTypes/Group").json()
    assert group_type["endpoint"] == "/Groups" and group_type["schema"] == GROUP_URN
    assert group_type["meta"]["location"] == scim.base + "/ResourceTypes/Group"


def test_okta_group_push(broker):
    directory, token = new_directory(broker)
    scim = Scim(broker, directory, token)
    alice, bob, carol = new_users(scim, "alice@example.com", "bob@example.com",
                                  "carol@example.com")
    name = "Test SCIMv2"
    # Okta looks the group up by name first (without its members), then pushes it.
    r = scim.call("GET", "/Groups", params={"filter": f'displayName eq "{name}"',
                                            "excludedAttributes": "members", "startIndex": 1,
                                            "count": 100})
    assert r.status_code == 200 and r.json()["totalResults"] == 0, r.text
    r = scim.call("POST", "/Groups", body={"schemas": [GROUP_URN], "displayName": name,
                                           "members": [{"value": alice,
                                                        "display": "alice@example.com"}]})
    assert r.status_code == 201, r.text
    group = r.json()
    gid = group["id"]
    assert r.headers["Location"] == f"{scim.base}/Groups/{gid}" == group["meta"]["location"]
    assert r.headers["ETag"] == 'W/"1"' == group["meta"]["version"]
    assert group["meta"]["resourceType"] == "Group" and group["schemas"] == [GROUP_URN]
    assert group["members"] == [{"value": alice, "display": "Test User",
                                 "$ref": f"{scim.base}/Users/{alice}", "type": "User"}]
    # Found by name (case-insensitively) without members, by id without members.
    r = scim.call("GET", "/Groups", params={"filter": f'displayName eq "{name.upper()}"',
                                            "excludedAttributes": "members"})
    listed = r.json()
    assert listed["totalResults"] == 1 and listed["Resources"][0]["id"] == gid
    assert "members" not in listed["Resources"][0]
    got = scim.call("GET", f"/Groups/{gid}", params={"excludedAttributes": "members"}).json()
    assert got["displayName"] == name and "members" not in got
    # Rename: Okta's replace carries the id (the one it has: no change to it).
    r = scim.call("PATCH", f"/Groups/{gid}", body=ops(
        {"op": "replace", "value": {"id": gid, "displayName": "Test SCIMv2 renamed"}}))
    assert r.status_code == 204 and r.text == "" and r.headers["ETag"] == 'W/"2"', r.text
    # Members added, then one removed by a value filter in the path.
    r = scim.call("PATCH", f"/Groups/{gid}", body=ops(
        {"op": "add", "path": "members", "value": [
            {"value": bob, "display": "bob@example.com"},
            {"value": carol, "display": "carol@example.com"}]}))
    assert r.status_code == 204 and r.headers["ETag"] == 'W/"3"', r.text
    r = scim.call("PATCH", f"/Groups/{gid}", body=ops(
        {"op": "remove", "path": f'members[value eq "{alice}"]'}))
    assert r.status_code == 204 and r.headers["ETag"] == 'W/"4"', r.text
    got = scim.call("GET", f"/Groups/{gid}").json()
    assert got["displayName"] == "Test SCIMv2 renamed" and member_ids(got) == [bob, carol]
    assert got["meta"]["version"] == 'W/"4"'
    # The members see it; the one removed does not.
    assert scim.call("GET", f"/Users/{bob}").json()["groups"] == [
        {"value": gid, "display": "Test SCIMv2 renamed", "$ref": f"{scim.base}/Groups/{gid}",
         "type": "direct"}]
    assert "groups" not in scim.call("GET", f"/Users/{alice}").json()
    # A member's groups by filter, in both spellings.
    for f in (f'members.value eq "{carol}"', f'members[value eq "{carol}"]'):
        listed = scim.call("GET", "/Groups", params={"filter": f,
                                                     "excludedAttributes": "members"}).json()
        assert [g["id"] for g in listed["Resources"]] == [gid], f
    assert scim.call("GET", "/Groups", params={
        "filter": f'members[value eq "{alice}"]'}).json()["totalResults"] == 0
    # A patch that changes nothing writes nothing.
    r = scim.call("PATCH", f"/Groups/{gid}", body=ops(
        {"op": "add", "path": "members", "value": [{"value": bob}]}))
    assert r.status_code == 204 and r.headers["ETag"] == 'W/"4"', r.text
    # PUT: the membership replaced.
    r = scim.call("PUT", f"/Groups/{gid}", headers={"If-Match": 'W/"4"'}, body={
        "schemas": [GROUP_URN], "id": gid, "displayName": "Test SCIMv2",
        "members": [{"value": alice}, {"value": carol}]})
    assert r.status_code == 200 and r.headers["ETag"] == 'W/"5"', r.text
    # carol stays where she was; alice comes after (members keep the order they were added).
    assert member_ids(r.json()) == [carol, alice]
    assert member_ids(scim.call("GET", f"/Groups/{gid}").json()) == [carol, alice]
    [managed] = managed_groups(broker, directory)
    assert managed["id"] == gid and managed["members_count"] == 2 and managed["version"] == 5
    assert managed["display_name"] == "Test SCIMv2" and managed["deleted_at"] is None
    # DELETE: 204, then gone for SCIM, marked for the directory, gone from its members.
    r = scim.call("DELETE", f"/Groups/{gid}")
    assert r.status_code == 204 and r.text == ""
    scim_error(scim.call("GET", f"/Groups/{gid}"), 404)
    scim_error(scim.call("DELETE", f"/Groups/{gid}"), 404)
    assert "groups" not in scim.call("GET", f"/Users/{carol}").json()
    assert managed_groups(broker, directory)[0]["deleted_at"] is not None
    # The sync events the directory wrote, newest first.
    group_events = [(e["type"], e["detail"].get("user_id") if e["detail"] else None)
                    for e in events(broker, directory) if e["resource_type"] == "Group"]
    assert group_events[0][0] == "group.deleted" and group_events[-1][0] == "group.created"
    kinds = [kind for kind, _ in group_events]
    assert kinds.count("group.updated") == 4  # rename, add, remove, PUT; not the no-op
    assert ("group.user_added", alice) in group_events and ("group.user_added", bob) in \
        group_events and ("group.user_removed", alice) in group_events
    assert ("group.user_removed", bob) in group_events  # by the PUT


def test_entra_group_requests(broker):
    directory, token = new_directory(broker)
    scim = Scim(broker, directory, token)
    u1, u2 = new_users(scim, "u1@contoso.com", "u2@contoso.com")
    external = "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    # Entra's POST /Groups: externalId, meta, no members yet.
    r = scim.call("POST", "/Groups", body={
        "externalId": external, "displayName": "Group1DisplayName",
        "meta": {"resourceType": "Group"}, "members": [], "schemas": [GROUP_URN]})
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    assert r.json()["externalId"] == external and "members" not in r.json()
    # Another group of the same name: Entra allows it (no 409 for groups).
    r = scim.call("POST", "/Groups", body={"schemas": [GROUP_URN],
                                           "displayName": "Group1DisplayName"})
    assert r.status_code == 201, r.text
    twin = r.json()["id"]
    # Entra's lookups, without members.
    listed = scim.call("GET", "/Groups", params={"excludedAttributes": "members",
                                                 "filter": f'externalId eq "{external}"'}).json()
    assert [g["id"] for g in listed["Resources"]] == [gid]
    assert scim.call("GET", "/Groups", params={
        "filter": f'externalId eq "{external.upper()}"'}).json()["totalResults"] == 0
    listed = scim.call("GET", "/Groups", params={"excludedAttributes": "members",
                                                 "filter": 'displayName eq "Group1DisplayName"'})
    assert [g["id"] for g in listed.json()["Resources"]] == [gid, twin]
    # Entra's PATCHes: capitalised ops, members by a list of values ($ref null), a Replace of
    # displayName without a path.
    r = scim.call("PATCH", f"/Groups/{gid}", body=ops(
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": u1},
                                                   {"$ref": None, "value": u2}]}))
    assert r.status_code == 204, r.text
    got = scim.call("GET", f"/Groups/{gid}").json()
    assert member_ids(got) == [u1, u2] and got["meta"]["version"] == 'W/"2"'
    r = scim.call("PATCH", f"/Groups/{gid}", body=ops(
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": u1}]}))
    assert r.status_code == 204, r.text
    r = scim.call("PATCH", f"/Groups/{gid}", body=ops(
        {"op": "Replace", "value": {"displayName": "1879db59updatedDisplayName"}}))
    assert r.status_code == 204, r.text
    # Asking for a representation: the group comes back (200), under the shape asked.
    r = scim.call("PATCH", f"/Groups/{gid}", params={"attributes": "displayName,members"},
                  body=ops({"op": "Replace", "path": "displayName", "value": "Renamed"}))
    assert r.status_code == 200 and r.headers["ETag"] == 'W/"5"', r.text
    assert r.json()["displayName"] == "Renamed" and member_ids(r.json()) == [u2]
    assert "externalId" not in r.json()
    got = scim.call("GET", f"/Groups/{gid}").json()
    assert got["displayName"] == "Renamed" and member_ids(got) == [u2]
    assert got["externalId"] == external
    assert scim.call("GET", f"/Users/{u2}").json()["groups"][0]["value"] == gid
    assert "groups" not in scim.call("GET", f"/Users/{u1}").json()
    managed = {g["id"]: g for g in managed_groups(broker, directory)}
    assert managed[gid]["members_count"] == 1 and managed[gid]["display_name"] == "Renamed"
    assert managed[twin]["members_count"] == 0
    # Paging, sortBy and .search over groups.
    page = scim.call("GET", "/Groups", params={"sortBy": "displayName", "count": 1,
                                               "excludedAttributes": "members"}).json()
    assert page["totalResults"] == 2 and [g["id"] for g in page["Resources"]] == [twin]
    page = scim.call("GET", "/Groups", params={"startIndex": 2, "attributes": "displayName"})
    assert [set(g) for g in page.json()["Resources"]] == [{"schemas", "id", "meta",
                                                            "displayName"}]
    r = scim.call("POST", "/Groups/.search", body={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": f'members[value eq "{u2}"] and displayName sw "ren"',
        "excludedAttributes": ["members"]})
    assert r.status_code == 200 and [g["id"] for g in r.json()["Resources"]] == [gid], r.text
    # A deleted member leaves the group.
    assert scim.call("DELETE", f"/Users/{u2}").status_code == 204
    assert "members" not in scim.call("GET", f"/Groups/{gid}").json()
    kinds = [e["type"] for e in events(broker, directory) if e["resource_type"] == "Group"]
    assert kinds.count("group.created") == 2 and kinds.count("group.user_added") == 2
    assert kinds.count("group.user_removed") == 2


def bulk_users(broker, directory, prefix, n):
    """n users of directory, ids prefix00000..., userNames <prefix>N@example.com, written
    straight to the store (n POSTs would test nothing more here). Their ids, in order."""
    ids = [f"scu_{prefix}{i:05d}" for i in range(n)]
    with database(broker) as db:
        db.executemany("INSERT INTO scim_users (id, directory_id, user_name, user_name_lower, "
                       "email_lower, resource_json, created_at, updated_at) VALUES "
                       "(?, ?, ?, ?, ?, '{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:"
                       "User\"]}', 1, 1)",
                       [(uid, directory, f"{prefix}{i}@example.com", f"{prefix}{i}@example.com",
                         f"{prefix}{i}@example.com") for i, uid in enumerate(ids)])
    return ids


def test_a_ten_thousand_member_group_in_one_patch_each_way(broker):
    directory, token = new_directory(broker)
    scim = Scim(broker, directory, token)
    n = 10_000
    ids = bulk_users(broker, directory, "bulk", n)
    gid = scim.call("POST", "/Groups", body={"schemas": [GROUP_URN],
                                             "displayName": "Everyone"}).json()["id"]
    r = scim.call("PATCH", f"/Groups/{gid}", body=ops(
        {"op": "add", "path": "members", "value": [{"value": uid} for uid in ids]}))
    assert r.status_code == 204, r.text
    assert managed_groups(broker, directory)[0]["members_count"] == n
    # Okta's and Entra's lists leave the members out; a read with them has them all, in order.
    listed = scim.call("GET", "/Groups", params={"excludedAttributes": "members",
                                                 "filter": 'displayName eq "Everyone"'}).json()
    assert listed["totalResults"] == 1 and "members" not in listed["Resources"][0]
    got = scim.call("GET", f"/Groups/{gid}").json()
    assert member_ids(got) == ids
    r = scim.call("PATCH", f"/Groups/{gid}", body=ops(
        {"op": "Remove", "path": "members", "value": [{"value": uid} for uid in ids]}))
    assert r.status_code == 204 and r.headers["ETag"] == 'W/"3"', r.text
    assert "members" not in scim.call("GET", f"/Groups/{gid}").json()
    assert managed_groups(broker, directory)[0]["members_count"] == 0


def test_a_ten_thousand_member_change_with_webhooks_in_time(broker):
    """With two endpoints subscribed to user_added and user_removed, the 10,000-member PATCHes
    still answer in time (PostgreSQL pays a round trip per statement), and the outbox holds one
    message per member and type, in the order of the members, and one delivery of each per
    endpoint, in that order too (the sender delivers a stream's oldest pending one first)."""
    directory, token = new_directory(broker)
    org = broker.api("GET", f"/directories/{directory}").json()["organization_id"]
    scim = Scim(broker, directory, token)
    n = 10_000
    ids = bulk_users(broker, directory, "hook", n)
    hooks = []
    for name in ("a", "b"):
        # Nothing listens there (the discard port): the deliveries stay in the outbox.
        r = broker.api("POST", "/webhooks", {
            "url": f"http://127.0.0.1:9/{name}",
            "events": ["directory.group.user_added", "directory.group.user_removed"]})
        assert r.status_code == 201, r.text
        hooks.append(r.json()["id"])
    try:
        gid = scim.call("POST", "/Groups", body={"schemas": [GROUP_URN],
                                                 "displayName": "Hooked"}).json()["id"]
        members = [{"value": uid} for uid in ids]
        r = scim.call("PATCH", f"/Groups/{gid}", body=ops(
            {"op": "add", "path": "members", "value": members}))
        assert r.status_code == 204, r.text
        r = scim.call("PATCH", f"/Groups/{gid}", body=ops(
            {"op": "remove", "path": "members", "value": members}))
        assert r.status_code == 204, r.text

        with database(broker) as db:
            messages = db.execute("SELECT id, type, payload FROM webhook_messages WHERE stream "
                                  "= ? ORDER BY seq", (org,)).fetchall()
            deliveries = db.execute(
                "SELECT d.endpoint_id, d.message_id, d.stream, d.deadline_ms - "
                "m.created_at * 1000 FROM webhook_deliveries d JOIN webhook_messages m ON "
                "m.id = d.message_id WHERE m.stream = ? ORDER BY d.seq", (org,)).fetchall()
        assert len(messages) == 2 * n
        want = [(kind, uid, f"hook{i}@example.com") for kind in ("user_added", "user_removed")
                for i, uid in enumerate(ids)]
        got = []
        for _, kind, payload in messages:
            body = json.loads(payload)
            data = body["data"]
            assert body["type"] == kind and body["timestamp"].endswith("Z"), body
            assert data["directory_id"] == directory and data["organization_id"] == org, body
            assert data["group"] == {"id": gid, "display_name": "Hooked"}, body
            got.append((kind[len("directory.group."):], data["user"]["id"],
                        data["user"]["user_name"]))
        assert got == want
        message_ids = [m[0] for m in messages]
        assert len(set(message_ids)) == 2 * n and all(m.startswith("msg_") for m in message_ids)
        # Per endpoint: every message once, in the messages' order, in the organization's
        # stream, retried for 3 days from the message's creation (within its second).
        for hook in hooks:
            mine = [d for d in deliveries if d[0] == hook]
            assert [d[1] for d in mine] == message_ids, hook
            assert all(d[2] == org and 0 <= d[3] - 3 * 86400 * 1000 < 1000 for d in mine), hook
        assert len(deliveries) == 2 * len(message_ids)
        for hook in hooks:
            assert broker.api("DELETE", f"/webhooks/{hook}").status_code == 204
        hooks = []
    finally:
        for hook in hooks:  # the test failed: leave no endpoint to the next ones
            broker.api("DELETE", f"/webhooks/{hook}")


def test_isolation_and_bad_input(broker):
    a, token_a = new_directory(broker)
    b, token_b = new_directory(broker)
    scim_a, scim_b = Scim(broker, a, token_a), Scim(broker, b, token_b)
    [member] = new_users(scim_a, "member@example.com")
    [stranger] = new_users(scim_b, "stranger@example.com")
    r = scim_a.call("POST", "/Groups", body={"schemas": [GROUP_URN], "displayName": "Ours",
                                             "members": [{"value": member}]})
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    # Another directory's group: 404 for every method, and not listed.
    for method, body in (("GET", None), ("PUT", {"schemas": [GROUP_URN], "displayName": "x"}),
                         ("PATCH", ops({"op": "replace", "path": "displayName", "value": "x"})),
                         ("DELETE", None)):
        scim_error(scim_b.call(method, f"/Groups/{gid}", body=body), 404)
    assert scim_b.call("GET", "/Groups").json()["totalResults"] == 0
    assert scim_b.call("GET", "/Groups", params={
        "filter": f'members[value eq "{member}"]'}).json()["totalResults"] == 0
    events_before = events(broker, a)
    # Another directory's user as a member: invalidValue naming it, nothing changed.
    body = scim_error(scim_a.call("PATCH", f"/Groups/{gid}", body=ops(
        {"op": "add", "path": "members", "value": [{"value": stranger}]})), 400, "invalidValue")
    assert stranger in body["detail"]
    body = scim_error(scim_a.call("POST", "/Groups", body={
        "schemas": [GROUP_URN], "displayName": "Theirs",
        "members": [{"value": member}, {"value": stranger}]}), 400, "invalidValue")
    assert stranger in body["detail"]
    # Bad input: each a SCIM 400 with its scimType, nothing changed.
    bad = [
        (scim_a.call("POST", "/Groups", raw='{"displayName": '), "invalidSyntax"),
        (scim_a.call("POST", "/Groups", raw='["x"]'), "invalidSyntax"),
        (scim_a.call("PUT", f"/Groups/{gid}", raw="{"), "invalidSyntax"),
        (scim_a.call("POST", "/Groups", body={"schemas": [GROUP_URN]}), "invalidValue"),
        (scim_a.call("POST", "/Groups", body={"schemas": [GROUP_URN], "displayName": ""}),
         "invalidValue"),
        (scim_a.call("POST", "/Groups", body={"displayName": "No schemas"}), "invalidValue"),
        (scim_a.call("POST", "/Groups", body={"schemas": [GROUP_URN, "urn:x:y"],
                                              "displayName": "G"}), "invalidValue"),
        (scim_a.call("POST", "/Groups", body={"schemas": [GROUP_URN], "displayName": "G",
                                              "members": [{"display": "no value"}]}),
         "invalidValue"),
        (scim_a.call("POST", "/Groups", body={"schemas": [GROUP_URN], "displayName": "G",
                                              "members": [{"value": gid, "type": "Group"}]}),
         "invalidValue"),
        (scim_a.call("PATCH", f"/Groups/{gid}", body=ops(
            {"op": "add", "path": "members", "value": [{"value": gid, "type": "Group"}]})),
         "invalidValue"),
        (scim_a.call("PATCH", f"/Groups/{gid}", body=ops(
            {"op": "remove", "path": "displayName"})), "invalidValue"),
        (scim_a.call("GET", "/Groups", params={"filter": "displayName eq"}), "invalidFilter"),
        (scim_a.call("GET", "/Groups", params={"excludedAttributes": "a b"}), "invalidValue"),
    ]
    for r, scim_type in bad:
        scim_error(r, 400, scim_type)
    nested = scim_a.call("POST", "/Groups", body={
        "schemas": [GROUP_URN], "displayName": "G", "members": [{"value": gid, "type": "Group"}]})
    assert "nested groups" in nested.json()["detail"]
    r = scim_a.call("PATCH", f"/Groups/{gid}", body={"schemas": [], "Operations": []})
    assert r.status_code == 400 and r.json()["schemas"] == [ERROR_URN], r.text
    # If-Match naming another version: 412 for each change.
    stale = {"If-Match": 'W/"7"'}
    scim_error(scim_a.call("PUT", f"/Groups/{gid}", headers=stale, body={
        "schemas": [GROUP_URN], "displayName": "Stale"}), 412)
    scim_error(scim_a.call("PATCH", f"/Groups/{gid}", headers=stale, body=ops(
        {"op": "replace", "path": "displayName", "value": "Stale"})), 412)
    scim_error(scim_a.call("DELETE", f"/Groups/{gid}", headers=stale), 412)
    scim_error(scim_a.call("GET", "/Groups/no.such"), 404)
    scim_error(scim_a.call("DELETE", "/Groups"), 405)
    got = scim_a.call("GET", f"/Groups/{gid}").json()
    assert got["displayName"] == "Ours" and member_ids(got) == [member]
    assert got["meta"]["version"] == 'W/"1"'
    assert [g["display_name"] for g in managed_groups(broker, a)] == ["Ours"]
    assert events(broker, a) == events_before
