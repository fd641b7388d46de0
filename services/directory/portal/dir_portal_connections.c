/* dir_portal_connections: the portal's connection, SAML check and event routes, through the
   management API's handlers with the session's organization. */
#include "portal/dir_portal_connections.h"
#include "api/dir_conn_saml.h"
#include "api/dir_conn_slow.h"
#include "api/dir_connections.h"
#include "login/dir_events.h"
#include "portal/dir_portal_testkit.h"
#include "vault/dir_pki.h"
#include "sso_config.h"
#include "sso_log.h"
#include "sso_oidc_test_idp.h"
#include "sso_test.h"

/* After a slow step (dir_conn_slow_in_passes): the request goes on only while its session
   lives (a logout or the link's revocation while a metadata fetch ran ends it). */
static zframe_t *s_recheck(void *arg)
{
    const dir_portal_req_t *req = arg;
    dir_portal_session_t now;
    dir_portal_state_t state = dir_portal_session_find(req->dir, req->http, &now);
    if (state == DIR_PORTAL_SESSION_ERROR)
        return sso_http_error(500, "server_error", "internal error; see the directory log");
    if (state == DIR_PORTAL_SESSION_OK && !strcmp(now.web.id, req->session.web.id))
        return NULL;
    sso_info("portal session %s ended while its request waited: nothing written",
             req->session.web.id);
    return sso_http_error(401, "invalid_session", "the portal session ended while the request "
                                                  "waited; nothing was saved");
}

/* handler's answer to a management API request for path (n segments: the session's
   organization where one is named, a connection id the caller has checked) with the
   portal's method and body, and query (NULL: the portal's). */
static zframe_t *s_through(dir_portal_req_t *req, zframe_t *(*handler)(dir_api_req_t *req),
                           const char *const *path, size_t n, zhashx_t *query)
{
    char segments[DIR_API_MAX_SEGMENTS][DIR_API_ID_MAX + 1];
    dir_api_req_t api = {.dir = req->dir,
                         .http = req->http,
                         .method = req->method,
                         .query = query ? query : req->query,
                         .recheck = s_recheck,
                         .recheck_arg = req};
    for (size_t i = 0; i < n && i < DIR_API_MAX_SEGMENTS; i++) {
        snprintf(segments[i], sizeof segments[i], "%s", path[i]);
        api.segments[api.n_segments++] = segments[i];
    }
    return handler(&api);
}

/* The session of each portal request that may be waiting in a slow step now ("" for a free
   place). Each such wait holds one of the directory's offload threads; past them a slow step
   runs on the directory's loop and stalls every login, so a portal link's holder could stop
   all logins with a few requests for a metadata URL that answers slowly. The loop is one
   thread (its requests yield only in a slow step), so the places need no lock. */
static char s_waiting[DIR_PORTAL_SLOW_MAX][sizeof ((dir_portal_session_t *) 0)->web.id];

/* s_through for a request that may wait in a slow step: 429 when its session already has
   DIR_PORTAL_SLOW_PER_SESSION such requests waiting, or all portal sessions together
   DIR_PORTAL_SLOW_MAX. */
static zframe_t *s_through_slow(dir_portal_req_t *req,
                                zframe_t *(*handler)(dir_api_req_t *req),
                                const char *const *path, size_t n)
{
    size_t free_place = DIR_PORTAL_SLOW_MAX, own = 0;
    for (size_t i = 0; i < DIR_PORTAL_SLOW_MAX; i++) {
        if (!*s_waiting[i])
            free_place = i;
        else if (!strcmp(s_waiting[i], req->session.web.id))
            own++;
    }
    if (own >= DIR_PORTAL_SLOW_PER_SESSION || free_place == DIR_PORTAL_SLOW_MAX) {
        sso_info("portal session %s refused: %s other slow requests wait", req->session.web.id,
                 own >= DIR_PORTAL_SLOW_PER_SESSION ? "its" : "the portal's");
        return sso_http_error(429, "too_many_requests", "other changes or checks that fetch "
                                                        "from the IdP are still running; try "
                                                        "again in a few seconds");
    }
    snprintf(s_waiting[free_place], sizeof s_waiting[free_place], "%s", req->session.web.id);
    zframe_t *reply = s_through(req, handler, path, n, NULL);
    s_waiting[free_place][0] = '\0';
    return reply;
}

/* The connection options that name the app's clients (IdP-initiated login sends the user to
   one of them): the developer's, set through the management API or the dashboard, never by
   the customer's IT admin. */
static const char *const s_developer_options[] = {"allow_idp_initiated",
                                                  "idp_initiated_client_id"};

/* NULL when the body of a create or a change sets none of the developer's options (nor
   resets them: "options": null clears every option), else the 403 naming what it tried.
   dir_portal_req_open has found the body to be a JSON object (or empty). */
static zframe_t *s_developer_options_refused(const dir_portal_req_t *req)
{
    if (req->http->body.len == 0)
        return NULL;
    json_t *body = json_loadb((const char *) req->http->body.data, req->http->body.len,
                              JSON_REJECT_DUPLICATES, NULL);
    json_t *options = json_object_get(body, "options");
    char why[240] = "";
    if (json_is_null(options))
        snprintf(why, sizeof why, "options: null resets the options the app's developer set "
                                  "too; reset each of yours by name (\"options\": "
                                  "{\"name\": null})");
    for (size_t i = 0; !*why && i < sizeof s_developer_options / sizeof *s_developer_options;
         i++)
        if (json_object_get(options, s_developer_options[i]))
            snprintf(why, sizeof why, "options.%s names the app's clients: the app's "
                                      "developer sets it (management API or dashboard), not "
                                      "the portal", s_developer_options[i]);
    json_decref(body);
    if (!*why)
        return NULL;
    sso_info("portal session %s refused: %s", req->session.web.id, why);
    return sso_http_error(403, "access_denied", why);
}

zframe_t *dir_portal_connections_collection(dir_portal_req_t *req)
{
    const char *const path[] = {"organizations", req->session.organization_id, "connections"};
    zframe_t *refused = !strcmp(req->method, "POST") ? s_developer_options_refused(req) : NULL;
    if (refused)
        return refused;
    /* A create may fetch metadata or discovery and makes a key pair. */
    return !strcmp(req->method, "POST") ? s_through_slow(req, dir_connections_org_http, path, 3)
                                        : s_through(req, dir_connections_org_http, path, 3, NULL);
}

zframe_t *dir_portal_connections_item(dir_portal_req_t *req)
{
    zframe_t *refused = dir_portal_req_owns(req, DIR_PORTAL_CONNECTION, req->segments[1]);
    if (!refused && !strcmp(req->method, "PATCH"))
        refused = s_developer_options_refused(req);
    if (refused)
        return refused;
    const char *const path[] = {"connections", req->segments[1],
                                req->n_segments > 2 ? req->segments[2] : ""};
    size_t n = req->n_segments > 2 ? 3 : 2;
    /* A change may fetch metadata or discovery, an enable discovery. */
    bool slow = !strcmp(req->method, "PATCH") || (n == 3 && !strcmp(path[2], "enable"));
    return slow ? s_through_slow(req, dir_connections_http, path, n)
                : s_through(req, dir_connections_http, path, n, NULL);
}

/* What saml/check reads: the IdP's details as a create's "saml" object takes them. */
static const char *const s_check_fields[] = {"idp_metadata_xml", "idp_metadata_url",
                                             "idp_entity_id", "idp_sso_url",
                                             "idp_certificates"};

/* 0 when body names at least one field saml/check reads and nothing else (organization_id
   aside: dir_portal_req_open has found it to be the session's); else -1 with err. */
static int s_check_body(json_t *body, dir_error_t *err)
{
    const char *key;
    json_t *value;
    size_t given = 0;
    json_object_foreach(body, key, value) {
        bool known = !strcmp(key, "organization_id");
        for (size_t i = 0; i < sizeof s_check_fields / sizeof *s_check_fields; i++)
            if (!strcmp(key, s_check_fields[i])) {
                known = true;
                given++;
            }
        if (!known) {
            dir_bad_request(err, "saml/check reads idp_metadata_xml, idp_metadata_url, "
                                 "idp_entity_id, idp_sso_url and idp_certificates, not %.64s",
                            key);
            return -1;
        }
    }
    if (given == 0)
        dir_bad_request(err, "give idp_metadata_xml, idp_metadata_url, idp_entity_id, "
                             "idp_sso_url or idp_certificates to check");
    return given ? 0 : -1;
}

static json_t *s_or_null(const char *text)
{
    return text ? json_string(text) : json_null();
}

/* One pass of saml/check: dir_conn_saml_read as a create runs it (its metadata fetch a slow
   step), and its result, written nowhere. */
static zframe_t *s_check_pass(dir_api_req_t *api, const char *unused, dir_conn_slow_t *slow)
{
    (void) unused;
    dir_error_t err = {0};
    dir_conn_conf_t conf = {0};
    json_t *body = dir_api_body(api, &err);
    zframe_t *reply = NULL;
    if (body && s_check_body(body, &err) == 0
        && dir_conn_saml_read(body, &conf, slow, &err) == 0) {
        json_t *certs = conf.saml_certs ? json_incref(conf.saml_certs) : json_array();
        json_t *details = dir_conn_saml_cert_details(certs);
        reply = sso_http_json(200, json_pack("{s:o, s:o, s:o, s:o}", "idp_entity_id",
                                             s_or_null(conf.saml_entity_id), "idp_sso_url",
                                             s_or_null(conf.saml_sso_url), "idp_certificates",
                                             certs, "idp_certificate_details", details));
    }
    json_decref(body);
    dir_conn_conf_free(&conf);
    return reply ? reply : slow->want != DIR_CONN_SLOW_NONE ? NULL : dir_error_reply(&err);
}

static zframe_t *s_check(dir_api_req_t *api)
{
    return dir_conn_slow_in_passes(s_check_pass, api, NULL);
}

zframe_t *dir_portal_connections_saml_check(dir_portal_req_t *req)
{
    const char *const path[] = {"saml", "check"};
    return s_through_slow(req, s_check, path, 2);
}

zframe_t *dir_portal_connections_events(dir_portal_req_t *req)
{
    const char *limit = zhashx_lookup(req->query, "limit");
    long size = DIR_PORTAL_EVENTS_DEFAULT;
    if (limit && sso_parse_int(limit, 1, DIR_PORTAL_EVENTS_MAX, &size) != 0) {
        char why[80];
        snprintf(why, sizeof why, "limit must be an integer from 1 to %d",
                 DIR_PORTAL_EVENTS_MAX);
        return sso_http_error(400, "invalid_request", why);
    }
    /* The management API's list, filtered by the session's organization whatever the
       request says; a page_token it answered may follow. */
    char page_size[24];
    snprintf(page_size, sizeof page_size, "%ld", size);
    zhashx_t *query = zhashx_new();
    if (!query)
        return dir_api_db_error();
    zhashx_insert(query, "organization_id", req->session.organization_id);
    zhashx_insert(query, "page_size", page_size);
    const char *token = zhashx_lookup(req->query, "page_token");
    if (token)
        zhashx_insert(query, "page_token", (void *) token);
    const char *const path[] = {"events"};
    zframe_t *reply = s_through(req, dir_events_http, path, 1, query);
    zhashx_destroy(&query);
    return reply;
}

/* ---- self-test ------------------------------------------------------------------------- */

/* The connection as who (a portal session) sees it at /portal/api/connections/{id}: the
   status, the JSON in *json (may be NULL). */
static int s_get(dir_testkit_t *kit, const dir_portal_testkit_t *who, const char *id,
                 json_t **json)
{
    char target[200];
    snprintf(target, sizeof target, "/portal/api/connections/%s", id);
    return dir_portal_testkit_json(kit, "GET", target, who, NULL, NULL, json);
}

/* JSON text of {key: value} (caller frees). */
static char *s_body(const char *key, json_t *value)
{
    json_t *body = json_pack("{s:o}", key, value);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return text;
}

/* The journey of a SAML connection through the portal: a draft, refused enable and test
   (naming what is missing), an expired certificate refused, the settings by PATCH, enable,
   disable, delete; each with the session's organization only. */
static void s_test_saml(dir_testkit_t *kit)
{
    dir_portal_testkit_t a, b;
    SSO_CHECK(dir_portal_testkit_session(kit, "A", &a) == 0);
    SSO_CHECK(dir_portal_testkit_session(kit, "B", &b) == 0);
    json_t *json = NULL;
    char target[300], id[64] = "", b_id[64] = "", text[16384];
    const char *collection = "/portal/api/connections";

    /* A draft with its SP values, the session's organization's whatever the body says. */
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", collection, &a, a.csrf,
                                      "{\"type\":\"saml\",\"name\":\"Okta\"}", &json) == 201);
    snprintf(id, sizeof id, "%s", dir_testkit_str(json, "id"));
    json_t *sp = json_object_get(json, "sp");
    SSO_CHECK(!strcmp(dir_testkit_str(json, "organization_id"), a.org)
              && !strcmp(dir_testkit_str(json, "status"), "draft")
              && strstr(dir_testkit_str(sp, "entity_id"), id)
              && strstr(dir_testkit_str(sp, "acs_url"), id)
              && strstr(dir_testkit_str(sp, "metadata_url"), id));
    json_decref(json);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", collection, &b, b.csrf, "{\"type\":\"saml\"}",
                                      &json) == 201);
    snprintf(b_id, sizeof b_id, "%s", dir_testkit_str(json, "id"));
    json_decref(json);
    snprintf(text, sizeof text, "{\"type\":\"saml\",\"organization_id\":\"%s\"}", b.org);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", collection, &a, a.csrf, text, NULL) == 403);
    snprintf(target, sizeof target, "%s?organization_id=%s", collection, b.org);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", target, &a, NULL, NULL, NULL) == 403);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", collection, &a, NULL, NULL, &json) == 200);
    SSO_CHECK(json_array_size(json_object_get(json, "data")) == 1
              && !strcmp(dir_testkit_str(json_array_get(json_object_get(json, "data"), 0), "id"),
                         id));
    json_decref(json);

    /* Enable and test need the IdP's settings: 400 naming them. */
    snprintf(target, sizeof target, "%s/%s/enable", collection, id);
    SSO_CHECK(dir_testkit_refused(dir_portal_testkit_json(kit, "POST", target, &a, a.csrf, NULL,
                                                          &json),
                                  &json, "saml.idp_entity_id, saml.idp_sso_url and "
                                         "saml.idp_certificates are missing"));
    snprintf(target, sizeof target, "%s/%s/test", collection, id);
    SSO_CHECK(dir_testkit_refused(dir_portal_testkit_json(kit, "POST", target, &a, a.csrf, NULL,
                                                          &json),
                                  &json, "cannot be tested without the IdP's settings"));
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_tests", NULL) == 0);

    /* The settings by PATCH: an expired certificate refused, then good ones. */
    char *key = NULL, *cert = NULL, *old_key = NULL, *old = NULL;
    SSO_CHECK(dir_pki_sp_keypair("idp.a.example", &key, &cert) == 0);
    SSO_CHECK(dir_pki_self_signed("Old IdP", 1704067200, 1706659200, &old_key, &old) == 0);
    snprintf(target, sizeof target, "%s/%s", collection, id);
    char *patch = s_body("saml", json_pack("{s:[s]}", "idp_certificates", old ? old : ""));
    SSO_CHECK(dir_testkit_refused(dir_portal_testkit_json(kit, "PATCH", target, &a, a.csrf,
                                                          patch, &json),
                                  &json, "saml.idp_certificates[0] expired on 2024-01-31 "
                                         "(CN=Old IdP)"));
    free(patch);
    patch = s_body("saml", json_pack("{s:s, s:s, s:[s]}", "idp_entity_id", "https://idp.a/e",
                                     "idp_sso_url", "https://idp.a/sso", "idp_certificates",
                                     cert ? cert : ""));
    SSO_CHECK(dir_portal_testkit_json(kit, "PATCH", target, &a, a.csrf, patch, &json) == 200);
    json_t *details = json_object_get(json_object_get(json, "saml"), "idp_certificate_details");
    SSO_CHECK(json_array_size(details) == 1
              && !strcmp(dir_testkit_str(json_array_get(details, 0), "subject"),
                         "CN=idp.a.example"));
    json_decref(json);
    snprintf(target, sizeof target, "%s/%s/enable", collection, id);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", target, &a, a.csrf, NULL, &json) == 200
              && !strcmp(dir_testkit_str(json, "status"), "active"));
    json_decref(json);
    snprintf(target, sizeof target, "%s/%s/disable", collection, id);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", target, &a, a.csrf, NULL, &json) == 200
              && !strcmp(dir_testkit_str(json, "status"), "inactive"));
    json_decref(json);

    /* Every item route for B's connection: 403, and B's connection as it was; none: 404;
       no CSRF token: 403. */
    const char *const methods[] = {"GET", "PATCH", "DELETE", "POST", "POST", "POST"};
    const char *const suffixes[] = {"", "", "", "/enable", "/disable", "/test"};
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        const char *body = !strcmp(methods[i], "PATCH") ? patch : NULL;
        snprintf(target, sizeof target, "%s/%s%s", collection, b_id, suffixes[i]);
        SSO_CHECK(dir_portal_testkit_json(kit, methods[i], target, &a, a.csrf, body, &json)
                  == 403);
        SSO_CHECK(!json_object_get(json, "sp") && !json_object_get(json, "test_id"));
        json_decref(json);
        snprintf(target, sizeof target, "%s/conn_none%s", collection, suffixes[i]);
        SSO_CHECK(dir_portal_testkit_json(kit, methods[i], target, &a, a.csrf, body, NULL)
                  == 404);
        snprintf(target, sizeof target, "%s/%s%s", collection, id, suffixes[i]);
        if (strcmp(methods[i], "GET") != 0)
            SSO_CHECK(dir_portal_testkit_json(kit, methods[i], target, &a, NULL, body, NULL)
                      == 403);
        SSO_CHECK(dir_portal_testkit_json(kit, methods[i], target, NULL, a.csrf, body, NULL)
                  == 401);
    }
    SSO_CHECK(s_get(kit, &b, b_id, &json) == 200
              && !strcmp(dir_testkit_str(json, "status"), "draft")
              && json_is_null(json_object_get(json_object_get(json, "saml"), "idp_entity_id")));
    json_decref(json);
    SSO_CHECK(s_get(kit, &a, id, &json) == 200
              && !strcmp(dir_testkit_str(json, "status"), "inactive"));
    json_decref(json);
    SSO_CHECK(dir_portal_testkit_json(kit, "PUT", target, &a, a.csrf, NULL, NULL) == 405);

    snprintf(target, sizeof target, "%s/%s", collection, id);
    SSO_CHECK(dir_portal_testkit_json(kit, "DELETE", target, &a, a.csrf, NULL, NULL) == 204);
    SSO_CHECK(s_get(kit, &a, id, NULL) == 404);
    free(patch);
    free(key);
    free(cert);
    free(old_key);
    free(old);
}

/* The options that name the app's clients are the developer's: the portal may neither set
   nor reset them (403, nothing written), on a create or a change; its own options and the
   attribute mapping it may. */
static void s_test_developer_options(dir_testkit_t *kit)
{
    dir_portal_testkit_t a;
    SSO_CHECK(dir_portal_testkit_session(kit, "A", &a) == 0);
    json_t *json = NULL;
    char client[64] = "", id[64] = "", target[200], api[200], body[600];
    /* A client the developer would name, ready for IdP-initiated logins: without the refusal
       the portal's change below would pass. */
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/clients", "{\"name\":\"App\","
                                "\"redirect_uris\":[\"https://app.test/cb\"]}", "id", client,
                                sizeof client) == 201);
    snprintf(target, sizeof target, "/api/v1/clients/%s", client);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", target, "{\"initiate_login_uri\":"
                               "\"https://app.test/start\"}", NULL) == 200);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", "/portal/api/connections", &a, a.csrf,
                                      "{\"type\":\"saml\"}", &json) == 201);
    snprintf(id, sizeof id, "%s", dir_testkit_str(json, "id"));
    json_decref(json);
    snprintf(target, sizeof target, "/portal/api/connections/%s", id);
    snprintf(api, sizeof api, "/api/v1/connections/%s", id);

    const char *const refused[] = {
        "{\"options\":{\"allow_idp_initiated\":true,\"idp_initiated_client_id\":\"%s\"}}",
        "{\"options\":{\"idp_initiated_client_id\":\"%s\"}}",
        "{\"name\":\"x\",\"options\":{\"clock_skew_s\":60,\"allow_idp_initiated\":false}}",
        "{\"options\":{\"allow_idp_initiated\":null}}",
        "{\"options\":null}",
    };
    const char *const want[] = {"options.allow_idp_initiated names the app's clients",
                                "options.idp_initiated_client_id names the app's clients",
                                "options.allow_idp_initiated names the app's clients",
                                "options.allow_idp_initiated names the app's clients",
                                "options: null resets the options the app's developer set"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        snprintf(body, sizeof body, refused[i], client);
        SSO_CHECK(dir_portal_testkit_json(kit, "PATCH", target, &a, a.csrf, body, &json) == 403
                  && !strcmp(dir_testkit_str(json, "error"), "access_denied")
                  && strstr(dir_testkit_str(json, "error_description"), want[i]));
        json_decref(json);
        /* Nor when it creates a connection. */
        if (i < 2) {
            char create[700];
            snprintf(create, sizeof create, "{\"type\":\"saml\",%s", body + 1);
            SSO_CHECK(dir_portal_testkit_json(kit, "POST", "/portal/api/connections", &a,
                                              a.csrf, create, NULL) == 403);
        }
    }
    SSO_CHECK(dir_testkit_call(kit, "GET", api, NULL, &json) == 200
              && json_object_size(json_object_get(json, "options")) == 0
              && json_is_null(json_object_get(json, "name")));
    json_decref(json);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM connections", NULL) == 1);

    /* The developer turns it on; the portal's own options and mapping leave it on. */
    snprintf(body, sizeof body, "{\"options\":{\"allow_idp_initiated\":true,"
             "\"idp_initiated_client_id\":\"%s\"}}", client);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", api, body, NULL) == 200);
    SSO_CHECK(dir_portal_testkit_json(kit, "PATCH", target, &a, a.csrf,
                                      "{\"options\":{\"clock_skew_s\":300,\"binding\":"
                                      "\"http-post\"},\"attribute_mapping\":{\"email\":"
                                      "\"$nameid\",\"name\":\"displayName\"}}", &json) == 200);
    json_t *options = json_object_get(json, "options");
    SSO_CHECK(json_is_true(json_object_get(options, "allow_idp_initiated"))
              && !strcmp(dir_testkit_str(options, "idp_initiated_client_id"), client)
              && json_integer_value(json_object_get(options, "clock_skew_s")) == 300
              && !strcmp(dir_testkit_str(json_object_get(json, "attribute_mapping"), "email"),
                         "$nameid"));
    json_decref(json);
    SSO_CHECK(dir_portal_testkit_json(kit, "PATCH", target, &a, a.csrf, "{\"options\":null}",
                                      NULL) == 403);
    SSO_CHECK(dir_testkit_call(kit, "GET", api, NULL, &json) == 200
              && json_is_true(json_object_get(json_object_get(json, "options"),
                                              "allow_idp_initiated")));
    json_decref(json);
}

/* OIDC through the portal: the secret is written, never read back. */
static void s_test_oidc(dir_testkit_t *kit)
{
    dir_portal_testkit_t a;
    SSO_CHECK(dir_portal_testkit_session(kit, "A", &a) == 0);
    sso_oidc_test_idp_t *idp = sso_oidc_test_idp_new();
    char issuer[200] = "", text[600], id[64] = "", target[200];
    SSO_CHECK(idp && sso_oidc_test_idp_provider(idp, "/p", issuer, sizeof issuer) == 0);
    kit->dir->allow_private_upstreams = true;
    json_t *json = NULL;
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", "/portal/api/connections", &a, a.csrf,
                                      "{\"type\":\"oidc\"}", &json) == 201);
    snprintf(id, sizeof id, "%s", dir_testkit_str(json, "id"));
    SSO_CHECK(strstr(dir_testkit_str(json_object_get(json, "oidc"), "redirect_uri"), id));
    json_decref(json);
    snprintf(target, sizeof target, "/portal/api/connections/%s", id);
    snprintf(text, sizeof text, "{\"oidc\":{\"issuer\":\"%s/nowhere\",\"client_id\":\"c\","
             "\"client_secret\":\"SEKRIT-1\"}}", issuer);
    SSO_CHECK(dir_testkit_refused(dir_portal_testkit_json(kit, "PATCH", target, &a, a.csrf, text,
                                                          &json),
                                  &json, "oidc.issuer: "));
    snprintf(text, sizeof text, "{\"oidc\":{\"issuer\":\"%s\",\"client_id\":\"c\","
             "\"client_secret\":\"SEKRIT-1\"}}", issuer);
    SSO_CHECK(dir_portal_testkit_json(kit, "PATCH", target, &a, a.csrf, text, &json) == 200);
    char *dump = json ? json_dumps(json, 0) : NULL;
    SSO_CHECK(dump && !strstr(dump, "SEKRIT")
              && json_is_true(json_object_get(json_object_get(json, "oidc"),
                                              "client_secret_set")));
    free(dump);
    json_decref(json);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/connections", &a, NULL, NULL,
                                      &json) == 200);
    dump = json ? json_dumps(json, 0) : NULL;
    SSO_CHECK(dump && !strstr(dump, "SEKRIT") && strstr(dump, id));
    free(dump);
    json_decref(json);
    snprintf(target, sizeof target, "/portal/api/connections/%s/enable", id);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", target, &a, a.csrf, NULL, NULL) == 200);
    sso_oidc_test_idp_destroy(&idp);
}

/* saml/check: the reading of a create, written nowhere, with its precise reasons. */
static void s_test_check(dir_testkit_t *kit)
{
    dir_portal_testkit_t a;
    SSO_CHECK(dir_portal_testkit_session(kit, "A", &a) == 0);
    const char *check = "/portal/api/saml/check";
    char *key = NULL, *cert = NULL, *old_key = NULL, *old = NULL, md[8192];
    SSO_CHECK(dir_pki_sp_keypair("idp.check", &key, &cert) == 0);
    SSO_CHECK(dir_pki_self_signed("Old IdP", 1704067200, 1706659200, &old_key, &old) == 0);
    if (!cert || !old)
        goto done;
    json_t *json = NULL;
    SSO_CHECK(dir_testkit_saml_metadata("https://idp.check/e", "https://idp.check/sso", cert, md,
                                        sizeof md) == 0);
    char *body = s_body("idp_metadata_xml", json_string(md));
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", check, &a, a.csrf, body, &json) == 200);
    json_t *details = json_object_get(json, "idp_certificate_details");
    SSO_CHECK(!strcmp(dir_testkit_str(json, "idp_entity_id"), "https://idp.check/e")
              && !strcmp(dir_testkit_str(json, "idp_sso_url"), "https://idp.check/sso")
              && json_array_size(json_object_get(json, "idp_certificates")) == 1
              && !strcmp(dir_testkit_str(json_array_get(details, 0), "subject"), "CN=idp.check")
              && json_is_false(json_object_get(json_array_get(details, 0), "expired")));
    json_decref(json);
    free(body);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", check, &a, NULL, "{\"idp_entity_id\":\"e\"}",
                                      NULL) == 403);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", check, NULL, a.csrf,
                                      "{\"idp_entity_id\":\"e\"}", NULL) == 401);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", check, &a, NULL, NULL, NULL) == 405);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", check, &a, a.csrf, "{\"idp_entity_id\":\"e\"}",
                                      &json) == 200
              && json_is_null(json_object_get(json, "idp_sso_url"))
              && json_array_size(json_object_get(json, "idp_certificate_details")) == 0);
    json_decref(json);

    const struct {
        const char *key;
        json_t *value;
        const char *want;
    } refused[] = {
        {"idp_metadata_xml", json_string("<a"), "saml.idp_metadata_xml: the document is not "
                                               "well-formed XML"},
        {"idp_metadata_xml", json_string("<a/>"), "this is not SAML metadata"},
        {"idp_certificates", json_pack("[s]", "hello"),
         "saml.idp_certificates[0] is not an X.509 certificate in PEM form"},
        {"idp_certificates", json_pack("[s]", old),
         "saml.idp_certificates[0] expired on 2024-01-31 (CN=Old IdP)"},
        {"idp_metadata_url", json_string("http://idp.check.example/md"), "must use https"},
        {"idp_sso_url", json_string("ftp://x/y"), "saml.idp_sso_url must be an absolute http"},
        {"idp_metadata_url", json_string("http://127.0.0.1:1/md"),
         "saml.idp_metadata_url could not be fetched: "},
        {"nothing", json_string("x"), "saml/check reads idp_metadata_xml"},
        {"idp_entity_id", json_string(""), "saml.idp_entity_id"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        /* The unreachable URL: allowed as loopback only with private upstreams. */
        kit->dir->allow_private_upstreams = i == 6;
        body = s_body(refused[i].key, refused[i].value);
        SSO_CHECK(dir_testkit_refused(dir_portal_testkit_json(kit, "POST", check, &a, a.csrf,
                                                              body, &json),
                                      &json, refused[i].want));
        free(body);
    }
    SSO_CHECK(dir_testkit_refused(dir_portal_testkit_json(kit, "POST", check, &a, a.csrf, "{}",
                                                          &json),
                                  &json, "give idp_metadata_xml"));
    char old_md[8192];
    SSO_CHECK(dir_testkit_saml_metadata("https://idp.check/e", "https://idp.check/sso", old,
                                        old_md, sizeof old_md) == 0);
    body = s_body("idp_metadata_xml", json_string(old_md));
    SSO_CHECK(dir_testkit_refused(dir_portal_testkit_json(kit, "POST", check, &a, a.csrf, body,
                                                          &json),
                                  &json, "certificate [0] expired on 2024-01-31 (CN=Old IdP)"));
    free(body);
    /* Nothing written. */
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM connections", NULL) == 0);
done:
    free(key);
    free(cert);
    free(old_key);
    free(old);
}

/* Events: the session's organization's only, newest first, limit 1..100 (default 20). */
static void s_test_events(dir_testkit_t *kit)
{
    dir_portal_testkit_t a, b;
    SSO_CHECK(dir_portal_testkit_session(kit, "A", &a) == 0);
    SSO_CHECK(dir_portal_testkit_session(kit, "B", &b) == 0);
    for (int i = 0; i < 25; i++) {
        char reason[32];
        snprintf(reason, sizeof reason, "a %d", i);
        dir_event_t event = {.organization_id = a.org, .reason = reason, .success = i % 2};
        SSO_CHECK(dir_events_add(kit->dir, &event, NULL) == 0);
    }
    dir_event_t other = {.organization_id = b.org, .reason = "b's"};
    SSO_CHECK(dir_events_add(kit->dir, &other, NULL) == 0);
    json_t *json = NULL;
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/events", &a, NULL, NULL, &json)
              == 200);
    json_t *data = json_object_get(json, "data");
    SSO_CHECK(json_array_size(data) == 20
              && !strcmp(dir_testkit_str(json_array_get(data, 0), "reason"), "a 24")
              && !strcmp(dir_testkit_str(json_array_get(data, 19), "reason"), "a 5")
              && !strcmp(dir_testkit_str(json_array_get(data, 0), "outcome"), "failure"));
    char *dump = json_dumps(json, 0);
    SSO_CHECK(dump && !strstr(dump, "b's"));
    free(dump);
    json_decref(json);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/events?limit=2", &a, NULL, NULL,
                                      &json) == 200
              && json_array_size(json_object_get(json, "data")) == 2);
    json_decref(json);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/events?limit=100", &b, NULL, NULL,
                                      &json) == 200
              && json_array_size(json_object_get(json, "data")) == 1
              && !strcmp(dir_testkit_str(json_array_get(json_object_get(json, "data"), 0),
                                         "reason"), "b's"));
    json_decref(json);
    const char *const bad[] = {"0", "101", "x", "", "-1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char target[80];
        snprintf(target, sizeof target, "/portal/api/events?limit=%s", bad[i]);
        SSO_CHECK(dir_testkit_refused(dir_portal_testkit_json(kit, "GET", target, &a, NULL, NULL,
                                                              &json),
                                      &json, "limit must be an integer from 1 to 100"));
    }
    char target[200];
    snprintf(target, sizeof target, "/portal/api/events?organization_id=%s", b.org);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", target, &a, NULL, NULL, NULL) == 403);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/events", NULL, NULL, NULL, NULL)
              == 401);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", "/portal/api/events", &a, a.csrf, NULL, NULL)
              == 405);
}

/* The id of org's portal session into id (the latest). */
static void s_session_id(dir_testkit_t *kit, const char *org, char id[64])
{
    dir_db_stmt_t *stmt = dir_db_query(kit->dir->db, "SELECT id FROM portal_sessions WHERE "
                                                     "organization_id = ? ORDER BY created_at "
                                                     "DESC LIMIT 1", "s", org);
    bool found = stmt && dir_db_step(stmt) == DIR_DB_ROW;
    snprintf(id, 64, "%s", found ? dir_db_text(stmt, 0) : "");
    dir_db_release(stmt);
    SSO_CHECK(found);
}

/* Requests that may wait in a slow step: a session's third, or any past the portal's cap, is
   a 429 and changes nothing; its other requests go on. The places are taken here as waiting
   requests (two of A's, then two of B's) would hold them. */
static void s_test_slow_cap(dir_testkit_t *kit)
{
    dir_portal_testkit_t a, b, c;
    SSO_CHECK(dir_portal_testkit_session(kit, "A", &a) == 0);
    SSO_CHECK(dir_portal_testkit_session(kit, "B", &b) == 0);
    SSO_CHECK(dir_portal_testkit_session(kit, "C", &c) == 0);
    char a_id[64], b_id[64], conn[64] = "", target[200];
    s_session_id(kit, a.org, a_id);
    s_session_id(kit, b.org, b_id);
    json_t *json = NULL;
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", "/portal/api/connections", &a, a.csrf,
                                      "{\"type\":\"oidc\"}", &json) == 201);
    snprintf(conn, sizeof conn, "%s", dir_testkit_str(json, "id"));
    json_decref(json);
    const char *check = "/portal/api/saml/check", *entity = "{\"idp_entity_id\":\"e\"}";
    for (size_t i = 0; i < DIR_PORTAL_SLOW_PER_SESSION; i++)
        snprintf(s_waiting[i], sizeof s_waiting[i], "%s", a_id);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", check, &a, a.csrf, entity, &json) == 429
              && !strcmp(dir_testkit_str(json, "error"), "too_many_requests"));
    json_decref(json);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", "/portal/api/connections", &a, a.csrf,
                                      "{\"type\":\"saml\"}", NULL) == 429);
    snprintf(target, sizeof target, "/portal/api/connections/%s", conn);
    SSO_CHECK(dir_portal_testkit_json(kit, "PATCH", target, &a, a.csrf, "{\"name\":\"x\"}",
                                      NULL) == 429);
    snprintf(target, sizeof target, "/portal/api/connections/%s/enable", conn);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", target, &a, a.csrf, NULL, NULL) == 429);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM connections", NULL) == 1);
    /* A's requests that never wait go on; so do B's. */
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/connections", &a, NULL, NULL,
                                      NULL) == 200);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", check, &b, b.csrf, entity, NULL) == 200);
    /* The portal's places all taken: C's first is refused too. */
    for (size_t i = DIR_PORTAL_SLOW_PER_SESSION; i < DIR_PORTAL_SLOW_MAX; i++)
        snprintf(s_waiting[i], sizeof s_waiting[i], "%s", b_id);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", check, &c, c.csrf, entity, NULL) == 429);
    /* One place free again: C goes on, and leaves it free. */
    s_waiting[0][0] = '\0';
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", check, &c, c.csrf, entity, NULL) == 200);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", check, &c, c.csrf, entity, NULL) == 200);
    SSO_CHECK(!*s_waiting[0]);
    memset(s_waiting, 0, sizeof s_waiting);
}

void dir_portal_connections_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test_saml);
    dir_testkit_run(s_test_oidc);
    dir_testkit_run(s_test_developer_options);
    dir_testkit_run(s_test_check);
    dir_testkit_run(s_test_events);
    dir_testkit_run(s_test_slow_cap);
}
