/* dir_seed: the Test Organization and the IdP simulator's key. */
#include "dir_seed.h"
#include "vault/dir_pki.h"
#include "api/dir_clients.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include <openssl/crypto.h>

#define S_SEEDED "seed:test_organization"
#define S_SIM_KEY "simulator:private_key"   /* sealed, AAD "meta:simulator:private_key" */
#define S_SIM_CERT "simulator:certificate"  /* PEM */
#define S_SWITCHED_OFF "simulator:switched_off" /* the seed's connection was made inactive
                                                   because the simulator was off */

static void s_free_secret(char *text)
{
    if (text) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
}

/* Seals text for meta row name (AAD "meta:<name>") or stores it as is. */
static int s_meta_put(dir_t *dir, const char *name, const char *text, bool seal)
{
    uint8_t *sealed = NULL;
    size_t len = strlen(text);
    if (seal) {
        char aad[96];
        snprintf(aad, sizeof aad, "meta:%s", name);
        if (dir_keys_seal(dir->keys, text, strlen(text), aad, &sealed, &len) != 0)
            return -1;
    }
    int rc = dir_db_run(dir->db, NULL, "INSERT INTO meta (name, value) VALUES (?1, ?2) ON "
                                        "CONFLICT (name) DO UPDATE SET value = ?2",
                        "sb", name, seal ? (const void *) sealed : (const void *) text, len);
    free(sealed);
    return rc == DIR_DB_OK ? 0 : -1;
}

/* A meta value as text, opened when sealed; NULL when absent or it does not open. */
static char *s_meta_get(dir_t *dir, const char *name, bool sealed)
{
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT value FROM meta WHERE name = ?", "s", name);
    char *text = NULL;
    if (stmt && dir_db_step(stmt) == DIR_DB_ROW) {
        size_t len;
        const void *blob = dir_db_blob(stmt, 0, &len);
        if (sealed) {
            char aad[96];
            snprintf(aad, sizeof aad, "meta:%s", name);
            text = dir_keys_open(dir->keys, blob, len, aad, NULL);
        }
        else if ((text = malloc(len + 1))) {
            memcpy(text, blob ? blob : "", len);
            text[len] = '\0';
        }
    }
    dir_db_release(stmt);
    return text;
}

/* The inserts, inside the caller's transaction. */
static int s_insert(dir_t *dir, const char *sim_key, const char *sim_cert, const char *sp_key,
                    const char *sp_cert)
{
    int64_t now = dir_now();
    char aad[96];
    snprintf(aad, sizeof aad, "connection:%s:sp_key", DIR_SEED_CONN_ID);
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    json_t *certs = json_pack("[s]", sim_cert);
    char *certs_text = certs ? json_dumps(certs, JSON_COMPACT) : NULL;
    json_decref(certs);
    char entity[600], sso_url[600];
    snprintf(entity, sizeof entity, "%s/simulator", dir->public_url);
    snprintf(sso_url, sizeof sso_url, "%s/simulator/sso", dir->public_url);
    int rc = -1;
    if (!certs_text
        || dir_keys_seal(dir->keys, sp_key, strlen(sp_key), aad, &sealed, &sealed_len) != 0)
        goto done;
    /* OR IGNORE: an admin may have taken one of the ids or domains before this seed ran (an
       upgraded database); the seed then keeps what exists rather than failing the start. */
    if (dir_db_run(dir->db, NULL, "INSERT OR IGNORE INTO organizations (id, display_name, "
                                  "created_at, updated_at) VALUES (?, ?, ?, ?)", "ssii",
                   DIR_SEED_ORG_ID, DIR_SEED_ORG_NAME, now, now) != DIR_DB_OK)
        goto done;
    const char *domains[][2] = {{"dom_test_example_com", "example.com"},
                                {"dom_test_example_org", "example.org"}};
    for (size_t i = 0; i < 2; i++)
        if (dir_db_run(dir->db, NULL, "INSERT OR IGNORE INTO domains (id, organization_id, "
                                      "domain, created_at) VALUES (?, ?, ?, ?)", "sssi",
                       domains[i][0], DIR_SEED_ORG_ID, domains[i][1], now) != DIR_DB_OK)
            goto done;
    if (dir_db_run(dir->db, NULL,
                   "INSERT OR IGNORE INTO connections (id, organization_id, type, status, name, "
                   "created_at, updated_at, saml_idp_entity_id, saml_idp_sso_url, "
                   "saml_idp_certificates, saml_sp_certificate, saml_sp_key_sealed) "
                   "VALUES (?, ?, 'saml', 'active', 'IdP simulator', ?, ?, ?, ?, ?, ?, ?)",
                   "ssiissssb", DIR_SEED_CONN_ID, DIR_SEED_ORG_ID, now, now, entity, sso_url,
                   certs_text, sp_cert, sealed, sealed_len) != DIR_DB_OK)
        goto done;
    if (s_meta_put(dir, S_SIM_KEY, sim_key, true) != 0
        || s_meta_put(dir, S_SIM_CERT, sim_cert, false) != 0
        || dir_db_run(dir->db, NULL, "INSERT INTO meta (name, value) VALUES (?, '1')", "s",
                      S_SEEDED) != DIR_DB_OK)
        goto done;
    rc = 0;
done:
    free(sealed);
    free(certs_text);
    return rc;
}

static bool s_seeded(dir_t *dir)
{
    return dir_db_int(dir->db, "SELECT count(*) FROM meta WHERE name = ?", "s", S_SEEDED) == 1;
}

/* The simulator's URLs follow the public URL, which may change between runs. */
static int s_follow_public_url(dir_t *dir)
{
    char entity[600], sso_url[600];
    snprintf(entity, sizeof entity, "%s/simulator", dir->public_url);
    snprintf(sso_url, sizeof sso_url, "%s/simulator/sso", dir->public_url);
    int changes = 0;
    int rc = dir_db_run(dir->db, &changes,
                        "UPDATE connections SET saml_idp_entity_id = ?1, saml_idp_sso_url = ?2, "
                        "updated_at = ?3 WHERE id = ?4 AND (saml_idp_entity_id IS NOT ?1 OR "
                        "saml_idp_sso_url IS NOT ?2)", "ssis", entity, sso_url, dir_now(),
                        DIR_SEED_CONN_ID);
    if (changes)
        sso_info("the IdP simulator's connection now follows %s", dir->public_url);
    return rc == DIR_DB_OK ? 0 : -1;
}

/* The simulator is off: its connection must not take logins, whatever the database says
   (a database seeded in development, then started in production). Made inactive and
   remembered, so a start with the simulator on again restores only what was switched off here,
   never a connection an admin disabled. */
static int s_switch_off(dir_t *dir)
{
    int changes = 0;
    if (dir_db_begin(dir->db) != 0 || dir_db_lock(dir->db, "bootstrap") != 0) {
        dir_db_rollback(dir->db);
        return -1;
    }
    int rc = dir_db_run(dir->db, &changes, "UPDATE connections SET status = 'inactive', "
                                           "updated_at = ? WHERE id = ? AND status = 'active'",
                        "is", dir_now(), DIR_SEED_CONN_ID);
    if (rc == DIR_DB_OK && changes)
        rc = dir_db_run(dir->db, NULL, "INSERT INTO meta (name, value) VALUES (?, '1') ON CONFLICT "
                                       "(name) DO NOTHING",
                        "s", S_SWITCHED_OFF);
    rc = rc == DIR_DB_OK ? dir_db_commit(dir->db) : -1;
    dir_db_rollback(dir->db);
    if (rc == 0 && changes)
        sso_warn("the IdP simulator is off (SSO_ENVIRONMENT=production without SSO_SIMULATOR=1): "
                 "its connection %s is now inactive", DIR_SEED_CONN_ID);
    return rc;
}

/* The simulator is on again: its connection back as the last start with it off found it. */
static int s_switch_back_on(dir_t *dir)
{
    if (dir_db_int(dir->db, "SELECT count(*) FROM meta WHERE name = ?", "s", S_SWITCHED_OFF) != 1)
        return 0;
    if (dir_db_begin(dir->db) != 0 || dir_db_lock(dir->db, "bootstrap") != 0) {
        dir_db_rollback(dir->db);
        return -1;
    }
    int rc = dir_db_run(dir->db, NULL, "UPDATE connections SET status = 'active', updated_at = ? "
                                       "WHERE id = ? AND status = 'inactive'",
                        "is", dir_now(), DIR_SEED_CONN_ID);
    if (rc == DIR_DB_OK)
        rc = dir_db_run(dir->db, NULL, "DELETE FROM meta WHERE name = ?", "s", S_SWITCHED_OFF);
    rc = rc == DIR_DB_OK ? dir_db_commit(dir->db) : -1;
    dir_db_rollback(dir->db);
    if (rc == 0)
        sso_info("the IdP simulator is on: its connection %s is active again", DIR_SEED_CONN_ID);
    return rc;
}

/* The "Try it" client as DIR_SEED_TRY_CLIENT_ID says: no secret that could verify (one an
   admin gave it by rotation is taken back), one redirect URI that follows the public URL.
   With the simulator off it goes (its redirect URIs and codes with it). */
static int s_try_client(dir_t *dir)
{
    if (dir_db_begin(dir->db) != 0 || dir_db_lock(dir->db, "bootstrap") != 0) {
        dir_db_rollback(dir->db);
        return -1;
    }
    int rc;
    if (!dir->simulator)
        rc = dir_db_run(dir->db, NULL, "DELETE FROM clients WHERE id = ? AND is_admin = 0", "s",
                        DIR_SEED_TRY_CLIENT_ID);
    else {
        char callback[600];
        snprintf(callback, sizeof callback, "%s" DIR_SEED_TRY_CALLBACK, dir->public_url);
        int64_t now = dir_now();
        rc = dir_db_run(dir->db, NULL, "INSERT OR IGNORE INTO clients (id, name, secret_hash, "
                                       "is_admin, created_at, updated_at) VALUES (?, ?, "
                                       "'internal', 0, ?, ?)", "ssii", DIR_SEED_TRY_CLIENT_ID,
                        DIR_SEED_TRY_CLIENT_NAME, now, now);
        if (rc == DIR_DB_OK)
            rc = dir_db_run(dir->db, NULL, "UPDATE clients SET secret_hash = 'internal', "
                                           "previous_secret_hash = NULL, "
                                           "previous_secret_expires_at = NULL WHERE id = ? AND "
                                           "secret_hash IS NOT 'internal'", "s",
                            DIR_SEED_TRY_CLIENT_ID);
        if (rc == DIR_DB_OK)
            rc = dir_db_run(dir->db, NULL, "DELETE FROM client_redirect_uris WHERE client_id = ? "
                                           "AND uri IS NOT ?", "ss", DIR_SEED_TRY_CLIENT_ID,
                            callback);
        if (rc == DIR_DB_OK)
            rc = dir_db_run(dir->db, NULL, "INSERT OR IGNORE INTO client_redirect_uris "
                                           "(client_id, position, uri) VALUES (?, 0, ?)", "ss",
                            DIR_SEED_TRY_CLIENT_ID, callback);
    }
    rc = rc == DIR_DB_OK ? dir_db_commit(dir->db) : -1;
    dir_db_rollback(dir->db);
    return rc;
}

int dir_seed_ensure(dir_t *dir, char *why, size_t why_size)
{
    if (s_try_client(dir) != 0) {
        snprintf(why, why_size, "cannot %s the dashboard's Try it client",
                 dir->simulator ? "make" : "remove");
        return -1;
    }
    if (!dir->simulator) {
        if (s_switch_off(dir) != 0) {
            snprintf(why, why_size, "cannot switch the IdP simulator's connection off");
            return -1;
        }
        return 0;
    }
    if (!s_seeded(dir)) {
        /* The slow part (two RSA keys) before taking the write lock. */
        char *sim_key = NULL, *sim_cert = NULL, *sp_key = NULL, *sp_cert = NULL;
        int rc = -1;
        if (dir_pki_sp_keypair("IdP simulator", &sim_key, &sim_cert) != 0
            || dir_pki_sp_keypair(DIR_SEED_CONN_ID, &sp_key, &sp_cert) != 0)
            snprintf(why, why_size, "cannot make the IdP simulator's keys");
        else if (dir_db_begin(dir->db) != 0 || dir_db_lock(dir->db, "bootstrap") != 0)
            snprintf(why, why_size, "cannot lock the database to seed the Test Organization");
        else if (s_seeded(dir)) /* another instance did it meanwhile */
            rc = 0;
        else if (s_insert(dir, sim_key, sim_cert, sp_key, sp_cert) != 0
                 || dir_db_commit(dir->db) != 0)
            snprintf(why, why_size, "cannot seed the Test Organization");
        else {
            rc = 0;
            sso_info("seeded %s (%s, example.com, example.org) with the IdP simulator's "
                     "connection %s", DIR_SEED_ORG_NAME, DIR_SEED_ORG_ID, DIR_SEED_CONN_ID);
        }
        dir_db_rollback(dir->db);
        s_free_secret(sim_key);
        s_free_secret(sp_key);
        free(sim_cert);
        free(sp_cert);
        if (rc != 0)
            return -1;
    }
    if (s_switch_back_on(dir) != 0 || s_follow_public_url(dir) != 0) {
        snprintf(why, why_size, "cannot update the IdP simulator's connection");
        return -1;
    }
    return 0;
}

DIR_RPC_FN(dir_seed_simulator_key, Sso__SimulatorKeyRequest, Sso__SimulatorKeyReply)
{
    (void) in;
    if (!dir->simulator) {
        /* Its key signs logins as anyone of the Test Organization: never out while it is off. */
        dir_rpc_error(err, "not_found", "the IdP simulator is off (SSO_ENVIRONMENT=production "
                                        "without SSO_SIMULATOR=1)");
        return -1;
    }
    char *key = s_meta_get(dir, S_SIM_KEY, true);
    char *cert = key ? s_meta_get(dir, S_SIM_CERT, false) : NULL;
    if (!cert) {
        s_free_secret(key);
        free(cert);
        dir_rpc_error(err, "not_found", "the IdP simulator has no key in this directory");
        return -1;
    }
    out->private_key_pem = key;
    out->certificate_pem = cert;
    out->connection_id = dir_rpc_dup(DIR_SEED_CONN_ID);
    return 0;
}

/* ---- self-test ------------------------------------------------------------------------- */

static void s_test(dir_testkit_t *kit)
{
    dir_t *dir = kit->dir;
    const char *counts[] = {
        "SELECT count(*) FROM organizations WHERE id = 'org_test' AND display_name = "
        "'Test Organization' AND allow_any_domain = 0",
        "SELECT count(*) FROM domains WHERE organization_id = 'org_test' AND domain IN "
        "('example.com', 'example.org')",
        "SELECT count(*) FROM connections WHERE id = 'conn_simulator' AND organization_id = "
        "'org_test' AND type = 'saml' AND status = 'active'",
    };
    /* Once, however often the database is opened. */
    for (int round = 0; round < 3; round++) {
        SSO_CHECK(dir_db_int(kit->dir->db, counts[0], NULL) == 1);
        SSO_CHECK(dir_db_int(kit->dir->db, counts[1], NULL) == 2);
        SSO_CHECK(dir_db_int(kit->dir->db, counts[2], NULL) == 1);
        SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM organizations", NULL) == 1);
        SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM connections", NULL) == 1);
        SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM domains", NULL) == 2);
        if (round < 2)
            SSO_CHECK(dir_testkit_reopen(kit) == 0);
    }
    dir = kit->dir;
    /* The management API sees it, and example.com cannot be taken. */
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/connections/conn_simulator", NULL, &body)
              == 200);
    json_t *saml = json_object_get(body, "saml");
    SSO_CHECK(!strcmp(dir_testkit_str(saml, "idp_entity_id"), "https://sso.test/simulator")
              && !strcmp(dir_testkit_str(saml, "idp_sso_url"), "https://sso.test/simulator/sso")
              && json_array_size(json_object_get(saml, "idp_certificates")) == 1);
    json_decref(body);
    char org[64] = "";
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations", "{\"display_name\":\"X\"}",
                                "id", org, sizeof org) == 201);
    char path[160];
    snprintf(path, sizeof path, "/api/v1/organizations/%s/domains", org);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{\"domain\":\"Example.COM\"}", NULL) == 409);

    /* simulator_key: the key is sealed at rest and matches the connection's certificate. */
    Sso__SimulatorKeyRequest sim = SSO__SIMULATOR_KEY_REQUEST__INIT;
    const char *rpc = "SimulatorReads.SimulatorKey";
    kit->caller = "saml";
    Sso__SimulatorKeyReply *reply = dir_testkit_rpc(kit, rpc, &sim.base);
    SSO_CHECK(reply && !reply->error
              && strstr(reply->private_key_pem, "BEGIN PRIVATE KEY")
              && strstr(reply->certificate_pem, "BEGIN CERTIFICATE")
              && !strcmp(reply->connection_id, "conn_simulator"));
    char *first_key = reply && !reply->error ? strdup(reply->private_key_pem)
                          : NULL;
    if (reply && !reply->error) {
        char *stored = NULL;
        dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT saml_idp_certificates FROM "
                                                    "connections WHERE id = 'conn_simulator'",
                                           NULL);
        if (stmt && dir_db_step(stmt) == DIR_DB_ROW)
            stored = strdup(dir_db_text(stmt, 0));
        dir_db_release(stmt);
        json_t *certs = stored ? json_loads(stored, 0, NULL) : NULL;
        SSO_CHECK(certs && !strcmp(json_string_value(json_array_get(certs, 0)),
                                   reply->certificate_pem));
        json_decref(certs);
        free(stored);
    }
    sso__simulator_key_reply__free_unpacked(reply, NULL);
    SSO_CHECK(dir_db_int(dir->db, "SELECT instr(value, 'PRIVATE') FROM meta WHERE name = ?", "s",
                         S_SIM_KEY) == 0);

    /* A new public URL moves the simulator's URLs; the key stays. */
    snprintf(kit->config.public_url, sizeof kit->config.public_url, "http://127.0.0.1:9999/base");
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM connections WHERE id = "
                                       "'conn_simulator' AND saml_idp_entity_id = "
                                       "'http://127.0.0.1:9999/base/simulator' AND "
                                       "saml_idp_sso_url = "
                                       "'http://127.0.0.1:9999/base/simulator/sso'", NULL) == 1);
    reply = dir_testkit_rpc(kit, rpc, &sim.base);
    SSO_CHECK(reply && !reply->error && first_key
              && !strcmp(reply->private_key_pem, first_key));
    sso__simulator_key_reply__free_unpacked(reply, NULL);
    free(first_key);

    /* Deleted by an admin, it stays deleted: the seed runs once per database. */
    SSO_CHECK(dir_testkit_call(kit, "DELETE", "/api/v1/organizations/org_test", NULL, NULL)
              == 204);
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, counts[0], NULL) == 0);
}

/* The simulator off (SSO_ENVIRONMENT=production): nothing seeded in a new database, an
   existing seed's connection switched off and back on, an admin's own choice kept. */
static void s_test_off(dir_testkit_t *kit)
{
    const char *conn_status = "SELECT count(*) FROM connections WHERE id = 'conn_simulator' AND "
                              "status = ?";
    Sso__SimulatorKeyRequest sim = SSO__SIMULATOR_KEY_REQUEST__INIT;
    const char *rpc = "SimulatorReads.SimulatorKey";
    kit->caller = "saml"; /* the one service the directory gives the simulator's key to */

    /* A seeded database started with the simulator off: the connection is not usable and
       the key does not leave the directory. */
    kit->config.simulator = false;
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, conn_status, "s", "inactive") == 1);
    SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &sim.base, "not_found", "the IdP simulator is off"));
    SSO_CHECK(dir_testkit_reopen(kit) == 0); /* again: still off, nothing else changes */
    SSO_CHECK(dir_db_int(kit->dir->db, conn_status, "s", "inactive") == 1);
    /* On again: the connection the seed switched off is back. */
    kit->config.simulator = true;
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, conn_status, "s", "active") == 1);
    Sso__SimulatorKeyReply *reply = dir_testkit_rpc(kit, rpc, &sim.base);
    SSO_CHECK(reply && !reply->error && strstr(reply->private_key_pem, "PRIVATE KEY"));
    sso__simulator_key_reply__free_unpacked(reply, NULL);

    /* Disabled by an admin, it stays disabled through an off and an on start. */
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/connections/conn_simulator/disable", NULL,
                               NULL) == 200);
    for (int round = 0; round < 2; round++) {
        kit->config.simulator = round == 1;
        SSO_CHECK(dir_testkit_reopen(kit) == 0);
        SSO_CHECK(dir_db_int(kit->dir->db, conn_status, "s", "inactive") == 1);
    }

    /* A database never seeded, started with the simulator off: no Test Organization, no
       example.com, no simulator connection or key. Seeded at the first start with it on. */
    SSO_CHECK(dir_testkit_call(kit, "DELETE", "/api/v1/organizations/org_test", NULL, NULL)
              == 204);
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "DELETE FROM meta WHERE name IN (?, ?, ?)", "sss",
                         S_SEEDED, S_SIM_KEY, S_SIM_CERT) == DIR_DB_OK);
    kit->config.simulator = false;
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    const char *absent[] = {
        "SELECT count(*) FROM organizations WHERE id = 'org_test'",
        "SELECT count(*) FROM domains WHERE domain IN ('example.com', 'example.org')",
        "SELECT count(*) FROM connections WHERE id = 'conn_simulator'",
        "SELECT count(*) FROM meta WHERE name LIKE 'simulator:%' OR name LIKE 'seed:%'",
    };
    for (size_t i = 0; i < sizeof absent / sizeof *absent; i++)
        SSO_CHECK(dir_db_int(kit->dir->db, absent[i], NULL) == 0);
    SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &sim.base, "not_found", NULL));
    kit->config.simulator = true;
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, conn_status, "s", "active") == 1);
    SSO_CHECK(dir_db_int(kit->dir->db, absent[1], NULL) == 2);
}

/* The "Try it" client: with the simulator only, its one redirect URI following the public
   URL, and no secret, even after an admin rotated one in. */
static void s_test_try_client(dir_testkit_t *kit)
{
    const char *uri = "SELECT count(*) FROM client_redirect_uris WHERE client_id = "
                      "'" DIR_SEED_TRY_CLIENT_ID "' AND uri = ?";
    const char *client = "SELECT count(*) FROM clients WHERE id = '" DIR_SEED_TRY_CLIENT_ID "'";
    SSO_CHECK(dir_db_int(kit->dir->db, uri, "s", "https://sso.test/dashboard/try/callback") == 1);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM client_redirect_uris WHERE "
                                       "client_id = '" DIR_SEED_TRY_CLIENT_ID "'", NULL) == 1);
    /* The API changes nothing of it. */
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/clients/" DIR_SEED_TRY_CLIENT_ID
                               "/rotate_secret", "{\"overlap_seconds\":0}", NULL) == 409);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", "/api/v1/clients/" DIR_SEED_TRY_CLIENT_ID,
                               "{\"redirect_uris\":[\"https://evil.test/cb\"]}", NULL) == 409);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", "/api/v1/clients/" DIR_SEED_TRY_CLIENT_ID, NULL,
                               NULL) == 409);
    json_t *shown = NULL;
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/clients/" DIR_SEED_TRY_CLIENT_ID, NULL,
                               &shown) == 200);
    SSO_CHECK(json_is_true(json_object_get(shown, "built_in"))
              && json_is_false(json_object_get(shown, "is_admin")));
    json_decref(shown);
    /* A secret and a redirect URI that a store from before that refusal may hold are undone
       at the next start. */
    const char *secret = "a-secret-given-before-the-refusal";
    char *hash = sso_secret_hash(secret);
    SSO_CHECK(hash && dir_db_run(kit->dir->db, NULL, "UPDATE clients SET secret_hash = ? WHERE "
                                                     "id = '" DIR_SEED_TRY_CLIENT_ID "'", "s",
                                 hash) == DIR_DB_OK);
    free(hash);
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "INSERT INTO client_redirect_uris (client_id, "
                                             "position, uri) VALUES ('" DIR_SEED_TRY_CLIENT_ID
                                             "', 1, 'https://evil.test/cb')", NULL) == DIR_DB_OK);
    int64_t retry_after = 0;
    Sso__ClientAuthReply *auth = dir_clients_auth(kit->dir, DIR_SEED_TRY_CLIENT_ID, secret, "",
                                                  &retry_after);
    SSO_CHECK(auth && auth->ok); /* the secret works, so the next start must undo it */
    if (auth)
        sso__client_auth_reply__free_unpacked(auth, NULL);
    snprintf(kit->config.public_url, sizeof kit->config.public_url, "http://127.0.0.1:9999/base");
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, uri, "s", "http://127.0.0.1:9999/base/dashboard/try/"
                                                 "callback") == 1);
    SSO_CHECK(dir_db_int(kit->dir->db, uri, "s", "https://evil.test/cb") == 0);
    auth = dir_clients_auth(kit->dir, DIR_SEED_TRY_CLIENT_ID, secret, "", &retry_after);
    SSO_CHECK(auth && !auth->ok);
    if (auth)
        sso__client_auth_reply__free_unpacked(auth, NULL);
    kit->config.simulator = false;
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, client, NULL) == 0);
    kit->config.simulator = true;
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, client, NULL) == 1);
}

void dir_seed_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run_seeded(s_test);
    dir_testkit_run_seeded(s_test_off);
    dir_testkit_run_seeded(s_test_try_client);
}
