#include "saml_login.h"
#include "saml.pb-c.h"
#include "../directory/dir_fake.h"
#include "saml_authn_request.h"
#include "saml_conncache.h"
#include "saml_idp_initiated.h"
#include "saml_response.h"
#include "saml_response_testkit.h"
#include "saml_sp_metadata.h"
#include "saml_xml.h"
#include "sso_crypto.h"
#include "sso_clients.h"
#include "sso_email.h"
#include "sso_html.h"
#include "sso_log.h"
#include "sso_rpc.h"
#include "sso_test.h"
#include "sso_upstream.h"
#include <jansson.h>
#include <strings.h>

/* ---- UpstreamStart.Start ------------------------------------------------------------------- */

/* The connection with its SP key, for signing: the one the token service sent came from
   AuthorizeBegin, which carries no secret to it. Kept by this instance at that version (the
   cache), else read from the directory and kept: only connections that sign their
   AuthnRequests need it. NULL with a reply frame in *refusal. */
static Sso__Connection *s_signing_connection(sso_service_t *service, const Sso__Connection *sent,
                                             zframe_t **refusal)
{
    saml_conncache_t *cache = service ? service->state : NULL;
    Sso__Connection *c = saml_conncache_get(cache, sent->id);
    if (c && *sent->version && !strcmp(c->version, sent->version) && *c->sp_private_key_pem)
        return c;
    sso__connection__free_unpacked(c, NULL);
    Sso__ConnectionGetRequest get = SSO__CONNECTION_GET_REQUEST__INIT;
    get.connection_id = sent->id;
    get.with_secrets = true;
    Sso__ConnectionReply *reply = NULL;
    if (sso_dir_connection_get(service, &get, &reply) != 0) {
        *refusal = sso_upstream_start_reply(SSO__RPC_ERROR__SERVER_ERROR, "the directory is not available",
                                 NULL);
        return NULL;
    }
    c = reply->connection;
    char why[400] = "";
    if (reply->error || !c)
        snprintf(why, sizeof why, "the SP key of connection %.64s could not be read: %.100s: "
                 "%.100s", sent->id, sso_rpc_error_name(reply->error), reply->error_description);
    else if (strcmp(c->id, sent->id) != 0 || strcmp(c->type, "saml") != 0
             || !*c->sp_private_key_pem)
        snprintf(why, sizeof why, "connection %.64s has no SP key to sign with", sent->id);
    if (!*why) {
        reply->connection = NULL;
        sso__connection_reply__free_unpacked(reply, NULL);
        if (cache && saml_conncache_put(cache, c) != 0)
            sso_warn("start: could not keep connection %s (out of memory)", c->id);
        return c;
    }
    sso_warn("start: %s", why);
    *refusal = sso_upstream_start_reply(SSO__RPC_ERROR__SERVER_ERROR, why, NULL);
    sso__connection_reply__free_unpacked(reply, NULL);
    return NULL;
}

zframe_t *saml_login_start(sso_service_t *service, zframe_t *payload)
{
    Sso__UpstreamStartRequest *start =
        sso__upstream_start_request__unpack(NULL, zframe_size(payload), zframe_data(payload));
    if (!start || !start->connection || !start->txn || !*start->txn->id
        || !*start->txn->saml_request_id || !*start->connection->id) {
        if (start)
            sso__upstream_start_request__free_unpacked(start, NULL);
        return sso_upstream_start_reply(SSO__RPC_ERROR__INVALID_REQUEST,
                             "the start needs a transaction with its request id and a "
                             "connection", NULL);
    }
    /* Unsigned, a pure step that calls no one, with the connection as sent; signed, with the
       connection as the directory holds it, key and all. A key in the request is never used. */
    const Sso__Connection *connection = start->connection;
    zframe_t *reply = NULL;
    Sso__Connection *signing = connection->sign_authn_requests
                                   ? s_signing_connection(service, connection, &reply)
                                   : NULL;
    if (reply) {
        sso__upstream_start_request__free_unpacked(start, NULL);
        return reply;
    }
    if (signing)
        connection = signing;
    char why[256] = "";
    /* The transaction holds the request's ID (AuthorizeBegin made it): the ACS expects it as
       InResponseTo. */
    saml_authn_request_config_t config = {
        .sp_entity_id = connection->sp_entity_id,
        .acs_url = connection->sp_acs_url,
        .idp_sso_url = connection->idp_sso_url,
        .relay_state = start->txn->id,
        .sp_private_key_pem = signing ? connection->sp_private_key_pem : NULL,
        .sp_certificate_pem = signing ? connection->sp_certificate_pem : NULL,
        .post_binding = !strcmp(connection->saml_binding, "http-post"),
        .nameid_format = connection->saml_nameid_format,
        .now = time(NULL),
        .force_authn = start->txn->force_login,
        .id = start->txn->saml_request_id,
    };
    saml_authn_request_t *authn = saml_authn_request_new(&config, why, sizeof why);
    if (!authn)
        reply = sso_upstream_start_reply(SSO__RPC_ERROR__SERVER_ERROR, why, NULL);
    else if (config.post_binding) {
        /* Bindings 3.5: the browser posts the request and the RelayState to the SSO URL. */
        const char *names[] = {"SAMLRequest", "RelayState"};
        const char *values[] = {saml_authn_request_post_value(authn), start->txn->id};
        reply = sso_upstream_start_post_reply(saml_authn_request_url(authn), names, values, 2);
    }
    else
        reply = sso_upstream_start_reply(SSO__RPC_ERROR__OK, NULL, saml_authn_request_url(authn));
    saml_authn_request_destroy(&authn);
    sso__connection__free_unpacked(signing, NULL);
    sso__upstream_start_request__free_unpacked(start, NULL);
    return reply;
}

/* ---- the ACS ------------------------------------------------------------------------------- */


/* One POST at the ACS: the connection whose ACS it is (from the path) and the RelayState,
   the only handle on the login transaction until the directory is asked. */
typedef struct {
    sso_service_t *service;
    const char *connection_id;
    const char *txn_id;
    /* LoginComplete or LoginFail said the connection changed since it was read, or
       LoginComplete that max_age differs from what was assumed. */
    bool stale;
    const char *version; /* the version of the connection validated against (NULL: none yet) */
    /* The login's max_age (-1: none): assumed none until LoginComplete says otherwise (STALE),
       then read with the transaction (LoginContext). */
    long long max_age;
} s_acs_t;

/* A POST to an ACS that belongs to no open login transaction (no or an unknown RelayState, a
   used or expired one, any connection id in the path) is anyone's junk: it is answered, counted
   in the gateway's /metrics (acs_anonymous) and logged at most once per S_ANONYMOUS_LOG_MS with
   how many went unlogged, but stores nothing, so it cannot grow the event log. */
#define S_ANONYMOUS_LOG_MS 10000
#define S_GONE "The sign-in expired or was already used. Start the sign-in again from the " \
               "application."

zframe_t *saml_login_anonymous(const char *connection_id, const char *reason,
                               const char *description)
{
    /* One request at a time runs (fibers are not preempted), so no lock. */
    static sso_log_limit_t limit;
    unsigned long long unlogged = 0;
    if (sso_log_limit_due(&limit, sso_now_ms(), S_ANONYMOUS_LOG_MS, &unlogged))
        sso_info("acs %.64s: refused a POST that has no open login transaction: %s (%llu more "
                 "such POSTs since the last line)", connection_id, reason, unlogged);
    zframe_t *frame = sso_html_error_page(400, "This sign-in cannot continue", description);
    if (frame && sso_http_count(frame, "acs_anonymous") != 0)
        sso_warn("acs: could not count a refused POST in the metrics");
    return frame;
}

static bool s_gone(Sso__RpcError error)
{
    return error == SSO__RPC_ERROR__NOT_FOUND || error == SSO__RPC_ERROR__CONSUMED
           || error == SSO__RPC_ERROR__EXPIRED;
}

/* Fails the RelayState's login (LoginFail) when it is open: the browser goes back to the
   client with the error, the event log keeps reason. One that is not open records nothing
   and is answered as anyone's junk (s_anonymous): the ACS validates before it knows. */
static zframe_t *s_fail(s_acs_t *acs, const char *error, const char *description,
                        const char *reason)
{
    Sso__LoginFailRequest fail = SSO__LOGIN_FAIL_REQUEST__INIT;
    fail.txn_id = (char *) acs->txn_id;
    fail.error = (char *) error;
    fail.error_description = (char *) description;
    fail.reason = (char *) reason;
    fail.only_if_open = true;
    fail.connection_version = (char *) (acs->version ? acs->version : "");
    Sso__LoginRedirectReply *reply = NULL;
    int status = sso_dir_login_fail(acs->service, &fail, &reply);
    if (status != 0)
        return sso_html_error_page(503, "Sign-in is temporarily unavailable",
                                   "The sign-in service is busy. Start the sign-in again from "
                                   "the application in a moment.");
    /* Refused with a kept connection that has changed since (the IdP's certificates were
       refreshed, say): validated again with the connection as it is now. */
    if (reply->error == SSO__RPC_ERROR__STALE) {
        acs->stale = true;
        sso__login_redirect_reply__free_unpacked(reply, NULL);
        return NULL;
    }
    zframe_t *frame;
    char said[1400];
    /* Not open, or a RelayState no transaction can have (INVALID_REQUEST: its id). */
    if (s_gone(reply->error) || reply->error == SSO__RPC_ERROR__INVALID_REQUEST) {
        snprintf(said, sizeof said, "login transaction %.300s (and: %.900s)",
                 reply->error_description, reason);
        frame = saml_login_anonymous(acs->connection_id, said, S_GONE);
    }
    else if (reply->error || !*reply->redirect_uri) {
        sso_info("LoginFail refused: %s: %s", sso_rpc_error_name(reply->error),
                 reply->error_description);
        frame = sso_html_error_page(400, "This sign-in cannot continue", S_GONE);
    }
    else {
        sso_info("login %.8s… refused: %s", acs->txn_id, reason);
        frame = sso_upstream_redirect(reply);
    }
    sso__login_redirect_reply__free_unpacked(reply, NULL);
    return frame;
}

/* LoginComplete; a replay (or a replay cache that could not record) fails the login instead,
   with its reason in the event log. Fails closed: only a redirect with a code is success.
   NULL with acs->stale set when the connection changed since it was read. */
static zframe_t *s_complete(s_acs_t *acs, const Sso__LoginCompleteRequest *request,
                            const char *assertion_id)
{
    Sso__LoginRedirectReply *reply = NULL;
    int status = sso_dir_login_complete(acs->service, request, &reply);
    if (status != 0)
        return sso_html_error_page(503, "Sign-in is temporarily unavailable",
                                   "The sign-in service is busy. Start the sign-in again from "
                                   "the application in a moment.");
    char reason[1200];
    zframe_t *frame = NULL;
    if (reply->error == SSO__RPC_ERROR__STALE)
        acs->stale = true;
    else if (reply->error == SSO__RPC_ERROR__REPLAYED) {
        snprintf(reason, sizeof reason, "replay: assertion %.300s was already used",
                 assertion_id);
        frame = s_fail(acs, "access_denied", "the assertion was already used", reason);
    }
    else if (reply->error == SSO__RPC_ERROR__INACTIVE) {
        /* Disabled while the response was validated: the directory issued no code. */
        snprintf(reason, sizeof reason, "%.400s (disabled while the response was checked)",
                 reply->error_description);
        frame = s_fail(acs, "access_denied", reply->error_description, reason);
    }
    else if (reply->error == SSO__RPC_ERROR__MISMATCH)
        /* Not this login's: another connection's ACS, or another request's response. */
        frame = s_fail(acs, "access_denied",
                       strstr(reply->error_description, "acs: connection")
                           ? "the response arrived at another connection's ACS"
                           : "the identity provider's response is not for this sign-in",
                       reply->error_description);
    else if (!reply->error && *reply->redirect_uri
             && (*reply->code || *reply->redirect_error || sso_upstream_is_test(acs->txn_id)))
        /* A test login issues no code: its redirect is the portal's result page; a login the
           directory refused itself (a deactivated SCIM user) carries its error. */
        frame = sso_upstream_redirect(reply);
    else if (s_gone(reply->error)) {
        snprintf(reason, sizeof reason, "login transaction %.400s", reply->error_description);
        frame = saml_login_anonymous(acs->connection_id, reason, S_GONE);
    }
    else {
        snprintf(reason, sizeof reason, "LoginComplete refused: %.100s: %.400s",
                 sso_rpc_error_name(reply->error), reply->error_description);
        sso_info("%s", reason);
        frame = s_fail(acs, "server_error", "the login could not be completed", reason);
    }
    sso__login_redirect_reply__free_unpacked(reply, NULL);
    return frame;
}

/* The one error_description of every refusal before the assertion is authenticated; the
   event log has the precise reason. */
#define SAML_LOGIN_UNVALIDATED "the identity provider's response could not be validated"

/* The connection of the ACS, with its SP key, read from the directory into *connection and
   kept in the cache (may be NULL). NULL, or the answer when it cannot be read. */
static zframe_t *s_read_connection(s_acs_t *acs, saml_conncache_t *cache,
                                   Sso__Connection **connection)
{
    Sso__ConnectionGetRequest get = SSO__CONNECTION_GET_REQUEST__INIT;
    get.connection_id = (char *) acs->connection_id;
    get.with_secrets = true;
    Sso__ConnectionReply *reply = NULL;
    int status = sso_dir_connection_get(acs->service, &get, &reply);
    if (status != 0)
        return sso_html_error_page(503, "Sign-in is temporarily unavailable",
                                   "Start the sign-in again from the application in a moment.");
    zframe_t *frame = NULL;
    char reason[400];
    if (reply->error == SSO__RPC_ERROR__NOT_FOUND || reply->error == SSO__RPC_ERROR__INVALID_REQUEST
        || (!reply->error && (!reply->connection || strcmp(reply->connection->type, "saml")))) {
        snprintf(reason, sizeof reason, "acs: connection: got %.128s, which is no SAML "
                 "connection", acs->connection_id);
        frame = s_fail(acs, "access_denied", "the response arrived at another connection's ACS",
                       reason);
    }
    else if (reply->error) {
        snprintf(reason, sizeof reason, "acs: connection could not be read: %.200s",
                 reply->error_description);
        frame = s_fail(acs, "server_error", "the connection could not be read", reason);
    }
    else {
        *connection = reply->connection;
        reply->connection = NULL;
        if (cache && saml_conncache_put(cache, *connection) != 0)
            sso_warn("acs: could not keep connection %s (out of memory)", (*connection)->id);
    }
    sso__connection_reply__free_unpacked(reply, NULL);
    return frame;
}

/* The login transaction and its connection, read again after LoginComplete said STALE: the
   connection into *connection (kept in the cache, may be NULL) and the transaction's max_age
   into acs. NULL, or the answer when they cannot be read or are not this ACS's. */
static zframe_t *s_read_context(s_acs_t *acs, saml_conncache_t *cache,
                                Sso__Connection **connection)
{
    Sso__LoginContextRequest get = SSO__LOGIN_CONTEXT_REQUEST__INIT;
    get.txn_id = (char *) acs->txn_id;
    Sso__LoginContextReply *reply = NULL;
    if (sso_dir_login_context(acs->service, &get, &reply) != 0)
        return sso_html_error_page(503, "Sign-in is temporarily unavailable",
                                   "Start the sign-in again from the application in a moment.");
    zframe_t *frame = NULL;
    char reason[400];
    if (s_gone(reply->error) || reply->error == SSO__RPC_ERROR__INVALID_REQUEST) {
        snprintf(reason, sizeof reason, "login transaction %.300s", reply->error_description);
        frame = saml_login_anonymous(acs->connection_id, reason, S_GONE);
    }
    else if (reply->error || !reply->txn || !reply->connection) {
        snprintf(reason, sizeof reason, "acs: the login could not be read: %.200s",
                 reply->error_description);
        frame = s_fail(acs, "server_error", "the login could not be read", reason);
    }
    else if (strcmp(reply->txn->connection_id, acs->connection_id) != 0
             || strcmp(reply->connection->id, acs->connection_id) != 0
             || strcmp(reply->connection->type, "saml") != 0) {
        snprintf(reason, sizeof reason, "acs: connection: expected %.128s, got %.128s",
                 reply->txn->connection_id, acs->connection_id);
        frame = s_fail(acs, "access_denied", "the response arrived at another connection's ACS",
                       reason);
    }
    else {
        acs->max_age = reply->txn->max_age;
        *connection = reply->connection;
        reply->connection = NULL;
        if (cache && saml_conncache_put(cache, *connection) != 0)
            sso_warn("acs: could not keep connection %s (out of memory)", (*connection)->id);
    }
    sso__login_context_reply__free_unpacked(reply, NULL);
    return frame;
}

/* Everything after the connection is known: the response validated against it, then one
   call that checks the transaction and completes the login. NULL with acs->stale set when
   the connection changed since it was read. */
static zframe_t *s_acs_validate(s_acs_t *acs, const Sso__Connection *connection,
                                const char *saml_response)
{
    char reason[1200], description[300];
    /* A test login (the admin portal's) may try a connection before it is enabled; the
       directory, which alone knows what is a test, refuses any other login on it. */
    bool test = sso_upstream_is_test(acs->txn_id);
    if (!test && strcmp(connection->status, "active") != 0) {
        /* Disabled (or switched off with the simulator) since the login started. */
        snprintf(reason, sizeof reason, "connection %.100s is not active", connection->id);
        return s_fail(acs, "access_denied", reason, reason);
    }
    /* The AuthnRequest's ID is "_" and the transaction's id (AuthorizeBegin); LoginComplete
       checks it again against the transaction. */
    char expected[100];
    snprintf(expected, sizeof expected, "_%s", acs->txn_id);
    saml_response_config_t config;
    saml_response_config_from_connection(&config, connection, expected);
    /* Every login's raw attributes: a test's result, else the connection's last login. */
    config.keep_raw = true;
    config.max_age = acs->max_age;
    saml_response_t *validator = saml_response_new(&config);
    if (!validator)
        return s_fail(acs, "server_error", "out of memory", "out of memory");
    zframe_t *frame = NULL;
    if (saml_response_validate(validator, saml_response) != SAML_OK) {
        snprintf(reason, sizeof reason, "%s", saml_response_reason(validator));
        /* Until the assertion is authenticated every refusal reads the same: naming the class
           (decryption, signature...) would be a padding or signature oracle. */
        if (!saml_response_authenticated(validator))
            snprintf(description, sizeof description, "%s", SAML_LOGIN_UNVALIDATED);
        else
            snprintf(description, sizeof description, "the identity provider's response was "
                     "refused (%s); the event log has details",
                     saml_error_name(saml_response_error(validator)));
        frame = s_fail(acs, "access_denied", description, reason);
        saml_response_destroy(&validator);
        return frame;
    }
    const saml_profile_t *profile = saml_response_profile(validator);

    /* The NameID must make the token service's sub ("<connection id>;<NameID>"): refused
       here rather than at /oauth/token. */
    if (sso_upstream_subject_check(connection->id, profile->subject, reason, sizeof reason)
        != 0) {
        frame = s_fail(acs, "access_denied", "the identity provider's NameID cannot be used "
                       "as the user's identifier; the event log has details", reason);
        saml_response_destroy(&validator);
        return frame;
    }

    /* The email domain guard. */
    if (sso_upstream_domain_check(connection, profile->email, description, sizeof description,
                                  reason, sizeof reason) != 0) {
        frame = s_fail(acs, "access_denied", description, reason);
        saml_response_destroy(&validator);
        return frame;
    }

    Sso__Profile normalized = SSO__PROFILE__INIT;
    normalized.subject = profile->subject;
    normalized.email = profile->email ? profile->email : "";
    normalized.email_verified = profile->email != NULL;
    normalized.name = profile->name ? profile->name : "";
    normalized.given_name = profile->given_name ? profile->given_name : "";
    normalized.family_name = profile->family_name ? profile->family_name : "";
    normalized.groups = profile->groups;
    normalized.n_groups = profile->n_groups;
    Sso__LoginCompleteRequest complete = SSO__LOGIN_COMPLETE_REQUEST__INIT;
    complete.txn_id = (char *) acs->txn_id;
    complete.profile = &normalized;
    complete.auth_time = profile->authn_instant ? (int64_t) profile->authn_instant
                                                : (int64_t) time(NULL);
    /* What this validation assumed, checked by the directory in the write that completes:
       the transaction is this connection's and this request's, the connection unchanged. */
    complete.connection_id = (char *) acs->connection_id;
    complete.connection_version = connection->version;
    complete.in_response_to = expected;
    complete.max_age_checked = true;
    complete.max_age = acs->max_age;
    complete.raw_json = profile->raw_json ? profile->raw_json : "";
    complete.warning = profile->warning ? profile->warning : "";
    /* Replay: an assertion id is good once per connection; the directory records it in the
       same write that issues the code, so no code leaves without it recorded. */
    Sso__ReplayRecord replay = SSO__REPLAY_RECORD__INIT;
    replay.connection_id = connection->id;
    replay.assertion_id = profile->assertion_id;
    replay.expires_at = (int64_t) saml_response_replay_until(validator);
    complete.replay = &replay;
    sso_info("login %.8s… validated for %s at %s", acs->txn_id, profile->subject,
             connection->id);
    frame = s_complete(acs, &complete, profile->assertion_id);
    saml_response_destroy(&validator);
    return frame;
}

zframe_t *saml_login_acs(sso_service_t *service, const Sso__HttpRequest *request,
                         const char *connection_id)
{
    if (strcmp(request->method, "POST") != 0)
        return sso_http_method_not_allowed("POST");
    zhashx_t *params = sso_http_params(request);
    const char *saml_response = params ? zhashx_lookup(params, "SAMLResponse") : NULL;
    const char *relay_state = params ? zhashx_lookup(params, "RelayState") : NULL;
    if (!saml_response || !*saml_response) {
        zhashx_destroy(&params);
        return saml_login_anonymous(connection_id, "no SAMLResponse",
                                    "The identity provider's answer is incomplete. Start the "
                                    "sign-in again from the application.");
    }
    /* Unsolicited: no transaction to complete (saml_idp_initiated). */
    if (saml_idp_initiated_is_unsolicited(service, saml_response, relay_state)) {
        zframe_t *frame = saml_idp_initiated_acs(service, connection_id, saml_response,
                                                 relay_state);
        zhashx_destroy(&params);
        return frame;
    }
    if (strlen(relay_state) > 80) {
        zhashx_destroy(&params);
        return saml_login_anonymous(connection_id, "a RelayState over 80 bytes",
                                    "The identity provider's answer is incomplete. Start the "
                                    "sign-in again from the application.");
    }
    /* The connection as this instance kept it (one read of the directory fewer: the directory
       checks its version when the login completes), else as the directory has it now. A kept
       one that is not active is read again; one that turned out stale, or a login that asks
       max_age, is read again once with its transaction. */
    s_acs_t acs = {service, connection_id, relay_state, false, NULL, -1};
    saml_conncache_t *cache = service ? service->state : NULL;
    zframe_t *frame = NULL;
    for (int round = 0; !frame && round < 2; round++) {
        Sso__Connection *connection = round == 0 ? saml_conncache_get(cache, connection_id)
                                                 : NULL;
        if (connection && strcmp(connection->status, "active") != 0
            && !sso_upstream_is_test(relay_state)) {
            sso__connection__free_unpacked(connection, NULL);
            connection = NULL;
        }
        /* Read again after STALE: the connection with the transaction, whose max_age the
           first round assumed was none. */
        if (!connection && (frame = round == 0 ? s_read_connection(&acs, cache, &connection)
                                               : s_read_context(&acs, cache, &connection))
                               != NULL)
            break;
        acs.stale = false;
        acs.version = connection->version;
        frame = s_acs_validate(&acs, connection, saml_response);
        acs.version = NULL;
        sso__connection__free_unpacked(connection, NULL);
        if (acs.stale)
            saml_conncache_drop(cache, connection_id);
    }
    if (!frame)
        frame = s_fail(&acs, "server_error", "the login could not be completed",
                       "acs: the connection changed while the response was checked, twice");
    zhashx_destroy(&params);
    return frame;
}

zframe_t *saml_login_metadata(sso_service_t *service, const char *connection_id)
{
    Sso__ConnectionGetRequest get = SSO__CONNECTION_GET_REQUEST__INIT;
    get.connection_id = (char *) connection_id;
    Sso__ConnectionReply *reply = NULL;
    int status = sso_dir_connection_get(service, &get, &reply);
    zframe_t *frame;
    if (status != 0)
        frame = sso_http_error(503, "temporarily_unavailable", "the directory is not available");
    else if (reply->error || !reply->connection || strcmp(reply->connection->type, "saml") != 0)
        frame = sso_http_error(404, "not_found", "no such SAML connection");
    else {
        const Sso__Connection *c = reply->connection;
        saml_sp_metadata_config_t config = {
            .entity_id = c->sp_entity_id,
            .acs_url = c->sp_acs_url,
            .signing_cert_pem = c->sp_certificate_pem,
            /* A rollover: the new key signs at once (signing_cert_pem); both decrypt. */
            .previous_encryption_cert_pem =
                *c->sp_previous_certificate_pem ? c->sp_previous_certificate_pem : NULL,
            .authn_requests_signed = c->sign_authn_requests,
            .want_assertions_signed = true,
        };
        char *xml = NULL, why[256];
        if (saml_sp_metadata_build(&config, &xml, why, sizeof why) != 0)
            frame = sso_http_error(500, "server_error", why);
        else {
            sso_response_t *response = sso_response_new(200);
            sso_response_header(response, "Cache-Control", "public, max-age=300");
            sso_response_body(response, xml, strlen(xml), "application/samlmetadata+xml");
            frame = sso_response_pack(&response);
        }
        free(xml);
    }
    sso__connection_reply__free_unpacked(reply, NULL);
    return frame;
}

/* UpstreamStart.Start without a service (no bus) on payload (taken): its reply, unpacked. */
static Sso__UpstreamStartReply *s_test_start(zframe_t **payload_p)
{
    zframe_t *reply = saml_login_start(NULL, *payload_p);
    Sso__UpstreamStartReply *start =
        reply ? sso__upstream_start_reply__unpack(NULL, zframe_size(reply), zframe_data(reply))
              : NULL;
    zframe_destroy(&reply);
    zframe_destroy(payload_p);
    return start;
}

/* A form POST of body to connection_id's ACS; the response, unpacked (NULL when none). */
static Sso__HttpResponse *s_test_post(sso_service_t *service, const char *connection_id,
                                      const char *body)
{
    char path[160];
    snprintf(path, sizeof path, "/sso/saml/%s/acs", connection_id);
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    Sso__Header type = SSO__HEADER__INIT;
    Sso__Header *headers[] = {&type};
    type.name = "content-type";
    type.value = "application/x-www-form-urlencoded";
    request.method = "POST";
    request.path = path;
    request.query = "";
    request.headers = headers;
    request.n_headers = 1;
    request.body.data = (uint8_t *) body;
    request.body.len = strlen(body);
    zframe_t *reply = saml_login_acs(service, &request, connection_id);
    Sso__HttpResponse *response =
        reply ? sso__http_response__unpack(NULL, zframe_size(reply), zframe_data(reply)) : NULL;
    zframe_destroy(&reply);
    return response;
}

/* The ACS through the real directory (dir_fake): a login of the seeded simulator connection
   completed with a Response its IdP key signs, and the same assertion replayed at a second
   login of that connection. */
static Sso__HttpResponse *s_test_acs(sso_service_t *service, const char *connection_id,
                                     const char *txn_id, const char *response_b64)
{
    char *encoded = sso_url_encode(response_b64);
    size_t size = (encoded ? strlen(encoded) : 0) + 200;
    char *body = malloc(size);
    Sso__HttpResponse *response = NULL;
    if (encoded && body) {
        snprintf(body, size, "SAMLResponse=%s&RelayState=%s", encoded, txn_id);
        response = s_test_post(service, connection_id, body);
    }
    free(body);
    free(encoded);
    return response;
}

/* The value of parameter name in the response's Location, copied into out ("" when none). */
static void s_test_location_param(const Sso__HttpResponse *response, const char *name, char *out,
                                  size_t size)
{
    *out = '\0';
    for (size_t i = 0; response && i < response->n_headers; i++) {
        const char *query = strchr(response->headers[i]->value, '?');
        if (strcasecmp(response->headers[i]->name, "Location") != 0 || !query)
            continue;
        zhashx_t *params = sso_form_parse(query + 1, strlen(query + 1));
        const char *value = params ? zhashx_lookup(params, name) : NULL;
        snprintf(out, size, "%s", value ? value : "");
        zhashx_destroy(&params);
    }
}

/* A test login from the admin portal, on the connection once disabled: the ACS stores the
   profile and the raw attributes as the test's result and sends the browser to the result
   page, with no code; a refused response stores the reason; a client's login still fails. */
static void s_test_login_test(dir_fake_t *dir, sso_service_t *service, saml_test_case_t *c,
                              const char *key, const char *cert)
{
    SSO_CHECK(dir_fake_connection_status(dir, dir->conn_saml, "inactive") == 0);
    char handle[64], test_id[64], txn_id[80], request_id[140], url[200], code[128];
    SSO_CHECK(dir_fake_test_login(dir, dir->org_saml, dir->conn_saml,
                                  "AAAAbbbbCCCCddddEEEEffffGGGGhhhh", handle, test_id, txn_id)
              == 0);
    snprintf(request_id, sizeof request_id, "_%s", txn_id);
    c->in_response_to = request_id;
    c->name_id = "jane@example.com";
    c->assertion_id = "_assert-test-1";
    c->extra_response = NULL;
    char *signed_test = saml_test_response(c, key, cert);
    Sso__HttpResponse *response =
        signed_test ? s_test_acs(service, dir->conn_saml, txn_id, signed_test) : NULL;
    snprintf(url, sizeof url, "https://sso.test/portal/tests/%s", test_id);
    s_test_location_param(response, "code", code, sizeof code);
    const char *location = NULL;
    for (size_t i = 0; response && i < response->n_headers; i++)
        if (!strcasecmp(response->headers[i]->name, "Location"))
            location = response->headers[i]->value;
    SSO_CHECK(response && response->status == 302 && location && !strcmp(location, url)
              && !*code);
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    free(signed_test);
    char *result = dir_fake_test_result(dir, dir->org_saml, test_id);
    SSO_CHECK(result && strstr(result, "\"status\":\"success\"")
              && strstr(result, "\"subject\":\"jane@example.com\"")
              && strstr(result, "\"raw\":{\"NameID\":\"jane@example.com\""));
    free(result);
    SSO_CHECK(!dir_fake_test_result(dir, dir->org_two, test_id));

    /* A response for another audience: the reason, expected against received. */
    SSO_CHECK(dir_fake_test_login(dir, dir->org_saml, dir->conn_saml,
                                  "AAAAbbbbCCCCddddEEEEffffGGGGhhhh", handle, test_id, txn_id)
              == 0);
    snprintf(request_id, sizeof request_id, "_%s", txn_id);
    c->assertion_id = "_assert-test-2";
    const char *audience = c->audience;
    c->audience = "https://elsewhere.test/sp";
    signed_test = saml_test_response(c, key, cert);
    c->audience = audience;
    response = signed_test ? s_test_acs(service, dir->conn_saml, txn_id, signed_test) : NULL;
    snprintf(url, sizeof url, "https://sso.test/portal/tests/%s?", test_id);
    location = NULL;
    for (size_t i = 0; response && i < response->n_headers; i++)
        if (!strcasecmp(response->headers[i]->name, "Location"))
            location = response->headers[i]->value;
    SSO_CHECK(response && response->status == 302 && location
              && !strncmp(location, url, strlen(url)));
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    free(signed_test);
    result = dir_fake_test_result(dir, dir->org_saml, test_id);
    SSO_CHECK(result && strstr(result, "\"status\":\"failure\"")
              && strstr(result, "got https://elsewhere.test/sp"));
    free(result);

    /* A client's login on the inactive connection is still refused, with no code. */
    char txn[128];
    SSO_CHECK(dir_fake_login(dir, txn, sizeof txn) == 0);
    snprintf(request_id, sizeof request_id, "_%s", txn);
    c->assertion_id = "_assert-test-3";
    signed_test = saml_test_response(c, key, cert);
    response = signed_test ? s_test_acs(service, dir->conn_saml, txn, signed_test) : NULL;
    char error[64];
    s_test_location_param(response, "code", code, sizeof code);
    s_test_location_param(response, "error", error, sizeof error);
    SSO_CHECK(response && response->status == 302 && !*code && !strcmp(error, "access_denied")
              && dir_fake_events(dir, "is not active") >= 1);
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    free(signed_test);
    SSO_CHECK(dir_fake_connection_status(dir, dir->conn_saml, "active") == 0);
}

/* UpstreamStart.Start of request (the transaction of saml_login_test) at the seeded
   connection, signed: with each binding the key is the directory's (the start reads it); the
   SP metadata says AuthnRequestsSigned. */
static void s_signed_start_test(sso_service_t *service, dir_fake_t *dir,
                                Sso__UpstreamStartRequest *request)
{
    const char *options[] = {"{\"sign_authn_requests\":true}",
                             "{\"sign_authn_requests\":true,\"binding\":\"http-post\"}"};
    Sso__Connection *kept = request->connection;
    Sso__Connection sent = SSO__CONNECTION__INIT;
    sent.id = dir->conn_saml;
    sent.type = "saml";
    sent.sign_authn_requests = true;
    request->connection = &sent;
    for (int post = 0; post < 2; post++) {
        SSO_CHECK(dir_fake_connection_options(dir, dir->conn_saml, options[post]) == 0);
        zframe_t *payload = sso_frame_pack(&request->base);
        zframe_t *reply = payload ? saml_login_start(service, payload) : NULL;
        Sso__UpstreamStartReply *start =
            reply ? sso__upstream_start_reply__unpack(NULL, zframe_size(reply), zframe_data(reply))
                  : NULL;
        size_t len = 0;
        uint8_t *xml = start && post && start->n_post_fields == 2
                           ? sso_base64_decode(start->post_fields[0]->value, &len, false)
                           : NULL;
        if (post)
            SSO_CHECK(start && !start->error && xml
                      && memmem(xml, len, "<Reference URI=\"#_request-0123456789abcdef\">", 43)
                      && memmem(xml, len, "<SignatureValue>", 16));
        else
            SSO_CHECK(start && !start->error && strstr(start->redirect_url, "&SigAlg=")
                      && strstr(start->redirect_url, "&Signature="));
        free(xml);
        sso__upstream_start_reply__free_unpacked(start, NULL);
        zframe_destroy(&reply);
        zframe_destroy(&payload);
    }
    zframe_t *metadata = saml_login_metadata(service, dir->conn_saml);
    Sso__HttpResponse *page =
        metadata ? sso__http_response__unpack(NULL, zframe_size(metadata), zframe_data(metadata))
                 : NULL;
    SSO_CHECK(page && page->status == 200
              && memmem(page->body.data, page->body.len, "AuthnRequestsSigned=\"true\"", 26));
    if (page)
        sso__http_response__free_unpacked(page, NULL);
    zframe_destroy(&metadata);
    SSO_CHECK(dir_fake_connection_options(dir, dir->conn_saml, "{}") == 0);
    request->connection = kept;
}

/* A login that asks max_age, at a connection whose clock_skew_s is 30: the ACS first assumes
   none, LoginComplete answers STALE, the ACS reads the transaction and checks the AuthnInstant
   against it. One older than max_age + skew is refused, expected against received in the
   event log; a recent one completes. now is the real time as an offset from SAML_TEST_NOW. */
static void s_max_age_test(dir_fake_t *dir, sso_service_t *service, saml_test_case_t *c,
                           const char *key, const char *cert, long now)
{
    SSO_CHECK(dir_fake_connection_options(dir, dir->conn_saml, "{\"clock_skew_s\":30}") == 0);
    for (int recent = 0; recent < 2; recent++) {
        char txn[128] = "", request[140], code[128], error[64];
        SSO_CHECK(dir_fake_login_max_age(dir, 300, txn, sizeof txn) == 0);
        snprintf(request, sizeof request, "_%s", txn);
        c->in_response_to = request;
        c->assertion_id = recent ? "_assert-max-age-recent" : "_assert-max-age-old";
        c->authn_instant = recent ? now - 10 : now - 300 - 30 - 60;
        char *signed_response = saml_test_response(c, key, cert);
        Sso__HttpResponse *response =
            signed_response ? s_test_acs(service, dir->conn_saml, txn, signed_response) : NULL;
        s_test_location_param(response, "code", code, sizeof code);
        s_test_location_param(response, "error", error, sizeof error);
        if (recent)
            SSO_CHECK(response && response->status == 302 && *code);
        else
            SSO_CHECK(response && response->status == 302 && !*code
                      && !strcmp(error, "access_denied")
                      && dir_fake_events(dir, "authn_instant: expected ") == 1
                      && dir_fake_events(dir, "(max_age 300s, skew 30s), got ") == 1);
        if (response)
            sso__http_response__free_unpacked(response, NULL);
        free(signed_response);
    }
    c->authn_instant = 0;
    SSO_CHECK(dir_fake_connection_options(dir, dir->conn_saml, "{}") == 0);
}

static void s_acs_test(Sso__UpstreamStartRequest *start_request)
{
    SSO_CHECK(sso_xmlsec_init() == 0);
    dir_fake_t *dir = dir_fake_new();
    if (!dir)
        return;
    sso_config_t config = {.request_timeout_ms = 2000};
    snprintf(config.public_url, sizeof config.public_url, "https://sso.test");
    sso_service_t service = {.config = &config, .instance = "test:1"};
    service.client = sso_client_new(dir_fake_endpoint(dir), dir_fake_keys(dir), "saml", NULL);
    char *key = NULL, *cert = NULL, first[128] = "", second[128] = "";
    bool ready = service.client && dir_fake_simulator_key(dir, &key, &cert) == 0
                 && dir_fake_login(dir, first, sizeof first) == 0
                 && dir_fake_login(dir, second, sizeof second) == 0;
    SSO_CHECK(ready);
    /* The AuthnRequest IDs the ACS expects: "_" and the transaction's id. */
    char request_first[140], request_second[140];
    snprintf(request_first, sizeof request_first, "_%s", first);
    snprintf(request_second, sizeof request_second, "_%s", second);
    /* Signed by the simulator's IdP key, for the connection's SP, valid now: the test
       Response's times are offsets from SAML_TEST_NOW. */
    long now = (long) (sso_now_ms() / 1000) - SAML_TEST_NOW; /* the case's time base */
    saml_test_sp_t urls;
    saml_test_case_t c = saml_test_case_now(dir->conn_saml, &urls);
    c.in_response_to = request_first;
    char *signed_first = ready ? saml_test_response(&c, key, cert) : NULL;
    c.in_response_to = request_second;
    char *signed_second = ready ? saml_test_response(&c, key, cert) : NULL;
    SSO_CHECK(!ready || (signed_first && signed_second));

    /* Signed, each binding: the key is the directory's (read by the start), the SP metadata
       says AuthnRequestsSigned. */
    if (ready)
        s_signed_start_test(&service, dir, start_request);

    /* The login completes: back to the client with a code the directory issued for it. */
    Sso__HttpResponse *response =
        signed_first ? s_test_acs(&service, dir->conn_saml, first, signed_first) : NULL;
    char code[128], state[64];
    s_test_location_param(response, "code", code, sizeof code);
    s_test_location_param(response, "state", state, sizeof state);
    SSO_CHECK(response && response->status == 302 && *code && !strcmp(state, "s1"));
    Sso__CodeGrant *grant = *code ? dir_fake_code_grant(dir, code) : NULL;
    SSO_CHECK(grant && grant->profile && !strcmp(grant->profile->subject, "jane@example.com")
              && !strcmp(grant->client_id, dir->client_id)
              && !strcmp(grant->connection_id, dir->conn_saml));
    sso__code_grant__free_unpacked(grant, NULL);
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    /* Its transaction is used: the same POST again is anyone's junk, and stores nothing. */
    int events = dir_fake_events(dir, "");
    response = signed_first ? s_test_acs(&service, dir->conn_saml, first, signed_first) : NULL;
    SSO_CHECK(response && response->status == 400 && dir_fake_events(dir, "") == events);
    if (response)
        sso__http_response__free_unpacked(response, NULL);

    /* The same assertion (its ID) at another login of the connection: refused as a replay,
       back to the client with access_denied and no code, and the event recorded. */
    response = signed_second ? s_test_acs(&service, dir->conn_saml, second, signed_second) : NULL;
    char error[64];
    s_test_location_param(response, "code", code, sizeof code);
    s_test_location_param(response, "error", error, sizeof error);
    SSO_CHECK(response && response->status == 302 && !*code && !strcmp(error, "access_denied"));
    SSO_CHECK(dir_fake_events(dir, "replay: assertion _assert1 was already used") == 1);
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    free(signed_first);
    free(signed_second);

    /* With the service's connections kept (saml_conncache): the first login reads the
       connection and keeps it; the next uses the kept one; a change of the connection in the
       directory meanwhile makes LoginComplete answer STALE, nothing is consumed, and the ACS
       reads the connection again, validates again and completes. */
    service.state = saml_conncache_new();
    char txns[3][128] = {"", "", ""}, request[140], assertion[32];
    char version[3][80] = {"", "", ""};
    for (int i = 0; i < 3; i++) {
        if (i == 2)
            SSO_CHECK(dir_fake_rename_connection(dir, dir->conn_saml, "renamed") == 0);
        SSO_CHECK(dir_fake_login(dir, txns[i], sizeof txns[i]) == 0);
        snprintf(request, sizeof request, "_%s", txns[i]);
        snprintf(assertion, sizeof assertion, "_assert-kept-%d", i);
        c.in_response_to = request;
        c.assertion_id = assertion;
        char *signed_kept = ready ? saml_test_response(&c, key, cert) : NULL;
        response = signed_kept ? s_test_acs(&service, dir->conn_saml, txns[i], signed_kept) : NULL;
        s_test_location_param(response, "code", code, sizeof code);
        SSO_CHECK(response && response->status == 302 && *code);
        if (response)
            sso__http_response__free_unpacked(response, NULL);
        free(signed_kept);
        Sso__Connection *kept = saml_conncache_get(service.state, dir->conn_saml);
        SSO_CHECK(kept && strlen(kept->version) == 64 && strstr(kept->sp_private_key_pem, "KEY"));
        snprintf(version[i], sizeof version[i], "%s", kept ? kept->version : "");
        sso__connection__free_unpacked(kept, NULL);
    }
    SSO_CHECK(!strcmp(version[0], version[1]) && strcmp(version[1], version[2]) != 0);
    SSO_CHECK(saml_conncache_size(service.state) == 1);
    /* The IdP's certificates change in the directory (a metadata refresh) while the kept
       connection has the old ones: a response signed with the new key is refused against the
       kept one, LoginFail answers STALE (nothing recorded), and the ACS reads the connection
       again and completes. */
    char *next_key = NULL, *next_cert = NULL, next_txn[128] = "";
    SSO_CHECK(sso_xmldsig_test_keypair("next idp", &next_key, &next_cert) == 0);
    json_t *next_certs = json_pack("[s]", next_cert ? next_cert : "");
    char *next_text = json_dumps(next_certs, JSON_COMPACT);
    SSO_CHECK(next_text && dir_fake_connection_certificates(dir, dir->conn_saml, next_text) == 0);
    SSO_CHECK(dir_fake_login(dir, next_txn, sizeof next_txn) == 0);
    snprintf(request, sizeof request, "_%s", next_txn);
    c.in_response_to = request;
    c.assertion_id = "_assert-next-key";
    char *signed_next = ready && next_key ? saml_test_response(&c, next_key, next_cert) : NULL;
    int refused = dir_fake_events(dir, "signature");
    response = signed_next ? s_test_acs(&service, dir->conn_saml, next_txn, signed_next) : NULL;
    s_test_location_param(response, "code", code, sizeof code);
    SSO_CHECK(response && response->status == 302 && *code);
    SSO_CHECK(dir_fake_events(dir, "signature") == refused);
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    /* Back to the simulator's key for the cases below. */
    json_array_set_new(next_certs, 0, json_string(cert ? cert : ""));
    free(next_text);
    next_text = json_dumps(next_certs, JSON_COMPACT);
    SSO_CHECK(next_text && dir_fake_connection_certificates(dir, dir->conn_saml, next_text) == 0);
    free(signed_next);
    free(next_text);
    json_decref(next_certs);
    free(next_key);
    free(next_cert);

    /* A NameID that makes no token service sub (over 255 characters with the connection's
       id): refused at the ACS, with the reason in the event log, no code. */
    char long_txn[128] = "", long_name_id[301];
    memset(long_name_id, 'n', 300);
    long_name_id[300] = '\0';
    SSO_CHECK(dir_fake_login(dir, long_txn, sizeof long_txn) == 0);
    snprintf(request, sizeof request, "_%s", long_txn);
    c.in_response_to = request;
    c.assertion_id = "_assert-long";
    c.name_id = long_name_id;
    char *signed_long = ready ? saml_test_response(&c, key, cert) : NULL;
    response = signed_long ? s_test_acs(&service, dir->conn_saml, long_txn, signed_long) : NULL;
    s_test_location_param(response, "code", code, sizeof code);
    s_test_location_param(response, "error", error, sizeof error);
    char long_reason[120];
    snprintf(long_reason, sizeof long_reason, "sub: at most %zu characters for this connection, "
             "got 300", (size_t) 254 - strlen(dir->conn_saml));
    SSO_CHECK(response && response->status == 302 && !*code && !strcmp(error, "access_denied")
              && dir_fake_events(dir, long_reason) == 1);
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    free(signed_long);
    c.name_id = "jane@example.com";
    if (ready)
        s_max_age_test(dir, &service, &c, key, cert, now);
    if (ready)
        s_test_login_test(dir, &service, &c, key, cert);
    saml_conncache_t *cache = service.state;
    saml_conncache_destroy(&cache);
    free(key);
    free(cert);
    sso_client_destroy(&service.client);
    dir_fake_destroy(&dir);
}

void saml_login_test(bool verbose)
{
    (void) verbose;
    /* The domain guard reads the IdP's email with sso_email_domain. */
    char domain[256];
    SSO_CHECK(sso_email_domain("Jo@Example.COM", domain, sizeof domain) == 0
              && !strcmp(domain, "example.com"));
    SSO_CHECK(sso_email_domain("nobody", domain, sizeof domain) == -1);
    SSO_CHECK(sso_email_domain("@example.com", domain, sizeof domain) == -1);
    SSO_CHECK(sso_email_domain("jo@", domain, sizeof domain) == -1);
    SSO_CHECK(sso_email_domain(NULL, domain, sizeof domain) == -1);
    SSO_CHECK(sso_email_domain("x@attacker.test@example.com", domain, sizeof domain) == -1);
    /* Malformed start payloads are answered, not crashed on. */
    zframe_t *junk = zframe_new("\xff\xff", 2);
    Sso__UpstreamStartReply *start = s_test_start(&junk);
    SSO_CHECK(start && start->error == SSO__RPC_ERROR__INVALID_REQUEST);
    sso__upstream_start_reply__free_unpacked(start, NULL);
    /* Unsigned: built from the connection as sent, with no call (service is NULL here), and
       a key the caller put in it is not used. The AuthnRequest carries the transaction's
       request ID, its RelayState the transaction's id, ForceAuthn its force_login. */
    Sso__Connection sent = SSO__CONNECTION__INIT;
    sent.id = "conn_x";
    sent.type = "saml";
    sent.sp_entity_id = "https://sso.test/sso/saml/conn_x";
    sent.sp_acs_url = "https://sso.test/sso/saml/conn_x/acs";
    sent.idp_sso_url = "https://idp.test/sso";
    sent.sp_private_key_pem = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----";
    Sso__Transaction txn = SSO__TRANSACTION__INIT;
    txn.id = "txn_x";
    txn.saml_request_id = "_request-0123456789abcdef";
    Sso__UpstreamStartRequest start_request = SSO__UPSTREAM_START_REQUEST__INIT;
    start_request.txn = &txn;
    start_request.connection = &sent;
    junk = sso_frame_pack(&start_request.base);
    start = s_test_start(&junk);
    SSO_CHECK(start && !start->error && !strncmp(start->redirect_url, "https://idp.test/sso?", 21)
              && strstr(start->redirect_url, "SAMLRequest=")
              && strstr(start->redirect_url, "&RelayState=txn_x")
              && !strstr(start->redirect_url, "Signature="));
    sso__upstream_start_reply__free_unpacked(start, NULL);
    /* The HTTP-POST binding: the SSO URL and the fields to post there, the AuthnRequest with
       the connection's NameID format. */
    sent.saml_binding = "http-post";
    sent.saml_nameid_format = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
    junk = sso_frame_pack(&start_request.base);
    start = s_test_start(&junk);
    char *posted = NULL;
    if (start && start->n_post_fields == 2
        && !strcmp(start->post_fields[0]->name, "SAMLRequest")) {
        size_t len = 0;
        uint8_t *raw = sso_base64_decode(start->post_fields[0]->value, &len, false);
        posted = raw ? strndup((const char *) raw, len) : NULL;
        free(raw);
    }
    SSO_CHECK(start && !start->error && !*start->redirect_url
              && !strcmp(start->post_url, "https://idp.test/sso") && posted
              && strstr(posted, "ID=\"_request-0123456789abcdef\"")
              && strstr(posted, "Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:transient\"")
              && !strstr(posted, "Signature") && !strcmp(start->post_fields[1]->name, "RelayState")
              && !strcmp(start->post_fields[1]->value, "txn_x"));
    free(posted);
    sso__upstream_start_reply__free_unpacked(start, NULL);
    sent.saml_binding = "";
    sent.saml_nameid_format = "";
    /* A request id that is no xs:ID of ours: refused, as saml_authn_request refuses it. */
    txn.saml_request_id = "_bad id\"";
    junk = sso_frame_pack(&start_request.base);
    start = s_test_start(&junk);
    SSO_CHECK(start && start->error == SSO__RPC_ERROR__SERVER_ERROR
              && strstr(start->error_description, "request ID") && !*start->redirect_url);
    sso__upstream_start_reply__free_unpacked(start, NULL);
    txn.saml_request_id = "_request-0123456789abcdef";
    /* A connection without an id is no connection; a transaction without a request id or
       none at all is no transaction. */
    for (int i = 0; i < 3; i++) {
        sent.id = i == 0 ? "" : "conn_x";
        txn.saml_request_id = i == 1 ? "" : "_request-0123456789abcdef";
        start_request.txn = i == 2 ? NULL : &txn;
        junk = sso_frame_pack(&start_request.base);
        start = s_test_start(&junk);
        SSO_CHECK(start && start->error == SSO__RPC_ERROR__INVALID_REQUEST);
        sso__upstream_start_reply__free_unpacked(start, NULL);
    }
    /* An ACS POST with no RelayState or no SAMLResponse: refused without a directory call
       (service is NULL here) and counted for the gateway's /metrics. */
    const char *bodies[] = {"SAMLResponse=PHg%2B", "RelayState=txn_x", "",
                            "SAMLResponse=PHg%2B&RelayState="};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        Sso__HttpResponse *response = s_test_post(NULL, "conn_x", bodies[i]);
        SSO_CHECK(response && response->status == 400 && response->n_counters == 1
                  && !strcmp(response->counters[0], "acs_anonymous"));
        if (response)
            sso__http_response__free_unpacked(response, NULL);
    }
    txn.saml_request_id = "_request-0123456789abcdef";
    start_request.txn = &txn;
    s_acs_test(&start_request);
}
