"""A refusal whose reason is cut inside a UTF-8 character still reaches the event log and the log.

The ACS quotes what an anonymous sender wrote, at most so many bytes of it (a Status value, a
CipherReference URI, ...). Cut inside a multi-byte character, the reason was not UTF-8: the
event row was written, but the events API (JSON) left it out of the list without a word, and
the JSON log line of the refusal was dropped. So anyone could make their own refusals vanish
from both. Against the REAL broker (JSON logs): the refusal is listed, with '?' for the cut
byte, and the saml service's log line is there."""
import base64
import json
import re
import urllib.parse
import zlib

import pytest

from conftest import Broker

REDIRECT_URI = "https://app.utf8.example/callback"


@pytest.fixture(scope="module")
def broker():
    b = Broker(extra_env={"SSO_LOG_FORMAT": "json"})
    try:
        b.start()
        yield b
    finally:
        b.cleanup()


def start_login(broker, client_id):
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
              "scope": "openid", "state": "st-utf8", "login_hint": "ann@example.com"}
    r = broker.get("/oauth/authorize?" + urllib.parse.urlencode(params), allow_redirects=False)
    assert r.status_code == 302, r.text
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(r.headers["Location"]).query))
    request = zlib.decompress(base64.b64decode(query["SAMLRequest"]), -15)
    return query["RelayState"], re.search(rb'ID="([^"]+)"', request).group(1).decode()


def test_a_reason_cut_inside_a_character_is_still_listed_and_logged(broker):
    client = broker.api("POST", "/clients", {"name": "utf8",
                                             "redirect_uris": [REDIRECT_URI]}).json()
    relay_state, request_id = start_login(broker, client["client_id"])
    # The reason quotes at most 200 bytes of the Status value: the cut falls inside the "é".
    marker = "urn:utf8-cut:" + "a" * (199 - len("urn:utf8-cut:"))
    xml = ('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" '
           'Version="2.0" InResponseTo="%s"><samlp:Status><samlp:StatusCode Value="%s\u00e9"/>'
           '</samlp:Status></samlp:Response>' % (request_id, marker))
    r = broker.post("/sso/saml/conn_simulator/acs", allow_redirects=False,
                    data={"SAMLResponse": base64.b64encode(xml.encode()).decode(),
                          "RelayState": relay_state})
    assert r.status_code == 302 and "error=access_denied" in r.headers["Location"], r.headers

    events = broker.api("GET", "/events?connection_id=conn_simulator")
    assert events.status_code == 200, events.text
    reasons = [e["reason"] for e in events.json()["data"] if e["outcome"] == "failure"]
    assert any(reason == "status: " + marker + "?" for reason in reasons), reasons

    lines = [json.loads(line) for line in broker.log_text().splitlines()
             if line.startswith("{") and marker in line]
    assert any(line["process"].startswith("saml") and line["msg"].endswith(marker + "?")
               for line in lines), lines
