/* dir_connections: connection configuration, validation and status. */
#include "api/dir_connections.h"
#include "dir_connection_columns.h"
#include "api/dir_conn_conf.h"
#include "api/dir_conn_oidc.h"
#include "api/dir_conn_options.h"
#include "api/dir_conn_saml.h"
#include "api/dir_conn_refresh.h"
#include "webhooks/dir_webhooks.h"
#include "api/dir_conn_slow.h"
#include "api/dir_conn_sp_key.h"
#include "api/dir_orgs.h"
#include "login/dir_last_login.h"
#include "login/dir_login.h"
#include "vault/dir_pki.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include "sso_oidc_test_idp.h"

#define DIR_CONN_NAME_MAX 200

static char *s_dup_column(dir_db_stmt_t *stmt, int column)
{
    return dir_db_is_null(stmt, column) ? NULL
                                                           : strdup(dir_db_text(stmt, column));
}

static json_t *s_str_or_null(const char *text)
{
    return text ? json_string(text) : json_null();
}

static json_t *s_column_or_null(dir_db_stmt_t *stmt, int column)
{
    return s_str_or_null(dir_db_is_null(stmt, column) ? NULL : dir_db_text(stmt, column));
}

/* A stored JSON object column, or an empty object. */
static json_t *s_object_column(dir_db_stmt_t *stmt, int column)
{
    json_t *value = dir_db_is_null(stmt, column) ? NULL
                                                 : json_loads(dir_db_text(stmt, column), 0, NULL);
    if (json_is_object(value))
        return value;
    json_decref(value);
    return json_object();
}

static json_t *s_row_json(dir_t *dir, dir_db_stmt_t *stmt)
{
    const char *id = dir_db_text(stmt, DIR_CONN_ID);
    const char *type = dir_db_text(stmt, DIR_CONN_TYPE);
    json_t *json = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", id, "organization_id",
                             dir_db_text(stmt, DIR_CONN_ORG), "type", type, "status",
                             dir_db_text(stmt, DIR_CONN_STATUS), "name",
                             s_column_or_null(stmt, DIR_CONN_NAME),
                             "created_at", dir_json_time(dir_db_int64(stmt, DIR_CONN_CREATED)),
                             "updated_at", dir_json_time(dir_db_int64(stmt, DIR_CONN_UPDATED)));
    json_object_set_new(json, "options", s_object_column(stmt, DIR_CONN_OPTIONS));
    json_object_set_new(json, "attribute_mapping", s_object_column(stmt, DIR_CONN_MAPPING));
    if (strcmp(type, "saml") == 0) {
        char entity[1200];
        snprintf(entity, sizeof entity, "%s/sso/saml/%s", dir->public_url, id);
        json_t *certs = json_loads(dir_db_text(stmt, DIR_CONN_SAML_CERTS), 0, NULL);
        json_t *sp = json_pack("{s:s, s:s+, s:s+, s:s}", "entity_id", entity, "acs_url",
                               entity, "/acs", "metadata_url", entity, "/metadata",
                               "certificate", dir_db_text(stmt, DIR_CONN_SP_CERT));
        dir_conn_sp_key_json(stmt, sp);
        if (!json_is_array(certs)) {
            json_decref(certs);
            certs = json_array();
        }
        /* A draft may not have the IdP's settings yet: null until they come. */
        json_t *saml = json_pack(
            "{s:o, s:o, s:o, s:o, s:o}", "idp_entity_id", s_column_or_null(stmt, DIR_CONN_SAML_ENTITY),
            "idp_sso_url", s_column_or_null(stmt, DIR_CONN_SAML_SSO), "idp_certificates", certs,
            "idp_certificate_details", dir_conn_saml_cert_details(certs), "idp_metadata_url",
            s_column_or_null(stmt, DIR_CONN_SAML_MD_URL));
        dir_conn_saml_signing_cert_json(stmt, DIR_CONN_SAML_MD_SIGNING_CERT, saml);
        dir_conn_refresh_json(dir, id, saml);
        json_object_set_new(json, "sp", sp);
        json_object_set_new(json, "saml", saml);
    }
    else {
        char redirect[600];
        /* Each connection's own: see services/oidc (the mix-up attack). */
        snprintf(redirect, sizeof redirect, "%s/sso/oidc/callback/%s", dir->public_url, id);
        /* The endpoints of the last check; null before the first (a connection made before
           they were kept). */
        json_t *discovered = s_object_column(stmt, DIR_CONN_OIDC_DISCOVERED);
        if (json_object_size(discovered) == 0) {
            json_decref(discovered);
            discovered = json_null();
        }
        /* private_key_jwt: the public side of the connection's client key, to register at
           the provider (null until the method is first private_key_jwt). */
        const char *client_cert = dir_db_is_null(stmt, DIR_CONN_OIDC_CLIENT_CERT)
                                      ? NULL
                                      : dir_db_text(stmt, DIR_CONN_OIDC_CLIENT_CERT);
        char jwks_uri[600];
        snprintf(jwks_uri, sizeof jwks_uri, "%s/sso/oidc/%s/jwks", dir->public_url, id);
        json_object_set_new(
            json, "oidc",
            json_pack("{s:o, s:o, s:o, s:b, s:s, s:o, s:o, s:o}", "issuer",
                      s_column_or_null(stmt, DIR_CONN_OIDC_ISSUER), "client_id",
                      s_column_or_null(stmt, DIR_CONN_OIDC_CLIENT), "scopes",
                      dir_conn_oidc_scopes_json(dir_db_text(stmt, DIR_CONN_OIDC_SCOPES)),
                      "client_secret_set",
                      !dir_db_is_null(stmt, DIR_CONN_OIDC_SECRET_SEALED), "redirect_uri", redirect,
                      "discovered", discovered, "jwks_uri",
                      s_str_or_null(client_cert ? jwks_uri : NULL), "client_certificate",
                      s_str_or_null(client_cert)));
    }
    return json;
}

static json_t *s_get(dir_t *dir, const char *id)
{
    return dir_api_row(dir, s_row_json, "SELECT " DIR_CONN_COLUMNS DIR_CONN_FROM "WHERE c.id = ?",
                       "s", id);
}

json_t *dir_connections_get(dir_t *dir, const char *id)
{
    return s_get(dir, id);
}

/* Loads a stored connection's settings into conf; 1 found, 0 not found, -1 error. */
static int s_load(dir_t *dir, const char *id, dir_conn_conf_t *conf)
{
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT " DIR_CONN_COLUMNS DIR_CONN_FROM
                                                "WHERE c.id = ?", "s", id);
    if (!stmt)
        return -1;
    int step = dir_db_step(stmt);
    if (step == DIR_DB_ROW) {
        conf->type = strdup(dir_db_text(stmt, DIR_CONN_TYPE));
        conf->name = s_dup_column(stmt, DIR_CONN_NAME);
        conf->saml_entity_id = s_dup_column(stmt, DIR_CONN_SAML_ENTITY);
        conf->saml_sso_url = s_dup_column(stmt, DIR_CONN_SAML_SSO);
        conf->saml_metadata_url = s_dup_column(stmt, DIR_CONN_SAML_MD_URL);
        conf->saml_certs = json_loads(dir_db_text(stmt, DIR_CONN_SAML_CERTS), 0, NULL);
        conf->saml_md_signing_cert = s_dup_column(stmt, DIR_CONN_SAML_MD_SIGNING_CERT);
        conf->oidc_issuer = s_dup_column(stmt, DIR_CONN_OIDC_ISSUER);
        conf->oidc_client_id = s_dup_column(stmt, DIR_CONN_OIDC_CLIENT);
        conf->oidc_scopes = s_dup_column(stmt, DIR_CONN_OIDC_SCOPES);
        conf->oidc_has_secret = !dir_db_is_null(stmt, DIR_CONN_OIDC_SECRET_SEALED);
        conf->oidc_has_client_key = !dir_db_is_null(stmt, DIR_CONN_OIDC_CLIENT_KEY_SEALED);
        conf->options = s_object_column(stmt, DIR_CONN_OPTIONS);
        conf->mapping = s_object_column(stmt, DIR_CONN_MAPPING);
    }
    dir_db_release(stmt);
    return step == DIR_DB_ROW ? 1 : step == DIR_DB_DONE ? 0 : -1;
}

/* The endpoints a checked discovery gave, as the JSON text stored for oidc.discovered (caller
   frees); NULL when slow holds no checked discovery. */
static char *s_discovered_text(const dir_conn_slow_t *slow)
{
    const sso_oidc_discovery_t *d = &slow->discovery;
    if (!slow->discovered || slow->discovery_rc != 0)
        return NULL;
    json_t *json = json_pack("{s:s, s:s, s:s, s:o}", "authorization_endpoint",
                             d->authorization_endpoint, "token_endpoint", d->token_endpoint,
                             "jwks_uri", d->jwks_uri, "userinfo_endpoint",
                             s_str_or_null(d->userinfo_endpoint));
    char *text = json ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    return text;
}

/* The IdP's settings conf lacks, as the API names them ("saml.idp_sso_url and
   saml.idp_certificates"), into what; how many. */
static int s_missing(const dir_conn_conf_t *conf, char *what, size_t size)
{
    const char *names[3];
    int n = 0;
    if (strcmp(conf->type, "saml") == 0) {
        if (!conf->saml_entity_id)
            names[n++] = "saml.idp_entity_id";
        if (!conf->saml_sso_url)
            names[n++] = "saml.idp_sso_url";
        if (json_array_size(conf->saml_certs) == 0)
            names[n++] = "saml.idp_certificates";
    }
    else {
        /* A client assertion signed with the connection's key stands in for the secret. */
        const char *method = dir_conn_oidc_auth_method(conf->options);
        bool key_jwt = method && strcmp(method, "private_key_jwt") == 0;
        if (!conf->oidc_issuer)
            names[n++] = "oidc.issuer";
        if (!conf->oidc_client_id)
            names[n++] = "oidc.client_id";
        if (!key_jwt && !conf->oidc_secret && !conf->oidc_has_secret)
            names[n++] = "oidc.client_secret";
    }
    *what = '\0';
    for (int i = 0; i < n; i++) {
        size_t len = strlen(what);
        snprintf(what + len, size - len, "%s%s", i == 0 ? "" : i == n - 1 ? " and " : ", ",
                 names[i]);
    }
    return n;
}

/* 0 when conf has all of the IdP's settings, else -1 with err: 400 saying that the connection
   cannot be what (enabled, tested) and naming what is missing. */
static int s_complete(const dir_conn_conf_t *conf, const char *id, const char *what,
                      dir_error_t *err)
{
    char missing[160];
    if (s_missing(conf, missing, sizeof missing) == 0)
        return 0;
    bool saml = strcmp(conf->type, "saml") == 0;
    dir_bad_request(err, "connection %.64s cannot be %s without the IdP's settings: %s %s "
                         "missing (%s)", id, what, missing, strchr(missing, ' ') ? "are" : "is",
                    saml ? "give saml.idp_metadata_xml or saml.idp_metadata_url, or the "
                           "missing fields, by PATCH"
                         : "give them by PATCH");
    return -1;
}

int dir_connections_ready(dir_t *dir, const char *id, const char *what, dir_error_t *err)
{
    dir_conn_conf_t conf = {0};
    int found = s_load(dir, id, &conf);
    int rc = found == 1 ? s_complete(&conf, id, what, err) : -1;
    if (found == 0)
        dir_not_found(err, "no connection %.64s", id);
    else if (found < 0)
        dir_server_error(err);
    dir_conn_conf_free(&conf);
    return rc;
}

/* Reads the type-specific object of body into conf. A draft may lack some of the IdP's
   settings (they come by PATCH); an active connection (active) must keep all. */
static int s_read_settings(json_t *body, dir_conn_conf_t *conf, bool create, bool active,
                           const char *id, dir_conn_slow_t *slow, dir_error_t *err)
{
    bool saml = strcmp(conf->type, "saml") == 0;
    const char *own = saml ? "saml" : "oidc", *other = saml ? "oidc" : "saml";
    json_t *settings = NULL;
    if (json_object_get(body, other) && !json_is_null(json_object_get(body, other))) {
        dir_bad_request(err, "%s settings do not apply to a %s connection", other, own);
        return -1;
    }
    if (dir_json_object(body, own, own, DIR_NULLABLE, &settings, err) < 0)
        return -1;
    if (settings && (saml ? dir_conn_saml_read(settings, conf, slow, err)
                          : dir_conn_oidc_read(settings, conf, err)) != 0)
        return -1;
    const char *method_was = dir_conn_oidc_auth_method(conf->options);
    char *method_before = method_was ? strdup(method_was) : NULL;
    if (method_was && !method_before) {
        dir_server_error(err);
        return -1;
    }
    int merged = dir_conn_options_merge(body, conf->type, &conf->options, &conf->mapping, err);
    const char *method = dir_conn_oidc_auth_method(conf->options);
    bool method_changed = (method_before == NULL) != (method == NULL)
                          || (method && strcmp(method, method_before) != 0);
    free(method_before);
    if (merged != 0)
        return -1;
    if (active && s_complete(conf, id, "active", err) != 0)
        return -1;
    if (!saml) {
        if (!conf->oidc_scopes)
            dir_conn_conf_set(&conf->oidc_scopes, "openid email profile");
        /* A new or changed connection must work with its provider as it is now (also when
           only its options change the client authentication or now ask for form_post). */
        if (conf->oidc_issuer
            && (create || settings || method_changed
                || (dir_conn_oidc_form_post(conf->options) && json_object_get(body, "options")))
            && dir_conn_oidc_check_discovery(conf->oidc_issuer, conf->options, slow, err) != 0)
            return -1;
    }
    return 0;
}

static int s_read_name(json_t *body, dir_conn_conf_t *conf, dir_error_t *err)
{
    json_t *value = json_object_get(body, "name");
    const char *name = NULL;
    if (dir_json_string(body, "name", "name", DIR_NULLABLE | DIR_NONEMPTY, DIR_CONN_NAME_MAX,
                        &name, err) < 0)
        return -1;
    if (value)
        dir_conn_conf_set(&conf->name, name);
    return 0;
}

/* Whether this request took the connection's metadata from its URL (fetched it now). */
static bool s_fetched(const dir_conn_slow_t *slow, const dir_conn_conf_t *conf)
{
    return slow->fetched && slow->url && conf->saml_metadata_url
           && !strcmp(slow->url, conf->saml_metadata_url);
}

static zframe_t *s_create_pass(dir_api_req_t *req, const char *org_id, dir_conn_slow_t *slow)
{
    dir_error_t err = {0};
    dir_conn_conf_t conf = {0};
    json_t *body = dir_api_body(req, &err);
    const char *type = NULL, *id = NULL;
    char *certs_text = NULL, *options_text = NULL, *mapping_text = NULL, *discovered = NULL;
    uint8_t *sealed_key = NULL, *sealed_secret = NULL, *sealed_client_key = NULL;
    size_t sealed_key_len = 0, sealed_secret_len = 0, sealed_client_key_len = 0;
    const char *client_cert = NULL;
    zframe_t *reply = NULL;
    if (!body || dir_json_string(body, "type", "type", DIR_REQUIRED, 16, &type, &err) < 0)
        goto done;
    if (strcmp(type, "saml") != 0 && strcmp(type, "oidc") != 0) {
        dir_bad_request(&err, "type must be \"saml\" or \"oidc\"");
        goto done;
    }
    /* Check the organization before any slow work (metadata fetch, key generation). */
    if (!dir_orgs_exists(req->dir, org_id)) {
        dir_not_found(&err, "no organization %s", org_id);
        goto done;
    }
    conf.type = strdup(type);
    if (s_read_name(body, &conf, &err) != 0
        || s_read_settings(body, &conf, true, false, "", slow, &err) != 0
        || dir_conn_options_check_client(req->dir, conf.options, &err) != 0)
        goto done;
    if (!slow->id)
        slow->id = sso_random_id("conn_", 10);
    id = slow->id;
    if (!id) {
        dir_server_error(&err);
        goto done;
    }
    bool saml = strcmp(type, "saml") == 0;
    if (saml) {
        char aad[200];
        snprintf(aad, sizeof aad, "connection:%s:sp_key", id);
        if (!conf.saml_certs)
            conf.saml_certs = json_array(); /* a draft's, until the IdP's come */
        certs_text = json_dumps(conf.saml_certs, JSON_COMPACT);
        if (certs_text && !slow->keyed) {
            slow->want = DIR_CONN_SLOW_KEY_PAIR;
            goto done;
        }
        if (!certs_text || slow->key_rc != 0
            || dir_keys_seal(req->dir->keys, slow->key_pem, strlen(slow->key_pem), aad,
                             &sealed_key, &sealed_key_len) != 0) {
            dir_server_error(&err);
            goto done;
        }
    }
    else if (dir_conn_oidc_client_key(req->dir, id, &conf, slow, &sealed_client_key,
                                      &sealed_client_key_len,
                          &client_cert, &err) != 0)
        goto done;
    else if (dir_conn_oidc_seal_secret(req->dir, id, &conf, &sealed_secret,
                                       &sealed_secret_len) != 0) {
        dir_server_error(&err);
        goto done;
    }
    options_text = json_dumps(conf.options, JSON_COMPACT);
    mapping_text = json_dumps(conf.mapping, JSON_COMPACT);
    discovered = s_discovered_text(slow);
    if (!options_text || !mapping_text) {
        dir_server_error(&err);
        goto done;
    }
    int64_t now = dir_now();
    int changes = 0;
    /* INSERT ... SELECT: the organization may have been deleted since the check above. */
    int rc = dir_db_run(req->dir->db, &changes,
                        "INSERT INTO connections (id, organization_id, type, status, name, "
                        "created_at, updated_at, saml_idp_entity_id, saml_idp_sso_url, "
                        "saml_idp_certificates, saml_idp_metadata_url, saml_sp_certificate, "
                        "saml_sp_key_sealed, oidc_issuer, oidc_client_id, "
                        "oidc_client_secret_sealed, oidc_scopes, options, attribute_mapping, "
                        "oidc_discovered, oidc_client_key_sealed, oidc_client_certificate, "
                        "saml_idp_metadata_signing_certificate) "
                        "SELECT ?, id, ?, 'draft', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "?, ?, ? FROM organizations WHERE id = ?",
                        "sssiisssssbssbssssbsss", id, type, conf.name, now, now,
                        conf.saml_entity_id, conf.saml_sso_url, certs_text,
                        conf.saml_metadata_url, saml ? slow->cert_pem : NULL, sealed_key,
                        sealed_key_len, conf.oidc_issuer, conf.oidc_client_id, sealed_secret,
                        sealed_secret_len, conf.oidc_scopes, options_text, mapping_text,
                        discovered, sealed_client_key, sealed_client_key_len, client_cert,
                        conf.saml_md_signing_cert, org_id);
    if (rc != DIR_DB_OK) {
        dir_server_error(&err);
        goto done;
    }
    if (changes == 0) {
        dir_not_found(&err, "no organization %s", org_id);
        goto done;
    }
    if (saml)
        dir_conn_refresh_imported(req->dir, id, conf.saml_metadata_url, s_fetched(slow, &conf));
    json_t *json = s_get(req->dir, id);
    reply = json ? sso_http_json(201, json) : NULL;
    if (!json)
        dir_server_error(&err);
    sso_info("%s connection %s created for %s", type, id, org_id);
done:
    free(sealed_key);
    free(sealed_secret);
    free(sealed_client_key);
    free(certs_text);
    free(options_text);
    free(mapping_text);
    free(discovered);
    dir_conn_conf_free(&conf);
    json_decref(body);
    return reply ? reply : slow->want != DIR_CONN_SLOW_NONE ? NULL : dir_error_reply(&err);
}

static zframe_t *s_create(dir_api_req_t *req, const char *org_id)
{
    return dir_conn_slow_in_passes(s_create_pass, req, org_id);
}

static zframe_t *s_patch_pass(dir_api_req_t *req, const char *id, dir_conn_slow_t *slow)
{
    dir_error_t err = {0};
    dir_conn_conf_t conf = {0};
    json_t *body = dir_api_body(req, &err);
    const char *type = NULL, *status = NULL;
    char *certs_text = NULL, *options_text = NULL, *mapping_text = NULL, *discovered = NULL;
    uint8_t *sealed_secret = NULL, *sealed_client_key = NULL;
    size_t sealed_secret_len = 0, sealed_client_key_len = 0;
    const char *client_cert = NULL;
    zframe_t *reply = NULL;
    if (!body)
        goto done;
    int found = s_load(req->dir, id, &conf);
    if (found <= 0) {
        if (found == 0)
            dir_not_found(&err, "no connection %s", id);
        else
            dir_server_error(&err);
        goto done;
    }
    /* Read-only fields may be sent back as they were; changing them is refused. */
    if (dir_json_string(body, "type", "type", 0, 16, &type, &err) < 0
        || dir_json_string(body, "status", "status", 0, 16, &status, &err) < 0)
        goto done;
    if (type && strcmp(type, conf.type) != 0) {
        dir_bad_request(&err, "type cannot change; create a new connection instead");
        goto done;
    }
    json_t *current = s_get(req->dir, id);
    const char *now_status = json_string_value(json_object_get(current, "status"));
    bool active = now_status && strcmp(now_status, "active") == 0;
    bool same = status && now_status && strcmp(now_status, status) == 0;
    json_decref(current);
    if (status) {
        if (!same) {
            dir_bad_request(&err, "status changes through POST /api/v1/connections/%s/enable "
                                  "or /disable", id);
            goto done;
        }
    }
    if (s_read_name(body, &conf, &err) != 0
        || s_read_settings(body, &conf, false, active, id, slow, &err) != 0
        || dir_conn_options_check_client(req->dir, conf.options, &err) != 0
        || dir_conn_oidc_client_key(req->dir, id, &conf, slow, &sealed_client_key,
                                    &sealed_client_key_len,
                        &client_cert, &err) != 0)
        goto done;
    certs_text = conf.saml_certs ? json_dumps(conf.saml_certs, JSON_COMPACT) : NULL;
    options_text = json_dumps(conf.options, JSON_COMPACT);
    mapping_text = json_dumps(conf.mapping, JSON_COMPACT);
    discovered = s_discovered_text(slow);
    if (!options_text || !mapping_text
        || dir_conn_oidc_seal_secret(req->dir, id, &conf, &sealed_secret,
                                     &sealed_secret_len) != 0) {
        dir_server_error(&err);
        goto done;
    }
    int changes = 0;
    int rc = dir_db_run(req->dir->db, &changes,
                        "UPDATE connections SET name = ?, updated_at = ?, saml_idp_entity_id = ?, "
                        "saml_idp_sso_url = ?, saml_idp_certificates = ?, "
                        "saml_idp_metadata_url = ?, oidc_issuer = ?, oidc_client_id = ?, "
                        "oidc_client_secret_sealed = coalesce(?, oidc_client_secret_sealed), "
                        "oidc_scopes = ?, options = ?, attribute_mapping = ?, "
                        "oidc_discovered = coalesce(?, oidc_discovered), "
                        "oidc_client_key_sealed = coalesce(?, oidc_client_key_sealed), "
                        "oidc_client_certificate = coalesce(?, oidc_client_certificate), "
                        "saml_idp_metadata_signing_certificate = ? WHERE id = ?",
                        "sissssssbssssbsss", conf.name, dir_now(), conf.saml_entity_id,
                        conf.saml_sso_url, certs_text, conf.saml_metadata_url, conf.oidc_issuer,
                        conf.oidc_client_id, sealed_secret, sealed_secret_len, conf.oidc_scopes,
                        options_text, mapping_text, discovered, sealed_client_key,
                        sealed_client_key_len, client_cert, conf.saml_md_signing_cert, id);
    if (rc != DIR_DB_OK) {
        dir_server_error(&err);
        goto done;
    }
    if (changes == 0) {
        dir_not_found(&err, "no connection %s", id);
        goto done;
    }
    if (!strcmp(conf.type, "saml"))
        dir_conn_refresh_imported(req->dir, id, conf.saml_metadata_url, s_fetched(slow, &conf));
    json_t *json = s_get(req->dir, id);
    reply = json ? sso_http_json(200, json) : NULL;
    if (!json)
        dir_not_found(&err, "no connection %s", id);
done:
    free(sealed_secret);
    free(sealed_client_key);
    free(certs_text);
    free(options_text);
    free(mapping_text);
    free(discovered);
    dir_conn_conf_free(&conf);
    json_decref(body);
    return reply ? reply : slow->want != DIR_CONN_SLOW_NONE ? NULL : dir_error_reply(&err);
}

static zframe_t *s_patch(dir_api_req_t *req, const char *id)
{
    return dir_conn_slow_in_passes(s_patch_pass, req, id);
}

/* The connection.activated / deactivated message of connection id, now in its new status. */
static int s_status_webhook(dir_t *dir, const char *id, bool enable)
{
    json_t *conn = s_get(dir, id);
    json_t *data = conn ? json_pack("{s:O, s:O, s:O, s:O?, s:O}", "id", json_object_get(conn, "id"),
                                    "organization_id", json_object_get(conn, "organization_id"),
                                    "type", json_object_get(conn, "type"), "name",
                                    json_object_get(conn, "name"), "status",
                                    json_object_get(conn, "status"))
                        : NULL;
    int rc = data && dir_webhooks_emit(dir, enable ? "connection.activated"
                                                   : "connection.deactivated",
                                       json_string_value(json_object_get(conn, "organization_id")),
                                       data) == 0
                 ? DIR_DB_OK
                 : DIR_DB_ERROR;
    json_decref(data);
    json_decref(conn);
    return rc;
}

/* draft -> active, inactive -> active, active -> inactive; the same state again is a no-op.
   slow: an enable's checked discovery, shown in the reply (NULL for a disable). */
static zframe_t *s_set_status(dir_api_req_t *req, const char *id, bool enable,
                              const dir_conn_slow_t *slow)
{
    int changes = 0;
    char *discovered = slow ? s_discovered_text(slow) : NULL;
    /* The status before, read in the change's write: a change (not a repeat) is a
       connection.activated / deactivated webhook, in that same write. */
    char before[16] = "";
    int rc = dir_db_begin(req->dir->db) == 0 ? DIR_DB_OK : DIR_DB_ERROR;
    dir_db_stmt_t *stmt = rc == DIR_DB_OK ? dir_db_query(req->dir->db, "SELECT status FROM "
                                                                       "connections WHERE id = ?",
                                                         "s", id)
                                          : NULL;
    if (stmt && dir_db_step(stmt) == DIR_DB_ROW)
        snprintf(before, sizeof before, "%s", dir_db_text(stmt, 0));
    dir_db_release(stmt);
    rc = rc != DIR_DB_OK ? rc
         : enable ? dir_db_run(req->dir->db, &changes,
                                 "UPDATE connections SET status = 'active', updated_at = "
                                 "CASE WHEN status = 'active' THEN updated_at ELSE ? END, "
                                 "oidc_discovered = coalesce(?, oidc_discovered) "
                                 "WHERE id = ?", "iss", dir_now(), discovered, id)
                    : dir_db_run(req->dir->db, &changes,
                                 "UPDATE connections SET status = 'inactive', updated_at = "
                                 "CASE WHEN status = 'inactive' THEN updated_at ELSE ? END "
                                 "WHERE id = ? AND status IN ('active', 'inactive')",
                                 "is", dir_now(), id);
    free(discovered);
    const char *after = enable ? "active" : "inactive";
    if (rc == DIR_DB_OK && changes == 1 && *before && strcmp(before, after) != 0)
        rc = s_status_webhook(req->dir, id, enable);
    if (rc != DIR_DB_OK || dir_db_commit(req->dir->db) != 0) {
        dir_db_rollback(req->dir->db);
        return dir_api_db_error();
    }
    json_t *json = s_get(req->dir, id);
    if (!json)
        return dir_api_not_found("connection", id);
    if (changes == 0) {
        json_decref(json);
        dir_error_t err;
        dir_conflict(&err, "connection %s is a draft; enable it first", id);
        return dir_error_reply(&err);
    }
    sso_info("connection %s %s", id, enable ? "enabled" : "disabled");
    return sso_http_json(200, json);
}

/* Enabling an OIDC connection checks its provider's discovery first. */
static zframe_t *s_enable_pass(dir_api_req_t *req, const char *id, dir_conn_slow_t *slow)
{
    dir_error_t err = {0};
    dir_conn_conf_t conf = {0};
    int found = s_load(req->dir, id, &conf);
    int checked = found != 1 ? 0
                  : s_complete(&conf, id, "enabled", &err) != 0 ? -1
                  : strcmp(conf.type, "oidc") == 0
                      ? dir_conn_oidc_check_discovery(conf.oidc_issuer, conf.options, slow, &err)
                      : 0;
    dir_conn_conf_free(&conf);
    if (found == 0)
        return dir_api_not_found("connection", id);
    if (found < 0)
        return dir_api_db_error();
    if (checked != 0)
        return slow->want != DIR_CONN_SLOW_NONE ? NULL : dir_error_reply(&err);
    return s_set_status(req, id, true, slow);
}

static zframe_t *s_enable(dir_api_req_t *req, const char *id)
{
    return dir_conn_slow_in_passes(s_enable_pass, req, id);
}

static zframe_t *s_disable(dir_api_req_t *req, const char *id)
{
    return s_set_status(req, id, false, NULL);
}

static zframe_t *s_list(dir_api_req_t *req, const char *org_id)
{
    return dir_api_list(req, dir_orgs_check, org_id, s_row_json,
                        "SELECT " DIR_CONN_COLUMNS DIR_CONN_FROM "WHERE c.organization_id = ? "
                        "AND c.seq > ? ORDER BY c.seq LIMIT ?", "s", org_id);
}

static zframe_t *s_show(dir_api_req_t *req, const char *id)
{
    return dir_api_found(s_get(req->dir, id), "connection", id);
}

static zframe_t *s_delete(dir_api_req_t *req, const char *id)
{
    return dir_api_delete(req->dir, "DELETE FROM connections WHERE id = ?", "connection", id, "");
}

zframe_t *dir_connections_org_http(dir_api_req_t *req)
{
    static const dir_api_methods_t methods = {.get = s_list, .post = s_create};
    return dir_api_dispatch(req, &methods, req->segments[1]);
}

zframe_t *dir_connections_http(dir_api_req_t *req)
{
    static const dir_api_methods_t item = {.get = s_show, .patch = s_patch, .del = s_delete};
    static const dir_api_methods_t enable = {.post = s_enable}, disable = {.post = s_disable};
    const char *id = req->segments[1];
    if (req->n_segments == 2)
        return dir_api_dispatch(req, &item, id);
    if (strcmp(req->segments[2], "sp_key") == 0)
        return dir_conn_sp_key_http(req);
    if (strcmp(req->segments[2], "last_login") == 0 && req->n_segments == 3)
        return dir_last_login_http(req);
    if (req->n_segments != 3)
        return sso_http_error(404, "not_found", "no such path under /api/v1");
    if (strcmp(req->segments[2], "enable") == 0)
        return dir_api_dispatch(req, &enable, id);
    if (strcmp(req->segments[2], "disable") == 0)
        return dir_api_dispatch(req, &disable, id);
    return sso_http_error(404, "not_found", "no such path under /api/v1");
}

/* ---- self-test ------------------------------------------------------------------------- */

static char *s_json_text(const char *pem)
{
    json_t *string = json_string(pem);
    char *text = json_dumps(string, JSON_ENCODE_ANY);
    json_decref(string);
    return text;
}

static int64_t s_count(dir_testkit_t *kit)
{
    return dir_db_int(kit->dir->db, "SELECT count(*) FROM connections", NULL);
}

/* Drafts of org (its connections at path): made without the IdP's settings or with some,
   with their own SP values or redirect URI to paste into the IdP's console; enabled only
   once all have come by PATCH (400 naming the missing ones); an expired certificate is
   refused at create and change. Deleted after. */
static void s_test_drafts(dir_testkit_t *kit, const char *path, const char *cert_json)
{
    json_t *body = NULL;
    char id[64] = "", item[200], action[240], text[8192];
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{\"type\":\"saml\"}", &body) == 201);
    snprintf(id, sizeof id, "%s", dir_testkit_str(body, "id"));
    snprintf(item, sizeof item, "/api/v1/connections/%s", id);
    snprintf(action, sizeof action, "%s/enable", item);
    json_t *saml = json_object_get(body, "saml");
    SSO_CHECK(!strcmp(dir_testkit_str(body, "status"), "draft")
              && json_is_null(json_object_get(saml, "idp_entity_id"))
              && json_is_null(json_object_get(saml, "idp_sso_url"))
              && json_array_size(json_object_get(saml, "idp_certificates")) == 0
              && json_array_size(json_object_get(saml, "idp_certificate_details")) == 0
              && strstr(dir_testkit_str(json_object_get(body, "sp"), "acs_url"), id));
    json_decref(body);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "POST", action, NULL, &body), &body,
                                  "cannot be enabled without the IdP's settings: "
                                  "saml.idp_entity_id, saml.idp_sso_url and "
                                  "saml.idp_certificates are missing"));
    SSO_CHECK(dir_testkit_call(kit, "PATCH", item, "{\"saml\":{\"idp_entity_id\":\"x\","
                                                   "\"idp_sso_url\":\"https://i/s\"}}", NULL)
              == 200);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "POST", action, NULL, &body), &body,
                                  "saml.idp_certificates is missing"));
    /* An expired certificate: refused with its date and name, at a change and a create. */
    char *old_key = NULL, *old = NULL;
    SSO_CHECK(dir_pki_self_signed("Old IdP", 1704067200, 1706659200, &old_key, &old) == 0);
    char *old_json = s_json_text(old ? old : "");
    const char *want = "saml.idp_certificates[0] expired on 2024-01-31 (CN=Old IdP)";
    snprintf(text, sizeof text, "{\"saml\":{\"idp_certificates\":[%s]}}", old_json);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", item, text, &body), &body,
                                  want));
    snprintf(text, sizeof text, "{\"type\":\"saml\",\"saml\":{\"idp_entity_id\":\"x\","
             "\"idp_sso_url\":\"https://i/s\",\"idp_certificates\":[%s]}}", old_json);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "POST", path, text, &body), &body,
                                  want));
    free(old_json);
    free(old_key);
    free(old);
    snprintf(text, sizeof text, "{\"saml\":{\"idp_certificates\":[%s]}}", cert_json);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", item, text, &body) == 200);
    json_t *details = json_object_get(json_object_get(body, "saml"), "idp_certificate_details");
    SSO_CHECK(json_array_size(details) == 1
              && !strcmp(dir_testkit_str(json_array_get(details, 0), "subject"),
                         "CN=idp.example.com")
              && json_is_false(json_object_get(json_array_get(details, 0), "expired")));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "POST", action, NULL, NULL) == 200);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", item, NULL, NULL) == 204);

    /* OIDC: the redirect URI first, the provider's settings later. */
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{\"type\":\"oidc\",\"oidc\":null}", &body)
              == 201);
    snprintf(id, sizeof id, "%s", dir_testkit_str(body, "id"));
    snprintf(item, sizeof item, "/api/v1/connections/%s", id);
    snprintf(action, sizeof action, "%s/enable", item);
    json_t *oidc = json_object_get(body, "oidc");
    SSO_CHECK(json_is_null(json_object_get(oidc, "issuer"))
              && json_is_null(json_object_get(oidc, "client_id"))
              && strstr(dir_testkit_str(oidc, "redirect_uri"), id));
    json_decref(body);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "POST", action, NULL, &body), &body,
                                  "oidc.issuer, oidc.client_id and oidc.client_secret are "
                                  "missing"));
    SSO_CHECK(dir_testkit_call(kit, "DELETE", item, NULL, NULL) == 204);
}

static void s_test(dir_testkit_t *kit)
{
    json_t *body = NULL;
    char org[64] = "", path[160], buffer[16384];
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"A\"}", "id", org, sizeof org) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/connections", org);

    /* An IdP certificate to paste. */
    char *idp_key = NULL, *idp_cert = NULL;
    SSO_CHECK(dir_pki_sp_keypair("idp.example.com", &idp_key, &idp_cert) == 0);
    char *cert_json = s_json_text(idp_cert ? idp_cert : "");

    /* SAML with explicit settings. */
    snprintf(buffer, sizeof buffer,
             "{\"type\":\"saml\",\"saml\":{\"idp_entity_id\":\"https://idp.example.com/e\","
             "\"idp_sso_url\":\"https://idp.example.com/sso\",\"idp_certificates\":[%s]}}",
             cert_json);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, buffer, &body) == 201);
    char conn[64] = "", conn_path[160];
    snprintf(conn, sizeof conn, "%s", dir_testkit_str(body, "id"));
    snprintf(conn_path, sizeof conn_path, "/api/v1/connections/%s", conn);
    SSO_CHECK(!strncmp(conn, "conn_", 5) && !strcmp(dir_testkit_str(body, "status"), "draft")
              && !strcmp(dir_testkit_str(body, "type"), "saml")
              && !strcmp(dir_testkit_str(body, "organization_id"), org));
    json_t *sp = json_object_get(body, "sp");
    char expect[200];
    snprintf(expect, sizeof expect, "https://sso.test/sso/saml/%s", conn);
    SSO_CHECK(!strcmp(dir_testkit_str(sp, "entity_id"), expect));
    snprintf(expect, sizeof expect, "https://sso.test/sso/saml/%s/acs", conn);
    SSO_CHECK(!strcmp(dir_testkit_str(sp, "acs_url"), expect));
    snprintf(expect, sizeof expect, "https://sso.test/sso/saml/%s/metadata", conn);
    SSO_CHECK(!strcmp(dir_testkit_str(sp, "metadata_url"), expect));
    SSO_CHECK(strstr(dir_testkit_str(sp, "certificate"), "BEGIN CERTIFICATE"));
    SSO_CHECK(strlen(dir_testkit_str(body, "created_at")) == 20);
    json_decref(body);
    /* The SP key is sealed at rest, bound to this connection. */
    dir_db_stmt_t *stmt = dir_db_query(kit->dir->db, "SELECT saml_sp_key_sealed FROM connections "
                                                     "WHERE id = ?", "s", conn);
    if (stmt && dir_db_step(stmt) == DIR_DB_ROW) {
        char aad[200];
        snprintf(aad, sizeof aad, "connection:%s:sp_key", conn);
        size_t len;
        const void *blob = dir_db_blob(stmt, 0, &len);
        SSO_CHECK(!memmem(blob, len, "PRIVATE", 7));
        char *key = dir_keys_open(kit->dir->keys, blob, len, aad, NULL);
        SSO_CHECK(key && strstr(key, "BEGIN PRIVATE KEY"));
        free(key);
        SSO_CHECK(!dir_keys_open(kit->dir->keys, blob, len, "connection:other:sp_key", NULL));
    }
    else
        SSO_CHECK(!"sealed key row");
    dir_db_release(stmt);

    /* Status: draft cannot be disabled; enable; disable; enable again. */
    char action[200];
    snprintf(action, sizeof action, "%s/disable", conn_path);
    SSO_CHECK(dir_testkit_call(kit, "POST", action, NULL, &body) == 409);
    json_decref(body);
    snprintf(action, sizeof action, "%s/enable", conn_path);
    SSO_CHECK(dir_testkit_call(kit, "GET", action, NULL, NULL) == 405);
    SSO_CHECK(dir_testkit_call(kit, "POST", action, NULL, &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "status"), "active"));
    json_decref(body);
    snprintf(action, sizeof action, "%s/disable", conn_path);
    SSO_CHECK(dir_testkit_call(kit, "POST", action, NULL, &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "status"), "inactive"));
    json_decref(body);
    snprintf(action, sizeof action, "%s/enable", conn_path);
    SSO_CHECK(dir_testkit_call(kit, "POST", action, NULL, &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "status"), "active"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/connections/conn_none/enable", NULL, NULL)
              == 404);

    /* Refusals change nothing. */
    int64_t before = s_count(kit);
    const char *bad[] = {
        "{}",
        "{\"type\":\"ldap\"}",
        "{\"type\":5}",
        "{\"type\":\"saml\",\"saml\":[]}",
        "{\"type\":\"saml\",\"saml\":{\"idp_entity_id\":\"x\",\"idp_sso_url\":\"ftp://i/s\","
        "\"idp_certificates\":[\"x\"]}}",
        "{\"type\":\"saml\",\"saml\":{\"idp_entity_id\":\"x\",\"idp_sso_url\":\"https://i/s\","
        "\"idp_certificates\":[\"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\"]}}",
        "{\"type\":\"saml\",\"saml\":{\"idp_metadata_xml\":\"<!DOCTYPE x><x/>\"}}",
        "{\"type\":\"saml\",\"saml\":{\"idp_metadata_xml\":\"<x\"}}",
        "{\"type\":\"saml\",\"saml\":{\"idp_metadata_url\":\"file:///etc/passwd\"}}",
        "{\"type\":\"saml\",\"saml\":{\"idp_metadata_url\":\"http://127.0.0.1:1/md\"}}",
        "{\"type\":\"oidc\",\"oidc\":{\"issuer\":\"https://idp.example.com\",\"client_id\":\"c\"}}",
        "{\"type\":\"oidc\",\"oidc\":{\"issuer\":\"not a url\",\"client_id\":\"c\","
        "\"client_secret\":\"s\"}}",
        "{\"type\":\"oidc\",\"oidc\":{\"issuer\":\"https://i\",\"client_id\":\"c\","
        "\"client_secret\":\"s\",\"scopes\":[1]}}",
        "{\"type\":\"oidc\",\"saml\":{},\"oidc\":{\"issuer\":\"https://i\",\"client_id\":\"c\","
        "\"client_secret\":\"s\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int status = dir_testkit_call(kit, "POST", path, bad[i], &body);
        SSO_CHECK(status == 400 && !strcmp(dir_testkit_str(body, "error"), "invalid_request"));
        if (status != 400)
            fprintf(stderr, "case %zu: %d\n", i, status);
        json_decref(body);
    }
    SSO_CHECK(dir_testkit_call(kit, "POST", path,
                               "{\"type\":\"saml\",\"saml\":{\"idp_metadata_url\":"
                               "\"http://127.0.0.1:1/md\"}}", &body) == 400);
    SSO_CHECK(strstr(dir_testkit_str(body, "error_description"), "must use https")
              && strstr(dir_testkit_str(body, "error_description"), "SSO_ALLOW_PRIVATE_UPSTREAMS"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations/org_none/connections",
                               "{\"type\":\"oidc\"}", NULL) == 404);
    SSO_CHECK(s_count(kit) == before);
    s_test_drafts(kit, path, cert_json);
    SSO_CHECK(s_count(kit) == before);

    /* SAML from metadata XML. */
    if (idp_cert) {
        char md[8192];
        SSO_CHECK(dir_testkit_saml_metadata("https://okta.test/x", "https://okta.test/sso",
                                            idp_cert, md, sizeof md) == 0);
        json_t *request = json_pack("{s:s, s:{s:s}}", "type", "saml", "saml", "idp_metadata_xml",
                                    md);
        char *text = json_dumps(request, JSON_COMPACT);
        SSO_CHECK(dir_testkit_call(kit, "POST", path, text, &body) == 201);
        json_t *saml = json_object_get(body, "saml");
        SSO_CHECK(!strcmp(dir_testkit_str(saml, "idp_entity_id"), "https://okta.test/x")
                  && !strcmp(dir_testkit_str(saml, "idp_sso_url"), "https://okta.test/sso")
                  && json_array_size(json_object_get(saml, "idp_certificates")) == 1);
        json_decref(body);
        free(text);
        json_decref(request);
    }

    /* OIDC: discovery is checked at create, change and enable (s_test_discovery); here a
       provider that passes. */
    sso_oidc_test_idp_t *idp = sso_oidc_test_idp_new();
    char issuer[200] = "";
    SSO_CHECK(idp && sso_oidc_test_idp_provider(idp, "/accounts", issuer, sizeof issuer) == 0);
    kit->dir->allow_private_upstreams = true;
    /* The secret is sealed and never returned; scopes always include openid. */
    snprintf(buffer, sizeof buffer,
             "{\"type\":\"oidc\",\"name\":\"Google\",\"oidc\":{\"issuer\":\"%s\","
             "\"client_id\":\"abc\",\"client_secret\":\"TOPSECRET-123\",\"scopes\":[\"email\","
             "\"profile\"]}}", issuer);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, buffer, &body) == 201);
    char oidc[64] = "", oidc_path[160];
    snprintf(oidc, sizeof oidc, "%s", dir_testkit_str(body, "id"));
    snprintf(oidc_path, sizeof oidc_path, "/api/v1/connections/%s", oidc);
    char *dump = json_dumps(body, 0);
    SSO_CHECK(dump && !strstr(dump, "TOPSECRET"));
    free(dump);
    json_t *o = json_object_get(body, "oidc");
    SSO_CHECK(json_is_true(json_object_get(o, "client_secret_set"))
              && json_array_size(json_object_get(o, "scopes")) == 3
              && !strcmp(json_string_value(json_array_get(json_object_get(o, "scopes"), 0)),
                         "openid")
              && !json_object_get(body, "sp"));
    json_decref(body);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM connections WHERE "
                                       "instr(oidc_client_secret_sealed, 'TOPSECRET') > 0", NULL)
              == 0);

    /* PATCH: settings change, read-only fields guarded, bad input changes nothing. */
    SSO_CHECK(dir_testkit_call(kit, "PATCH", oidc_path,
                               "{\"oidc\":{\"client_id\":\"def\",\"client_secret\":\"NEW\"}}",
                               &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json_object_get(body, "oidc"), "client_id"), "def")
              && !strcmp(dir_testkit_str(json_object_get(body, "oidc"), "issuer"), issuer));
    json_decref(body);
    stmt = dir_db_query(kit->dir->db, "SELECT oidc_client_secret_sealed FROM connections WHERE "
                                      "id = ?", "s", oidc);
    if (stmt && dir_db_step(stmt) == DIR_DB_ROW) {
        char aad[200];
        snprintf(aad, sizeof aad, "connection:%s:oidc_client_secret", oidc);
        size_t sealed_len;
        const void *sealed = dir_db_blob(stmt, 0, &sealed_len);
        char *secret = dir_keys_open(kit->dir->keys, sealed, sealed_len, aad, NULL);
        SSO_CHECK(secret && !strcmp(secret, "NEW"));
        free(secret);
    }
    dir_db_release(stmt);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", oidc_path, "{\"type\":\"saml\"}", NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", oidc_path, "{\"status\":\"active\"}", NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", oidc_path, "{\"status\":\"draft\"}", NULL) == 200);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", oidc_path, "{\"oidc\":{\"issuer\":\"nope\"}}", NULL)
              == 400);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", oidc_path, "{\"saml\":{}}", NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", conn_path,
                               "{\"saml\":{\"idp_certificates\":[\"junk\"]}}", NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", conn_path,
                               "{\"saml\":{\"idp_sso_url\":\"https://idp.example.com/new\"}}",
                               &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json_object_get(body, "saml"), "idp_sso_url"),
                      "https://idp.example.com/new")
              && !strcmp(dir_testkit_str(body, "status"), "active"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", "/api/v1/connections/conn_none", "{}", NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 3);
    json_decref(body);

    /* Survives a restart (sealed values open with the reused master key). */
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    char status[32];
    SSO_CHECK(dir_testkit_field(kit, "GET", conn_path, NULL, "status", status, sizeof status)
              == 200);
    SSO_CHECK(!strcmp(status, "active"));

    SSO_CHECK(dir_testkit_call(kit, "DELETE", oidc_path, NULL, NULL) == 204);
    SSO_CHECK(dir_testkit_call(kit, "GET", oidc_path, NULL, NULL) == 404);
    /* Deleting the organization deletes its connections. */
    char org_path[160];
    snprintf(org_path, sizeof org_path, "/api/v1/organizations/%s", org);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", org_path, NULL, NULL) == 204);
    SSO_CHECK(s_count(kit) == 0);
    SSO_CHECK(dir_testkit_call(kit, "GET", conn_path, NULL, NULL) == 404);
    free(cert_json);
    free(idp_key);
    free(idp_cert);
    sso_oidc_test_idp_destroy(&idp);
}

/* Serves at prefix a discovery for issuer that lists only the query response mode. */
static int s_serve_query_only(sso_oidc_test_idp_t *idp, const char *prefix, const char *issuer)
{
    char doc[1200], path[200];
    const char *base = sso_oidc_test_idp_url(idp);
    snprintf(doc, sizeof doc, "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/a\","
             "\"token_endpoint\":\"%s/t\",\"jwks_uri\":\"%s/j\","
             "\"response_types_supported\":[\"code\"],\"response_modes_supported\":[\"query\"],"
             "\"id_token_signing_alg_values_supported\":[\"RS256\"]}", issuer, base, base, base);
    snprintf(path, sizeof path, "%s/.well-known/openid-configuration", prefix);
    return sso_oidc_test_idp_route(idp, path, 200, "Content-Type: application/json\r\n", doc,
                                   0);
}

/* Options and attribute mapping through the API: created with them, merged by a change,
   refused with the field's name and nothing changed, and in the Connection the login steps
   read. */
static void s_test_options(dir_testkit_t *kit)
{
    char org[64] = "", path[160], issuer[200], body_text[600], conn_path[200];
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"O\"}", "id", org, sizeof org) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/connections", org);
    sso_oidc_test_idp_t *idp = sso_oidc_test_idp_new();
    SSO_CHECK(idp && sso_oidc_test_idp_provider(idp, "/o", issuer, sizeof issuer) == 0);
    if (!idp)
        return;
    kit->dir->allow_private_upstreams = true;
    json_t *body = NULL;
    snprintf(body_text, sizeof body_text,
             "{\"type\":\"oidc\",\"oidc\":{\"issuer\":\"%s\",\"client_id\":\"c\","
             "\"client_secret\":\"s\"},\"options\":{\"response_mode\":\"form_post\"},"
             "\"attribute_mapping\":{\"email\":\"mail\"}}", issuer);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, body_text, &body) == 201);
    SSO_CHECK(!strcmp(dir_testkit_str(json_object_get(body, "options"), "response_mode"),
                      "form_post"));
    SSO_CHECK(!strcmp(dir_testkit_str(json_object_get(body, "attribute_mapping"), "email"),
                      "mail"));
    char id[64];
    snprintf(id, sizeof id, "%s", dir_testkit_str(body, "id"));
    snprintf(conn_path, sizeof conn_path, "/api/v1/connections/%s", id);
    json_decref(body);
    /* A change merges: one key set, one removed; a wrong one changes nothing. */
    SSO_CHECK(dir_testkit_call(kit, "PATCH", conn_path,
                               "{\"options\":{\"allow_unverified_email\":true},"
                               "\"attribute_mapping\":{\"email\":null,\"groups\":\"roles\"}}",
                               &body) == 200);
    json_t *options = json_object_get(body, "options");
    SSO_CHECK(json_object_size(options) == 2 && json_is_true(json_object_get(
                                                    options, "allow_unverified_email")));
    SSO_CHECK(json_object_size(json_object_get(body, "attribute_mapping")) == 1);
    json_decref(body);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", conn_path,
                                                   "{\"options\":{\"response_mode\":\"query\","
                                                   "\"idp_initiated\":true}}", &body),
                                  &body,
                                  "options.idp_initiated is not an option of oidc connections"));
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", conn_path,
                                                   "{\"attribute_mapping\":{\"email\":\"\"}}",
                                                   &body),
                                  &body, "attribute_mapping.email must be"));
    SSO_CHECK(dir_testkit_call(kit, "GET", conn_path, NULL, &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json_object_get(body, "options"), "response_mode"),
                      "form_post"));
    json_decref(body);
    /* What the oidc service reads. */
    dir_error_t err = {0};
    Sso__Connection *conn = dir_login_connection_for_login(kit->dir, id, &err);
    SSO_CHECK(conn && !strcmp(conn->oidc_response_mode, "form_post")
              && conn->allow_unverified_email && conn->n_attribute_mapping == 1
              && !strcmp(conn->attribute_mapping[0]->field, "groups")
              && !strcmp(conn->attribute_mapping[0]->name, "roles"));
    if (conn)
        sso__connection__free_unpacked(conn, NULL);
    /* form_post needs a provider whose discovery lists it: refused at create, at a change
       of the options alone and at enable, with the reason; nothing changed. */
    char doc[1200], query_issuer[200], want[400];
    snprintf(query_issuer, sizeof query_issuer, "%s/q", sso_oidc_test_idp_url(idp));
    SSO_CHECK(s_serve_query_only(idp, "/q", query_issuer) == 0);
    snprintf(want, sizeof want, "options.response_mode: form_post is not in the "
             "response_modes_supported of %s's discovery", query_issuer);
    snprintf(body_text, sizeof body_text,
             "{\"type\":\"oidc\",\"oidc\":{\"issuer\":\"%s\",\"client_id\":\"c\","
             "\"client_secret\":\"s\"},\"options\":{\"response_mode\":\"form_post\"}}",
             query_issuer);
    int64_t before = s_count(kit);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "POST", path, body_text, &body), &body,
                                  want));
    SSO_CHECK(s_count(kit) == before);
    snprintf(body_text, sizeof body_text,
             "{\"type\":\"oidc\",\"oidc\":{\"issuer\":\"%s\",\"client_id\":\"c\","
             "\"client_secret\":\"s\"}}", query_issuer);
    char query_path[200];
    SSO_CHECK(dir_testkit_field(kit, "POST", path, body_text, "id", id, sizeof id) == 201);
    snprintf(query_path, sizeof query_path, "/api/v1/connections/%s", id);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", query_path,
                                                   "{\"options\":{\"response_mode\":"
                                                   "\"form_post\"}}", &body),
                                  &body, want));
    SSO_CHECK(dir_testkit_call(kit, "GET", query_path, NULL, &body) == 200
              && !json_object_get(json_object_get(body, "options"), "response_mode"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", query_path,
                               "{\"options\":{\"response_mode\":\"query\"}}", NULL) == 200);
    /* The provider stops listing form_post after a form_post connection was made: its
       enable is refused. */
    SSO_CHECK(s_serve_query_only(idp, "/o", issuer) == 0);
    snprintf(want, sizeof want, "options.response_mode: form_post is not in the "
             "response_modes_supported of %s's discovery", issuer);
    snprintf(doc, sizeof doc, "%s/enable", conn_path);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "POST", doc, NULL, &body), &body, want));
    SSO_CHECK(dir_testkit_field(kit, "GET", conn_path, NULL, "status", doc, sizeof doc) == 200
              && !strcmp(doc, "draft"));

    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "POST", path,
                                                   "{\"type\":\"saml\",\"saml\":{},\"options\":"
                                                   "{\"response_mode\":\"form_post\"}}", &body),
                                  &body,
                                  "options.response_mode is not an option of saml connections"));
    sso_oidc_test_idp_destroy(&idp);

    /* SAML's options reach the saml service's Connection, and a change of one is a new
       version of the connection (a login begun before it completes against it: STALE). */
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{\"type\":\"saml\",\"options\":"
                               "{\"require_encryption\":true}}", &body) == 201);
    snprintf(id, sizeof id, "%s", dir_testkit_str(body, "id"));
    snprintf(conn_path, sizeof conn_path, "/api/v1/connections/%s", id);
    SSO_CHECK(json_is_true(json_object_get(json_object_get(body, "options"),
                                           "require_encryption")));
    json_decref(body);
    dir_error_t saml_err = {0};
    char before_version[65] = "", after_version[65] = "";
    Sso__Connection *saml = dir_login_connection_for_login(kit->dir, id, &saml_err);
    SSO_CHECK(saml && saml->saml_require_encryption && !saml->saml_allow_3des);
    if (saml)
        sso__connection__free_unpacked(saml, NULL);
    SSO_CHECK(dir_login_connection_version(kit->dir, id, before_version, &saml_err) == 0);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", conn_path, "{\"options\":{\"allow_3des\":true,"
                               "\"require_encryption\":null}}", NULL) == 200);
    SSO_CHECK(dir_login_connection_version(kit->dir, id, after_version, &saml_err) == 0
              && strcmp(before_version, after_version) != 0);
    saml = dir_login_connection_for_login(kit->dir, id, &saml_err);
    SSO_CHECK(saml && !saml->saml_require_encryption && saml->saml_allow_3des);
    if (saml)
        sso__connection__free_unpacked(saml, NULL);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", conn_path,
                                                   "{\"options\":{\"allow_3des\":\"yes\"}}",
                                                   &body),
                                  &body, "options.allow_3des must be true or false"));
}

void dir_connections_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
    dir_testkit_run(s_test_options);
}
