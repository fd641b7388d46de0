"""Responses shaped like those of Okta, Entra ID (and its group overage), AD FS, Google
Workspace, OneLogin, JumpCloud and PingFederate (tests/saml/make_cases.py, "shape_" cases:
their attribute names, NameID formats and signature placement) at the REAL broker's ACS: each
logs in, and the ID token carries the profile the IdP meant (email, name, given_name,
family_name, groups), through the defaults or the connection's attribute_mapping (set through
the API for the cases that need one, "$nameid" among them). Entra ID's overage claim logs in
without groups, and the success event says why.

The corpus runner (test_saml_cases.py) checks the same cases' profiles in-process. Needs
python3-lxml and python3-xmlsec for /usr/bin/python3 (Debian packages)."""
import pytest

pytest.importorskip("lxml")
pytest.importorskip("xmlsec")

from test_acs_attacks import (  # noqa: E402,F401  (broker and setup are fixtures)
    DOMAIN, assert_saml_alive, broker, make, make_cases, new_event, newest_event_id, post_acs,
    redeem, setup, start_login)

FIELDS = ("email", "name", "given_name", "family_name", "groups")


def profile_of(case):
    """The fields the case's profile summary names ("key=value;" pairs, groups repeated)."""
    fields = {"groups": []}
    for part in case.substring.split(";")[:-1]:
        key, _, value = part.partition("=")
        if key == "group":
            fields["groups"].append(value)
        elif key != "warning":
            fields[key] = value
    return fields


def set_mapping(broker, setup, mapping):
    """The connection's attribute_mapping becomes exactly mapping (None: the defaults)."""
    mapping = mapping or {}
    body = {"attribute_mapping": {f: mapping.get(f) for f in FIELDS}}
    r = broker.api("PATCH", f"/connections/{setup['conn']['id']}", body)
    assert r.status_code == 200, r.text
    assert r.json()["attribute_mapping"] == mapping, r.json()


def test_every_idp_shape_is_in_the_corpus():
    for idp in ("okta", "entra_id", "entra_id_group_overage", "adfs", "google_workspace",
                "onelogin", "jumpcloud", "pingfederate"):
        assert "shape_" + idp in make_cases.SHAPES, idp
    # Every signature placement is among them.
    assert {"shape_okta", "shape_entra_id", "shape_pingfederate"} <= set(make_cases.SHAPES)
    assert set(make_cases.MAPPINGS) <= set(make_cases.SHAPES)


@pytest.mark.parametrize("name", make_cases.SHAPES)
def test_idp_shape_logs_in_with_its_profile(broker, setup, name):
    set_mapping(broker, setup, make_cases.MAPPINGS.get(name))
    login = start_login(broker, setup)
    case = make(setup, login, name)
    want = profile_of(case)
    before = newest_event_id(broker, setup)
    r = post_acs(setup, case.b64, login["relay_state"])
    assert r.status_code == 302, (r.status_code, r.text[:300])
    claims = redeem(broker, setup, r.headers["Location"], login)
    assert claims["sub"] == f"{setup['conn']['id']};{want['subject']}", claims
    for field in ("email", "name", "given_name", "family_name"):
        assert claims.get(field) == want[field], (field, claims)
    assert claims.get("groups", []) == want["groups"], claims
    event = new_event(broker, setup, before)
    assert event["outcome"] == "success", event
    if name == "shape_entra_id_group_overage":
        assert event["reason"].startswith(make_cases.OVERAGE_WARNING), event
        assert "groups" not in claims
    else:
        assert event["reason"] == "", event
    assert_saml_alive(broker, setup)


def test_without_its_mapping_the_google_case_reads_the_defaults(broker, setup):
    """The mapped Google case's profile is the mapping's: with the defaults, the unspecified
    NameID is not the email (the response's "email" attribute is read), and the name is built
    from the first and last names, not read from "nickname"."""
    set_mapping(broker, setup, None)
    login = start_login(broker, setup)
    case = make(setup, login, "shape_google_workspace_unspecified_nameid_mapped")
    r = post_acs(setup, case.b64, login["relay_state"])
    assert r.status_code == 302, (r.status_code, r.text[:300])
    claims = redeem(broker, setup, r.headers["Location"], login)
    assert claims["email"] == "someone.else@" + DOMAIN, claims
    assert claims["name"] == "Alice Liddell", claims
