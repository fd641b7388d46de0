/* dir_conn_sp_key: rotation and retirement of a SAML connection's SP key pair. */
#include "api/dir_conn_sp_key.h"
#include "dir_connection_columns.h"
#include "api/dir_conn_saml.h"
#include "api/dir_conn_slow.h"
#include "api/dir_connections.h"
#include "login/dir_login.h"
#include "dir_testkit.h"
#include "sso_log.h"
#include "sso_test.h"
#include <openssl/crypto.h>

void dir_conn_sp_key_json(dir_db_stmt_t *stmt, json_t *sp)
{
    bool previous = !dir_db_is_null(stmt, DIR_CONN_SP_PREVIOUS_CERT);
    json_t *pems = json_pack("[s]", dir_db_text(stmt, DIR_CONN_SP_CERT));
    if (previous)
        json_array_append_new(pems, json_string(dir_db_text(stmt, DIR_CONN_SP_PREVIOUS_CERT)));
    json_t *details = dir_conn_saml_cert_details(pems);
    json_object_set_new(sp, "previous_certificate",
                        previous ? json_string(dir_db_text(stmt, DIR_CONN_SP_PREVIOUS_CERT))
                                 : json_null());
    json_object_set_new(sp, "certificate_details", details);
    json_decref(pems);
}

/* The connection's type and whether it has a previous SP key pair; 1 found, 0 not, -1 error. */
static int s_state(dir_t *dir, const char *id, char type[8], bool *has_previous)
{
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT type, saml_sp_previous_certificate IS "
                                                "NOT NULL FROM connections WHERE id = ?",
                                       "s", id);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    if (step == DIR_DB_ROW) {
        snprintf(type, 8, "%s", dir_db_text(stmt, 0));
        *has_previous = dir_db_int64(stmt, 1) != 0;
    }
    dir_db_release(stmt);
    return step == DIR_DB_ROW ? 1 : step == DIR_DB_DONE ? 0 : -1;
}

/* NULL when connection id is a SAML connection, with whether it has a previous SP key pair;
   else the reply that refuses (404, 400, 500). */
static zframe_t *s_saml_state(dir_t *dir, const char *id, bool *has_previous)
{
    char type[8] = "";
    int found = s_state(dir, id, type, has_previous);
    if (found == 0)
        return dir_api_not_found("connection", id);
    if (found < 0)
        return dir_api_db_error();
    if (strcmp(type, "saml") == 0)
        return NULL;
    dir_error_t err = {0};
    dir_bad_request(&err, "connection %s is an %s connection; only a SAML connection has an SP "
                          "key", id, type);
    return dir_error_reply(&err);
}

/* The connection's reply after a change, or 404 when it went meanwhile. */
static zframe_t *s_reply(dir_t *dir, const char *id)
{
    return dir_api_found(dir_connections_get(dir, id), "connection", id);
}

/* The current key re-sealed as the previous one (its own AAD), or -1. */
static int s_reseal_current(dir_t *dir, const char *id, uint8_t **sealed, size_t *sealed_len)
{
    char aad[200], previous_aad[220];
    snprintf(aad, sizeof aad, "connection:%s:sp_key", id);
    snprintf(previous_aad, sizeof previous_aad, "connection:%s:sp_key_previous", id);
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT saml_sp_key_sealed FROM connections "
                                                "WHERE id = ?", "s", id);
    char *key = NULL;
    size_t len = 0;
    if (stmt && dir_db_step(stmt) == DIR_DB_ROW && !dir_db_is_null(stmt, 0)) {
        size_t blob_len = 0;
        const void *blob = dir_db_blob(stmt, 0, &blob_len);
        key = dir_keys_open(dir->keys, blob, blob_len, aad, &len);
    }
    dir_db_release(stmt);
    int rc = key ? dir_keys_seal(dir->keys, key, len, previous_aad, sealed, sealed_len) : -1;
    if (key) {
        OPENSSL_cleanse(key, len);
        free(key);
    }
    return rc;
}

static zframe_t *s_rotate_pass(dir_api_req_t *req, const char *id, dir_conn_slow_t *slow)
{
    dir_error_t err = {0};
    bool has_previous = false;
    zframe_t *refusal = s_saml_state(req->dir, id, &has_previous);
    if (refusal)
        return refusal;
    if (has_previous) {
        dir_conflict(&err, "connection %s still has the SP key pair of its last rotation; "
                           "retire it first (POST /api/v1/connections/%s/sp_key/"
                           "retire_previous) once the IdP encrypts to the current certificate",
                     id, id);
        return dir_error_reply(&err);
    }
    if (!slow->keyed) {
        slow->id = strdup(id);
        slow->want = DIR_CONN_SLOW_KEY_PAIR;
        return slow->id ? NULL : dir_api_db_error();
    }
    char aad[200];
    snprintf(aad, sizeof aad, "connection:%s:sp_key", id);
    uint8_t *sealed = NULL, *previous = NULL;
    size_t sealed_len = 0, previous_len = 0;
    int changes = 0;
    int rc = slow->key_rc == 0
                     && dir_keys_seal(req->dir->keys, slow->key_pem, strlen(slow->key_pem), aad,
                                      &sealed, &sealed_len) == 0
                     && s_reseal_current(req->dir, id, &previous, &previous_len) == 0
                 ? dir_db_run(req->dir->db, &changes,
                              "UPDATE connections SET saml_sp_previous_certificate = "
                              "saml_sp_certificate, saml_sp_previous_key_sealed = ?, "
                              "saml_sp_certificate = ?, saml_sp_key_sealed = ?, updated_at = ? "
                              "WHERE id = ? AND saml_sp_previous_certificate IS NULL",
                              "bsbis", previous, previous_len, slow->cert_pem, sealed,
                              sealed_len, dir_now(), id)
                 : DIR_DB_ERROR;
    free(sealed);
    free(previous);
    if (rc != DIR_DB_OK || changes != 1)
        return dir_api_db_error();
    sso_info("connection %s: SP key pair rotated; the previous one decrypts until it is "
             "retired", id);
    return s_reply(req->dir, id);
}

static zframe_t *s_rotate(dir_api_req_t *req, const char *id)
{
    return dir_conn_slow_in_passes(s_rotate_pass, req, id);
}

static zframe_t *s_retire(dir_api_req_t *req, const char *id)
{
    dir_error_t err = {0};
    bool has_previous = false;
    zframe_t *refusal = s_saml_state(req->dir, id, &has_previous);
    if (refusal)
        return refusal;
    if (!has_previous) {
        dir_conflict(&err, "connection %s has no previous SP key pair to retire (rotate "
                           "first: POST /api/v1/connections/%s/sp_key/rotate)", id, id);
        return dir_error_reply(&err);
    }
    if (dir_db_run(req->dir->db, NULL, "UPDATE connections SET saml_sp_previous_certificate = "
                                       "NULL, saml_sp_previous_key_sealed = NULL, updated_at = "
                                       "? WHERE id = ?", "is", dir_now(), id) != DIR_DB_OK)
        return dir_api_db_error();
    sso_info("connection %s: previous SP key pair retired", id);
    return s_reply(req->dir, id);
}

zframe_t *dir_conn_sp_key_http(dir_api_req_t *req)
{
    static const dir_api_methods_t rotate = {.post = s_rotate}, retire = {.post = s_retire};
    const char *action = req->n_segments == 4 ? req->segments[3] : "";
    if (strcmp(action, "rotate") == 0)
        return dir_api_dispatch(req, &rotate, req->segments[1]);
    if (strcmp(action, "retire_previous") == 0)
        return dir_api_dispatch(req, &retire, req->segments[1]);
    return sso_http_error(404, "not_found", "no such path under /api/v1");
}

/* ---- self-test ------------------------------------------------------------------------- */

/* The connection as the saml service reads it for a login (with its keys). */
static Sso__Connection *s_for_login(dir_testkit_t *kit, const char *id)
{
    dir_error_t err = {0};
    return dir_login_connection_for_login(kit->dir, id, &err);
}

/* A 409 whose description has want. */
static bool s_conflict(int status, json_t **body, const char *want)
{
    const char *text = dir_testkit_str(*body, "error_description");
    bool ok = status == 409 && text && strstr(text, want);
    if (!ok)
        fprintf(stderr, "wanted 409 with \"%s\", got %d %s\n", want, status, text ? text : "");
    json_decref(*body);
    *body = NULL;
    return ok;
}

static void s_test(dir_testkit_t *kit)
{
    char org[64] = "", id[64] = "", path[200], rotate[240], retire[240], oidc[240];
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations", "{\"display_name\":\"R\"}",
                                "id", org, sizeof org) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/connections", org);
    SSO_CHECK(dir_testkit_field(kit, "POST", path, "{\"type\":\"saml\"}", "id", id, sizeof id)
              == 201);
    snprintf(path, sizeof path, "/api/v1/connections/%s", id);
    snprintf(rotate, sizeof rotate, "%s/sp_key/rotate", path);
    snprintf(retire, sizeof retire, "%s/sp_key/retire_previous", path);

    /* Before any rotation: one certificate, nothing to retire. */
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, &body) == 200);
    json_t *sp = json_object_get(body, "sp");
    json_t *details = json_object_get(sp, "certificate_details");
    char first_cert[4096] = "", first_fp[96] = "";
    snprintf(first_cert, sizeof first_cert, "%s", dir_testkit_str(sp, "certificate"));
    snprintf(first_fp, sizeof first_fp, "%s",
             dir_testkit_str(json_array_get(details, 0), "sha256_fingerprint"));
    SSO_CHECK(json_is_null(json_object_get(sp, "previous_certificate"))
              && json_array_size(details) == 1
              && strlen(dir_testkit_str(json_array_get(details, 0), "sha256_fingerprint")) == 95
              && strlen(dir_testkit_str(json_array_get(details, 0), "not_after")) == 20);
    json_decref(body);
    SSO_CHECK(s_conflict(dir_testkit_call(kit, "POST", retire, NULL, &body), &body,
                         "has no previous SP key pair to retire"));
    char v0[65] = "", v1[65] = "", v2[65] = "";
    dir_error_t err = {0};
    SSO_CHECK(dir_login_connection_version(kit->dir, id, v0, &err) == 0);
    Sso__Connection *before = s_for_login(kit, id);
    SSO_CHECK(before && strstr(before->sp_private_key_pem, "PRIVATE KEY")
              && !*before->sp_previous_private_key_pem && !*before->sp_previous_certificate_pem);

    /* Rotate: a new pair, the old one kept as the previous; both reach the saml service. */
    SSO_CHECK(dir_testkit_call(kit, "POST", rotate, NULL, &body) == 200);
    sp = json_object_get(body, "sp");
    details = json_object_get(sp, "certificate_details");
    SSO_CHECK(strcmp(dir_testkit_str(sp, "certificate"), first_cert) != 0
              && !strcmp(dir_testkit_str(sp, "previous_certificate"), first_cert)
              && json_array_size(details) == 2
              && strcmp(dir_testkit_str(json_array_get(details, 0), "sha256_fingerprint"),
                        first_fp) != 0
              && !strcmp(dir_testkit_str(json_array_get(details, 1), "sha256_fingerprint"),
                         first_fp));
    json_decref(body);
    SSO_CHECK(dir_login_connection_version(kit->dir, id, v1, &err) == 0 && strcmp(v0, v1) != 0);
    Sso__Connection *during = s_for_login(kit, id);
    SSO_CHECK(before && during
              && strcmp(during->sp_private_key_pem, before->sp_private_key_pem) != 0
              && !strcmp(during->sp_previous_private_key_pem, before->sp_private_key_pem)
              && !strcmp(during->sp_previous_certificate_pem, first_cert)
              && strcmp(during->sp_certificate_pem, first_cert) != 0);
    /* The previous key is sealed under its own AAD, and survives a restart. */
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM connections WHERE id = ? AND "
                                       "saml_sp_previous_key_sealed IS NOT NULL", "s", id) == 1);
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    Sso__Connection *reopened = s_for_login(kit, id);
    SSO_CHECK(reopened && during
              && !strcmp(reopened->sp_previous_private_key_pem,
                         during->sp_previous_private_key_pem));
    /* A second rotation before the retirement would drop a key the IdP may still use. */
    SSO_CHECK(s_conflict(dir_testkit_call(kit, "POST", rotate, NULL, &body), &body,
                         "still has the SP key pair of its last rotation; retire it first"));

    /* Retire: the previous pair goes, the current stays; a new version. */
    SSO_CHECK(dir_testkit_call(kit, "POST", retire, NULL, &body) == 200);
    sp = json_object_get(body, "sp");
    SSO_CHECK(json_is_null(json_object_get(sp, "previous_certificate"))
              && json_array_size(json_object_get(sp, "certificate_details")) == 1);
    json_decref(body);
    SSO_CHECK(dir_login_connection_version(kit->dir, id, v2, &err) == 0 && strcmp(v1, v2) != 0);
    Sso__Connection *after = s_for_login(kit, id);
    SSO_CHECK(after && during && !*after->sp_previous_private_key_pem
              && !*after->sp_previous_certificate_pem
              && !strcmp(after->sp_private_key_pem, during->sp_private_key_pem));
    SSO_CHECK(s_conflict(dir_testkit_call(kit, "POST", retire, NULL, &body), &body,
                         "has no previous SP key pair to retire"));
    /* It can be rotated again once retired. */
    SSO_CHECK(dir_testkit_call(kit, "POST", rotate, NULL, NULL) == 200);
    Sso__Connection *conns[] = {before, during, reopened, after};
    for (size_t i = 0; i < sizeof conns / sizeof *conns; i++)
        if (conns[i])
            sso__connection__free_unpacked(conns[i], NULL);

    /* The wrong method, type, connection, path. */
    SSO_CHECK(dir_testkit_call(kit, "GET", rotate, NULL, NULL) == 405);
    snprintf(oidc, sizeof oidc, "%s/sp_key/renew", path);
    SSO_CHECK(dir_testkit_call(kit, "POST", oidc, NULL, NULL) == 404);
    snprintf(oidc, sizeof oidc, "%s/sp_key", path);
    SSO_CHECK(dir_testkit_call(kit, "POST", oidc, NULL, NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/connections/conn_none/sp_key/rotate", NULL,
                               NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/connections/%3Cx%3E'/sp_key/"
                               "retire_previous", NULL, NULL) == 404);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/connections", org);
    SSO_CHECK(dir_testkit_field(kit, "POST", path, "{\"type\":\"oidc\"}", "id", id, sizeof id)
              == 201);
    snprintf(oidc, sizeof oidc, "/api/v1/connections/%s/sp_key/rotate", id);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "POST", oidc, NULL, &body), &body,
                                  "only a SAML connection has an SP key"));
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM connections WHERE id = ? AND "
                                       "saml_sp_previous_certificate IS NULL", "s", id) == 1);
}

void dir_conn_sp_key_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
