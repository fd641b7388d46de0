/* dir_login: resolving a selector to a connection, and ConnectionGet. */
#include "login/dir_login.h"
#include "dir_connection_columns.h"
#include "api/dir_api.h"
#include "api/dir_conn_options.h"
#include "vault/dir_pki.h"
#include "dir_seed.h"
#include "dir_testkit.h"
#include "api/dir_valid.h"
#include "sso_log.h"
#include "sso_oidc_discovery.h"
#include "sso_test.h"
#include "sso_oidc_test_idp.h"
#include <openssl/evp.h>

#define S_ID_MAX 128
#define S_EMAIL_MAX 320


/* Opens a sealed column of connection id, or NULL (with *failed set when there was a value
   that does not open). */
static char *s_unseal(dir_t *dir, dir_db_stmt_t *stmt, int column, const char *id,
                      const char *what, bool *failed)
{
    if (dir_db_is_null(stmt, column))
        return NULL;
    char aad[200];
    snprintf(aad, sizeof aad, "connection:%s:%s", id, what);
    size_t sealed_len;
    const void *sealed = dir_db_blob(stmt, column, &sealed_len);
    char *plain = dir_keys_open(dir->keys, sealed, sealed_len, aad, NULL);
    if (!plain) {
        sso_error("the %s of connection %s does not open with this master key", what, id);
        *failed = true;
    }
    return plain;
}

/* The words of a space-separated list. */
static char **s_words(const char *text, size_t *n_out)
{
    json_t *list = json_array();
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, " ");
        if (len)
            json_array_append_new(list, json_stringn(p, len));
        p += len;
        p += strspn(p, " ");
    }
    char **words = dir_rpc_strings(list, n_out);
    json_decref(list);
    return words;
}

/* The connection's version (Connection.version) into out: SHA-256, hex, over the row as read
   (every column before c.seq, NULLs told apart from "", the secrets sealed) and its
   organization's domains in order. Call it right after the step, before any other read of
   the row's columns. -1 when the digest fails. */
static int s_version(dir_db_stmt_t *stmt, char *const *domains, size_t n_domains, char out[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    for (int c = DIR_CONN_ID; ok && c < DIR_CONN_SEQ; c++) {
        size_t len = 0;
        bool null = dir_db_is_null(stmt, c);
        const void *bytes = null ? NULL : dir_db_blob(stmt, c, &len);
        uint64_t framed = null ? UINT64_MAX : (uint64_t) len;
        ok = EVP_DigestUpdate(md, &framed, sizeof framed) == 1
             && (!len || EVP_DigestUpdate(md, bytes, len) == 1);
    }
    for (size_t i = 0; ok && i < n_domains; i++)
        ok = EVP_DigestUpdate(md, domains[i], strlen(domains[i]) + 1) == 1;
    uint8_t digest[32];
    unsigned int size = 0;
    ok = ok && EVP_DigestFinal_ex(md, digest, &size) == 1 && size == sizeof digest;
    EVP_MD_CTX_free(md);
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; ok && i < sizeof digest; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[ok ? 64 : 0] = '\0';
    return ok ? 0 : -1;
}

static char **s_domains(dir_t *dir, const char *org_id, size_t *n_out)
{
    json_t *list = dir_api_column(dir, "SELECT domain FROM domains WHERE organization_id = ? "
                                       "ORDER BY seq", "s", org_id);
    char **domains = dir_rpc_strings(list, n_out);
    json_decref(list);
    return domains;
}

/* The Connection for id (heap; free with sso__connection__free_unpacked), with its secrets
   unsealed or without them, or NULL with err: not_found "no connection <id>", or
   server_error. */
static Sso__Connection *s_connection(dir_t *dir, const char *id, bool with_secrets,
                                     dir_error_t *err)
{
    dir_db_stmt_t *stmt = dir_db_query(
        dir->db,
        "SELECT " DIR_CONN_COLUMNS DIR_CONN_FROM "WHERE c.id = ?", "s", id);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    if (step != DIR_DB_ROW) {
        dir_db_release(stmt);
        if (step == DIR_DB_DONE)
            dir_rpc_error(err, "not_found", "no connection %.*s", S_ID_MAX, id);
        else
            dir_server_error(err);
        return NULL;
    }
    Sso__Connection *conn = malloc(sizeof *conn);
    if (!conn) {
        dir_db_release(stmt);
        dir_server_error(err);
        return NULL;
    }
    sso__connection__init(conn);
    /* The version before any other read of the row (see s_version); the domains it covers
       are read by the organization id, copied first. */
    char org_id[S_ID_MAX + 1], version[65] = "";
    size_t org_len = 0;
    const void *org_bytes = dir_db_blob(stmt, DIR_CONN_ORG, &org_len);
    snprintf(org_id, sizeof org_id, "%.*s", (int) (org_len < S_ID_MAX ? org_len : S_ID_MAX),
             org_bytes ? (const char *) org_bytes : "");
    conn->organization_domains = s_domains(dir, org_id, &conn->n_organization_domains);
    if (s_version(stmt, conn->organization_domains, conn->n_organization_domains, version)
        != 0) {
        dir_db_release(stmt);
        sso__connection__free_unpacked(conn, NULL);
        dir_server_error(err);
        return NULL;
    }
    conn->version = dir_rpc_dup(version);
    conn->id = dir_rpc_dup(dir_db_text(stmt, DIR_CONN_ID));
    conn->organization_id = dir_rpc_dup(dir_db_text(stmt, DIR_CONN_ORG));
    conn->organization_name = dir_rpc_dup(dir_db_text(stmt, DIR_CONN_ORG_NAME));
    conn->type = dir_rpc_dup(dir_db_text(stmt, DIR_CONN_TYPE));
    conn->status = dir_rpc_dup(dir_db_text(stmt, DIR_CONN_STATUS));
    conn->allow_any_domain = dir_db_int64(stmt, DIR_CONN_ANY_DOMAIN) != 0;
    bool failed = false;
    if (!strcmp(dir_db_text(stmt, DIR_CONN_TYPE), "saml")) {
        char entity[1200];
        snprintf(entity, sizeof entity, "%s/sso/saml/%s", dir->public_url, id);
        conn->idp_entity_id = dir_rpc_dup(dir_db_text(stmt, DIR_CONN_SAML_ENTITY));
        conn->idp_sso_url = dir_rpc_dup(dir_db_text(stmt, DIR_CONN_SAML_SSO));
        json_t *certs = json_loads(dir_db_text(stmt, DIR_CONN_SAML_CERTS), 0, NULL);
        conn->idp_certificates = dir_rpc_strings(certs, &conn->n_idp_certificates);
        json_decref(certs);
        conn->sp_entity_id = dir_rpc_dup(entity);
        size_t len = strlen(entity);
        snprintf(entity + len, sizeof entity - len, "/acs");
        conn->sp_acs_url = dir_rpc_dup(entity);
        conn->sp_certificate_pem = dir_rpc_dup(dir_db_text(stmt, DIR_CONN_SP_CERT));
        char *key = with_secrets ? s_unseal(dir, stmt, DIR_CONN_SP_KEY_SEALED, id, "sp_key", &failed) : NULL;
        if (key)
            conn->sp_private_key_pem = key;
        /* During a rollover, the key pair the rotation replaced (dir_conn_sp_key). */
        if (!dir_db_is_null(stmt, DIR_CONN_SP_PREVIOUS_CERT))
            conn->sp_previous_certificate_pem =
                dir_rpc_dup(dir_db_text(stmt, DIR_CONN_SP_PREVIOUS_CERT));
        char *previous = with_secrets ? s_unseal(dir, stmt, DIR_CONN_SP_PREVIOUS_KEY_SEALED, id,
                                                 "sp_key_previous", &failed)
                                      : NULL;
        if (previous)
            conn->sp_previous_private_key_pem = previous;
    }
    else {
        conn->oidc_issuer = dir_rpc_dup(dir_db_text(stmt, DIR_CONN_OIDC_ISSUER));
        conn->oidc_client_id = dir_rpc_dup(dir_db_text(stmt, DIR_CONN_OIDC_CLIENT));
        conn->oidc_scopes = s_words(dir_db_text(stmt, DIR_CONN_OIDC_SCOPES), &conn->n_oidc_scopes);
        char *secret = with_secrets
                           ? s_unseal(dir, stmt, DIR_CONN_OIDC_SECRET_SEALED, id, "oidc_client_secret", &failed)
                           : NULL;
        if (secret)
            conn->oidc_client_secret = secret;
        if (!dir_db_is_null(stmt, DIR_CONN_OIDC_CLIENT_CERT))
            conn->oidc_client_certificate_pem =
                dir_rpc_dup(dir_db_text(stmt, DIR_CONN_OIDC_CLIENT_CERT));
        char *client_key = with_secrets ? s_unseal(dir, stmt, DIR_CONN_OIDC_CLIENT_KEY_SEALED, id,
                                                   "oidc_client_key", &failed)
                                        : NULL;
        if (client_key)
            conn->oidc_client_key_pem = client_key;
    }
    int filled = dir_conn_options_fill(conn, dir_db_text(stmt, DIR_CONN_OPTIONS),
                                       dir_db_text(stmt, DIR_CONN_MAPPING));
    dir_db_release(stmt);
    if (filled != 0) {
        sso__connection__free_unpacked(conn, NULL);
        dir_server_error(err);
        return NULL;
    }
    if (failed) {
        sso__connection__free_unpacked(conn, NULL);
        dir_rpc_error(err, "server_error", "the secrets of connection %.*s do not open with this "
                                           "directory's master key", S_ID_MAX, id);
        return NULL;
    }
    return conn;
}

int dir_login_connection_version(dir_t *dir, const char *id, char out[65], dir_error_t *err)
{
    Sso__Connection *conn = s_connection(dir, id, false, err);
    if (!conn)
        return -1;
    snprintf(out, 65, "%s", conn->version);
    sso__connection__free_unpacked(conn, NULL);
    return 0;
}

int dir_login_connection_type(dir_t *dir, const char *id, char out[8], bool *active)
{
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT type, status FROM connections WHERE id = ?",
                                       "s", id);
    int rc = -1;
    if (stmt && dir_db_step(stmt) == DIR_DB_ROW) {
        snprintf(out, 8, "%s", dir_db_text(stmt, 0));
        *active = !strcmp(dir_db_text(stmt, 1), "active");
        rc = 0;
    }
    dir_db_release(stmt);
    return rc;
}

static bool s_id_ok(const char *id)
{
    return dir_rpc_text(id, 1, S_ID_MAX);
}

/* The connection by id, whatever its status; NULL with err. */
static Sso__Connection *s_get(dir_t *dir, const char *id, bool with_secrets, dir_error_t *err)
{
    if (!s_id_ok(id)) {
        dir_rpc_error(err, "invalid_request", "connection_id is required (at most %d bytes)",
                      S_ID_MAX);
        return NULL;
    }
    return s_connection(dir, id, with_secrets, err);
}

DIR_RPC_FN(dir_login_connection_get, Sso__ConnectionGetRequest, Sso__ConnectionReply)
{
    out->connection = s_get(dir, in->connection_id, in->with_secrets, err);
    return out->connection ? 0 : -1;
}

Sso__Connection *dir_login_connection_for_login(dir_t *dir, const char *id, dir_error_t *err)
{
    return s_get(dir, id, true, err);
}

/* The one active connection of organization org_id. */
static Sso__Connection *s_by_organization(dir_t *dir, const char *org_id, dir_error_t *err)
{
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT id FROM connections WHERE organization_id "
                                                "= ? AND status = 'active' ORDER BY seq LIMIT 2",
                                       "s", org_id);
    char id[S_ID_MAX + 1] = "";
    int found = 0;
    while (stmt && dir_db_step(stmt) == DIR_DB_ROW)
        if (found++ == 0)
            snprintf(id, sizeof id, "%s", dir_db_text(stmt, 0));
    dir_db_release(stmt);
    if (!stmt) {
        dir_server_error(err);
        return NULL;
    }
    if (found > 1) {
        dir_rpc_error(err, "ambiguous_connection", "several active connections; pass "
                                                   "connection_id (organization %s)", org_id);
        return NULL;
    }
    if (found == 0) {
        dir_rpc_error(err, "no_connection", "organization %s has no active connection", org_id);
        return NULL;
    }
    return s_connection(dir, id, false, err);
}

static Sso__Connection *s_by_domain(dir_t *dir, const char *input, dir_error_t *err)
{
    char domain[254], why[200];
    if (dir_domain_normalize(input, domain, why, sizeof why) != 0) {
        /* Not a domain any organization can own; said as for any unknown domain, lower-case,
           so a person who mistyped an email can correct it. */
        snprintf(domain, sizeof domain, "%s", input);
        for (char *p = domain; *p; p++)
            *p = (char) (*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        dir_rpc_error(err, "no_organization", "no organization for domain %s (%s)", domain, why);
        return NULL;
    }
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT organization_id FROM domains WHERE "
                                                "domain = ?", "s", domain);
    char org_id[S_ID_MAX + 1] = "";
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    if (step == DIR_DB_ROW)
        snprintf(org_id, sizeof org_id, "%s", dir_db_text(stmt, 0));
    dir_db_release(stmt);
    if (step == DIR_DB_DONE) {
        dir_rpc_error(err, "no_organization", "no organization for domain %s", domain);
        return NULL;
    }
    if (step != DIR_DB_ROW) {
        dir_server_error(err);
        return NULL;
    }
    return s_by_organization(dir, org_id, err);
}

Sso__Connection *dir_login_resolve(dir_t *dir, const Sso__ConnectionSelector *r, dir_error_t *err)
{
    if (*r->connection_id) {
        if (!s_id_ok(r->connection_id)) {
            dir_rpc_error(err, "invalid_request", "connection_id is malformed");
            return NULL;
        }
        Sso__Connection *conn = s_connection(dir, r->connection_id, false, err);
        if (!conn)
            return NULL;
        if (strcmp(conn->status, "active") != 0) {
            dir_rpc_error(err, "connection_inactive", "connection %s is not active (it is %s)",
                          conn->id, conn->status);
            sso__connection__free_unpacked(conn, NULL);
            return NULL;
        }
        return conn;
    }
    if (*r->organization_id) {
        if (!s_id_ok(r->organization_id)) {
            dir_rpc_error(err, "invalid_request", "organization_id is malformed");
            return NULL;
        }
        int64_t exists = dir_db_int(dir->db, "SELECT count(*) FROM organizations WHERE id = ?",
                                    "s", r->organization_id);
        if (exists < 0) {
            dir_server_error(err);
            return NULL;
        }
        if (exists == 0) {
            dir_rpc_error(err, "not_found", "no organization %s", r->organization_id);
            return NULL;
        }
        return s_by_organization(dir, r->organization_id, err);
    }
    if (*r->domain) {
        if (!dir_rpc_text(r->domain, 1, 253)) {
            dir_rpc_error(err, "invalid_request", "domain is malformed (at most 253 bytes)");
            return NULL;
        }
        return s_by_domain(dir, r->domain, err);
    }
    if (*r->email) {
        const char *at = strrchr(r->email, '@');
        if (!dir_rpc_text(r->email, 1, S_EMAIL_MAX) || !at || at == r->email || !at[1]) {
            dir_rpc_error(err, "invalid_request", "email %.*s has no domain; give an address "
                                                  "like name@company.com",
                          dir_rpc_text(r->email, 1, S_EMAIL_MAX) ? S_EMAIL_MAX : 0, r->email);
            return NULL;
        }
        return s_by_domain(dir, at + 1, err);
    }
    dir_rpc_error(err, "invalid_request", "give connection_id, organization_id, domain or email");
    return NULL;
}

/* ---- self-test ------------------------------------------------------------------------- */

/* Resolves a selector; the connection, or NULL with *err. */
static Sso__Connection *s_resolve(dir_testkit_t *kit, const char *conn, const char *org,
                                  const char *domain, const char *email, dir_error_t *err)
{
    Sso__ConnectionSelector selector = SSO__CONNECTION_SELECTOR__INIT;
    selector.connection_id = (char *) conn;
    selector.organization_id = (char *) org;
    selector.domain = (char *) domain;
    selector.email = (char *) email;
    *err = (dir_error_t){0};
    return dir_login_resolve(kit->dir, &selector, err);
}

/* Resolves to connection want (NULL: expects error code whose description has text). */
static bool s_expect(dir_testkit_t *kit, const char *conn, const char *org, const char *domain,
                     const char *email, const char *want, const char *text)
{
    dir_error_t err;
    Sso__Connection *got = s_resolve(kit, conn, org, domain, email, &err);
    bool ok = want ? got && !strcmp(got->id, want)
                   : !got && err.code && !strcmp(err.code, text ? text : "");
    if (!ok)
        fprintf(stderr, "resolve %s|%s|%s|%s: %s %s\n", conn, org, domain, email,
                err.code ? err.code : "-", err.description);
    if (got)
        sso__connection__free_unpacked(got, NULL);
    return ok;
}

static bool s_described(dir_testkit_t *kit, const char *conn, const char *org, const char *domain,
                        const char *email, const char *description)
{
    dir_error_t err;
    Sso__Connection *got = s_resolve(kit, conn, org, domain, email, &err);
    bool ok = !got && strstr(err.description, description);
    if (!ok)
        fprintf(stderr, "resolve: wanted \"%s\", got \"%s\"\n", description, err.description);
    if (got)
        sso__connection__free_unpacked(got, NULL);
    return ok;
}

static void s_test(dir_testkit_t *kit)
{
    /* The seeded organization: by every selector. */
    SSO_CHECK(s_expect(kit, "conn_simulator", "", "", "", "conn_simulator", NULL));
    SSO_CHECK(s_expect(kit, "", "org_test", "", "", "conn_simulator", NULL));
    SSO_CHECK(s_expect(kit, "", "", "example.com", "", "conn_simulator", NULL));
    SSO_CHECK(s_expect(kit, "", "", " EXAMPLE.org ", "", "conn_simulator", NULL));
    SSO_CHECK(s_expect(kit, "", "", "", "Someone@Example.COM", "conn_simulator", NULL));
    /* The first non-empty selector decides, even when a weaker one would work. */
    SSO_CHECK(s_expect(kit, "conn_nope", "org_test", "example.com", "a@example.com", NULL,
                       "not_found"));
    SSO_CHECK(s_expect(kit, "", "org_nope", "example.com", "", NULL, "not_found"));
    SSO_CHECK(s_expect(kit, "", "", "example.net", "a@example.com", NULL, "no_organization"));
    /* No suffix matching. */
    SSO_CHECK(s_expect(kit, "", "", "a.example.com", "", NULL, "no_organization"));
    SSO_CHECK(s_expect(kit, "", "", "", "a@mail.example.com", NULL, "no_organization"));
    SSO_CHECK(s_expect(kit, "", "", "com", "", NULL, "no_organization"));
    /* Descriptions say what to do. */
    SSO_CHECK(s_described(kit, "conn_x", "", "", "", "no connection conn_x"));
    SSO_CHECK(s_described(kit, "", "org_x", "", "", "no organization org_x"));
    SSO_CHECK(s_described(kit, "", "", "Example.NET", "", "no organization for domain "
                                                           "example.net"));
    SSO_CHECK(s_described(kit, "", "", "", "bob@example.net", "no organization for domain "
                                                               "example.net"));
    SSO_CHECK(s_expect(kit, "", "", "", "", NULL, "invalid_request"));
    SSO_CHECK(s_expect(kit, "", "", "", "bob", NULL, "invalid_request"));
    SSO_CHECK(s_expect(kit, "", "", "", "bob@", NULL, "invalid_request"));
    SSO_CHECK(s_expect(kit, "", "", "", "@example.com", NULL, "invalid_request"));
    SSO_CHECK(s_expect(kit, "", "", "bad\ndomain.com", "", NULL, "invalid_request"));

    /* The full connection, without its secrets: they are not the token service's. */
    dir_error_t err;
    Sso__Connection *c = s_resolve(kit, "", "", "example.com", "", &err);
    SSO_CHECK(c && !strcmp(c->organization_id, "org_test")
              && !strcmp(c->organization_name, "Test Organization") && !strcmp(c->type, "saml")
              && !strcmp(c->status, "active") && c->n_organization_domains == 2
              && !strcmp(c->organization_domains[0], "example.com") && !c->allow_any_domain
              && !strcmp(c->idp_entity_id, "https://sso.test/simulator")
              && !strcmp(c->idp_sso_url, "https://sso.test/simulator/sso")
              && c->n_idp_certificates == 1 && strstr(c->idp_certificates[0], "CERTIFICATE")
              && !strcmp(c->sp_entity_id, "https://sso.test/sso/saml/conn_simulator")
              && !strcmp(c->sp_acs_url, "https://sso.test/sso/saml/conn_simulator/acs")
              && !*c->sp_private_key_pem
              && strstr(c->sp_certificate_pem, "BEGIN CERTIFICATE"));
    if (c)
        sso__connection__free_unpacked(c, NULL);

    /* An organization with an OIDC connection (draft), then a second one. */
    char org[64] = "", path[200], oidc[64] = "", saml[64] = "";
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"Acme\"}", "id", org, sizeof org) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/domains", org);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{\"domain\":\"acme.test\"}", NULL) == 201);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{\"domain\":\"sub.example.com\"}", NULL)
              == 201);
    SSO_CHECK(s_expect(kit, "", "", "acme.test", "", NULL, "no_connection"));
    char expect[200];
    snprintf(expect, sizeof expect, "organization %s has no active connection", org);
    SSO_CHECK(s_described(kit, "", org, "", "", expect));
    snprintf(path, sizeof path, "/api/v1/organizations/%s/connections", org);
    /* Its provider's discovery is checked at create and enable: a stand-in on loopback. */
    sso_oidc_test_idp_t *idp = sso_oidc_test_idp_new();
    char issuer[128] = "", body_text[400];
    SSO_CHECK(idp && sso_oidc_test_idp_provider(idp, "/acme", issuer, sizeof issuer) == 0);
    kit->dir->allow_private_upstreams = true;
    snprintf(body_text, sizeof body_text,
             "{\"type\":\"oidc\",\"oidc\":{\"issuer\":\"%s\",\"client_id\":\"abc\","
             "\"client_secret\":\"S3CRET\",\"scopes\":[\"email\"]}}", issuer);
    SSO_CHECK(dir_testkit_field(kit, "POST", path, body_text, "id", oidc, sizeof oidc) == 201);
    /* A draft connection is not used, even when named. */
    SSO_CHECK(s_expect(kit, oidc, "", "", "", NULL, "connection_inactive"));
    snprintf(expect, sizeof expect, "connection %s is not active", oidc);
    SSO_CHECK(s_described(kit, oidc, "", "", "", expect));
    SSO_CHECK(s_expect(kit, "", org, "", "", NULL, "no_connection"));
    snprintf(path, sizeof path, "/api/v1/connections/%s/enable", oidc);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, NULL, NULL) == 200);
    SSO_CHECK(s_expect(kit, "", "", "sub.example.com", "", oidc, NULL));
    SSO_CHECK(s_expect(kit, "", "", "", "x@ACME.test", oidc, NULL));
    c = s_resolve(kit, oidc, "", "", "", &err);
    SSO_CHECK(c && !strcmp(c->type, "oidc") && !*c->oidc_client_secret
              && !strcmp(c->oidc_issuer, issuer)
              && !strcmp(c->oidc_client_id, "abc") && c->n_oidc_scopes == 2
              && !strcmp(c->oidc_scopes[1], "email") && !*c->sp_private_key_pem
              && c->n_organization_domains == 2);
    if (c)
        sso__connection__free_unpacked(c, NULL);
    /* Two active connections: the caller must choose. */
    char *idp_key = NULL, *idp_cert = NULL;
    SSO_CHECK(dir_pki_sp_keypair("idp.acme.test", &idp_key, &idp_cert) == 0);
    json_t *body = json_pack("{s:s, s:{s:s, s:s, s:[s]}}", "type", "saml", "saml",
                             "idp_entity_id", "https://idp.acme.test/saml", "idp_sso_url",
                             "https://idp.acme.test/sso", "idp_certificates",
                             idp_cert ? idp_cert : "");
    char *text = json_dumps(body, JSON_COMPACT);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/connections", org);
    SSO_CHECK(dir_testkit_field(kit, "POST", path, text, "id", saml, sizeof saml) == 201);
    free(text);
    json_decref(body);
    free(idp_key);
    free(idp_cert);
    snprintf(path, sizeof path, "/api/v1/connections/%s/enable", saml);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, NULL, NULL) == 200);
    SSO_CHECK(s_expect(kit, "", "", "acme.test", "", NULL, "ambiguous_connection"));
    SSO_CHECK(s_described(kit, "", org, "", "", "several active connections; pass "
                                                "connection_id"));
    SSO_CHECK(s_expect(kit, saml, org, "acme.test", "", saml, NULL));
    /* Disabled: inactive by id, and the other one is the organization's only one again. */
    snprintf(path, sizeof path, "/api/v1/connections/%s/disable", saml);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, NULL, NULL) == 200);
    SSO_CHECK(s_expect(kit, saml, "", "", "", NULL, "connection_inactive"));
    SSO_CHECK(s_expect(kit, "", org, "", "", oidc, NULL));

    /* connection_get: whatever the status, and never with a secret (it serves the public SP
       metadata): no SP private key, no upstream client secret. */
    const char *rpc = "UpstreamReads.ConnectionGet";
    Sso__ConnectionGetRequest get = SSO__CONNECTION_GET_REQUEST__INIT;
    get.connection_id = saml;
    Sso__ConnectionReply *reply = dir_testkit_rpc(kit, rpc, &get.base);
    SSO_CHECK(reply && !reply->error && reply->connection
              && !strcmp(reply->connection->status, "inactive")
              && !*reply->connection->sp_private_key_pem
              && strstr(reply->connection->sp_certificate_pem, "BEGIN CERTIFICATE")
              && reply->connection->n_idp_certificates == 1);
    sso__connection_reply__free_unpacked(reply, NULL);
    get.connection_id = oidc;
    reply = dir_testkit_rpc(kit, rpc, &get.base);
    SSO_CHECK(reply && reply->connection && !strcmp(reply->connection->oidc_client_id, "abc")
              && !*reply->connection->oidc_client_secret);
    sso__connection_reply__free_unpacked(reply, NULL);
    /* with_secrets: the SP key for the saml service, the client secret for the oidc service,
       and to no other caller (dir_rpc refuses them). */
    get.with_secrets = true;
    struct {
        const char *id, *caller, *secret;
    } secrets[] = {{saml, "saml", "PRIVATE KEY"}, {oidc, "oidc", "S3CRET"},
                   {saml, "oidc", NULL},          {oidc, "saml", NULL},
                   {saml, "token", NULL},         {oidc, "token", NULL},
                   {saml, "", NULL},              {saml, "gateway", NULL}};
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) {
        get.connection_id = (char *) secrets[i].id;
        kit->caller = secrets[i].caller;
        reply = dir_testkit_rpc(kit, rpc, &get.base);
        const Sso__Connection *got = reply ? reply->connection : NULL;
        if (secrets[i].secret)
            SSO_CHECK(got && !reply->error
                      && strstr(!strcmp(got->type, "saml") ? got->sp_private_key_pem
                                                           : got->oidc_client_secret,
                                secrets[i].secret));
        else
            SSO_CHECK(reply && reply->error == SSO__RPC_ERROR__ACCESS_DENIED && !got);
        sso__connection_reply__free_unpacked(reply, NULL);
    }
    kit->caller = NULL;
    get.with_secrets = false;
    /* The login steps' variant (login_context) has them. */
    err = (dir_error_t){0};
    Sso__Connection *with = dir_login_connection_for_login(kit->dir, saml, &err);
    SSO_CHECK(with && strstr(with->sp_private_key_pem, "PRIVATE KEY"));
    if (with)
        sso__connection__free_unpacked(with, NULL);
    get.connection_id = "conn_none";
    SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &get.base, "not_found", "no connection conn_none"));
    get.connection_id = "";
    SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &get.base, "invalid_request", NULL));
    char type[8];
    bool active = true;
    SSO_CHECK(dir_login_connection_type(kit->dir, oidc, type, &active) == 0
              && !strcmp(type, "oidc"));
    SSO_CHECK(dir_login_connection_type(kit->dir, saml, type, &active) == 0
              && !strcmp(type, "saml") && !active); /* made inactive above */
    SSO_CHECK(dir_login_connection_type(kit->dir, "conn_simulator", type, &active) == 0
              && !strcmp(type, "saml") && active);
    SSO_CHECK(dir_login_connection_type(kit->dir, "conn_none", type, &active) == -1);
    sso_oidc_test_idp_destroy(&idp);
}

void dir_login_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run_seeded(s_test);
}
