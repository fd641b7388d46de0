/* dir_steps: composite operations, one round trip for several steps of a login leg. */
#include "login/dir_steps.h"
#include "api/dir_clients.h"
#include "dir_testkit.h"
#include "login/dir_login.h"
#include "login/dir_txn.h"
#include "sso_cookie.h"
#include "sso_crypto.h"
#include "sso_oidc_discovery.h"
#include "sso_rpc.h"
#include "sso_test.h"
#include "sso_oidc_test_idp.h"
#include <openssl/crypto.h>

/* A part's error into its reply fields. */
static void s_error_into(const dir_error_t *err, Sso__RpcError *code, char **description)
{
    *code = sso_rpc_error_of(err->code ? err->code : "server_error");
    *description = dir_rpc_dup(*err->description ? err->description : "internal error");
}

/* The transaction of an AuthorizeBegin: the caller's fields, with what is the directory's to
   say set here. NULL with err. */
static Sso__Transaction *s_begin_txn(dir_t *dir, const Sso__AuthorizeBeginRequest *in,
                                     const Sso__Connection *conn, dir_error_t *err)
{
    Sso__Transaction t = *in->txn; /* borrowed fields, some replaced below */
    char *id = sso_random_token(24), *handle = sso_random_token(24);
    /* OIDC's nonce and PKCE code verifier (RFC 7636: 43 characters of base64url from 32
       random bytes; stored sealed), for the oidc service's authorization request and code
       exchange. */
    char *nonce = sso_random_token(24), *verifier = sso_random_token(32);
    /* The OIDC login's browser binding: the binder of the browser's cookie when it brought a
       well-formed one (one cookie per browser, however many logins it starts), else a new one
       the token service sets; the callback must bring it back; only its hash is stored. */
    char *binder = sso_cookie_token_ok(in->browser_binder)
                       ? strdup(in->browser_binder)
                       : sso_random_token(SSO_COOKIE_TOKEN_BYTES);
    char binding_hash[65] = "";
    char request_id[64] = "";
    Sso__Transaction *stored = NULL;
    if (!id || !handle || !nonce || !verifier || !binder)
        dir_server_error(err);
    else {
        t.id = id;
        t.client_id = in->client_id;
        t.connection_id = conn->id;
        t.organization_id = conn->organization_id;
        t.saml_request_id = t.oidc_state = t.oidc_nonce = t.oidc_code_verifier = "";
        /* The upstream request's handle: SAML's AuthnRequest ID is "_" and the transaction's
           id (an xs:ID may not start with a digit or '-'), so that the ACS knows what
           InResponseTo to expect from the RelayState alone, before it asks the directory
           (which checks it again against the transaction). Both travel in the same redirect,
           so one tells no more than the other. OIDC's state is a random handle of its own. */
        if (!strcmp(conn->type, "saml")) {
            snprintf(request_id, sizeof request_id, "_%s", id);
            t.saml_request_id = request_id;
            t.browser_binding_hash = "";
        }
        else {
            t.oidc_state = handle;
            t.oidc_nonce = nonce;
            t.oidc_code_verifier = verifier;
            sso_sha256_hex(binder, strlen(binder), binding_hash);
            t.browser_binding_hash = binding_hash;
        }
        stored = dir_txn_create(dir, &t, err);
    }
    /* The verifier stays in the directory until the code exchange: the answer (to the token
       service, and on to the upstream start) carries its challenge. */
    if (stored && *stored->oidc_code_verifier) {
        stored->browser_binder = binder;
        binder = NULL;
        if (dir_txn_challenge_only(stored) != 0) {
            sso__transaction__free_unpacked(stored, NULL);
            stored = NULL;
            dir_server_error(err);
        }
    }
    free(id);
    free(handle);
    free(nonce);
    free(binder);
    if (verifier)
        OPENSSL_cleanse(verifier, strlen(verifier));
    free(verifier);
    return stored;
}

DIR_RPC_FN(dir_steps_authorize_begin, Sso__AuthorizeBeginRequest, Sso__AuthorizeBeginReply)
{
    if (in->txn && !in->selector) {
        dir_rpc_error(err, "invalid_request", "a transaction needs a selector");
        return -1;
    }
    dir_error_t part = {0};
    out->client = dir_clients_info(dir, in->client_id, &part);
    if (!out->client) {
        s_error_into(&part, &out->client_error, &out->client_error_description);
        return 0;
    }
    if (!in->selector)
        return 0;
    part = (dir_error_t){0};
    out->connection = dir_login_resolve(dir, in->selector, &part);
    if (!out->connection) {
        s_error_into(&part, &out->selector_error, &out->selector_error_description);
        return 0;
    }
    if (!in->txn)
        return 0;
    part = (dir_error_t){0};
    out->txn = s_begin_txn(dir, in, out->connection, &part);
    if (!out->txn)
        s_error_into(&part, &out->txn_error, &out->txn_error_description);
    return 0;
}

DIR_RPC_FN(dir_steps_login_context, Sso__LoginContextRequest, Sso__LoginContextReply)
{
    out->txn = *in->txn_id || !*in->oidc_state
                   ? dir_txn_get(dir, in->txn_id, err)
                   : dir_txn_get_by_oidc_state(dir, in->oidc_state, err);
    if (!out->txn)
        return -1;
    out->connection = dir_login_connection_for_login(dir, out->txn->connection_id, err);
    return out->connection ? 0 : -1;
}

/* ---- self-test ------------------------------------------------------------------------- */

#define S_BEGIN "TokenWrites.AuthorizeBegin"

static void s_txn_template(Sso__Transaction *txn)
{
    int64_t now = dir_now();
    sso__transaction__init(txn);
    txn->id = "ignored-0123456789abcdef";
    txn->client_id = "cli_ignored";
    txn->redirect_uri = "https://app.test/cb";
    txn->state = "st-1";
    txn->scope = "openid";
    txn->connection_id = "conn_ignored";
    txn->organization_id = "org_ignored";
    txn->created_at = now;
    txn->expires_at = now + 600;
    txn->max_age = -1;
    txn->saml_request_id = "_ignored";
}

static void s_test_begin(dir_testkit_t *kit)
{
    char client_id[64] = "";
    SSO_CHECK(dir_testkit_client(kit, "https://app.test/cb", client_id, sizeof client_id) == 0);
    Sso__AuthorizeBeginRequest begin = SSO__AUTHORIZE_BEGIN_REQUEST__INIT;
    Sso__ConnectionSelector selector = SSO__CONNECTION_SELECTOR__INIT;
    Sso__Transaction txn;
    s_txn_template(&txn);

    /* Known client, the seeded connection by domain, no transaction asked: a read. */
    begin.client_id = client_id;
    selector.domain = "example.com";
    begin.selector = &selector;
    Sso__AuthorizeBeginReply *reply = dir_testkit_rpc(kit, S_BEGIN, &begin.base);
    SSO_CHECK(reply && !reply->error && reply->client && reply->client->n_redirect_uris == 1
              && !reply->client_error && reply->connection
              && !strcmp(reply->connection->id, "conn_simulator") && !reply->selector_error
              && !reply->txn && !reply->txn_error
              /* the token service uses no secret of a connection: it gets none */
              && !*reply->connection->sp_private_key_pem
              && strstr(reply->connection->sp_certificate_pem, "CERTIFICATE"));
    sso__authorize_begin_reply__free_unpacked(reply, NULL);
    int64_t before = dir_db_int(kit->dir->db, "SELECT count(*) FROM login_transactions", NULL);

    /* With a transaction: stored under a fresh id, with the directory's own client,
       connection, organization and SAML request id, whatever the caller said. */
    begin.txn = &txn;
    reply = dir_testkit_rpc(kit, S_BEGIN, &begin.base);
    const Sso__Transaction *t = reply ? reply->txn : NULL;
    SSO_CHECK(reply && !reply->error && !reply->txn_error && t && strlen(t->id) == 32
              && strcmp(t->id, txn.id) != 0 && !strcmp(t->client_id, client_id)
              && !strcmp(t->connection_id, "conn_simulator")
              && !strcmp(t->organization_id, "org_test") && t->saml_request_id[0] == '_'
              && !strcmp(t->saml_request_id + 1, t->id) && !*t->oidc_state
              && !strcmp(t->state, "st-1") && !strcmp(t->redirect_uri, "https://app.test/cb"));
    char first[64] = "";
    if (t)
        snprintf(first, sizeof first, "%s", t->saml_request_id);
    sso__authorize_begin_reply__free_unpacked(reply, NULL);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_transactions", NULL)
              == before + 1);
    /* Another one: another id and request id. */
    reply = dir_testkit_rpc(kit, S_BEGIN, &begin.base);
    SSO_CHECK(reply && reply->txn && strcmp(reply->txn->saml_request_id, first) != 0);
    sso__authorize_begin_reply__free_unpacked(reply, NULL);
    before += 2;

    /* An OIDC connection: the state, nonce and PKCE verifier are the directory's, fresh for
       each login; no SAML request id. */
    char org[64] = "", oidc[64] = "", path[200], issuer[200] = "", body[400];
    sso_oidc_test_idp_t *idp = sso_oidc_test_idp_new(); /* its discovery is checked */
    SSO_CHECK(idp && sso_oidc_test_idp_provider(idp, "/o", issuer, sizeof issuer) == 0);
    kit->dir->allow_private_upstreams = true;
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations", "{\"display_name\":\"O\"}",
                                "id", org, sizeof org) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/connections", org);
    snprintf(body, sizeof body, "{\"type\":\"oidc\",\"oidc\":{\"issuer\":\"%s\",\"client_id\":"
             "\"c\",\"client_secret\":\"s\"}}", issuer);
    SSO_CHECK(dir_testkit_field(kit, "POST", path, body, "id", oidc, sizeof oidc) == 201);
    sso_oidc_test_idp_destroy(&idp);
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE connections SET status = 'active' WHERE "
                         "id = ?", "s", oidc) == DIR_DB_OK);
    Sso__ConnectionSelector by_id = SSO__CONNECTION_SELECTOR__INIT;
    by_id.connection_id = oidc;
    begin.selector = &by_id;
    char states[2][64] = {"", ""}, challenges[2][64] = {"", ""};
    for (int i = 0; i < 2; i++) {
        reply = dir_testkit_rpc(kit, S_BEGIN, &begin.base);
        t = reply ? reply->txn : NULL;
        SSO_CHECK(t && !*t->saml_request_id && strlen(t->oidc_state) == 32
                  && strlen(t->oidc_nonce) == 32 && !*t->oidc_code_verifier
                  && strlen(t->oidc_code_challenge) == 43 && !strcmp(t->connection_id, oidc)
                  && strlen(t->browser_binder) == 32 && strlen(t->browser_binding_hash) == 64);
        if (t) {
            char hash[65];
            sso_sha256_hex(t->browser_binder, strlen(t->browser_binder), hash);
            SSO_CHECK(!strcmp(hash, t->browser_binding_hash)
                      && dir_db_int(kit->dir->db, "SELECT count(*) FROM login_transactions WHERE "
                                    "browser_binding_hash = ?", "s", hash) == 1);
        }
        snprintf(states[i], sizeof states[i], "%s", t ? t->oidc_state : "");
        snprintf(challenges[i], sizeof challenges[i], "%s", t ? t->oidc_code_challenge : "");
        sso__authorize_begin_reply__free_unpacked(reply, NULL);
    }
    SSO_CHECK(*states[0] && strcmp(states[0], states[1]) != 0);
    /* The oidc service's callback finds the login by its state, with the connection's client
       secret and the PKCE verifier; a state no login has is not_found. */
    Sso__LoginContextRequest by_state = SSO__LOGIN_CONTEXT_REQUEST__INIT;
    by_state.oidc_state = states[1];
    kit->caller = "oidc";
    Sso__LoginContextReply *context =
        dir_testkit_rpc(kit, "UpstreamReads.LoginContext", &by_state.base);
    SSO_CHECK(context && !context->error && context->txn
              && !strcmp(context->txn->oidc_state, states[1])
              && strlen(context->txn->oidc_code_verifier) == 43 && context->connection
              && !strcmp(context->connection->oidc_client_secret, "s"));
    /* The challenge AuthorizeBegin gave is the verifier's (RFC 7636 S256). */
    if (context && context->txn) {
        uint8_t digest[32];
        sso_sha256(context->txn->oidc_code_verifier, strlen(context->txn->oidc_code_verifier),
                   digest);
        char *challenge = sso_base64url_encode(digest, sizeof digest);
        SSO_CHECK(challenge && !strcmp(challenge, challenges[1]));
        free(challenge);
    }
    sso__login_context_reply__free_unpacked(context, NULL);
    by_state.oidc_state = "no-such-state";
    SSO_CHECK(dir_testkit_rpc_error(kit, "UpstreamReads.LoginContext", &by_state.base,
                                    "not_found", "OIDC state"));
    by_state.oidc_state = "";
    SSO_CHECK(dir_testkit_rpc_error(kit, "UpstreamReads.LoginContext", &by_state.base,
                                    "invalid_request", NULL));
    kit->caller = NULL;
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_transactions WHERE "
                         "upstream_code_verifier_sealed IS NOT NULL AND connection_id = ?", "s",
                         oidc) == 2);
    /* The browser's binder, when it brings a well-formed one, binds its next logins too (one
       cookie per browser): each its own state, the same hash. A malformed one is ignored as
       absent: a new one is drawn. */
    const char *kept = "abcdefghijklmnopqrstuvwxyz-_0123";
    char kept_hash[65];
    sso_sha256_hex(kept, strlen(kept), kept_hash);
    begin.browser_binder = (char *) kept;
    for (int i = 0; i < 2; i++) {
        reply = dir_testkit_rpc(kit, S_BEGIN, &begin.base);
        t = reply ? reply->txn : NULL;
        SSO_CHECK(t && !strcmp(t->browser_binder, kept)
                  && !strcmp(t->browser_binding_hash, kept_hash)
                  && strcmp(t->oidc_state, states[0]) && strcmp(t->oidc_state, states[1]));
        sso__authorize_begin_reply__free_unpacked(reply, NULL);
    }
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_transactions WHERE "
                         "browser_binding_hash = ?", "s", kept_hash) == 2);
    const char *malformed[] = {
        "abcdefghijklmnopqrstuvwxyz-_012", "abcdefghijklmnopqrstuvwxyz-_01234",
        "abcdefghijklmnopqrstuvwxyz-_01=3", "abcdefghijklmnopqrstuvwxyz-_01 3"};
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        begin.browser_binder = (char *) malformed[i];
        reply = dir_testkit_rpc(kit, S_BEGIN, &begin.base);
        t = reply ? reply->txn : NULL;
        SSO_CHECK(t && strlen(t->browser_binder) == 32 && strcmp(t->browser_binder, kept)
                  && strncmp(t->browser_binder, malformed[i], 28));
        sso__authorize_begin_reply__free_unpacked(reply, NULL);
    }
    begin.browser_binder = "";
    begin.selector = &selector;
    before += 2 + 2 + (int64_t) (sizeof malformed / sizeof *malformed);

    /* A redirect_uri the client does not have: the transaction's error, none stored. */
    txn.redirect_uri = "https://evil.test/cb";
    reply = dir_testkit_rpc(kit, S_BEGIN, &begin.base);
    SSO_CHECK(reply && !reply->error && reply->client && reply->connection && !reply->txn
              && reply->txn_error == SSO__RPC_ERROR__INVALID_REQUEST
              && strstr(reply->txn_error_description, "redirect_uri is not registered"));
    sso__authorize_begin_reply__free_unpacked(reply, NULL);
    txn.redirect_uri = "https://app.test/cb";
    /* Hostile fields of the caller's part are refused as txn_create refuses them. */
    txn.code_challenge = "short";
    reply = dir_testkit_rpc(kit, S_BEGIN, &begin.base);
    SSO_CHECK(reply && !reply->txn && reply->txn_error == SSO__RPC_ERROR__INVALID_REQUEST
              && strstr(reply->txn_error_description, "code_challenge"));
    sso__authorize_begin_reply__free_unpacked(reply, NULL);
    txn.code_challenge = "";

    /* The selector's error comes as resolving says it; the client is still there; no
       transaction. */
    selector.domain = "example.net";
    reply = dir_testkit_rpc(kit, S_BEGIN, &begin.base);
    SSO_CHECK(reply && reply->client && !reply->connection && !reply->txn
              && reply->selector_error == SSO__RPC_ERROR__NO_ORGANIZATION
              && strstr(reply->selector_error_description, "example.net"));
    sso__authorize_begin_reply__free_unpacked(reply, NULL);

    /* Unknown client: its error, and nothing else is tried. */
    begin.client_id = "cli_nobody";
    selector.domain = "example.com";
    reply = dir_testkit_rpc(kit, S_BEGIN, &begin.base);
    SSO_CHECK(reply && !reply->client && !reply->connection && !reply->txn
              && reply->client_error == SSO__RPC_ERROR__INVALID_CLIENT
              && strstr(reply->client_error_description, "cli_nobody"));
    sso__authorize_begin_reply__free_unpacked(reply, NULL);
    begin.client_id = "";
    reply = dir_testkit_rpc(kit, S_BEGIN, &begin.base);
    SSO_CHECK(reply && !reply->client && reply->client_error == SSO__RPC_ERROR__INVALID_CLIENT);
    sso__authorize_begin_reply__free_unpacked(reply, NULL);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_transactions", NULL)
              == before);

    /* No selector: the client only; a transaction without one is refused. */
    begin.client_id = client_id;
    begin.selector = NULL;
    SSO_CHECK(dir_testkit_rpc_error(kit, S_BEGIN, &begin.base, "invalid_request",
                                    "needs a selector"));
    begin.txn = NULL;
    reply = dir_testkit_rpc(kit, S_BEGIN, &begin.base);
    SSO_CHECK(reply && !reply->error && reply->client && !reply->connection && !reply->txn
              && !reply->selector_error);
    sso__authorize_begin_reply__free_unpacked(reply, NULL);

    /* Only the token service begins a login. */
    const char *others[] = {"saml", "oidc", "gateway", ""};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        kit->caller = others[i];
        SSO_CHECK(dir_testkit_rpc_error(kit, S_BEGIN, &begin.base, "access_denied",
                                        "only for the token service"));
    }
    kit->caller = NULL;
}

static void s_test_context(dir_testkit_t *kit)
{
    char client_id[64] = "";
    SSO_CHECK(dir_testkit_client(kit, "https://app.test/cb", client_id, sizeof client_id) == 0);
    Sso__AuthorizeBeginRequest begin = SSO__AUTHORIZE_BEGIN_REQUEST__INIT;
    Sso__ConnectionSelector selector = SSO__CONNECTION_SELECTOR__INIT;
    Sso__Transaction txn;
    s_txn_template(&txn);
    begin.client_id = client_id;
    selector.connection_id = "conn_simulator";
    begin.selector = &selector;
    begin.txn = &txn;
    Sso__AuthorizeBeginReply *begun = dir_testkit_rpc(kit, S_BEGIN, &begin.base);
    SSO_CHECK(begun && begun->txn);
    if (!begun || !begun->txn) {
        sso__authorize_begin_reply__free_unpacked(begun, NULL);
        return;
    }

    const char *rpc = "UpstreamReads.LoginContext";
    Sso__LoginContextRequest context = SSO__LOGIN_CONTEXT_REQUEST__INIT;
    context.txn_id = begun->txn->id;
    Sso__LoginContextReply *reply = dir_testkit_rpc(kit, rpc, &context.base);
    SSO_CHECK(reply && !reply->error && reply->txn
              && !strcmp(reply->txn->saml_request_id, begun->txn->saml_request_id)
              && reply->connection && !strcmp(reply->connection->id, "conn_simulator")
              && reply->connection->n_idp_certificates >= 1
              /* the ACS decrypts with it */
              && strstr(reply->connection->sp_private_key_pem, "PRIVATE KEY"));
    sso__login_context_reply__free_unpacked(reply, NULL);

    /* The SP key is the saml service's: the oidc service (whose role LoginContext serves)
       and the token service (whose it is not) are refused. */
    const char *refused[] = {"oidc", "token"};
    for (size_t i = 0; i < 2; i++) {
        kit->caller = refused[i];
        reply = dir_testkit_rpc(kit, rpc, &context.base);
        SSO_CHECK(reply && reply->error == SSO__RPC_ERROR__ACCESS_DENIED && !reply->txn
                  && !reply->connection
                  && strstr(reply->error_description, i == 0 ? "conn_simulator are only for "
                                                               "the saml service"
                                                             : "is only for the saml and oidc"));
        sso__login_context_reply__free_unpacked(reply, NULL);
    }
    kit->caller = NULL;
    sso__authorize_begin_reply__free_unpacked(begun, NULL);

    /* The errors of a transaction that cannot be used, as dir_txn says them. */
    context.txn_id = "txn-unknown-0123456789abcdef";
    SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &context.base, "not_found", NULL));
    context.txn_id = "";
    SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &context.base, "invalid_request", NULL));
}

void dir_steps_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run_seeded(s_test_begin);
    dir_testkit_run_seeded(s_test_context);
}
