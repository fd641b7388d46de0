"""The SAML attack corpus (tests/saml/make_cases.py) against the REAL broker's ACS.

One module-scoped broker, one organization with its domains, one SAML connection whose IdP
certificate is the generator's, one client. For every case of the corpus: a fresh login
(/oauth/authorize) gives a transaction (RelayState) and an AuthnRequest ID; the case is made for
that InResponseTo, the connection's SP entity id and ACS URL, and the SP's encryption
certificate from its metadata; it is POSTed to the ACS. A refused case must come back to the
client as access_denied with the state and no code, the connection's newest event must be a
failure whose reason names the check, and the saml service must still be the same process.
A valid case must log in (code redeemed for an ID token naming the right subject).

Plus: a replayed response (its transaction is consumed), the replay cache (one assertion ID in
two responses for two transactions) and a burst of garbage at the ACS.

Needs python3-lxml and python3-xmlsec for /usr/bin/python3 (Debian packages)."""
import base64
import concurrent.futures
import hashlib
import os
import random
import secrets
import sys
import time
import urllib.parse
import zlib

import pytest
import requests

pytest.importorskip("lxml")
pytest.importorskip("xmlsec")
from lxml import etree  # noqa: E402

from apihelpers import list_all, service_counter  # noqa: E402
from conftest import Broker  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "saml"))
import make_cases  # noqa: E402

DOMAIN = "acs-attacks.example"
# The comment/CDATA injection cases log in user@evil.com.<DOMAIN>: the organization owns that
# sub-domain too, so the email domain guard lets the correct (whole) name through, while a
# truncated "user@evil.com" would be refused.
EVIL_SUBDOMAIN = "evil.com." + DOMAIN
REDIRECT_URI = "https://app.acs-attacks.example/callback"
IDP_ENTITY = "https://idp.acs-attacks.example/metadata"
# The gateway's body limit is raised above the validator's own 1 MiB cap so that the
# "oversized" case reaches the saml service (a bigger body still gets the gateway's 413).
BODY_LIMIT = 3 * 1024 * 1024

# Where the broker's reason differs from the in-process corpus runner's (whose "now" is fixed):
# the broker's clock is its own, so the reason is checked up to the "now" it printed.
REASON_CUT = {"expired": " is before now ", "not_yet_valid": " is after now "}


@pytest.fixture(scope="module")
def broker():
    b = Broker(extra_env={"SSO_MAX_BODY_BYTES": str(BODY_LIMIT)})
    try:
        b.start()
        yield b
    finally:
        b.cleanup()


def _metadata_encryption_cert(xml, path):
    doc = etree.fromstring(xml.encode())
    ns = {"md": "urn:oasis:names:tc:SAML:2.0:metadata", "ds": make_cases.NS["ds"]}
    found = doc.xpath("//md:KeyDescriptor[@use='encryption']//ds:X509Certificate/text()",
                      namespaces=ns)
    assert found, xml
    body = "".join(found[0].split())
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    with open(path, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n")
    return path


@pytest.fixture(scope="module")
def setup(broker, tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("acs-attacks"))
    idp_key, idp_cert = make_cases.openssl_keypair(tmp, "idp", "idp.acs-attacks.example")
    evil_key, evil_cert = make_cases.openssl_keypair(tmp, "attacker", "idp.acs-attacks.example")
    client = broker.api("POST", "/clients", {"name": "acs-attacks",
                                             "redirect_uris": [REDIRECT_URI]}).json()
    org = broker.api("POST", "/organizations", {"display_name": "ACS Attacks Corp"}).json()
    for domain in (DOMAIN, EVIL_SUBDOMAIN):
        r = broker.api("POST", f"/organizations/{org['id']}/domains", {"domain": domain})
        assert r.status_code == 201, r.text
    r = broker.api("POST", f"/organizations/{org['id']}/connections", {
        "type": "saml",
        "saml": {"idp_entity_id": IDP_ENTITY, "idp_sso_url": "https://idp.acs-attacks.example/sso",
                 "idp_certificates": [open(idp_cert).read()]}})
    assert r.status_code == 201, r.text
    conn = r.json()
    assert broker.api("POST", f"/connections/{conn['id']}/enable").status_code == 200
    metadata = broker.get(f"/sso/saml/{conn['id']}/metadata")
    assert metadata.status_code == 200, metadata.text
    sp_cert = _metadata_encryption_cert(metadata.text, os.path.join(tmp, "sp-cert.pem"))
    ping = broker.get("/_ping/saml")
    assert ping.status_code == 200, ping.text
    return {"client": client, "org": org, "conn": conn, "tmp": tmp,
            "idp_key": idp_key, "idp_cert": idp_cert, "evil_key": evil_key,
            "evil_cert": evil_cert, "sp_cert": sp_cert,
            "saml_pids": broker.pids("saml"), "saml_instance": ping.json()["instance"]}


# ---------------------------------------------------------------------------------- helpers

def query_of(location):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlparse(location).query))


def start_login(broker, setup, email=None):
    """A fresh login: the transaction (RelayState), the AuthnRequest ID, state and verifier."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = "st-" + secrets.token_hex(6)
    params = {"response_type": "code", "client_id": setup["client"]["client_id"],
              "redirect_uri": REDIRECT_URI, "scope": "openid email profile", "state": state,
              "code_challenge": challenge, "code_challenge_method": "S256",
              "login_hint": email or f"alice@{DOMAIN}"}
    r = broker.get("/oauth/authorize?" + urllib.parse.urlencode(params), allow_redirects=False)
    assert r.status_code == 302, r.text
    assert r.headers["Location"].startswith("https://idp.acs-attacks.example/sso?"), r.headers
    query = query_of(r.headers["Location"])
    xml = zlib.decompress(base64.b64decode(query["SAMLRequest"]), -15)
    authn_request = etree.fromstring(xml)
    assert authn_request.tag == "{urn:oasis:names:tc:SAML:2.0:protocol}AuthnRequest"
    return {"relay_state": query["RelayState"], "request_id": authn_request.get("ID"),
            "state": state, "verifier": verifier}


def config(setup, login, id_suffix=None, now=None, fetch_url=make_cases.FETCH_URL):
    conn = setup["conn"]
    return make_cases.Config(
        idp_entity_id=IDP_ENTITY, sp_entity_id=conn["sp"]["entity_id"],
        acs_url=conn["sp"]["acs_url"], in_response_to=login["request_id"],
        now=now if now is not None else time.time(), idp_key=setup["idp_key"],
        idp_cert=setup["idp_cert"], attacker_key=setup["evil_key"],
        attacker_cert=setup["evil_cert"], sp_cert=setup["sp_cert"], email_domain=DOMAIN,
        id_suffix=id_suffix or "_" + secrets.token_hex(8), key_dir=setup["tmp"],
        fetch_url=fetch_url)


def make(setup, login, name, **kw):
    cases = make_cases.generate(config(setup, login, **kw), only=[name])
    assert len(cases) == 1
    return cases[0]


def post_acs(setup, b64, relay_state):
    return requests.post(setup["conn"]["sp"]["acs_url"],
                         data={"SAMLResponse": b64, "RelayState": relay_state},
                         allow_redirects=False, timeout=15)


def events(broker, setup):
    r = broker.api("GET", "/events?connection_id=" + setup["conn"]["id"])
    assert r.status_code == 200, r.text
    return r.json()["data"]


def all_events(broker, setup):
    return list_all(broker, "/events?connection_id=" + setup["conn"]["id"])


def newest_event_id(broker, setup):
    data = events(broker, setup)
    return data[0]["id"] if data else None


def new_event(broker, setup, before):
    data = events(broker, setup)
    assert data and data[0]["id"] != before, ("no new event", data[:2])
    return data[0]


def assert_refused(r, login):
    assert r.status_code == 302, (r.status_code, r.text[:500])
    location = r.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    query = query_of(location)
    assert query.get("error") == "access_denied", query
    assert query.get("state") == login["state"], query
    assert "code" not in query, query
    return query


def token_form(setup, code, login):
    """The token request that redeems code for login, as the client would send it."""
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "client_id": setup["client"]["client_id"],
            "client_secret": setup["client"]["client_secret"], "code_verifier": login["verifier"]}


def redeem(broker, setup, location, login):
    query = query_of(location)
    assert "code" in query and query.get("state") == login["state"], query
    r = broker.post("/oauth/token", data=token_form(setup, query["code"], login))
    assert r.status_code == 200, r.text
    import jwt
    return jwt.decode(r.json()["id_token"], options={"verify_signature": False})


def assert_saml_alive(broker, setup):
    ping = broker.get("/_ping/saml")
    assert ping.status_code == 200, (ping.status_code, ping.text, broker.log_tail())
    assert ping.json()["instance"] == setup["saml_instance"], (ping.json(), broker.log_tail())
    assert broker.pids("saml") == setup["saml_pids"], broker.log_tail()


def expected_reason(case):
    cut = REASON_CUT.get(case.name)
    return case.substring.split(cut)[0] if cut else case.substring


def subject_of(case):
    """The subject an ok case's profile summary names (alice by default)."""
    if not case.substring.startswith("subject="):
        return f"alice@{DOMAIN}"
    return case.substring[len("subject="):].split(";")[0]


# ---------------------------------------------------------------------------------- the corpus

ALL = make_cases.names()
REFUSED = [n for n in ALL if make_cases.CASES[n][0] == "refused"]
# The IdP shapes have their own subjects and mappings: test_saml_idp_shapes.py runs them.
VALID = [n for n in ALL if make_cases.CASES[n][0] == "ok" and n not in make_cases.SHAPES]
# The one description of every refusal before the assertion is authenticated (decoding,
# parsing, shape, status, decryption, signature): naming the check would be an oracle.
UNVALIDATED = "the identity provider's response could not be validated"
# Refusals after the signatures verified (the IdP vouched for the content): these may name the
# check that failed.
AUTHENTICATED_REFUSALS = {
    "wrong_issuer", "wrong_audience", "wrong_destination", "signed_response_without_destination",
    "wrong_recipient", "wrong_in_response_to", "unsolicited", "expired", "not_yet_valid",
    "no_authn_statement", "assertion_id_too_long"}


def test_the_corpus_has_both_kinds():
    assert len(REFUSED) >= 45 and len(VALID) >= 6
    assert AUTHENTICATED_REFUSALS <= set(REFUSED)
    for prefix in ("xsw1", "xsw8", "comment_in_nameid", "attacker_cert_in_keyinfo", "doctype",
                   "encrypted_rsa_1_5", "hmac_sha256", "two_assertions", "assertion_in_advice"):
        assert any(n.startswith(prefix) for n in ALL), prefix


@pytest.mark.parametrize("name", REFUSED)
def test_attack_is_refused_at_the_real_acs(broker, setup, name):
    login = start_login(broker, setup)
    case = make(setup, login, name)
    before = newest_event_id(broker, setup)
    r = post_acs(setup, case.b64, login["relay_state"])
    query = assert_refused(r, login)
    event = new_event(broker, setup, before)
    assert event["outcome"] == "failure", event
    assert expected_reason(case) in event["reason"], (expected_reason(case), event["reason"])
    # The client learns at most the short name of a check after authentication, never details.
    if name in AUTHENTICATED_REFUSALS:
        assert query.get("error_description", "").endswith("; the event log has details"), query
        assert query["error_description"] != UNVALIDATED
    else:
        assert query.get("error_description") == UNVALIDATED, query
    assert_saml_alive(broker, setup)


@pytest.mark.parametrize("name", VALID)
def test_valid_response_logs_in_at_the_real_acs(broker, setup, name):
    login = start_login(broker, setup)
    case = make(setup, login, name)
    before = newest_event_id(broker, setup)
    r = post_acs(setup, case.b64, login["relay_state"])
    assert r.status_code == 302, (r.status_code, r.text[:300])
    claims = redeem(broker, setup, r.headers["Location"], login)
    subject = subject_of(case)
    assert claims["sub"] == f"{setup['conn']['id']};{subject}", claims
    assert claims["email"] == subject, claims
    assert claims["oid"] == setup["org"]["id"], claims
    event = new_event(broker, setup, before)
    assert event["outcome"] == "success", event
    assert_saml_alive(broker, setup)


# ---------------------------------------------------------------------------------- replays

def test_a_response_posted_again_to_its_own_transaction_is_refused(broker, setup):
    login = start_login(broker, setup)
    case = make(setup, login, "valid_signed_assertion")
    first = post_acs(setup, case.b64, login["relay_state"])
    assert first.status_code == 302 and "code" in query_of(first.headers["Location"]), first.text
    before = newest_event_id(broker, setup)
    anonymous = service_counter(broker, "saml", "acs_anonymous")
    again = post_acs(setup, case.b64, login["relay_state"])
    # The transaction is consumed: no client redirect at all, let alone a code. Anyone may
    # post it again, so it stores nothing: it is counted, not an event.
    assert again.status_code == 400, (again.status_code, again.headers, again.text[:300])
    assert "code=" not in again.headers.get("Location", "")
    assert newest_event_id(broker, setup) == before
    assert service_counter(broker, "saml", "acs_anonymous") == anonymous + 1
    assert_saml_alive(broker, setup)


def test_one_assertion_id_in_two_responses_for_two_transactions_is_a_replay(broker, setup):
    suffix = "_" + secrets.token_hex(8)
    first_login = start_login(broker, setup)
    first = make(setup, first_login, "valid_signed_assertion", id_suffix=suffix)
    r = post_acs(setup, first.b64, first_login["relay_state"])
    assert r.status_code == 302
    redeem(broker, setup, r.headers["Location"], first_login)
    # A second, correctly signed response for another transaction (its own InResponseTo),
    # reusing the assertion ID.
    second_login = start_login(broker, setup)
    second = make(setup, second_login, "valid_signed_assertion", id_suffix=suffix)
    assert second.xml != first.xml
    before = newest_event_id(broker, setup)
    r = post_acs(setup, second.b64, second_login["relay_state"])
    assert_refused(r, second_login)
    event = new_event(broker, setup, before)
    assert event["outcome"] == "failure"
    assert f"replay: assertion _assert{suffix} was already used" in event["reason"], event
    assert_saml_alive(broker, setup)


def test_the_replayed_assertion_is_refused_on_a_signed_response_too(broker, setup):
    """The cache keys on the assertion ID however the response is signed."""
    suffix = "_" + secrets.token_hex(8)
    login = start_login(broker, setup)
    r = post_acs(setup, make(setup, login, "valid_signed_response", id_suffix=suffix).b64,
                 login["relay_state"])
    assert r.status_code == 302 and "code" in query_of(r.headers["Location"])
    login = start_login(broker, setup)
    before = newest_event_id(broker, setup)
    r = post_acs(setup, make(setup, login, "encrypted_oaep_aes256gcm", id_suffix=suffix).b64,
                 login["relay_state"])
    assert_refused(r, login)
    assert "replay: assertion" in new_event(broker, setup, before)["reason"]


def test_one_assertion_posted_many_times_at_once_logs_in_once(broker, setup):
    """Requests that reach the directory together share one write transaction there (group
    commit): each still sees what the ones before it wrote, so a replay in the same batch is
    refused as one a minute later is."""
    suffix = "_" + secrets.token_hex(8)
    logins = [start_login(broker, setup) for _ in range(8)]
    # The same response 8 times for one transaction, and 7 more transactions each answered
    # with a response of its own that reuses one assertion ID.
    jobs = [(logins[0], make(setup, logins[0], "valid_signed_assertion").b64)] * 8
    jobs += [(login, make(setup, login, "valid_signed_assertion", id_suffix=suffix).b64)
             for login in logins[1:]]
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda job: (job[0], post_acs(setup, job[1],
                                                               job[0]["relay_state"])), jobs))
    coded = [(login, r) for login, r in results
             if r.status_code == 302 and "code" in query_of(r.headers["Location"])]
    first_wave = [x for x in coded if x[0] is logins[0]]
    second_wave = [x for x in coded if x[0] is not logins[0]]
    assert len(first_wave) == 1 and len(second_wave) == 1, [r.headers.get("Location")
                                                             for _, r in coded]
    for login, r in results:
        if any(r is c for _, c in coded):
            continue
        if login is logins[0]:  # its transaction is consumed: an error page, no redirect
            assert r.status_code == 400 and "code=" not in r.headers.get("Location", ""), r
        else:
            assert_refused(r, login)
    # Each code redeemed 4 times at once: one token each.
    for login, r in coded:
        form = token_form(setup, query_of(r.headers["Location"])["code"], login)
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(lambda _: broker.post("/oauth/token", data=form), range(4)))
        assert sorted(a.status_code for a in answers) == [200, 400, 400, 400], \
            [(a.status_code, a.text[:200]) for a in answers]
        assert all(a.json()["error"] == "invalid_grant" for a in answers if a.status_code == 400)
    assert_saml_alive(broker, setup)


# ---------------------------------------------------------------------------------- a burst

def _garbage(rng, i):
    kind = i % 8
    if kind == 0:
        return base64.b64encode(os.urandom(rng.randrange(1, 4096))).decode()
    if kind == 1:
        return "".join(rng.choice("!@#$%^&*()<>?{}|~`\x01\x7f é") for _ in range(rng.randrange(1, 300)))
    if kind == 2:
        return base64.b64encode(b"<samlp:Response" + os.urandom(64)).decode()[:-1]  # bad length
    if kind == 3 and i % 5 == 3:  # over the validator's cap, under the gateway's (a few)
        return OVER_VALIDATOR_CAP
    if kind == 4 and i % 5 == 4:  # over the gateway's body limit (a few)
        return "A" * (BODY_LIMIT + 1024)
    if kind in (3, 4):  # valid base64 of a truncated document
        return base64.b64encode(b"<samlp:Response xmlns:samlp='x'><a b='").decode()
    if kind == 5:
        return base64.b64encode(b"<" * rng.randrange(1, 5000)).decode()
    if kind == 6:
        nest = rng.randrange(50, 3000)
        return base64.b64encode(b"<a>" * nest + b"</a>" * nest).decode()
    return base64.b64encode(("<samlp:Response xmlns:samlp='%s' Version='2.0'>" % make_cases.NS["samlp"]
                             + "<x>" * rng.randrange(0, 40)).encode()).decode()


SAML_CAP = 1024 * 1024
OVER_VALIDATOR_CAP = base64.b64encode(b"<a>" + b"x" * (SAML_CAP + 10) + b"</a>").decode()


def test_a_burst_of_garbage_leaves_the_acs_up(broker, setup):
    rng = random.Random(1234)
    acs = setup["conn"]["sp"]["acs_url"]
    # Half of the posts carry a live transaction (so the validator sees the body), the other
    # half a missing, unknown or oversized RelayState.
    jobs = []
    for i in range(200):
        mode = i % 4
        relay = None if mode == 3 and i % 3 == 0 else "x" * rng.choice([0, 81, 5000])
        jobs.append((i, _garbage(rng, i), mode, relay))

    def one(job):
        i, body, mode, relay = job
        login = None
        if mode in (0, 1):
            login = start_login(broker, setup)
            relay = login["relay_state"]
        elif mode == 2:
            relay = "txn_" + secrets.token_hex(16)
        data = {"SAMLResponse": body}
        if relay is not None:
            data["RelayState"] = relay
        r = requests.post(acs, data=data, allow_redirects=False, timeout=20)
        return i, len(body), login, r

    before = all_events(broker, setup)
    anonymous = service_counter(broker, "saml", "acs_anonymous")
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, jobs))
    for i, size, login, r in results:
        location = r.headers.get("Location", "")
        assert "code=" not in location, (i, location)
        if size > BODY_LIMIT:
            assert r.status_code == 413, (i, r.status_code)
        elif login is not None:
            assert_refused(r, login)
        else:
            assert r.status_code == 400, (i, r.status_code, r.text[:200])
    # Every refusal of a live transaction is in the event log, none a success; the others
    # (no open transaction: anyone's junk) are only counted in /metrics.
    reached = [x for x in results if x[3].status_code != 413]
    live = [x for x in reached if x[2] is not None]
    new = all_events(broker, setup)[:-len(before) or None]
    assert len(new) == len(live), (len(new), len(live))
    anonymous = service_counter(broker, "saml", "acs_anonymous") - anonymous
    assert anonymous == len(reached) - len(live), (anonymous, len(reached) - len(live))
    assert all(e["outcome"] == "failure" for e in new), [e for e in new if e["outcome"] != "failure"]
    assert_saml_alive(broker, setup)
    # And it still logs people in.
    login = start_login(broker, setup)
    r = post_acs(setup, make(setup, login, "valid_signed_assertion").b64, login["relay_state"])
    assert r.status_code == 302 and "code" in query_of(r.headers["Location"]), r.text


# ---------------------------------------------------------------------------------- bindings

def test_a_response_for_one_transaction_posted_with_another_is_refused(broker, setup):
    """A captured valid response cannot finish someone else's login: InResponseTo is bound to
    the transaction's own AuthnRequest."""
    victim = start_login(broker, setup)
    captured = make(setup, start_login(broker, setup), "valid_signed_assertion")
    before = newest_event_id(broker, setup)
    assert_refused(post_acs(setup, captured.b64, victim["relay_state"]), victim)
    reason = new_event(broker, setup, before)["reason"]
    assert f"in_response_to: expected {victim['request_id']}, got " in reason, reason
    assert_saml_alive(broker, setup)


def test_a_response_posted_to_another_connections_acs_is_refused(broker, setup):
    login = start_login(broker, setup)
    case = make(setup, login, "valid_signed_assertion")
    other = setup["conn"]["sp"]["acs_url"].replace(setup["conn"]["id"], "conn_elsewhere0000")
    r = requests.post(other, data={"SAMLResponse": case.b64, "RelayState": login["relay_state"]},
                      allow_redirects=False, timeout=15)
    assert_refused(r, login)
    event = events(broker, setup)[0]
    assert event["outcome"] == "failure"
    # The ACS reads its own connection first (there is none by that id), then fails the
    # login the RelayState names.
    assert "acs: connection: got conn_elsewhere0000, which is no SAML connection" \
        in event["reason"], event
    assert_saml_alive(broker, setup)

