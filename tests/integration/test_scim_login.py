"""SCIM provisioning meets SSO (issue 22): a login through the simulator whose email the
organization's SCIM directory provisioned carries the user's SCIM id in the ID token
(scim_user_id); once the IdP deactivates the user over SCIM (Okta's PATCH), the same login is
refused with access_denied and the event log says why; a deleted user is as if never
provisioned. Each change the IdP made is a directory.user.* webhook message."""
import base64
import json

from test_op import query_of, redeem
from test_scim_users import PATCH_URN, Scim, okta_user
from test_simulator import Login, sim  # noqa: F401 (sim: the fixture of the simulator's client)

EMAIL = "provisioned.person@example.com"


def sign_in(broker, sim, email):
    login = Login(broker, sim)
    signed = login.post(fields={"email": email, "scenario": "success"})
    assert signed.status_code == 200 and "SAMLResponse" in signed.text, signed.text[:500]
    return query_of(login.acs(signed))


def claims_of(id_token):
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_provisioned_user_signs_in_with_its_scim_id_until_deactivated(broker, sim):
    made = broker.api("POST", "/organizations/org_test/directories", {"name": "Okta"})
    assert made.status_code == 201, made.text
    scim = Scim(broker, made.json()["id"], made.json()["token"])
    # The app's webhook for the directory's user events (its deliveries are read back below).
    hook = broker.api("POST", "/webhooks", {"url": "https://app.example.invalid/hooks", "events": [
        "directory.user.created", "directory.user.updated", "directory.user.deleted"]})
    assert hook.status_code == 201, hook.text
    try:
        r = scim.call("POST", "/Users", body=okta_user(EMAIL))
        assert r.status_code == 201, r.text
        uid = r.json()["id"]

        query = sign_in(broker, sim, EMAIL)
        assert "code" in query, query
        tokens = redeem(broker, sim["client"], query["code"])
        assert tokens.status_code == 200, tokens.text
        claims = claims_of(tokens.json()["id_token"])
        assert claims["scim_user_id"] == uid and claims["email"] == EMAIL, claims

        # Okta deactivates the user: the next login is refused, with the reason logged.
        r = scim.call("PATCH", f"/Users/{uid}", body={
            "schemas": [PATCH_URN], "Operations": [{"op": "replace", "value": {"active": False}}]})
        assert r.status_code == 200 and r.json()["active"] is False, r.text
        query = sign_in(broker, sim, EMAIL)
        assert query.get("error") == "access_denied" and "code" not in query, query
        event = broker.api("GET", "/events?connection_id=conn_simulator").json()["data"][0]
        assert event["outcome"] == "failure" and "is deactivated in the organization's " \
            "directory" in event["reason"] and uid in event["reason"], event

        # Deleted: as if never provisioned.
        assert scim.call("DELETE", f"/Users/{uid}").status_code == 204
        query = sign_in(broker, sim, EMAIL)
        assert "code" in query, query
        claims = claims_of(redeem(broker, sim["client"], query["code"]).json()["id_token"])
        assert "scim_user_id" not in claims, claims
        # Each SCIM change left one webhook message, in order: created, updated, deleted.
        deliveries = broker.api("GET", f"/webhooks/{hook.json()['id']}/deliveries").json()["data"]
        assert [d["event_type"] for d in reversed(deliveries)] == [
            "directory.user.created", "directory.user.updated", "directory.user.deleted"], \
            deliveries
    finally:
        broker.api("DELETE", f"/webhooks/{hook.json()['id']}")
        broker.api("DELETE", f"/directories/{scim.directory}")


def test_groups_pushed_over_scim_are_in_the_id_token(broker, sim):
    email = "pushed.member@example.com"
    made = broker.api("POST", "/organizations/org_test/directories", {"name": "Okta groups"})
    assert made.status_code == 201, made.text
    scim = Scim(broker, made.json()["id"], made.json()["token"])
    try:
        r = scim.call("POST", "/Users", body=okta_user(email))
        assert r.status_code == 201, r.text
        uid = r.json()["id"]
        # Okta's group push: the group with its member, over /Groups.
        r = scim.call("POST", "/Groups", body={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Pushed Engineers", "members": [{"value": uid, "display": email}]})
        assert r.status_code == 201, r.text
        gid = r.json()["id"]
        query = sign_in(broker, sim, email)
        claims = claims_of(redeem(broker, sim["client"], query["code"]).json()["id_token"])
        assert claims["scim_user_id"] == uid and "Pushed Engineers" in claims["groups"], claims
        # Removed from the group over SCIM: the next login no longer carries it.
        r = scim.call("PATCH", f"/Groups/{gid}", body={"schemas": [PATCH_URN], "Operations": [
            {"op": "remove", "path": f'members[value eq "{uid}"]'}]})
        assert r.status_code == 204, r.text
        query = sign_in(broker, sim, email)
        claims = claims_of(redeem(broker, sim["client"], query["code"]).json()["id_token"])
        assert "Pushed Engineers" not in claims.get("groups", []), claims
    finally:
        broker.api("DELETE", f"/directories/{scim.directory}")
