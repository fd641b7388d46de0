"""The broker's SP metadata validates against the OASIS SAML 2.0 metadata schema: xmllint with
the XSDs that Debian's python3-pysaml2 ships (never fetched: an XML catalog maps the W3C
schemas they import to the local copies, and --nonet forbids the network). A document the
schema refuses proves the check is in force."""
import os
import subprocess

import pytest
import requests

SCHEMAS = "/usr/lib/python3/dist-packages/saml2/data/schemas"
METADATA_XSD = os.path.join(SCHEMAS, "saml-schema-metadata-2.0.xsd")
# The imports of the metadata, assertion and xenc schemas, by the locations they name.
IMPORTS = {
    "http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd":
        "xmldsig-core-schema.xsd",
    "http://www.w3.org/TR/2002/REC-xmlenc-core-20021210/xenc-schema.xsd": "xenc-schema.xsd",
    "http://www.w3.org/2001/xml.xsd": "xml.xsd",
}


@pytest.fixture(scope="module")
def validate(tmp_path_factory):
    if not os.path.exists(METADATA_XSD):
        pytest.fail(f"{METADATA_XSD} is missing: install python3-pysaml2 (scripts/deps.sh does)")
    tmp = tmp_path_factory.mktemp("schema")
    entries = "".join(
        f'  <system systemId="{url}" uri="file://{SCHEMAS}/{name}"/>\n'
        f'  <uri name="{url}" uri="file://{SCHEMAS}/{name}"/>\n' for url, name in IMPORTS.items())
    catalog = tmp / "catalog.xml"
    catalog.write_text('<?xml version="1.0"?>\n<catalog xmlns="urn:oasis:names:tc:entity:'
                       f'xmlns:xml:catalog">\n{entries}</catalog>\n')
    env = dict(os.environ, XML_CATALOG_FILES=str(catalog))

    def run(xml, name):
        path = tmp / name
        path.write_bytes(xml)
        return subprocess.run(["xmllint", "--nonet", "--noout", "--schema", METADATA_XSD,
                               str(path)], env=env, capture_output=True, text=True, timeout=60)
    return run


def metadata(url):
    r = requests.get(url, timeout=10)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith("application/samlmetadata+xml"), r.headers
    return r.content


def test_the_simulator_connections_sp_metadata_is_schema_valid(broker, validate):
    done = validate(metadata(broker.url + "/sso/saml/conn_simulator/metadata"), "simulator.xml")
    assert done.returncode == 0, done.stderr


def test_a_new_connections_sp_metadata_is_schema_valid(broker, validate, tmp_path):
    key, crt = tmp_path / "idp.key", tmp_path / "idp.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=schema idp", "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True)
    org = broker.api("POST", "/organizations", {"display_name": "Schema Corp"}).json()
    conn = broker.api("POST", f"/organizations/{org['id']}/connections", {
        "type": "saml", "saml": {"idp_entity_id": "urn:schema:idp",
                                 "idp_sso_url": "https://idp.schema.example/sso",
                                 "idp_certificates": [crt.read_text()]}}).json()
    done = validate(metadata(conn["sp"]["metadata_url"]), "new.xml")
    assert done.returncode == 0, done.stderr


def test_the_schema_is_in_force(broker, validate):
    """The same document with an element the schema does not allow where it stands, and with
    its required entityID gone: each refused, so a pass above means something."""
    xml = metadata(broker.url + "/sso/saml/conn_simulator/metadata")
    moved = xml.replace(b"<md:AssertionConsumerService", b"<md:Unknown/><md:AssertionConsumerService", 1)
    assert moved != xml
    done = validate(moved, "moved.xml")
    assert done.returncode != 0 and "Unknown" in done.stderr, done.stderr
    without = xml.replace(b' entityID="', b' x="', 1)
    assert without != xml
    done = validate(without, "no-entity.xml")
    assert done.returncode != 0 and "entityID" in done.stderr, done.stderr
