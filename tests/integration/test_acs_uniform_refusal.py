"""Every ACS refusal before the assertion is authenticated looks the same from outside.

Garbage base64, an AES-CBC EncryptedAssertion whose padding is broken, one that decrypts but
whose assertion's signature is broken, one that decrypts to an unsigned assertion, a
CipherReference, and a refusal whose reason quotes a control character: against the REAL
broker, the browser gets the same status, the same headers and the same body, and the Location
differs only by the client's state value (each login has its own). With AES-CBC a padding error
and a later failure cannot be told apart: no padding oracle. Only the event log has the
precise reasons, and they are distinct.

Needs python3-lxml and python3-xmlsec for /usr/bin/python3 (Debian packages)."""
import base64
import urllib.parse

import pytest

pytest.importorskip("lxml")
pytest.importorskip("xmlsec")

from test_acs_attacks import (  # noqa: E402,F401  (broker and setup are fixtures)
    UNVALIDATED, assert_refused, assert_saml_alive, broker, make, make_cases, new_event,
    newest_event_id, post_acs, query_of, setup, start_login)

# Headers that are the same for any two answers whatever they say (or that a client never
# sees the difference in): the date and the per-request id.
VARYING_HEADERS = {"date", "x-request-id"}


def _status_with_newline(login):
    """A Response refused at its Status, which the reason quotes: with a newline in it."""
    xml = ('<samlp:Response xmlns:samlp="%s" ID="_r" Version="2.0" InResponseTo="%s">'
           '<samlp:Status><samlp:StatusCode Value="urn:x&#10;injected"/></samlp:Status>'
           '</samlp:Response>' % (make_cases.NS["samlp"], login["request_id"]))
    return base64.b64encode(xml.encode()).decode()


# name -> (how to make the SAMLResponse for a login, what the event log must say)
SHAPES = {
    "garbage_base64": (lambda setup, login: "!!! not base64 !!!",
                       "input: the SAMLResponse is not base64"),
    "cbc_bad_padding": (lambda setup, login: make(setup, login, "encrypted_cbc_bad_padding").b64,
                        "decryption: the EncryptedAssertion could not be decrypted"),
    "cbc_bad_signature": (lambda setup, login: make(setup, login,
                                                    "encrypted_cbc_bad_signature").b64,
                          "signature: the Assertion's signature does not verify"),
    "decrypted_unsigned": (lambda setup, login: make(setup, login, "encrypted_unsigned").b64,
                           "signature: neither the Response nor the Assertion is signed"),
    "cipher_reference": (lambda setup, login: make(setup, login,
                                                   "cipher_reference_http_in_encrypted_data").b64,
                         "decryption: xenc:CipherReference"),
    "control_character_in_reason": (lambda setup, login: _status_with_newline(login),
                                    "status: urn:x?injected"),
}


def answer_of(r, login):
    """What the browser sees, with the login's own state value replaced by a placeholder."""
    raw = r.headers.get("Location", "")
    state = "state=" + urllib.parse.quote(login["state"], safe="")
    assert raw.count(state) == 1, (raw, state)
    location = raw.replace(state, "state=STATE")  # byte for byte otherwise
    headers = sorted((k.lower(), v if k.lower() != "location" else location)
                     for k, v in r.headers.items() if k.lower() not in VARYING_HEADERS)
    return r.status_code, headers, r.content


def test_refusals_before_authentication_are_identical_outside_distinct_inside(broker, setup):
    answers, reasons = {}, {}
    for name, (build, expected_reason) in SHAPES.items():
        login = start_login(broker, setup)
        before = newest_event_id(broker, setup)
        r = post_acs(setup, build(setup, login), login["relay_state"])
        query = assert_refused(r, login)
        assert query.get("error_description") == UNVALIDATED, (name, query)
        answers[name] = answer_of(r, login)
        event = new_event(broker, setup, before)
        assert event["outcome"] == "failure", (name, event)
        assert expected_reason in event["reason"], (name, expected_reason, event["reason"])
        reasons[name] = event["reason"]
    first = next(iter(answers))
    for name, answer in answers.items():
        assert answer == answers[first], (first, answers[first], name, answer)
    assert len(set(reasons.values())) == len(reasons), reasons
    assert_saml_alive(broker, setup)


def test_a_refusal_after_authentication_may_name_its_check(broker, setup):
    """The contrast: once the signature verified, the description names the check."""
    login = start_login(broker, setup)
    r = post_acs(setup, make(setup, login, "wrong_audience").b64, login["relay_state"])
    query = assert_refused(r, login)
    assert query["error_description"] == ("the identity provider's response was refused "
                                          "(audience); the event log has details"), query
