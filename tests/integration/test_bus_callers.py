"""Who may call what on the bus (issue 16, item 4): a service serves HTTP requests only from
the gateway and RPCs only from the roles that call them; a connection's secrets travel only to
the service of its type (the SP key to saml, the upstream client secret to oidc), never to the
token service, which uses neither. Each test acts as a rogue with a real service's keys from
the data dir, and the real login still works."""
import base64
import re
import subprocess
import time
import urllib.parse
import zlib

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from test_bus import dir_call, dir_error, dir_error_description, field, fields_of, keyed_dealer
from test_op import REDIRECT_URI, base_params, login_code, make_client, query_of, redeem

SIMULATOR = "conn_simulator"
OIDC_SECRET = "oidc-client-secret-that-stays-in-the-directory"


@pytest.fixture(scope="module")
def setup(broker, oidc_provider):
    client = make_client(broker, "callers-rp", [REDIRECT_URI])
    # The OIDC connection's discovery is checked at create and enable: a stand-in provider.
    issuer = oidc_provider.issuer("/callers-oidc")
    org = broker.api("POST", "/organizations", {"display_name": "Callers OIDC"}).json()
    assert broker.api("POST", f"/organizations/{org['id']}/domains",
                      {"domain": "callers-oidc.example"}).status_code == 201
    r = broker.api("POST", f"/organizations/{org['id']}/connections", {
        "type": "oidc", "oidc": {"issuer": issuer,
                                 "client_id": "callers", "client_secret": OIDC_SECRET}})
    assert r.status_code == 201, r.text
    oidc = r.json()["id"]
    assert broker.api("POST", f"/connections/{oidc}/enable").status_code == 200
    return {"client": client, "oidc": oidc, "issuer": issuer}


def call(broker, role, service, rpc, payload, kind_rpc=True):
    """Sends a request to service with role's keys; returns (bus_status, reply payload)."""
    sock = keyed_dealer(broker, role)
    try:
        meta = (field(1, f"it-{rpc}") + field(2, int(time.time() * 1000) + 3000)
                + (field(4, 1) + field(5, rpc) if kind_rpc else b""))
        sock.send_multipart([b"MDPC02", b"\x01", service.encode(), meta, payload])
        assert sock.poll(5000), f"no answer to {rpc} from {service}"
        frames = sock.recv_multipart()
    finally:
        sock.close()
    assert frames[:2] == [b"MDPC02", b"\x03"], frames[:3]
    return frames[3], frames[4] if len(frames) > 4 else b""


def directory(broker, role, rpc, request):
    """A directory RPC ("<Service>.<Method>", its request message packed) as role: the reply
    payload."""
    sock = keyed_dealer(broker, role)
    try:
        reply = dir_call(sock, rpc, request)
    finally:
        sock.close()
    assert reply is not None, f"no answer to {rpc}"
    return reply


def login_context(broker, role, txn_id):
    return directory(broker, role, "UpstreamReads.LoginContext", field(1, txn_id))


def connection_get(broker, role, connection_id, with_secrets):
    request = field(1, connection_id) + (field(2, True) if with_secrets else b"")
    return directory(broker, role, "UpstreamReads.ConnectionGet", request)


def open_login(broker, setup):
    """An open login transaction of the simulator's connection: its id (the RelayState)."""
    params = base_params(setup, login_hint="ada@example.com")
    r = requests.get(broker.url + "/oauth/authorize?" + urllib.parse.urlencode(params),
                     allow_redirects=False, timeout=10)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    return query_of(r.headers["Location"])["RelayState"]


def authorize_begin(broker, client_id, selector, txn=None):
    """TokenWrites.AuthorizeBegin as the token service (client_id, a packed
    ConnectionSelector and, when given, a packed Transaction): the AuthorizeBeginReply."""
    request = field(1, client_id) + field(2, selector) + (field(3, txn) if txn else b"")
    return directory(broker, "token", "TokenWrites.AuthorizeBegin", request)


def test_authorize_begin_carries_no_connection_secret(broker, setup):
    """The token service's /oauth/authorize call: the client and the connection, with the SP
    certificate but neither the SP private key nor the upstream client secret; without a
    transaction (the lookup) and with one (the login begun, as /oauth/authorize asks)."""
    client_id = setup["client"]["client_id"]
    now = int(time.time())
    txn = (field(3, REDIRECT_URI) + field(4, "st-callers") + field(7, "openid")
           + field(10, now) + field(11, now + 300))
    for selector, expect in ((field(3, "example.com"), SIMULATOR.encode()),
                             (field(1, setup["oidc"]), setup["issuer"].encode())):
        for with_txn in (False, True):
            reply = authorize_begin(broker, client_id, selector, txn if with_txn else None)
            assert dir_error(reply) == "" and expect in reply, reply[:300]
            begun = fields_of(reply)
            # The client and a connection, with no client or selector error.
            assert 5 in begun and 8 in begun and not {3, 6} & begun.keys(), begun.keys()
            # The transaction exactly when one was asked for, with no error of its own.
            assert (11 in begun) == with_txn and 9 not in begun, (with_txn, begun.keys())
            assert b"PRIVATE KEY" not in reply and OIDC_SECRET.encode() not in reply
    assert b"BEGIN CERTIFICATE" in authorize_begin(broker, client_id, field(3, "example.com"))


def test_login_context_and_its_sp_key_are_the_saml_services(broker, setup):
    """LoginContext of an open SAML login: refused to the token service (not its operation)
    and to the oidc service (not its connection's secrets); the saml service gets the SP key it
    decrypts with. Then a whole login still works."""
    txn = open_login(broker, setup)
    for role, says in (("token", "UpstreamReads.LoginContext is only for the saml and oidc "
                                 "services"),
                       ("oidc", f"the secrets of connection {SIMULATOR} are only for the saml")):
        reply = login_context(broker, role, txn)
        assert dir_error(reply) == "access_denied", reply[:300]
        assert says.encode() in reply and b"PRIVATE KEY" not in reply
    reply = login_context(broker, "saml", txn)
    assert dir_error(reply) == "" and b"PRIVATE KEY" in reply
    assert "rpc UpstreamReads.LoginContext refused: only the saml and oidc services may call it, " \
        "not token" in broker.log_text()
    code, _ = login_code(broker, setup)
    r = redeem(broker, setup["client"], code)
    assert r.status_code == 200 and r.json()["id_token"], r.text


def test_connection_secrets_go_only_to_the_service_of_their_type(broker, setup):
    """ConnectionGet with_secrets: the SP key to saml, the client secret to oidc, and to no
    other role; without, the connection for saml and oidc only (not the token service's)."""
    for role, connection, secret in (("saml", SIMULATOR, b"PRIVATE KEY"),
                                     ("oidc", setup["oidc"], OIDC_SECRET.encode())):
        reply = connection_get(broker, role, connection, True)
        assert dir_error(reply) == "" and secret in reply, reply[:300]
    for role, connection in (("token", SIMULATOR), ("token", setup["oidc"]), ("oidc", SIMULATOR),
                             ("saml", setup["oidc"])):
        reply = connection_get(broker, role, connection, True)
        assert dir_error(reply) == "access_denied", (role, connection, reply[:300])
        assert b"PRIVATE KEY" not in reply and OIDC_SECRET.encode() not in reply
    public = connection_get(broker, "saml", SIMULATOR, False)
    assert dir_error(public) == "" and b"PRIVATE KEY" not in public
    assert dir_error(connection_get(broker, "token", SIMULATOR, False)) == "access_denied"


def test_http_requests_are_served_only_from_the_gateway(broker):
    """A well-formed HTTP-kind request from a service's key (saml → token's /keys, oidc →
    saml's metadata) is answered 403, never handled; the same through the gateway works."""
    for role, service, path in (("saml", "token", "/keys"),
                                ("oidc", "saml", f"/sso/saml/{SIMULATOR}/metadata"),
                                ("token", "directory", "/api/v1/organizations")):
        status, reply = call(broker, role, service, "http",
                             field(1, "GET") + field(2, path), kind_rpc=False)
        response = fields_of(reply)
        assert response.get(1) == [403], (service, response)
        body = response[3][0]
        assert b"access_denied" in body and b"only from the gateway" in body, body
        assert b"kid" not in body and b"EntityDescriptor" not in body
    assert broker.get("/keys").status_code == 200
    assert broker.get(f"/sso/saml/{SIMULATOR}/metadata").status_code == 200
    assert "takes HTTP requests only from the gateway" in broker.log_text()


def start_request(txn_id, saml_request_id, connection):
    """UpstreamStartRequest{txn: {id, saml_request_id}, connection} (connection packed)."""
    txn = field(1, txn_id) + (field(15, saml_request_id) if saml_request_id is not None else b"")
    return field(1, txn) + field(2, connection)


# The directory's operations that were fields of the one DirRequest before, by their old names.
OLD_DIRECTORY_NAMES = ("client_auth", "keys_list", "key_put", "token_issue", "client_get",
                       "connection_resolve", "connection_get", "txn_create", "txn_get",
                       "txn_update", "login_complete", "login_fail", "code_redeem",
                       "access_token_check", "replay_record", "event_record", "simulator_key",
                       "bearer_check", "authorize_lookup", "login_context")


def test_rpcs_are_served_only_to_the_roles_that_call_them(broker):
    """A stolen saml key cannot have a management token issued, nor call UpstreamStart.Start
    (the token service's), nor the directory's code redemption; the token key cannot complete
    a login; a service with no RPCs refuses every one. The old operation names reach nothing:
    the directory refuses them as unknown, the saml service answers no redirect to them."""
    admin = broker.admin_id
    issue = field(1, admin) + field(2, "management") + field(3, 600)
    for role, rpc, request, callers in (
            ("saml", "TokenWrites.TokenIssue", issue, "token service"),
            ("token", "UpstreamWrites.LoginComplete", field(1, "txn-none"),
             "saml and oidc services"),
            ("saml", "TokenWrites.CodeRedeem", field(1, "code") + field(2, admin),
             "token service")):
        reply = directory(broker, role, rpc, request)
        assert dir_error(reply) == "access_denied" and b"at_" not in reply, (rpc, reply[:200])
        assert dir_error_description(reply) == f"{rpc} is only for the {callers}", reply[:200]
    start = start_request("txn-rogue", "_" + "a" * 32, field(1, SIMULATOR) + field(4, "saml"))
    for role, service, rpc in (("saml", "saml", "UpstreamStart.Start"),
                               ("oidc", "saml", "UpstreamStart.Start"),
                               # TokenSign (the IdP-initiated login's JWT) is the saml
                               # service's only: no other role reaches the token service.
                               ("oidc", "token", "TokenSign.IdpInitiatedLogin"),
                               ("directory", "token", "TokenSign.IdpInitiatedLogin")):
        _, reply = call(broker, role, service, rpc, start)
        refusal = fields_of(reply)
        assert dir_error(reply) == "access_denied", (role, service, refusal)
        assert b"serves no RPC from " + role.encode() in refusal[2][0], refusal
        assert 3 not in refusal, refusal  # no redirect_url
    # The saml role reaches the token service for TokenSign only: UpstreamStart.Start is no
    # RPC of it, and answers nothing.
    _, reply = call(broker, "saml", "token", "UpstreamStart.Start", start)
    assert 3 not in fields_of(reply) and b"SAMLRequest" not in reply, reply[:200]
    for role in ("token", "saml", "oidc"):
        for old in OLD_DIRECTORY_NAMES:
            reply = directory(broker, role, old, field(1, admin))
            assert dir_error(reply) == "invalid_request", (role, old, reply[:200])
            assert dir_error_description(reply) == "the directory has no such operation", \
                (role, old, reply[:200])
    _, reply = call(broker, "token", "saml", "saml_start", start)
    assert 3 not in fields_of(reply) and b"SAMLRequest" not in reply, reply[:200]


def authn_request_id(url):
    """The ID of the AuthnRequest in a redirect URL's SAMLRequest (base64 of raw DEFLATE)."""
    saml_request = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["SAMLRequest"][0]
    xml = zlib.decompress(base64.b64decode(saml_request), -15).decode()
    return re.search(r'<(?:\w+:)?AuthnRequest\b[^>]*\sID="([^"]*)"', xml).group(1)


def test_a_signed_authn_request_is_signed_with_the_directorys_sp_key(broker, tmp_path):
    """UpstreamStart.Start for a connection that signs its AuthnRequests: the connection comes
    without secrets (as AuthorizeBegin gave it to the token service), so the saml service reads
    the connection as the directory holds it, SP key and all; a key or an IdP URL put in the
    request is not used. The AuthnRequest's ID is the transaction's saml_request_id (what the
    ACS expects as InResponseTo); an absent one or one that is no xs:ID of ours is refused."""
    metadata = broker.get(f"/sso/saml/{SIMULATOR}/metadata").text
    certificate = metadata.split("X509Certificate>")[1].split("<")[0]
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(tmp_path / "other.pem")], check=True, capture_output=True)
    other_key = (tmp_path / "other.pem").read_text()
    entity = f"{broker.url}/sso/saml/{SIMULATOR}"
    connection = (field(1, SIMULATOR) + field(4, "saml") + field(5, "active")
                  + field(11, "https://idp.signing.example/sso") + field(13, entity)
                  + field(14, entity + "/acs") + field(15, other_key) + field(17, True))
    request_id = "_Signed-request_0123456789abcdef"
    status, reply = call(broker, "token", "saml", "UpstreamStart.Start",
                         start_request("txn-signed", request_id, connection))
    started = fields_of(reply)
    assert dir_error(reply) == "", started
    url = started[3][0].decode()
    assert authn_request_id(url) == request_id, url
    query = urllib.parse.urlsplit(url).query
    assert url.startswith(broker.url + "/simulator/sso?") and "&SigAlg=" in query, url
    signed, signature = query.split("&Signature=")
    der = base64.b64decode(certificate)
    x509.load_der_x509_certificate(der).public_key().verify(
        base64.b64decode(urllib.parse.unquote(signature)), signed.encode(), padding.PKCS1v15(),
        hashes.SHA256())
    # Unsigned: no directory call, no signature, whatever key the request carries.
    unsigned = connection[:-len(field(17, True))]
    request_id = "_unsigned-" + "b" * 54  # the longest: "_" and 64
    _, reply = call(broker, "token", "saml", "UpstreamStart.Start",
                    start_request("txn-unsigned", request_id, unsigned))
    assert dir_error(reply) == "", fields_of(reply)
    url = fields_of(reply)[3][0].decode()
    assert "SAMLRequest=" in url and "Signature=" not in url, url
    assert authn_request_id(url) == request_id, url
    # No request ID (absent, empty) or one that is no xs:ID of ours: no AuthnRequest.
    for request_id, error in ((None, "invalid_request"), ("", "invalid_request"),
                              ('_bad" ID="_0123456789abcdef', "server_error"),
                              ("_short", "server_error"), ("_" + "c" * 65, "server_error"),
                              ("0123456789abcdef0123", "server_error")):
        for conn in (unsigned, connection):
            _, reply = call(broker, "token", "saml", "UpstreamStart.Start",
                            start_request("txn-bad-id", request_id, conn))
            refused = fields_of(reply)
            assert dir_error(reply) == error and 3 not in refused, (request_id, refused)
