"""The SAML response corpus: tests/saml/make_cases.py writes valid responses and attacks (XSW,
comment injection, forged keys, weak algorithms, DOCTYPE/entities, bad conditions, encrypted
assertions) with freshly generated keys; `test-saml --cases DIR` validates each against its
expected outcome and reason. Needs python3-lxml and python3-xmlsec for /usr/bin/python3."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SSO_BUILD_DIR", os.path.join(ROOT, "build"))
BIN = os.path.join(BUILD if os.path.isabs(BUILD) else os.path.join(ROOT, BUILD), "bin")
PYTHON = "/usr/bin/python3"  # the Debian interpreter that has python3-lxml/python3-xmlsec


def _have_tooling():
    return subprocess.run([PYTHON, "-c", "import lxml, xmlsec"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    if not _have_tooling():
        pytest.skip("python3-lxml / python3-xmlsec missing (scripts/deps.sh installs them)")
    out = tmp_path_factory.mktemp("saml-cases")
    subprocess.run([PYTHON, os.path.join(ROOT, "tests", "saml", "make_cases.py"), str(out)],
                   check=True, capture_output=True, timeout=120)
    return out


def test_every_case_matches_its_expectation(cases):
    manifest = (cases / "manifest.tsv").read_text().splitlines()
    n_cases = sum(1 for line in manifest if line.startswith("case\t"))
    assert n_cases >= 50
    run = subprocess.run([os.path.join(BIN, "test-saml"), "--cases", str(cases), "-v"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[-1] == f"{n_cases} passed, 0 failed", run.stdout
    # Every case was reported, and none as a failure.
    names = {line.split("\t")[1] for line in manifest if line.startswith("case\t")}
    reported = {l.split(":")[0].split()[-1] for l in lines if l.startswith(("ok", "FAIL"))}
    assert names == reported
    assert not [l for l in lines if l.startswith("FAIL")]


def test_corpus_covers_the_attack_classes(cases):
    names = [l.split("\t")[1] for l in (cases / "manifest.tsv").read_text().splitlines()
             if l.startswith("case\t")]
    for prefix in ["xsw1", "xsw2", "xsw3", "xsw4", "xsw5", "xsw6", "xsw7", "xsw8",
                   "comment_in_nameid", "cdata_in_nameid", "attacker_cert_in_keyinfo",
                   "hmac_sha256", "rsa_sha1", "transform_xpath", "transform_xslt", "doctype",
                   "external_entity", "encrypted_oaep_aes256gcm", "encrypted_rsa_1_5"]:
        assert any(n.startswith(prefix) for n in names), prefix
