#!/usr/bin/python3
"""Creates, through the management API, what bench/login.sh logs in with: a client, an
organization with a domain, and an enabled SAML connection whose IdP certificate is the
benchmark's own (so it can pre-sign responses). Prints the facts as shell assignments.
With --oidc (bench/oidc.sh), the enabled connection is an OIDC one to the benchmark's IdP
(enabling it makes the broker fetch and check the IdP's discovery document).
With --scim (bench/scim.sh), the organization also gets a SCIM directory: scim_dir and
scim_token (its bearer token, shown once) are printed too.

  login_setup.py [--scim] URL ADMIN_ID ADMIN_SECRET IDP_CERT IDP_ENTITY DOMAIN REDIRECT_URI
  login_setup.py --oidc URL ADMIN_ID ADMIN_SECRET ISSUER IDP_CLIENT_ID IDP_CLIENT_SECRET DOMAIN REDIRECT_URI
"""
import json
import shlex
import sys

import requests


def main():
    scim = sys.argv[1:2] == ["--scim"]
    if scim:
        del sys.argv[1]
    oidc = sys.argv[1:2] == ["--oidc"]
    if oidc:
        url, admin_id, admin_secret, issuer, idp_client, idp_secret, domain, redirect_uri = sys.argv[2:10]
    else:
        url, admin_id, admin_secret, cert, idp_entity, domain, redirect_uri = sys.argv[1:8]
    r = requests.post(url + "/oauth/token", data={"grant_type": "client_credentials"},
                      auth=(admin_id, admin_secret), timeout=10)
    r.raise_for_status()
    h = {"Authorization": "Bearer " + r.json()["access_token"], "Content-Type": "application/json"}

    def api(method, path, body=None):
        resp = requests.request(method, url + "/api/v1" + path, headers=h, timeout=10,
                                data=json.dumps(body) if body is not None else None)
        if resp.status_code >= 300:
            sys.exit(f"login_setup: {method} {path}: {resp.status_code} {resp.text}")
        return resp.json() if resp.text else {}

    client = api("POST", "/clients", {"name": "bench-rp", "redirect_uris": [redirect_uri]})
    org = api("POST", "/organizations", {"display_name": "Bench Corp"})
    api("POST", f"/organizations/{org['id']}/domains", {"domain": domain})
    if oidc:
        conn = api("POST", f"/organizations/{org['id']}/connections", {
            "type": "oidc",
            "oidc": {"issuer": issuer, "client_id": idp_client, "client_secret": idp_secret,
                     "scopes": ["openid", "email", "profile"]}})
    else:
        conn = api("POST", f"/organizations/{org['id']}/connections", {
            "type": "saml",
            "saml": {"idp_entity_id": idp_entity, "idp_sso_url": "https://idp.bench.example/sso",
                     "idp_certificates": [open(cert).read()]}})
    api("POST", f"/connections/{conn['id']}/enable")
    facts = {"client_id": client["client_id"], "client_secret": client["client_secret"],
             "conn_id": conn["id"]}
    if not oidc:
        facts.update(sp_entity=conn["sp"]["entity_id"], acs_url=conn["sp"]["acs_url"])
    if scim:
        directory = api("POST", f"/organizations/{org['id']}/directories", {"name": "Bench IdP"})
        facts.update(scim_dir=directory["id"], scim_token=directory["token"])
    for k, v in facts.items():
        print(f"{k}={shlex.quote(v)}")


if __name__ == "__main__":
    main()
