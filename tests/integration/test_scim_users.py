"""The SCIM service (sso-scim) through the gateway with the real processes: discovery, and
/Users in the request shapes Okta and Entra ID send (from their SCIM 2.0 guides), the bearer
token of each directory, uniqueness, ETags with If-Match, another directory's ids, and bad
input that changes nothing; the management API then shows the users and the sync events."""
import json

import requests

from test_scim_directories import new_org

SCIM = "application/scim+json"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def new_directory(broker):
    org = new_org(broker)
    r = broker.api("POST", f"/organizations/{org}/directories", {"name": "IdP"})
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["token"]


class Scim:
    def __init__(self, broker, directory, token):
        self.base = f"{broker.url}/scim/v2/{directory}"
        self.directory = directory
        self.token = token

    def call(self, method, path, body=None, token=None, headers=None, raw=None, params=None):
        h = {"Authorization": f"Bearer {token if token is not None else self.token}"}
        if body is not None or raw is not None:
            h["Content-Type"] = SCIM
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return requests.request(method, self.base + path, data=data, headers=h, params=params,
                                timeout=10)


def scim_error(r, status, scim_type=None):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith(SCIM), r.headers
    body = r.json()
    assert body["schemas"] == [ERROR_URN] and body["status"] == str(status), body
    assert body.get("scimType") == scim_type, body
    return body


def okta_user(user_name, active=True):
    # Okta's POST /Users (its SCIM 2.0 guide): name, emails, displayName, locale, externalId,
    # groups [] and, when password sync is on, a password.
    return {"schemas": [USER_URN], "userName": user_name,
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": user_name, "type": "work"}],
            "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [], "password": "1mz050nq", "active": active}


def entra_user(user_name):
    # Entra ID's POST /Users: the enterprise extension, and "active" as a string.
    return {"schemas": [USER_URN, ENTERPRISE_URN], "externalId": "0a21f0f2-8d2a-4f8e-bf98",
            "userName": user_name, "active": "True", "displayName": "Test User3",
            "emails": [{"primary": True, "type": "work", "value": user_name}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName",
                     "givenName": "givenName"},
            "roles": [], ENTERPRISE_URN: {"department": "Engineering",
                                          "manager": {"value": "m-1"}}}


def test_tokens_and_discovery(broker):
    directory, token = new_directory(broker)
    other, other_token = new_directory(broker)
    scim = Scim(broker, directory, token)
    # 401 alike for no, an empty, a wrong, another directory's token, and no such directory.
    bodies = set()
    for r in (requests.get(scim.base + "/Users", timeout=10),
              requests.get(scim.base + "/Users", headers={"Authorization": "Bearer "}, timeout=10),
              requests.get(scim.base + "/Users", headers={"Authorization": "Basic eDp5"},
                           timeout=10),
              scim.call("GET", "/Users", token="scim_" + "A" * 43),
              scim.call("GET", "/Users", token=other_token),
              scim.call("GET", "/Schemas", token=other_token),
              Scim(broker, "dir_doesnotexist", token).call("GET", "/Users"),
              Scim(broker, "dir_doesnotexist", token).call("GET", "/Nothing")):
        scim_error(r, 401)
        assert r.headers["WWW-Authenticate"] == "Bearer"
        bodies.add(r.text)
    assert len(bodies) == 1
    # Discovery: what the service supports, with locations under the directory.
    r = scim.call("GET", "/ServiceProviderConfig")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith(SCIM)
    spc = r.json()
    assert spc["patch"]["supported"] is True and spc["bulk"]["supported"] is False
    assert spc["filter"] == {"supported": True, "maxResults": 200}
    assert spc["etag"]["supported"] is True and spc["changePassword"]["supported"] is False
    assert spc["sort"]["supported"] is True
    assert spc["meta"]["location"] == scim.base + "/ServiceProviderConfig"
    types = scim.call("GET", "/ResourceTypes").json()
    assert types["schemas"] == [LIST_URN] and types["totalResults"] == 2
    assert {t["id"] for t in types["Resources"]} == {"User", "Group"}
    scim_error(scim.call("GET", "/ResourceTypes/Nothing"), 404)
    user_type = scim.call("GET", "/ResourceTypes/User").json()
    assert user_type["schemaExtensions"] == [{"schema": ENTERPRISE_URN, "required": False}]
    schemas = scim.call("GET", "/Schemas").json()
    assert {s["id"] for s in schemas["Resources"]} == {
        USER_URN, ENTERPRISE_URN, "urn:ietf:params:scim:schemas:core:2.0:Group"}
    user_schema = scim.call("GET", "/Schemas/" + USER_URN).json()
    user_name = [a for a in user_schema["attributes"] if a["name"] == "userName"][0]
    assert user_name["required"] is True and user_name["uniqueness"] == "server"
    scim_error(scim.call("GET", "/Schemas/urn:nothing"), 404)
    scim_error(scim.call("GET", "/Nothing"), 404)
    r = scim.call("POST", "/Schemas", body={})
    scim_error(r, 405)
    assert r.headers["Allow"] == "GET"


def test_okta_sequence(broker):
    directory, token = new_directory(broker)
    scim = Scim(broker, directory, token)
    name = "okta.user@example.com"
    # Okta checks the user does not exist first.
    r = scim.call("GET", "/Users", params={"filter": f'userName eq "{name}"', "startIndex": 1,
                                           "count": 100})
    assert r.status_code == 200, r.text
    assert r.json() == {"schemas": [LIST_URN], "totalResults": 0, "startIndex": 1,
                        "itemsPerPage": 0, "Resources": []}
    r = scim.call("POST", "/Users", body=okta_user(name))
    assert r.status_code == 201, r.text
    user = r.json()
    uid = user["id"]
    assert r.headers["Location"] == f"{scim.base}/Users/{uid}" == user["meta"]["location"]
    assert r.headers["ETag"] == 'W/"1"' == user["meta"]["version"]
    assert user["meta"]["resourceType"] == "User" and user["active"] is True
    assert "password" not in user and user["schemas"] == [USER_URN]
    # Found by filter (case-insensitively), then by id.
    r = scim.call("GET", "/Users", params={"filter": f'userName eq "{name.upper()}"',
                                           "startIndex": 1, "count": 100})
    listed = r.json()
    assert listed["totalResults"] == 1 and listed["Resources"][0]["id"] == uid
    got = scim.call("GET", f"/Users/{uid}")
    assert got.status_code == 200 and got.json() == user and got.headers["ETag"] == 'W/"1"'
    # Deactivation: PUT with active false.
    changed = dict(okta_user(name, active=False), id=uid)
    r = scim.call("PUT", f"/Users/{uid}", body=changed, headers={"If-Match": 'W/"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False and r.headers["ETag"] == 'W/"2"'
    # A stale If-Match: 412, nothing changed.
    r = scim.call("PUT", f"/Users/{uid}", body=okta_user(name), headers={"If-Match": 'W/"1"'})
    scim_error(r, 412)
    assert scim.call("GET", f"/Users/{uid}").json()["active"] is False
    # The same userName again, in another case: 409 uniqueness.
    scim_error(scim.call("POST", "/Users", body=okta_user(name.upper())), 409, "uniqueness")
    # PATCH: Okta's activation (a value object without a path), then Entra's capitalised op
    # with a string boolean.
    def ops(*operations):
        return {"schemas": [PATCH_URN], "Operations": list(operations)}
    r = scim.call("PATCH", f"/Users/{uid}", body=ops({"op": "replace", "value": {"active": True}}),
                  headers={"If-Match": 'W/"2"'})
    assert r.status_code == 200 and r.json()["active"] is True, r.text
    assert r.headers["ETag"] == 'W/"3"' == r.json()["meta"]["version"]
    r = scim.call("PATCH", f"/Users/{uid}",
                  body=ops({"op": "Replace", "path": "active", "value": "False"}))
    assert r.status_code == 200 and r.json()["active"] is False and r.headers["ETag"] == 'W/"4"'
    # Refused, and nothing changes: not a PatchOp, a read-only attribute, a stale If-Match,
    # a path to nothing.
    r = scim.call("PATCH", f"/Users/{uid}", body={"schemas": [], "Operations": []})
    assert r.status_code == 400 and r.json()["schemas"] == [ERROR_URN], r.text
    scim_error(scim.call("PATCH", f"/Users/{uid}", body=ops(
        {"op": "replace", "path": "id", "value": "someone-else"})), 400, "mutability")
    scim_error(scim.call("PATCH", f"/Users/{uid}", body=ops(
        {"op": "replace", "path": "active", "value": True}), headers={"If-Match": 'W/"3"'}), 412)
    scim_error(scim.call("PATCH", f"/Users/{uid}", body=ops(
        {"op": "remove", "path": 'emails[type eq "home"]'})), 400, "noTarget")
    # The value it has already: nothing written, the same version.
    r = scim.call("PATCH", f"/Users/{uid}", body=ops({"op": "replace", "path": "active",
                                                       "value": False}))
    assert r.status_code == 200 and r.headers["ETag"] == 'W/"4"', r.text
    assert scim.call("GET", f"/Users/{uid}").json()["active"] is False
    # Delete: 204; gone for SCIM, kept (marked) for the directory; the name is free again.
    r = scim.call("DELETE", f"/Users/{uid}", headers={"If-Match": 'W/"1"'})
    scim_error(r, 412)
    r = scim.call("DELETE", f"/Users/{uid}")
    assert r.status_code == 204 and r.text == ""
    scim_error(scim.call("GET", f"/Users/{uid}"), 404)
    scim_error(scim.call("DELETE", f"/Users/{uid}"), 404)
    users = broker.api("GET", f"/directories/{directory}/users").json()["data"]
    assert [(u["id"], u["active"], u["deleted_at"] is not None) for u in users] == [
        (uid, False, True)]
    events = broker.api("GET", f"/directories/{directory}/events").json()["data"]
    assert [e["type"] for e in events] == ["user.deleted", "user.updated", "user.updated",
                                           "user.updated", "user.created"]
    assert all(e["resource_id"] == uid and e["resource_type"] == "User" for e in events)
    assert events[1]["detail"] == {"user_name": name, "active": False, "version": 4}
    r = scim.call("POST", "/Users", body=okta_user(name))
    assert r.status_code == 201 and r.json()["id"] != uid


def test_entra_sequence_and_lists(broker):
    directory, token = new_directory(broker)
    scim = Scim(broker, directory, token)
    name = "Test_User_dfeef4c5@contoso.com"
    r = scim.call("GET", "/Users", params={"filter": f'userName eq "{name}"'})
    assert r.json()["totalResults"] == 0
    r = scim.call("POST", "/Users", body=entra_user(name))
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["active"] is True and user[ENTERPRISE_URN]["department"] == "Engineering"
    assert user["schemas"] == [USER_URN, ENTERPRISE_URN]
    for i in range(3):
        assert scim.call("POST", "/Users", body=okta_user(f"u{i}@example.com")).status_code == 201
    # Entra's filters: userName, externalId, the work email.
    for f in (f'userName eq "{name}"', 'externalId eq "0a21f0f2-8d2a-4f8e-bf98"',
              f'emails[type eq "work"].value eq "{name.lower()}"',
              f'userName eq "{name}" and active eq true'):
        listed = scim.call("GET", "/Users", params={"filter": f}).json()
        assert listed["totalResults"] == 1 and listed["Resources"][0]["id"] == user["id"], f
    # A filter without an indexed equality pages through the directory.
    listed = scim.call("GET", "/Users", params={"filter": 'userName sw "u"'}).json()
    assert listed["totalResults"] == 3
    listed = scim.call("GET", "/Users", params={"filter": f'{ENTERPRISE_URN}:department eq '
                                                          '"engineering"'}).json()
    assert listed["totalResults"] == 1
    # Paging (1-based) and the attributes lists.
    page = scim.call("GET", "/Users", params={"startIndex": 2, "count": 2}).json()
    assert page["totalResults"] == 4 and page["startIndex"] == 2 and page["itemsPerPage"] == 2
    assert [u["userName"] for u in page["Resources"]] == ["u0@example.com", "u1@example.com"]
    page = scim.call("GET", "/Users", params={"count": 0}).json()
    assert page["totalResults"] == 4 and page["Resources"] == []
    page = scim.call("GET", "/Users", params={"attributes": "userName", "count": 1}).json()
    assert set(page["Resources"][0]) == {"schemas", "id", "meta", "userName"}
    got = scim.call("GET", f"/Users/{user['id']}",
                    params={"excludedAttributes": f"emails,{ENTERPRISE_URN}"}).json()
    assert "emails" not in got and ENTERPRISE_URN not in got and got["userName"] == name
    # sortBy / sortOrder, then the page of the sorted list.
    page = scim.call("GET", "/Users", params={"sortBy": "userName", "sortOrder": "descending",
                                              "startIndex": 2, "count": 2}).json()
    assert page["totalResults"] == 4
    assert [u["userName"] for u in page["Resources"]] == ["u1@example.com", "u0@example.com"]
    page = scim.call("GET", "/Users", params={"sortBy": "userName", "filter": 'userName sw "u"',
                                              "attributes": "userName"}).json()
    assert [u["userName"] for u in page["Resources"]] == [
        "u0@example.com", "u1@example.com", "u2@example.com"]
    scim_error(scim.call("GET", "/Users", params={"sortBy": "userName", "sortOrder": "up"}), 400,
               "invalidValue")
    scim_error(scim.call("GET", "/Users", params={"sortBy": "a b"}), 400, "invalidValue")
    # .search with the same parameters in a body.
    r = scim.call("POST", "/Users/.search", body={"schemas": [
        "urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": 'userName sw "u"',
        "attributes": ["userName"], "count": 1})
    assert r.status_code == 200 and r.json()["totalResults"] == 3
    # Entra's deactivation with "False".
    body = dict(entra_user(name), active="False")
    r = scim.call("PUT", f"/Users/{user['id']}", body=body)
    assert r.status_code == 200 and r.json()["active"] is False


def test_isolation_and_bad_input(broker):
    a, token_a = new_directory(broker)
    b, token_b = new_directory(broker)
    scim_a, scim_b = Scim(broker, a, token_a), Scim(broker, b, token_b)
    user = scim_a.call("POST", "/Users", body=okta_user("iso@example.com")).json()
    # Another directory's id: 404 for every method, and nothing listed.
    for method, body in (("GET", None), ("PUT", okta_user("x@example.com")), ("DELETE", None)):
        scim_error(scim_b.call(method, f"/Users/{user['id']}", body=body), 404)
    assert scim_b.call("GET", "/Users").json()["totalResults"] == 0
    assert scim_b.call("GET", "/Users", params={
        "filter": 'userName eq "iso@example.com"'}).json()["totalResults"] == 0
    # The same userName in another directory is fine.
    assert scim_b.call("POST", "/Users", body=okta_user("iso@example.com")).status_code == 201
    events_before = broker.api("GET", f"/directories/{a}/events").json()["data"]
    # Bad input: each a SCIM 400, nothing changed.
    scim_error(scim_a.call("POST", "/Users", raw='{"userName": '), 400, "invalidSyntax")
    scim_error(scim_a.call("POST", "/Users", raw='["x"]'), 400, "invalidSyntax")
    scim_error(scim_a.call("POST", "/Users", body=dict(okta_user("n1@example.com"),
                                                         schemas=[USER_URN, "urn:x:y"])),
               400, "invalidValue")
    scim_error(scim_a.call("POST", "/Users", body={"schemas": [USER_URN]}), 400, "invalidValue")
    scim_error(scim_a.call("POST", "/Users", body=dict(okta_user("n2@example.com"),
                                                         active="maybe")), 400, "invalidValue")
    scim_error(scim_a.call("PUT", f"/Users/{user['id']}", raw="{"), 400, "invalidSyntax")
    scim_error(scim_a.call("POST", "/Users", body=dict(okta_user("n3@example.com"),
                                                         title="t" * 5000)), 400, "invalidValue")
    scim_error(scim_a.call("GET", "/Users", params={"filter": 'userName eq'}), 400,
               "invalidFilter")
    scim_error(scim_a.call("GET", "/Users", params={"filter": "(" * 1000 + 'a eq 1' + ")" * 1000}),
               400, "invalidFilter")
    scim_error(scim_a.call("GET", "/Users", params={"startIndex": "x"}), 400, "invalidValue")
    scim_error(scim_a.call("GET", "/Users", params={"attributes": "a b"}), 400, "invalidValue")
    # A 1 MB filter: in a .search body, as no URL carries it.
    big = 'userName eq "' + "a" * 1_000_000 + '"'
    scim_error(scim_a.call("POST", "/Users/.search", body={"filter": big}), 400, "invalidFilter")
    scim_error(scim_a.call("GET", "/Users/no.such"), 404)
    scim_error(scim_a.call("GET", "/Users/scu_nothing"), 404)
    users = broker.api("GET", f"/directories/{a}/users").json()["data"]
    assert [u["user_name"] for u in users] == ["iso@example.com"] and users[0]["version"] == 1
    assert broker.api("GET", f"/directories/{a}/events").json()["data"] == events_before
    # /readyz counts the scim service.
    ready = requests.get(broker.url + "/readyz", timeout=10).json()
    assert json.dumps(ready).count("scim") >= 1, ready
