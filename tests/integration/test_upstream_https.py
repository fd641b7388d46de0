"""No trust anchor over plain HTTP (DESIGN.md 6, lib/sso_fetch): an IdP metadata URL must be
https; plain http is possible only to a loopback host with SSO_ALLOW_PRIVATE_UPSTREAMS=1 (for
tests), and no redirect ever leads to anything but https. A refused URL is never contacted:
the recording servers below count every TCP connection they accept, not only requests."""
import pytest

from apihelpers import assert_json_error, state, suffix
from conftest import Recorder
from test_api import idp_cert, idp_metadata  # noqa: F401 (idp_cert is a fixture)


@pytest.fixture(scope="module")
def metadata(idp_cert):
    """A valid IdP metadata document."""
    return idp_metadata("https://idp.example.com/" + suffix(), "https://idp.example.com/sso",
                        idp_cert[0])




@pytest.fixture
def recorder():
    made = []

    def make(routes):
        made.append(Recorder(routes))
        return made[-1]

    yield make
    for r in made:
        r.close()


def create_org(broker):
    r = broker.api("POST", "/organizations", {"display_name": "Https Org " + suffix()})
    assert r.status_code == 201, r.text
    return r.json()


def create_connection(broker, org_id, url):
    return broker.api("POST", f"/organizations/{org_id}/connections",
                      {"type": "saml", "saml": {"idp_metadata_url": url}})


def test_plain_http_metadata_url_is_refused_and_never_contacted(fresh_broker, recorder,
                                                                metadata):
    b = fresh_broker(extra_env={"SSO_ALLOW_PRIVATE_UPSTREAMS": "0"})
    org = create_org(b)
    idp = recorder({"/md": (200, {"Content-Type": "application/samlmetadata+xml"}, metadata)})
    before = state(b)
    for url in [idp.url("/md"), idp.url("/md").replace("http:", "HTTP:"),
                f"http://localhost:{idp.port}/md", "http://idp.example.com/metadata"]:
        body = assert_json_error(create_connection(b, org["id"], url), 400, "invalid_request")
        assert "must use https" in body["error_description"], (url, body)
    # Other schemes never get as far (the directory's URL syntax check names https too).
    for url in [f"ftp://127.0.0.1:{idp.port}/md", f"gopher://127.0.0.1:{idp.port}/",
                f"dict://127.0.0.1:{idp.port}/info", "file:///etc/passwd"]:
        body = assert_json_error(create_connection(b, org["id"], url), 400, "invalid_request")
        assert "https" in body["error_description"], (url, body)
    assert idp.connections == 0 and idp.paths == []
    assert state(b) == before


def test_plain_http_to_a_public_host_is_refused_even_with_private_upstreams(broker):
    org = create_org(broker)
    for url in ["http://idp.example.com/metadata", "HTTP://idp.example.com/metadata",
                "http://10.0.0.1/metadata"]:
        body = assert_json_error(create_connection(broker, org["id"], url), 400)
        assert "must use https" in body["error_description"], (url, body)


def test_loopback_http_works_with_private_upstreams(broker, recorder, metadata):
    """The test-only exception stays: SSO_ALLOW_PRIVATE_UPSTREAMS=1 (the suite's default)."""
    org = create_org(broker)
    idp = recorder({"/md": (200, {"Content-Type": "application/samlmetadata+xml"}, metadata)})
    r = create_connection(broker, org["id"], idp.url("/md"))
    assert r.status_code == 201, r.text
    assert idp.paths == ["/md"]


@pytest.mark.parametrize("target", ["http", "file", "gopher", "dict"])
def test_a_redirect_to_anything_but_https_is_refused(broker, recorder, metadata, target):
    """Even from an allowed loopback http URL, a redirect leads to https only: the plain http
    target (which would serve valid metadata) is never contacted."""
    org = create_org(broker)
    elsewhere = recorder({"/md": (200, {"Content-Type": "application/samlmetadata+xml"},
                                  metadata)})
    location = {"http": elsewhere.url("/md"), "file": "file:///etc/passwd",
                "gopher": f"gopher://127.0.0.1:{elsewhere.port}/",
                "dict": f"dict://127.0.0.1:{elsewhere.port}/info"}[target]
    idp = recorder({"/md": (302, {"Location": location}, "")})
    before = state(broker)
    body = assert_json_error(create_connection(broker, org["id"], idp.url("/md")), 400)
    assert "redirected" in body["error_description"] and "https" in body["error_description"], \
        body
    assert idp.paths == ["/md"]
    assert elsewhere.connections == 0 and elsewhere.paths == []
    assert state(broker) == before
