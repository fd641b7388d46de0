/* dir_conn_slow: the slow steps of a connection's handlers and the passes they run between. */
#include "api/dir_conn_slow.h"
#include "vault/dir_pki.h"
#include "sso_service.h"
#include "sso_test.h"
#include <openssl/crypto.h>

static void s_slow_run(void *arg)
{
    dir_conn_slow_t *slow = arg;
    if (slow->want == DIR_CONN_SLOW_FETCH) {
        sso_fetch_request_t request = {.url = slow->url,
                                       .accept = "application/samlmetadata+xml, "
                                                 "application/xml, text/xml",
                                       .allow_private = slow->allow_private};
        slow->fetch_rc = sso_fetch(&request, &slow->response, slow->fetch_why,
                                   sizeof slow->fetch_why);
        slow->fetched = true;
    }
    else if (slow->want == DIR_CONN_SLOW_DISCOVERY) {
        slow->discovery_rc = sso_oidc_discovery_fetch(slow->issuer, slow->allow_private,
                                                      &slow->discovery, slow->discovery_why,
                                                      sizeof slow->discovery_why);
        slow->discovered = true;
    }
    else if (slow->want == DIR_CONN_SLOW_KEY_PAIR) {
        slow->key_rc = dir_pki_sp_keypair(slow->id, &slow->key_pem, &slow->cert_pem);
        slow->keyed = true;
    }
}

static void s_slow_free(dir_conn_slow_t *slow)
{
    free(slow->url);
    sso_fetch_response_free(&slow->response);
    free(slow->issuer);
    sso_oidc_discovery_free(&slow->discovery);
    free(slow->id);
    if (slow->key_pem) {
        OPENSSL_cleanse(slow->key_pem, strlen(slow->key_pem));
        free(slow->key_pem);
    }
    free(slow->cert_pem);
    memset(slow, 0, sizeof *slow);
}

#define S_PASSES_MAX 3 /* one stop per slow step (a fetch, the key pair), then the one that writes */

zframe_t *dir_conn_slow_in_passes(dir_conn_pass_fn *pass, dir_api_req_t *req, const char *id)
{
    dir_conn_slow_t slow = {.allow_private = req->dir->allow_private_upstreams};
    zframe_t *reply;
    int passes = 0;
    while (!(reply = pass(req, id, &slow)) && ++passes < S_PASSES_MAX) {
        sso_service_offload(s_slow_run, &slow);
        slow.want = DIR_CONN_SLOW_NONE;
        /* The loop served others meanwhile: the caller may have lost its right to go on. */
        if (req->recheck && (reply = req->recheck(req->recheck_arg)) != NULL)
            break;
    }
    s_slow_free(&slow);
    if (reply)
        return reply;
    dir_error_t err;
    dir_server_error(&err); /* a pass that stops again for a step done: cannot happen */
    return dir_error_reply(&err);
}

bool dir_conn_slow_has(dir_conn_slow_t *slow, int step, const char *key, dir_error_t *err)
{
    bool metadata = step == DIR_CONN_SLOW_FETCH;
    char **held = metadata ? &slow->url : &slow->issuer;
    bool *done = metadata ? &slow->fetched : &slow->discovered;
    if (*done && strcmp(*held, key) == 0)
        return true;
    if (metadata)
        sso_fetch_response_free(&slow->response);
    else
        sso_oidc_discovery_free(&slow->discovery);
    free(*held);
    *done = false;
    if (!(*held = strdup(key)))
        dir_server_error(err);
    else
        slow->want = step;
    return false;
}

/* ---- self-test ------------------------------------------------------------------------- */

static int s_passes;
static zframe_t *s_made, *s_gone;

/* Stops once for a key pair, then answers s_made when it was made. */
static zframe_t *s_test_pass(dir_api_req_t *req, const char *id, dir_conn_slow_t *slow)
{
    (void) req;
    s_passes++;
    if (!slow->keyed) {
        slow->id = strdup(id);
        slow->want = DIR_CONN_SLOW_KEY_PAIR;
        return NULL;
    }
    return slow->key_rc == 0 && strstr(slow->cert_pem, "CERTIFICATE") ? s_made : NULL;
}

static zframe_t *s_test_gone(void *arg)
{
    (*(int *) arg)++;
    return s_gone;
}

void dir_conn_slow_test(bool verbose)
{
    (void) verbose;
    dir_t dir = {0};
    dir_api_req_t req = {.dir = &dir};
    s_made = zframe_new("made", 4);
    s_gone = zframe_new("gone", 4);
    zframe_t *reply = dir_conn_slow_in_passes(s_test_pass, &req, "conn_x");
    SSO_CHECK(reply == s_made && s_passes == 2);
    /* A caller whose right ended during the slow step: its answer, no further pass. */
    int rechecks = 0;
    req.recheck = s_test_gone;
    req.recheck_arg = &rechecks;
    s_passes = 0;
    reply = dir_conn_slow_in_passes(s_test_pass, &req, "conn_x");
    SSO_CHECK(reply == s_gone && s_passes == 1 && rechecks == 1);
    zframe_destroy(&s_made);
    zframe_destroy(&s_gone);
}
