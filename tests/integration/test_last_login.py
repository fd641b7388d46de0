"""A connection's last successful sign-in (issue 21): a simulator SAML login through the
gateway keeps the attributes the simulator sent, which GET /api/v1/connections/{id}/last_login
and `ssoctl connections last-login` show; the next login replaces them, a failed one leaves
them; the service logs never hold them."""
import os
import subprocess

from test_op import query_of
from test_simulator import Login, sim  # noqa: F401 (sim: the fixture of the simulator's client)

PATH = "/connections/conn_simulator/last_login"


def sign_in(broker, sim, **person):
    """A client's login through the simulator with person's fields; the redirect's query."""
    login = Login(broker, sim)
    signed = login.post(fields=person)
    assert signed.status_code == 200 and "SAMLResponse" in signed.text, signed.text[:500]
    return query_of(login.acs(signed))


def test_the_last_simulator_login_is_kept_with_its_attributes(broker, sim):
    query = sign_in(broker, sim, email="grace@example.com", given_name="Grace",
                    family_name="Hopper <b>&amp;</b>", groups="navy, cobol",
                    scenario="success")
    assert "code" in query, query
    r = broker.api("GET", PATH)
    assert r.status_code == 200, r.text
    last = r.json()
    assert set(last) == {"completed_at", "subject", "raw"}, last
    assert last["subject"] == "grace@example.com"
    raw = last["raw"]["attributes"]
    assert last["raw"]["NameID"] == "grace@example.com", last
    assert raw["email"] == ["grace@example.com"], raw
    assert raw["firstName"] == ["Grace"], raw
    assert raw["lastName"] == ["Hopper <b>&amp;</b>"], raw
    assert raw["groups"] == ["navy", "cobol"], raw

    # ssoctl prints the same: time, subject and one line per attribute.
    proc = subprocess.run([os.path.join(broker.bin_dir, "ssoctl"), "connections", "last-login",
                           "conn_simulator"], env=broker.env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["COMPLETED", last["completed_at"]], lines
    assert lines[1].split() == ["SUBJECT", "grace@example.com"], lines
    assert any(line.split() == ["attributes", "/", "groups", "navy,", "cobol"]
               for line in lines), lines
    assert any(line.split() == ["attributes", "/", "firstName", "Grace"] for line in lines), lines
    assert any(line.split() == ["NameID", "grace@example.com"] for line in lines), lines
    proc = subprocess.run([os.path.join(broker.bin_dir, "ssoctl"), "--json", "connections",
                           "last-login", "conn_simulator"], env=broker.env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and '"firstName"' in proc.stdout, proc.stderr

    # A failed login leaves it; the next success replaces it.
    query = sign_in(broker, sim, email="mallory@example.com", given_name="Mallory",
                    scenario="wrong_audience")
    assert "error" in query, query
    assert broker.api("GET", PATH).json()["subject"] == "grace@example.com"
    query = sign_in(broker, sim, email="ada@example.com", given_name="Ada", groups="",
                    scenario="success")
    assert "code" in query, query
    last = broker.api("GET", PATH).json()
    assert last["subject"] == "ada@example.com", last
    assert last["raw"]["attributes"]["firstName"] == ["Ada"], last
    assert "groups" not in last["raw"]["attributes"], last

    # One person's attributes: never in the service logs.
    log = broker.log_text()
    for secret in ("Hopper <b>", "cobol", "Mallory"):
        assert secret not in log, secret


def test_none_yet_or_no_such_connection_is_a_clear_404(broker):
    org = broker.api("POST", "/organizations", {"display_name": "No Logins Yet"}).json()
    conn = broker.api("POST", f"/organizations/{org['id']}/connections", {"type": "saml"}).json()
    r = broker.api("GET", f"/connections/{conn['id']}/last_login")
    assert r.status_code == 404 and "no successful sign-in" in r.json()["error_description"]
    r = broker.api("GET", "/connections/conn_nothing/last_login")
    assert r.status_code == 404 and "no connection conn_nothing" in r.json()["error_description"]
    proc = subprocess.run([os.path.join(broker.bin_dir, "ssoctl"), "connections", "last-login",
                           conn["id"]], env=broker.env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1 and "no successful sign-in" in proc.stderr, proc.stderr
    assert broker.api("DELETE", f"/organizations/{org['id']}").status_code == 204
