#include "saml_idp_initiated.h"
#include "../directory/dir_fake.h"
#include "saml_conncache.h"
#include "saml_login.h"
#include "saml_response.h"
#include "saml_response_decode.h"
#include "saml_response_testkit.h"
#include "saml_xml.h"
#include "sso_clients.h"
#include "sso_crypto.h"
#include "sso_html.h"
#include "sso_log.h"
#include "sso_rpc.h"
#include "sso_test.h"
#include "sso_upstream.h"

/* What the browser is told of any refusal: the precise reason goes to the event log (an
   authenticated assertion) or the service's log (anyone's junk). */
#define S_REFUSED "The sign-in that your identity provider started cannot continue. Start it " \
                  "again from the application."

bool saml_idp_initiated_is_unsolicited(sso_service_t *service, const char *saml_response,
                                       const char *relay_state)
{
    if (!relay_state || !*relay_state)
        return true;
    saml_result_t result = {0};
    xmlDocPtr doc = NULL;
    if (!saml_response || saml_response_decode(&result, saml_response, &doc) != SAML_OK)
        return false; /* the transaction's ACS refuses it as it always did */
    char *irt = sso_xml_attr(xmlDocGetRootElement(doc), "InResponseTo");
    bool unsolicited = irt == NULL;
    free(irt);
    xmlFreeDoc(doc);
    if (!unsolicited || strlen(relay_state) > 80)
        return false;
    /* A RelayState that names a transaction (open or not) is the broker's: that login is
       failed or refused as before. Only one the directory never issued is the IdP's. */
    Sso__LoginContextRequest get = SSO__LOGIN_CONTEXT_REQUEST__INIT;
    get.txn_id = (char *) relay_state;
    Sso__LoginContextReply *reply = NULL;
    if (sso_dir_login_context(service, &get, &reply) != 0)
        return false;
    unsolicited = reply->error == SSO__RPC_ERROR__NOT_FOUND
                  || reply->error == SSO__RPC_ERROR__INVALID_REQUEST;
    sso__login_context_reply__free_unpacked(reply, NULL);
    return unsolicited;
}

/* The refusals an unsolicited POST can write to the event log, per connection: anyone who
   has one signed Response of their own (an old one will do) can post it again and again, so
   each connection has a bucket of S_EVENT_BURST events that refills one per
   S_EVENT_REFILL_MS; past it a refusal is only counted in the service's log. One request runs
   at a time (fibers are not preempted), so no lock. */
#define S_EVENT_BUCKETS 64
#define S_EVENT_BURST 20
#define S_EVENT_REFILL_MS 6000
typedef struct {
    char connection_id[64];
    int64_t tokens_at_ms; /* when the bucket was last filled up to now */
    int tokens;
} s_event_bucket_t;

/* Whether connection_id may write one more refusal event now (taking it). */
static bool s_event_allowed(const char *connection_id, int64_t now_ms)
{
    static s_event_bucket_t buckets[S_EVENT_BUCKETS];
    s_event_bucket_t *bucket = NULL, *oldest = &buckets[0];
    for (size_t i = 0; i < S_EVENT_BUCKETS && !bucket; i++) {
        if (!strncmp(buckets[i].connection_id, connection_id, sizeof buckets[i].connection_id))
            bucket = &buckets[i];
        else if (buckets[i].tokens_at_ms < oldest->tokens_at_ms)
            oldest = &buckets[i];
    }
    if (!bucket) { /* a connection not seen lately takes the least recently filled bucket */
        bucket = oldest;
        snprintf(bucket->connection_id, sizeof bucket->connection_id, "%s", connection_id);
        bucket->tokens = S_EVENT_BURST;
        bucket->tokens_at_ms = now_ms;
    }
    int64_t earned = (now_ms - bucket->tokens_at_ms) / S_EVENT_REFILL_MS;
    if (earned > 0) {
        int64_t tokens = bucket->tokens + earned;
        bucket->tokens = tokens > S_EVENT_BURST ? S_EVENT_BURST : (int) tokens;
        bucket->tokens_at_ms = tokens > S_EVENT_BURST ? now_ms
                                                      : bucket->tokens_at_ms
                                                            + earned * S_EVENT_REFILL_MS;
    }
    if (bucket->tokens == 0)
        return false;
    bucket->tokens--;
    return true;
}

/* A refusal of an authenticated unsolicited assertion: its reason in the event log, unless
   this connection's refusals came too fast (s_event_allowed). */
static zframe_t *s_refuse(sso_service_t *service, const Sso__Connection *connection,
                          const saml_profile_t *profile, const char *reason)
{
    if (!s_event_allowed(connection->id, sso_now_ms())) {
        static sso_log_limit_t limit;
        unsigned long long unlogged = 0;
        if (sso_log_limit_due(&limit, sso_now_ms(), 10000, &unlogged))
            sso_warn("acs %.64s: refused an IdP-initiated login, not written to the event log "
                     "(too many refusals for this connection; %llu more since the last line): "
                     "%s", connection->id, unlogged, reason);
        return sso_html_error_page(400, "This sign-in cannot continue", S_REFUSED);
    }
    Sso__Event event = SSO__EVENT__INIT;
    event.organization_id = connection->organization_id;
    event.connection_id = connection->id;
    event.outcome = "failure";
    event.reason = (char *) reason;
    event.subject = profile && profile->subject ? profile->subject : "";
    event.email = profile && profile->email ? profile->email : "";
    Sso__EventReply *reply = NULL;
    if (sso_dir_event_record(service, &event, &reply) != 0 || reply->error)
        sso_warn("acs %.64s: could not record the refusal: %s", connection->id, reason);
    if (reply)
        sso__event_reply__free_unpacked(reply, NULL);
    sso_info("acs %.64s: refused an IdP-initiated login: %s", connection->id, reason);
    return sso_html_error_page(400, "This sign-in cannot continue", S_REFUSED);
}

static zframe_t *s_busy(void)
{
    return sso_html_error_page(503, "Sign-in is temporarily unavailable",
                               "The sign-in service is busy. Start the sign-in again in a "
                               "moment.");
}

/* The connection of the ACS with its SP key: kept, unless fresh, else read (and kept). NULL
   with the answer in *frame when there is none to validate against. */
static Sso__Connection *s_connection(sso_service_t *service, const char *connection_id,
                                     bool fresh, bool *kept, zframe_t **frame)
{
    saml_conncache_t *cache = service ? service->state : NULL;
    Sso__Connection *c = fresh ? NULL : saml_conncache_get(cache, connection_id);
    *kept = c != NULL;
    if (c)
        return c;
    Sso__ConnectionGetRequest get = SSO__CONNECTION_GET_REQUEST__INIT;
    get.connection_id = (char *) connection_id;
    get.with_secrets = true;
    Sso__ConnectionReply *reply = NULL;
    if (sso_dir_connection_get(service, &get, &reply) != 0) {
        *frame = s_busy();
        return NULL;
    }
    if (!reply->error && reply->connection && !strcmp(reply->connection->type, "saml")) {
        c = reply->connection;
        reply->connection = NULL;
        if (cache && saml_conncache_put(cache, c) != 0)
            sso_warn("acs: could not keep connection %s (out of memory)", c->id);
    }
    else
        *frame = saml_login_anonymous(connection_id, "an unsolicited Response at no SAML "
                                      "connection", S_REFUSED);
    sso__connection_reply__free_unpacked(reply, NULL);
    return c;
}

/* The client's initiate_login_uri with iss, login_hint and the signed idp_initiated_login
   (the token service's): a 303, so the browser GETs it. */
static zframe_t *s_send(sso_service_t *service, const Sso__Connection *connection,
                        const Sso__IdpInitiatedReply *target, const char *email,
                        const char *relay_state)
{
    Sso__IdpInitiatedLoginRequest mint = SSO__IDP_INITIATED_LOGIN_REQUEST__INIT;
    mint.client_id = target->client_id;
    mint.organization_id = target->organization_id;
    mint.connection_id = connection->id;
    mint.login_hint = (char *) email;
    mint.relay_state = (char *) (relay_state ? relay_state : "");
    Sso__IdpInitiatedLoginReply *signed_login = NULL;
    if (sso_token_idp_initiated_login(service, &mint, &signed_login) != 0)
        return s_busy();
    zframe_t *frame = NULL;
    if (signed_login->error || !*signed_login->jwt) {
        sso_warn("acs %.64s: the token service did not sign the login: %s", connection->id,
                 signed_login->error_description);
        frame = sso_html_error_page(500, "This sign-in cannot continue", S_REFUSED);
    }
    else {
        const char *names[] = {"iss", "login_hint", "idp_initiated_login"};
        const char *values[] = {signed_login->issuer, email, signed_login->jwt};
        char *url = sso_url_with_params(target->initiate_login_uri, 3, names, values);
        sso_response_t *response = url ? sso_response_new(303) : NULL;
        if (response) {
            sso_response_header(response, "Location", url);
            sso_response_header(response, "Cache-Control", "no-store");
            frame = sso_response_pack(&response);
        }
        else
            frame = sso_http_error(500, "server_error", "out of memory");
        free(url);
    }
    sso__idp_initiated_login_reply__free_unpacked(signed_login, NULL);
    return frame;
}

/* One validation against connection; NULL with *stale when the connection changed since it
   was read (validate again with it as it is now). */
static zframe_t *s_validate(sso_service_t *service, const Sso__Connection *connection,
                            bool kept, const char *saml_response, const char *relay_state,
                            bool *stale)
{
    if (strcmp(connection->status, "active") != 0)
        return saml_login_anonymous(connection->id, "an unsolicited Response at a connection "
                                    "that is not active", S_REFUSED);
    /* Validated whether or not the connection takes IdP-initiated logins: only an
       authenticated assertion's refusal goes to the event log. No InResponseTo anywhere. */
    saml_response_config_t config;
    saml_response_config_from_connection(&config, connection, "");
    config.allow_idp_initiated = true;
    saml_response_t *validator = saml_response_new(&config);
    if (!validator)
        return sso_http_error(500, "server_error", "out of memory");
    zframe_t *frame = NULL;
    char reason[1400];
    const saml_profile_t *profile = NULL;
    if (saml_response_validate(validator, saml_response) != SAML_OK) {
        snprintf(reason, sizeof reason, "idp-initiated: %s", saml_response_reason(validator));
        frame = saml_response_authenticated(validator)
                    ? s_refuse(service, connection, NULL, reason)
                    : saml_login_anonymous(connection->id, reason, S_REFUSED);
        saml_response_destroy(&validator);
        return frame;
    }
    profile = saml_response_profile(validator);
    char description[300], why[600];
    if (!connection->saml_allow_idp_initiated && kept) {
        /* Off in the kept connection: it may have been turned on since (only the directory's
           answers to a login say when a kept one is stale). */
        *stale = true;
    }
    else if (!connection->saml_allow_idp_initiated) {
        snprintf(reason, sizeof reason, "idp-initiated: refused: connection %.64s does not "
                 "accept IdP-initiated logins (set its options.allow_idp_initiated to true and "
                 "options.idp_initiated_client_id to a client with an initiate_login_uri)",
                 connection->id);
        frame = s_refuse(service, connection, profile, reason);
    }
    else if (!profile->email) {
        snprintf(reason, sizeof reason, "idp-initiated: the assertion has no email for the "
                 "client's login_hint");
        frame = s_refuse(service, connection, profile, reason);
    }
    else if (sso_upstream_subject_check(connection->id, profile->subject, why, sizeof why) != 0
             || sso_upstream_domain_check(connection, profile->email, description,
                                          sizeof description, why, sizeof why) != 0) {
        snprintf(reason, sizeof reason, "idp-initiated: %s", why);
        frame = s_refuse(service, connection, profile, reason);
    }
    else {
        Sso__ReplayRecord replay = SSO__REPLAY_RECORD__INIT;
        replay.connection_id = connection->id;
        replay.assertion_id = profile->assertion_id;
        replay.expires_at = (int64_t) saml_response_replay_until(validator);
        Sso__IdpInitiatedRequest request = SSO__IDP_INITIATED_REQUEST__INIT;
        request.connection_id = connection->id;
        request.connection_version = connection->version;
        request.replay = &replay;
        request.subject = profile->subject;
        request.email = profile->email;
        Sso__IdpInitiatedReply *target = NULL;
        if (sso_dir_idp_initiated(service, &request, &target) != 0)
            frame = s_busy();
        else if (target->error == SSO__RPC_ERROR__STALE)
            *stale = true;
        else if (target->error == SSO__RPC_ERROR__REPLAYED
                 || target->error == SSO__RPC_ERROR__INACTIVE) {
            /* Replayed, or off since the connection was read: a refusal of a signed
               assertion, written to the event log within the connection's limit. */
            char reason[600];
            snprintf(reason, sizeof reason, "%s%.500s",
                     target->error == SSO__RPC_ERROR__REPLAYED ? "idp-initiated: replay: " : "",
                     target->error_description);
            frame = s_refuse(service, connection, profile, reason);
        }
        else if (target->error) {
            sso_info("acs %.64s: refused an IdP-initiated login: %s", connection->id,
                     target->error_description);
            frame = sso_html_error_page(400, "This sign-in cannot continue", S_REFUSED);
        }
        else
            frame = s_send(service, connection, target, profile->email, relay_state);
        if (target)
            sso__idp_initiated_reply__free_unpacked(target, NULL);
    }
    saml_response_destroy(&validator);
    return frame;
}

zframe_t *saml_idp_initiated_acs(sso_service_t *service, const char *connection_id,
                                 const char *saml_response, const char *relay_state)
{
    if (relay_state && strlen(relay_state) > 80)
        return saml_login_anonymous(connection_id, "an unsolicited Response with a RelayState "
                                    "over 80 bytes", S_REFUSED);
    /* Anything but a SAML Response is anyone's junk, answered without asking the directory. */
    saml_result_t result = {0};
    xmlDocPtr doc = NULL;
    bool shaped = saml_response_decode(&result, saml_response, &doc) == SAML_OK
                  && saml_response_decode_check_root(&result, xmlDocGetRootElement(doc))
                         == SAML_OK;
    xmlFreeDoc(doc);
    if (!shaped)
        return saml_login_anonymous(connection_id, result.reason, S_REFUSED);
    zframe_t *frame = NULL;
    for (int round = 0; !frame && round < 2; round++) {
        bool kept = false, stale = false;
        Sso__Connection *connection = s_connection(service, connection_id, round > 0, &kept,
                                                   &frame);
        if (!connection)
            break;
        frame = s_validate(service, connection, kept, saml_response, relay_state, &stale);
        sso__connection__free_unpacked(connection, NULL);
        if (stale)
            saml_conncache_drop(service ? service->state : NULL, connection_id);
    }
    return frame ? frame : s_busy();
}

/* ---- self-test ------------------------------------------------------------------------- */

/* saml_idp_initiated_acs on c signed by key/cert: the HTTP status (0 when none). */
static uint32_t s_test_post(sso_service_t *service, const char *connection_id,
                            const saml_test_case_t *c, const char *key, const char *cert)
{
    char *b64 = saml_test_response(c, key, cert);
    zframe_t *frame = b64 ? saml_idp_initiated_acs(service, connection_id, b64, NULL) : NULL;
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    uint32_t status = response ? response->status : 0;
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    zframe_destroy(&frame);
    free(b64);
    return status;
}

/* The event bucket: a burst, then one per refill interval, per connection. */
static void s_bucket_test(void)
{
    const int64_t t0 = 1000000;
    int allowed = 0;
    for (int i = 0; i < S_EVENT_BURST + 5; i++)
        allowed += s_event_allowed("conn_bucket_a", t0);
    SSO_CHECK(allowed == S_EVENT_BURST);
    SSO_CHECK(!s_event_allowed("conn_bucket_a", t0 + S_EVENT_REFILL_MS - 1));
    SSO_CHECK(s_event_allowed("conn_bucket_a", t0 + S_EVENT_REFILL_MS));
    SSO_CHECK(!s_event_allowed("conn_bucket_a", t0 + S_EVENT_REFILL_MS));
    SSO_CHECK(s_event_allowed("conn_bucket_b", t0)); /* another connection has its own */
    /* A long pause fills it up to the burst, no further. */
    allowed = 0;
    for (int i = 0; i < S_EVENT_BURST + 5; i++)
        allowed += s_event_allowed("conn_bucket_a", t0 + 1000 * S_EVENT_REFILL_MS);
    SSO_CHECK(allowed == S_EVENT_BURST);
    /* More connections than buckets: the newest ones still get theirs. */
    char id[32];
    for (int i = 0; i < 2 * S_EVENT_BUCKETS; i++) {
        snprintf(id, sizeof id, "conn_many_%d", i);
        SSO_CHECK(s_event_allowed(id, t0 + 2000 * S_EVENT_REFILL_MS + i));
    }
}

void saml_idp_initiated_test(bool verbose)
{
    s_bucket_test();
    (void) verbose;
    SSO_CHECK(sso_xmlsec_init() == 0);
    /* Where a POST goes: no RelayState, or a Response without InResponseTo. */
    const char *with = "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
                       "InResponseTo=\"_r\"/>";
    const char *without = "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>";
    char *solicited = sso_base64_encode((const uint8_t *) with, strlen(with));
    char *unsolicited = sso_base64_encode((const uint8_t *) without, strlen(without));
    SSO_CHECK(solicited && unsolicited);
    SSO_CHECK(saml_idp_initiated_is_unsolicited(NULL, solicited, NULL)
              && saml_idp_initiated_is_unsolicited(NULL, solicited, "")
              && !saml_idp_initiated_is_unsolicited(NULL, solicited, "txn_1")
              && !saml_idp_initiated_is_unsolicited(NULL, "!!", "txn_1"));
    free(solicited);

    dir_fake_t *dir = dir_fake_new();
    if (!dir) {
        free(unsolicited);
        return;
    }
    sso_config_t config = {.request_timeout_ms = 2000};
    snprintf(config.public_url, sizeof config.public_url, "https://sso.test");
    sso_service_t service = {.config = &config, .instance = "test:1"};
    service.client = sso_client_new(dir_fake_endpoint(dir), dir_fake_keys(dir), "saml", NULL);
    char *key = NULL, *cert = NULL;
    bool ready = service.client && dir_fake_simulator_key(dir, &key, &cert) == 0;
    SSO_CHECK(ready);
    long now = (long) (sso_now_ms() / 1000) - SAML_TEST_NOW; /* the case's time base */
    saml_test_sp_t urls;
    saml_test_case_t c = saml_test_case_now(dir->conn_saml, &urls);
    c.assertion_id = "_unsolicited-1";
    c.unsolicited = 1;
    /* A Response without InResponseTo whose RelayState names a transaction goes to that
       transaction (which it fails); one the directory never issued is the IdP's own. */
    char txn[128] = "";
    SSO_CHECK(dir_fake_login(dir, txn, sizeof txn) == 0);
    SSO_CHECK(!saml_idp_initiated_is_unsolicited(&service, unsolicited, txn)
              && saml_idp_initiated_is_unsolicited(&service, unsolicited, "tile-7"));
    free(unsolicited);
    /* Off (the default): refused, with how to turn it on in the event log. */
    SSO_CHECK(ready && s_test_post(&service, dir->conn_saml, &c, key, cert) == 400);
    SSO_CHECK(dir_fake_events(dir, "does not accept IdP-initiated logins (set its "
                                   "options.allow_idp_initiated") == 1);
    /* On, for the client, which has an initiate_login_uri. */
    char options[300];
    snprintf(options, sizeof options, "{\"allow_idp_initiated\":true,"
             "\"idp_initiated_client_id\":\"%s\"}", dir->client_id);
    SSO_CHECK(dir_fake_client_initiate_login_uri(dir, dir->client_id, "https://app.test/start")
                  == 0
              && dir_fake_connection_options(dir, dir->conn_saml, options) == 0);
    /* Accepted and recorded; no token service on this bus signs the JWT, so the answer is
       the busy page (the signed redirect is the integration test's). */
    SSO_CHECK(ready && s_test_post(&service, dir->conn_saml, &c, key, cert) == 503);
    SSO_CHECK(dir_fake_events(dir, "idp-initiated: sent to client") == 1);
    /* The same assertion again: refused as a replay. */
    SSO_CHECK(ready && s_test_post(&service, dir->conn_saml, &c, key, cert) == 400);
    SSO_CHECK(dir_fake_events(dir, "idp-initiated: replay: assertion _unsolicited-1") == 1);
    /* Stale: past its NotOnOrAfter beyond the connection's skew (120 s). */
    c.assertion_id = "_unsolicited-stale";
    c.not_before = now - 900;
    c.not_on_or_after = now - 300;
    SSO_CHECK(ready && s_test_post(&service, dir->conn_saml, &c, key, cert) == 400);
    SSO_CHECK(dir_fake_events(dir, "idp-initiated: expired:") >= 1);
    c.not_before = now - 60;
    c.not_on_or_after = now + 300;
    /* An InResponseTo in the assertion of a Response that has none: refused. */
    c.assertion_id = "_unsolicited-irt";
    c.unsolicited = 2;
    SSO_CHECK(ready && s_test_post(&service, dir->conn_saml, &c, key, cert) == 400);
    SSO_CHECK(dir_fake_events(dir, "idp-initiated: in_response_to: expected none "
                                   "(IdP-initiated), got _req1") == 1);
    c.unsolicited = 1;
    /* Another SP's audience: refused. */
    c.assertion_id = "_unsolicited-audience";
    c.audience = "https://other.test/sp";
    SSO_CHECK(ready && s_test_post(&service, dir->conn_saml, &c, key, cert) == 400);
    SSO_CHECK(dir_fake_events(dir, "idp-initiated: audience: expected") == 1);
    c.audience = urls.sp;
    /* An email outside the organization's domains: refused by the domain guard. */
    c.assertion_id = "_unsolicited-domain";
    c.name_id = "mallory@attacker.test";
    int events = dir_fake_events(dir, "idp-initiated: ");
    SSO_CHECK(ready && s_test_post(&service, dir->conn_saml, &c, key, cert) == 400);
    SSO_CHECK(dir_fake_events(dir, "idp-initiated: ") == events + 1
              && dir_fake_events(dir, "attacker.test") >= 1);
    c.name_id = "jane@example.com";
    /* Signed by a key the connection does not trust: anyone's junk, nothing stored. */
    char *other_key = NULL, *other_cert = NULL;
    SSO_CHECK(sso_xmldsig_test_keypair("other idp", &other_key, &other_cert) == 0);
    c.assertion_id = "_unsolicited-forged";
    events = dir_fake_events(dir, "");
    SSO_CHECK(ready && other_key
              && s_test_post(&service, dir->conn_saml, &c, other_key, other_cert) == 400);
    SSO_CHECK(dir_fake_events(dir, "") == events);
    free(other_key);
    free(other_cert);
    /* Junk and a connection that is none: answered without a record. */
    zframe_t *frame = saml_idp_initiated_acs(&service, dir->conn_saml, "PHg+", NULL);
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    SSO_CHECK(response && response->status == 400 && response->n_counters == 1);
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    zframe_destroy(&frame);
    c.assertion_id = "_unsolicited-nowhere";
    SSO_CHECK(ready && s_test_post(&service, "conn_nowhere", &c, key, cert) == 400
              && dir_fake_events(dir, "") == events);
    free(key);
    free(cert);
    sso_client_destroy(&service.client);
    dir_fake_destroy(&dir);
}
