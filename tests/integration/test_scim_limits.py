"""The SCIM service's limits against hostile requests through the gateway with the real
processes: PATCH bodies of more operations than the cap, of operations whose filters would
visit too many values, and bodies past the gateway's limit; each a clear SCIM error that changes
nothing, and the service answering normally afterwards."""
import json

from test_scim_users import PATCH_URN, Scim, new_directory, okta_user, scim_error

OPS_MAX = 10000  # services/scim/scim_patch.h SCIM_PATCH_OPS_MAX


def patch(*operations):
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


def test_patch_operation_and_work_caps(broker):
    directory, token = new_directory(broker)
    scim = Scim(broker, directory, token)
    user = okta_user("limits@example.com")
    # A user with many addresses, so that filters over them cost work.
    user["emails"] = [{"value": f"a{i}@example.com", "type": "other"} for i in range(250)]
    made = scim.call("POST", "/Users", body=user)
    assert made.status_code == 201, made.text
    uid, before = made.json()["id"], made.json()

    def unchanged():
        got = scim.call("GET", f"/Users/{uid}")
        assert got.status_code == 200 and got.json() == before, got.text

    # One operation more than the cap: tooMany, whatever the operations are.
    over = patch(*([{"op": "replace", "path": "displayName", "value": "x"}] * (OPS_MAX + 1)))
    body = scim_error(scim.call("PATCH", f"/Users/{uid}", body=over), 400, "tooMany")
    assert str(OPS_MAX) in body["detail"], body
    unchanged()
    # 10,000 operations, each a value filter over all 250 addresses: more work than the engine
    # allows for one request (a quadratic request); tooMany, nothing changed.
    hostile = patch(*([{"op": "replace", "path": 'emails[value co "example"].type',
                        "value": "home"}] * OPS_MAX))
    body = scim_error(scim.call("PATCH", f"/Users/{uid}", body=hostile), 400, "tooMany")
    assert "steps allowed" in body["detail"], body
    unchanged()
    # 10,000 harmless operations are within the cap: they apply, and the service goes on.
    many = patch(*([{"op": "replace", "path": "title", "value": "Engineer"}] * OPS_MAX))
    r = scim.call("PATCH", f"/Users/{uid}", body=many)
    assert r.status_code == 200 and r.json()["title"] == "Engineer", r.text
    # An operations list that is not a list, an op that is not known, a path that does not
    # parse: each its SCIM error.
    scim_error(scim.call("PATCH", f"/Users/{uid}", body={"schemas": [PATCH_URN],
                                                          "Operations": {"op": "add"}}), 400,
               "invalidSyntax")
    scim_error(scim.call("PATCH", f"/Users/{uid}", body=patch({"op": "move", "path": "title",
                                                                "value": "x"})), 400,
               "invalidSyntax")
    scim_error(scim.call("PATCH", f"/Users/{uid}", body=patch({"op": "remove",
                                                                "path": "emails[value eq"})),
               400, "invalidPath")


def test_bodies_past_the_gateway_limit(broker):
    directory, token = new_directory(broker)
    scim = Scim(broker, directory, token)
    # Past SSO_MAX_BODY_BYTES (1 MiB by default): 413 before the service reads it.
    big = json.dumps(okta_user("big@example.com")).replace('"locale"', '"x":"' + "a" * 1_100_000
                                                           + '","locale"')
    r = scim.call("POST", "/Users", raw=big)
    assert r.status_code == 413, (r.status_code, r.text[:200])
    assert scim.call("GET", "/Users").json()["totalResults"] == 0
    # A body of deeply nested arrays within the limit: a clear 400, and the service goes on.
    nested = "[" * 100_000 + "]" * 100_000
    r = scim.call("POST", "/Users", raw=nested)
    assert r.status_code == 400, (r.status_code, r.text[:200])
    assert scim.call("POST", "/Users", body=okta_user("after@example.com")).status_code == 201
