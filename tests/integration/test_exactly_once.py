"""Exactly once across a cluster (issue 23): two gateways (two brokers) and every service
connected to both; on PostgreSQL (SSO_TEST_PG=1) two directory instances writing the one
database at once. The same authorization code redeemed at the same instant through both
gateways: exactly one redemption wins, every time; the same for one IdP response posted to the
ACS through both gateways at once: exactly one login. TRIES of each (1,000 by default;
SSO_EXACTLY_ONCE_TRIES changes it)."""
import os
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import jwt
import pytest
import requests

from conftest import two_gateways
from test_gateways import Via
from test_op import (PERSON, REDIRECT_URI, base_params, form_of, make_client, query_of,
                     redeem, simulator_page)

TRIES = int(os.environ.get("SSO_EXACTLY_ONCE_TRIES", "1000"))
ON_PG = os.environ.get("SSO_TEST_PG") == "1"


@pytest.fixture(scope="module")
def cluster():
    # Two directories need a database made for several writers: PostgreSQL. On SQLite one
    # directory serves both gateways.
    with two_gateways(scale={"directory": 2} if ON_PG else None) as (broker, a, b):
        client = make_client(broker, "exactly-once-rp", [REDIRECT_URI])
        yield SimpleNamespace(broker=broker, client=client,
                              vias=(Via(broker, a), Via(broker, b)))


def acs_form(cluster, via):
    """A login through the simulator up to the IdP's signed response: the ACS URL and form."""
    session = via.session()
    params = base_params({"client": cluster.client}, login_hint="ada@example.com")
    page, url = simulator_page(via, params, session)
    assert page.status_code == 200 and "/simulator/" in url, (page.status_code, url)
    form = form_of(page.text)
    fields = dict(form.fields)
    fields.update(PERSON)
    posted = session.post(urllib.parse.urljoin(url, form.action), data=fields,
                          allow_redirects=False, timeout=10)
    assert posted.status_code == 200, posted.text[:300]
    acs = form_of(posted.text)
    return urllib.parse.urljoin(url, acs.action), acs.fields


def at_once(calls):
    """Runs the calls on threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_one_response_posted_through_both_gateways_logs_in_once(cluster):
    a, b = cluster.vias
    codes = []
    for i in range(TRIES):
        url, fields = acs_form(cluster, (a, b)[i % 2])
        answers = at_once([lambda via=via: via.session().post(url, data=fields,
                                                              allow_redirects=False,
                                                              timeout=15)
                           for via in (a, b)])
        logged_in = [r for r in answers
                     if r.status_code in (302, 303)
                     and "code" in query_of(r.headers.get("Location", ""))]
        assert len(logged_in) == 1, (i, [(r.status_code, r.headers.get("Location"),
                                          r.text[:200]) for r in answers])
        codes.append(query_of(logged_in[0].headers["Location"])["code"])
    assert len(set(codes)) == TRIES


def test_one_code_redeemed_through_both_gateways_wins_once(cluster):
    a, b = cluster.vias
    for i in range(TRIES):
        url, fields = acs_form(cluster, (a, b)[i % 2])
        answered = (a, b)[i % 2].session().post(url, data=fields, allow_redirects=False,
                                                 timeout=15)
        code = query_of(answered.headers["Location"])["code"]
        answers = at_once([lambda via=via: redeem(via, cluster.client, code) for via in (a, b)])
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [200, 400], \
            f"try {i}: {[(r.status_code, r.text[:200]) for r in answers]}\n" \
            + cluster.broker.log_tail(80)
        refused = [r for r in answers if r.status_code == 400][0]
        assert refused.json()["error"] == "invalid_grant", refused.text


@pytest.mark.parametrize("round", range(2))
def test_a_fresh_clusters_first_logins_and_tokens_at_once(round):
    """The first signing key is made when the first token is asked for: eight logins and then
    eight redemptions at once, through both gateways, on two token instances (and two
    directories on PostgreSQL), on a cluster that has no key yet: all get their tokens, signed
    by the one key the cluster keeps."""
    with two_gateways(scale={"directory": 2, "token": 2} if ON_PG else {"token": 2}) \
            as (broker, a, b):
        client = make_client(broker, "first-key-rp", [REDIRECT_URI])
        cluster = SimpleNamespace(broker=broker, client=client)
        vias = (Via(broker, a), Via(broker, b))
        forms = [acs_form(cluster, vias[i % 2]) for i in range(8)]
        posted = at_once([lambda i=i: vias[i % 2].session().post(
            forms[i][0], data=forms[i][1], allow_redirects=False, timeout=15)
            for i in range(8)])
        assert all(r.status_code in (302, 303) for r in posted), \
            [(r.status_code, r.text[:200]) for r in posted]
        codes = [query_of(r.headers["Location"])["code"] for r in posted]
        answers = at_once([lambda i=i: redeem(vias[i % 2], client, codes[i]) for i in range(8)])
        assert [r.status_code for r in answers] == [200] * 8, \
            [(r.status_code, r.text[:200]) for r in answers]
        keys = requests.get(a.url + "/keys", timeout=5).json()["keys"]
        assert len(keys) == 1
        kids = {jwt.get_unverified_header(r.json()["id_token"])["kid"] for r in answers}
        assert kids == {keys[0]["kid"]}
