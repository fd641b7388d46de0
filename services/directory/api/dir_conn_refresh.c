/* dir_conn_refresh: IdP metadata URLs fetched again on a schedule; certificate expiry warnings. */
#include "api/dir_conn_refresh.h"
#include "api/dir_conn_saml.h"
#include "login/dir_events.h"
#include "vault/dir_pki.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_fetch.h"
#include "sso_log.h"
#include "sso_oidc_test_idp.h"
#include "sso_test.h"
#include <pthread.h>
#include <stdatomic.h>

#define S_ID_MAX 64

/* One connection's fetch: what the loop gave the thread, and what the thread brought back. */
typedef struct {
    char id[S_ID_MAX + 1];
    char *url;
    int fetch_rc;
    sso_fetch_response_t response;
    char why[300];
    bool skipped; /* not fetched: the directory stopped first */
} s_job_t;

struct _dir_conn_refresh_t {
    bool allow_private;
    pthread_t thread;
    bool running;       /* a round is in flight (the thread is to be joined) */
    atomic_bool done;   /* the thread has fetched every job of the round */
    atomic_bool stopping; /* the directory stops: the thread fetches no further job */
    s_job_t jobs[DIR_CONN_REFRESH_ROUND];
    size_t n_jobs;
    int64_t look_at;    /* when the tick next looks for due connections */
    int64_t expiry_at;  /* when it next checks the certificates' expiry */
};

static void *s_round_run(void *arg)
{
    dir_conn_refresh_t *self = arg;
    for (size_t i = 0; i < self->n_jobs; i++) {
        s_job_t *job = &self->jobs[i];
        if (atomic_load(&self->stopping)) {
            job->skipped = true;
            continue;
        }
        sso_fetch_request_t request = {.url = job->url,
                                       .accept = "application/samlmetadata+xml, "
                                                 "application/xml, text/xml",
                                       .allow_private = self->allow_private};
        job->fetch_rc = sso_fetch(&request, &job->response, job->why, sizeof job->why);
    }
    atomic_store(&self->done, true);
    return NULL;
}

static void s_jobs_free(dir_conn_refresh_t *self)
{
    for (size_t i = 0; i < self->n_jobs; i++) {
        free(self->jobs[i].url);
        sso_fetch_response_free(&self->jobs[i].response);
    }
    memset(self->jobs, 0, sizeof self->jobs);
    self->n_jobs = 0;
}

/* The next refresh of a connection refreshed at now: one period on, ±10% at random, so that
   connections made together (a restart's backlog) spread out. */
static int64_t s_next_at(const dir_t *dir, int64_t now)
{
    uint32_t r = 0;
    int64_t period = dir->metadata_refresh_s, spread = period / 5;
    if (spread > 0 && sso_random_bytes((uint8_t *) &r, sizeof r) == 0)
        return now + period - period / 10 + (int64_t) (r % (uint32_t) (spread + 1));
    return now + period;
}

/* The certificates in a that b lacks, as "SHA-256 <fp> (<subject>)" joined by ", " into out. */
static void s_missing_from(const json_t *a, const json_t *b, char *out, size_t size)
{
    size_t i, j, len = 0;
    json_t *item, *other;
    out[0] = '\0';
    json_array_foreach(a, i, item) {
        bool found = false;
        json_array_foreach(b, j, other)
            found |= json_equal(item, other);
        dir_pki_cert_info_t info;
        if (found || dir_pki_cert_info(json_string_value(item), &info) != 0 || len >= size)
            continue;
        int n = snprintf(out + len, size - len, "%sSHA-256 %s (%s)", len ? ", " : "",
                         info.sha256, info.subject);
        len = n < 0 ? size : len + (size_t) n;
    }
}

/* A failure event and log line for connection id of org: the reason, and that its last good
   certificates stay. */
static void s_failed(dir_t *dir, const char *org, const char *id, const char *why)
{
    char reason[DIR_EVENT_TEXT_MAX];
    snprintf(reason, sizeof reason, DIR_CONN_REFRESH_REASON "%s; the last good certificates "
                                                            "are kept", why);
    sso_warn("connection %s: %s", id, reason);
    dir_event_t event = {.organization_id = org, .connection_id = id, .reason = reason,
                         .maintenance = true};
    if (dir_events_add(dir, &event, NULL) != 0
        || dir_db_run(dir->db, NULL, "UPDATE saml_metadata_refresh SET error = ? WHERE "
                                     "connection_id = ?", "ss", why, id) != DIR_DB_OK)
        sso_warn("connection %s: the refresh's failure could not be recorded", id);
}

/* What the document fetched for job says, applied to its connection as it is now (in one
   write). 0, or -1 when the database failed. */
static int s_apply(dir_t *dir, const s_job_t *job)
{
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT organization_id, saml_idp_entity_id, "
                                                "saml_idp_certificates, saml_idp_metadata_url, "
                                                "saml_idp_metadata_signing_certificate "
                                                "FROM connections WHERE id = ?", "s", job->id);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    const char *url = step == DIR_DB_ROW && !dir_db_is_null(stmt, 3) ? dir_db_text(stmt, 3) : NULL;
    if (!url || strcmp(url, job->url) != 0) {
        /* Deleted, or given other metadata while the fetch ran: that change stands. */
        dir_db_release(stmt);
        return step == DIR_DB_ERROR ? -1 : 0;
    }
    char org[S_ID_MAX + 1], entity[1100];
    snprintf(org, sizeof org, "%s", dir_db_text(stmt, 0));
    snprintf(entity, sizeof entity, "%s", dir_db_is_null(stmt, 1) ? "" : dir_db_text(stmt, 1));
    json_t *old = json_loads(dir_db_text(stmt, 2), 0, NULL);
    char *signing_cert = dir_db_is_null(stmt, 4) ? NULL : strdup(dir_db_text(stmt, 4));
    dir_db_release(stmt);
    if (!json_is_array(old)) {
        json_decref(old);
        old = json_array();
    }
    int64_t now = dir_now();
    char why[600];
    sso_saml_metadata_t *md = NULL;
    if (job->fetch_rc != 0)
        snprintf(why, sizeof why, "%s could not be fetched: %s", job->url, job->why);
    else if (job->response.status != 200)
        snprintf(why, sizeof why, "%s answered HTTP %ld", job->url, job->response.status);
    else if ((md = dir_conn_saml_metadata(job->response.body, job->response.len, now,
                                          signing_cert, why, sizeof why))
             && strcmp(md->entity_id, entity) != 0) {
        snprintf(why, sizeof why, "the entityID changed: expected %.400s, got %.150s", entity,
                 md->entity_id);
        sso_saml_metadata_destroy(&md);
    }
    free(signing_cert);
    if (!md) {
        s_failed(dir, org, job->id, why);
        json_decref(old);
        return 0;
    }
    json_t *certs = json_array();
    for (size_t i = 0; i < md->n_certificates; i++)
        json_array_append_new(certs, json_string(md->certificates[i]));
    sso_saml_metadata_destroy(&md);
    char added[400], removed[400];
    s_missing_from(certs, old, added, sizeof added);
    s_missing_from(old, certs, removed, sizeof removed);
    int rc = 0;
    if (*added || *removed) {
        char *text = json_dumps(certs, JSON_COMPACT);
        char reason[DIR_EVENT_TEXT_MAX];
        snprintf(reason, sizeof reason, DIR_CONN_REFRESH_REASON "the signing certificates "
                 "changed: added %s; removed %s", *added ? added : "none",
                 *removed ? removed : "none");
        dir_event_t event = {.organization_id = org, .connection_id = job->id, .success = true,
                             .reason = reason, .maintenance = true};
        /* The certificates column is part of the connection's version: a saml instance that
           kept the old ones reads it again at its next login. */
        rc = text && dir_db_run(dir->db, NULL, "UPDATE connections SET saml_idp_certificates "
                                               "= ?, updated_at = ? WHERE id = ?", "sis", text,
                                now, job->id) == DIR_DB_OK
                     && dir_events_add(dir, &event, NULL) == 0
                 ? 0
                 : -1;
        if (rc == 0)
            sso_info("connection %s: %s", job->id, reason);
        free(text);
    }
    json_decref(certs);
    json_decref(old);
    if (rc == 0
        && dir_db_run(dir->db, NULL, "UPDATE saml_metadata_refresh SET refreshed_at = ?, "
                                     "error = NULL WHERE connection_id = ?", "is", now, job->id)
               != DIR_DB_OK)
        rc = -1;
    return rc;
}

/* The round's results, each in a write of its own. */
static void s_round_finish(dir_t *dir, dir_conn_refresh_t *self)
{
    pthread_join(self->thread, NULL);
    self->running = false;
    for (size_t i = 0; i < self->n_jobs; i++) {
        if (dir_db_begin(dir->db) != 0) {
            sso_warn("connection %s: its metadata refresh was not saved (the database is busy)",
                     self->jobs[i].id);
            continue;
        }
        if (s_apply(dir, &self->jobs[i]) != 0 || dir_db_commit(dir->db) != 0) {
            dir_db_rollback(dir->db);
            sso_warn("connection %s: its metadata refresh was not saved", self->jobs[i].id);
        }
    }
    s_jobs_free(self);
}

/* Claims the due connections into the round's jobs (one write); how many. */
static size_t s_claim(dir_t *dir, dir_conn_refresh_t *self, int64_t now)
{
    json_t *due = json_array();
    dir_db_stmt_t *stmt = dir_db_query(
        dir->db,
        "SELECT c.id, c.saml_idp_metadata_url FROM connections c LEFT JOIN "
        "saml_metadata_refresh r ON r.connection_id = c.id WHERE c.type = 'saml' AND "
        "c.saml_idp_metadata_url IS NOT NULL AND coalesce(r.next_at, 0) <= ? ORDER BY "
        "coalesce(r.next_at, 0), c.seq LIMIT ?", "ii", now, (int64_t) DIR_CONN_REFRESH_ROUND);
    while (stmt && dir_db_step(stmt) == DIR_DB_ROW)
        json_array_append_new(due, json_pack("[s, s]", dir_db_text(stmt, 0),
                                             dir_db_text(stmt, 1)));
    dir_db_release(stmt);
    if (json_array_size(due) == 0 || dir_db_begin(dir->db) != 0) {
        json_decref(due);
        return 0;
    }
    size_t i;
    json_t *row;
    bool ok = true;
    json_array_foreach(due, i, row) {
        const char *id = json_string_value(json_array_get(row, 0));
        int changes = 0;
        /* Another instance that claimed it first moved next_at on: then it is not ours. */
        ok = ok && dir_db_run(dir->db, &changes,
                              "INSERT INTO saml_metadata_refresh (connection_id, next_at) "
                              "VALUES (?, ?) ON CONFLICT (connection_id) DO UPDATE SET next_at = "
                              "excluded.next_at WHERE saml_metadata_refresh.next_at <= ?",
                              "sii", id, s_next_at(dir, now), now) == DIR_DB_OK;
        if (ok && changes == 1 && strlen(id) <= S_ID_MAX) {
            s_job_t *job = &self->jobs[self->n_jobs];
            snprintf(job->id, sizeof job->id, "%s", id);
            job->url = strdup(json_string_value(json_array_get(row, 1)));
            ok = job->url != NULL;
            self->n_jobs += ok;
        }
    }
    json_decref(due);
    if (!ok || dir_db_commit(dir->db) != 0) {
        dir_db_rollback(dir->db);
        s_jobs_free(self);
    }
    return self->n_jobs;
}

/* Warns of each certificate that expires within 30, 7 or 1 days: once per threshold. */
static void s_expiry_warnings(dir_t *dir, int64_t now)
{
    static const int thresholds[] = {1, 7, 30};
    json_t *rows = json_array();
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT id, organization_id, "
                                                "saml_idp_certificates FROM connections WHERE "
                                                "type = 'saml'", NULL);
    while (stmt && dir_db_step(stmt) == DIR_DB_ROW)
        json_array_append_new(rows, json_pack("[s, s, s]", dir_db_text(stmt, 0),
                                              dir_db_text(stmt, 1), dir_db_is_null(stmt, 2)
                                                                        ? "[]"
                                                                        : dir_db_text(stmt, 2)));
    dir_db_release(stmt);
    size_t i, j;
    json_t *row, *item;
    json_array_foreach(rows, i, row) {
        const char *id = json_string_value(json_array_get(row, 0));
        const char *org = json_string_value(json_array_get(row, 1));
        json_t *certs = json_loads(json_string_value(json_array_get(row, 2)), 0, NULL);
        json_array_foreach(certs, j, item) {
            dir_pki_cert_info_t info;
            if (dir_pki_cert_info(json_string_value(item), &info) != 0 || info.not_after <= now)
                continue;
            int days = 0;
            for (size_t t = 0; !days && t < sizeof thresholds / sizeof thresholds[0]; t++)
                if (info.not_after - now <= thresholds[t] * 86400LL)
                    days = thresholds[t];
            if (!days || dir_db_int(dir->db, "SELECT count(*) FROM saml_certificate_warnings "
                                             "WHERE connection_id = ? AND sha256 = ? AND days = ?",
                                    "ssi", id, info.sha256, (int64_t) days) != 0)
                continue;
            char when[32], reason[DIR_EVENT_TEXT_MAX];
            dir_time_format(info.not_after, when);
            snprintf(reason, sizeof reason, "IdP certificate expiry: SHA-256 %s (%s) expires at "
                     "%s, within %d day%s; add its successor to the IdP's metadata or to "
                     "saml.idp_certificates", info.sha256, info.subject, when, days,
                     days == 1 ? "" : "s");
            dir_event_t event = {.organization_id = org, .connection_id = id, .reason = reason,
                                 .maintenance = true};
            bool ok = dir_db_begin(dir->db) == 0;
            /* The thresholds it passed at once are done too: one warning, the nearest. */
            for (size_t t = 0; ok && t < sizeof thresholds / sizeof thresholds[0]; t++)
                ok = thresholds[t] < days
                     || dir_db_run(dir->db, NULL, "INSERT OR IGNORE INTO "
                                                  "saml_certificate_warnings (connection_id, "
                                                  "sha256, days, created_at) VALUES (?, ?, ?, ?)",
                                   "ssii", id, info.sha256, (int64_t) thresholds[t], now)
                            == DIR_DB_OK;
            if (ok && dir_events_add(dir, &event, NULL) == 0 && dir_db_commit(dir->db) == 0)
                sso_warn("connection %s: %s", id, reason);
            else
                dir_db_rollback(dir->db);
        }
        json_decref(certs);
    }
    json_decref(rows);
}

void dir_conn_refresh_tick(dir_t *dir, bool force)
{
    dir_conn_refresh_t *self = dir->conn_refresh;
    if (!self && !(self = dir->conn_refresh = calloc(1, sizeof *self)))
        return;
    if (self->running && atomic_load(&self->done))
        s_round_finish(dir, self);
    int64_t now = dir_now();
    if (force || now >= self->expiry_at) {
        self->expiry_at = now + DIR_CONN_REFRESH_EXPIRY_LOOK_S;
        s_expiry_warnings(dir, now);
    }
    if (self->running || (!force && now < self->look_at))
        return;
    self->look_at = now + DIR_CONN_REFRESH_LOOK_S;
    if (s_claim(dir, self, now) == 0)
        return;
    self->allow_private = dir->allow_private_upstreams;
    atomic_store(&self->done, false);
    if (pthread_create(&self->thread, NULL, s_round_run, self) != 0) {
        sso_warn("IdP metadata refresh: no thread for its fetches; %zu connection(s) wait a "
                 "period", self->n_jobs);
        s_jobs_free(self);
        return;
    }
    self->running = true;
}

void dir_conn_refresh_stop(dir_t *dir)
{
    dir_conn_refresh_t *self = dir->conn_refresh;
    if (!self)
        return;
    /* At most the fetch in progress is waited for; the others are due again at once, so the
       next start fetches them (their claim moved them a period on). */
    atomic_store(&self->stopping, true);
    if (self->running)
        pthread_join(self->thread, NULL);
    for (size_t i = 0; self->running && i < self->n_jobs; i++)
        if (self->jobs[i].skipped
            && dir_db_run(dir->db, NULL, "UPDATE saml_metadata_refresh SET next_at = 0 WHERE "
                                         "connection_id = ?", "s", self->jobs[i].id) != DIR_DB_OK)
            sso_warn("connection %s: its metadata refresh waits a period", self->jobs[i].id);
    s_jobs_free(self);
    free(self);
    dir->conn_refresh = NULL;
}

void dir_conn_refresh_imported(dir_t *dir, const char *id, const char *url, bool fetched)
{
    int rc = DIR_DB_OK;
    int64_t now = dir_now();
    if (!url)
        rc = dir_db_run(dir->db, NULL, "DELETE FROM saml_metadata_refresh WHERE connection_id "
                                       "= ?", "s", id);
    else if (fetched)
        rc = dir_db_run(dir->db, NULL, "INSERT INTO saml_metadata_refresh (connection_id, "
                                       "next_at, refreshed_at) VALUES (?1, ?2, ?3) ON CONFLICT "
                                       "(connection_id) DO UPDATE SET next_at = ?2, "
                                       "refreshed_at = ?3, error = NULL", "sii", id,
                        s_next_at(dir, now), now);
    if (rc != DIR_DB_OK)
        sso_warn("connection %s: its metadata refresh schedule was not saved", id);
}

void dir_conn_refresh_json(dir_t *dir, const char *id, json_t *saml)
{
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT r.next_at, r.refreshed_at, r.error "
                                                "FROM saml_metadata_refresh r JOIN connections c "
                                                "ON c.id = r.connection_id WHERE c.id = ? AND "
                                                "c.saml_idp_metadata_url IS NOT NULL", "s", id);
    bool row = stmt && dir_db_step(stmt) == DIR_DB_ROW;
    json_object_set_new(saml, "metadata_next_refresh_at",
                        row ? dir_json_time(dir_db_int64(stmt, 0)) : json_null());
    json_object_set_new(saml, "metadata_refreshed_at",
                        row && !dir_db_is_null(stmt, 1) ? dir_json_time(dir_db_int64(stmt, 1))
                                                        : json_null());
    json_object_set_new(saml, "metadata_refresh_error",
                        row && !dir_db_is_null(stmt, 2) ? json_string(dir_db_text(stmt, 2))
                                                        : json_null());
    dir_db_release(stmt);
}

/* ---- self-test ------------------------------------------------------------------------- */

#include "login/dir_login.h"
#include <unistd.h>

/* IdP metadata for entity with each of certs (PEM) as a signing key, and a validUntil when
   until is given, into out (heap; NULL when a certificate is not PEM). */
static char *s_test_metadata(const char *entity, char *const *certs, size_t n, const char *until)
{
    char keys[16384] = "";
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        const char *begin = strchr(certs[i], '\n'), *end = strstr(certs[i], "-----END");
        if (!begin || !end)
            return NULL;
        len += (size_t) snprintf(keys + len, sizeof keys - len,
                                 "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data>"
                                 "<ds:X509Certificate>%.*s</ds:X509Certificate></ds:X509Data>"
                                 "</ds:KeyInfo></md:KeyDescriptor>",
                                 (int) (end - begin - 1), begin + 1);
    }
    char until_attr[80] = "";
    if (until)
        snprintf(until_attr, sizeof until_attr, " validUntil=\"%s\"", until);
    size_t size = len + 2048;
    char *out = malloc(size);
    if (out)
        snprintf(out, size,
                 "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
                 "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"%s\"%s>"
                 "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:"
                 "protocol\">%s<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:"
                 "bindings:HTTP-Redirect\" Location=\"https://idp.test/sso\"/>"
                 "</md:IDPSSODescriptor></md:EntityDescriptor>",
                 entity, until_attr, keys);
    return out;
}

/* Serves body at /md and runs one refresh round to its end: due now, a forced tick that
   starts it, ticks until its results are applied (bounded). */
static void s_test_round(dir_testkit_t *kit, sso_oidc_test_idp_t *idp, int status,
                         const char *body, const char *id)
{
    SSO_CHECK(sso_oidc_test_idp_route(idp, "/md", status, NULL, body, 0) == 0);
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE saml_metadata_refresh SET next_at = 0 "
                                             "WHERE connection_id = ?", "s", id) == DIR_DB_OK);
    dir_conn_refresh_tick(kit->dir, true);
    SSO_CHECK(kit->dir->conn_refresh && kit->dir->conn_refresh->running);
    for (int i = 0; i < 1000 && kit->dir->conn_refresh->running; i++) {
        usleep(10000);
        dir_conn_refresh_tick(kit->dir, false);
    }
    SSO_CHECK(!kit->dir->conn_refresh->running);
}

/* The newest event of connection id: its outcome and reason (into why) into the buffers. */
static void s_test_last_event(dir_testkit_t *kit, const char *id, char *outcome, char *why,
                              size_t why_size)
{
    char target[200];
    json_t *body = NULL;
    snprintf(target, sizeof target, "/api/v1/events?connection_id=%s", id);
    SSO_CHECK(dir_testkit_call(kit, "GET", target, NULL, &body) == 200);
    json_t *first = json_array_get(json_object_get(body, "data"), 0);
    snprintf(outcome, 16, "%s", dir_testkit_str(first, "outcome"));
    snprintf(why, why_size, "%s", dir_testkit_str(first, "reason"));
    SSO_CHECK(!json_object_get(first, "subject") || json_is_null(json_object_get(first, "subject")));
    json_decref(body);
}

static int64_t s_test_events(dir_testkit_t *kit, const char *id)
{
    return dir_db_int(kit->dir->db, "SELECT count(*) FROM login_events WHERE connection_id = ?",
                      "s", id);
}

/* The connection's "saml" object (a new reference). */
static json_t *s_test_saml(dir_testkit_t *kit, const char *id)
{
    char target[200];
    json_t *body = NULL;
    snprintf(target, sizeof target, "/api/v1/connections/%s", id);
    SSO_CHECK(dir_testkit_call(kit, "GET", target, NULL, &body) == 200);
    json_t *saml = json_incref(json_object_get(body, "saml"));
    json_decref(body);
    return saml;
}

/* Whether the connection's certificates are exactly those given. */
static bool s_test_certs_are(dir_testkit_t *kit, const char *id, char *const *certs, size_t n)
{
    json_t *saml = s_test_saml(kit, id);
    json_t *list = json_object_get(saml, "idp_certificates");
    bool same = json_array_size(list) == n;
    for (size_t i = 0; same && i < n; i++)
        same = !strcmp(json_string_value(json_array_get(list, i)), certs[i]);
    json_decref(saml);
    return same;
}

/* One kept-last-good case: the document fetched is refused with want in the reason, the
   certificates stay, the error shows in the API, a failure event says so. */
static void s_test_kept(dir_testkit_t *kit, sso_oidc_test_idp_t *idp, const char *id,
                        int status, const char *body, char *const *certs, size_t n,
                        const char *want)
{
    int64_t events = s_test_events(kit, id);
    s_test_round(kit, idp, status, body, id);
    char outcome[16], reason[DIR_EVENT_TEXT_MAX];
    s_test_last_event(kit, id, outcome, reason, sizeof reason);
    SSO_CHECK(s_test_certs_are(kit, id, certs, n));
    SSO_CHECK(s_test_events(kit, id) == events + 1 && !strcmp(outcome, "failure")
              && !strncmp(reason, DIR_CONN_REFRESH_REASON, strlen(DIR_CONN_REFRESH_REASON))
              && strstr(reason, want) && strstr(reason, "the last good certificates are kept"));
    if (!strstr(reason, want))
        fprintf(stderr, "refresh reason: %s (wanted %s)\n", reason, want);
    json_t *saml = s_test_saml(kit, id);
    SSO_CHECK(strstr(dir_testkit_str(saml, "metadata_refresh_error"), want));
    json_decref(saml);
}

static void s_test_refresh(dir_testkit_t *kit)
{
    dir_t *dir = kit->dir;
    dir->allow_private_upstreams = true;
    dir->metadata_refresh_s = 600;
    char *keys[3] = {NULL}, *certs[3] = {NULL};
    for (int i = 0; i < 3; i++)
        SSO_CHECK(dir_pki_sp_keypair(i ? "next.idp.test" : "idp.test", &keys[i], &certs[i]) == 0);
    sso_oidc_test_idp_t *idp = sso_oidc_test_idp_new();
    char org[64] = "", id[64] = "", url[200] = "", request[400];
    char *md = certs[0] ? s_test_metadata("https://idp.test/e", certs, 1, NULL) : NULL;
    SSO_CHECK(idp && md && sso_oidc_test_idp_route(idp, "/md", 200, NULL, md, 0) == 0);
    free(md);
    if (!idp || !certs[2])
        goto done;
    snprintf(url, sizeof url, "%s/md", sso_oidc_test_idp_url(idp));
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"Rotating\"}", "id", org, sizeof org) == 201);
    char path[200];
    snprintf(path, sizeof path, "/api/v1/organizations/%s/connections", org);
    snprintf(request, sizeof request, "{\"type\":\"saml\",\"saml\":{\"idp_metadata_url\":\"%s\"}}",
             url);
    SSO_CHECK(dir_testkit_field(kit, "POST", path, request, "id", id, sizeof id) == 201);

    /* Imported: refreshed now, the next one a period on, ±10%; no error. */
    int64_t now = dir_now();
    int64_t next = dir_db_int(dir->db, "SELECT next_at FROM saml_metadata_refresh WHERE "
                                       "connection_id = ?", "s", id);
    SSO_CHECK(next >= now + 540 - 1 && next <= now + 660);
    json_t *saml = s_test_saml(kit, id);
    SSO_CHECK(strlen(dir_testkit_str(saml, "metadata_refreshed_at")) == 20
              && strlen(dir_testkit_str(saml, "metadata_next_refresh_at")) == 20
              && json_is_null(json_object_get(saml, "metadata_refresh_error")));
    json_decref(saml);
    SSO_CHECK(s_test_certs_are(kit, id, certs, 1));

    /* Not due: a look fetches nothing. */
    int hits = sso_oidc_test_idp_hits(idp, "/md");
    dir_conn_refresh_tick(dir, true);
    SSO_CHECK(!dir->conn_refresh->running && sso_oidc_test_idp_hits(idp, "/md") == hits);

    /* A new signing certificate is added: both are trusted, the version changes, a success
       event names the new one, the next refresh is a period on. */
    char version[65] = "", after[65] = "";
    dir_error_t err = {0};
    SSO_CHECK(dir_login_connection_version(dir, id, version, &err) == 0);
    md = s_test_metadata("https://idp.test/e", certs, 2, NULL);
    s_test_round(kit, idp, 200, md, id);
    free(md);
    SSO_CHECK(sso_oidc_test_idp_hits(idp, "/md") == 1); /* the route, served anew */
    SSO_CHECK(s_test_certs_are(kit, id, certs, 2));
    SSO_CHECK(dir_login_connection_version(dir, id, after, &err) == 0 && strcmp(version, after));
    dir_pki_cert_info_t added, old;
    SSO_CHECK(dir_pki_cert_info(certs[1], &added) == 0 && dir_pki_cert_info(certs[0], &old) == 0);
    char outcome[16], reason[DIR_EVENT_TEXT_MAX];
    s_test_last_event(kit, id, outcome, reason, sizeof reason);
    SSO_CHECK(!strcmp(outcome, "success") && strstr(reason, DIR_CONN_REFRESH_REASON)
              && strstr(reason, added.sha256) && strstr(reason, "removed none"));
    now = dir_now();
    next = dir_db_int(dir->db, "SELECT next_at FROM saml_metadata_refresh WHERE "
                               "connection_id = ?", "s", id);
    SSO_CHECK(next >= now + 540 - 1 && next <= now + 660);
    /* The same document again: nothing changes, no event. */
    int64_t events = s_test_events(kit, id);
    md = s_test_metadata("https://idp.test/e", certs, 2, NULL);
    s_test_round(kit, idp, 200, md, id);
    free(md);
    SSO_CHECK(s_test_events(kit, id) == events);

    /* Kept, each with its reason: not XML, an expired document, another entity, no signing
       certificate, an HTTP error, no answer. */
    s_test_kept(kit, idp, id, 200, "<md:EntityDescriptor", certs, 2, "not well-formed XML");
    md = s_test_metadata("https://idp.test/e", certs + 2, 1, "2024-01-31T00:00:00Z");
    s_test_kept(kit, idp, id, 200, md, certs, 2, "the metadata expired at 2024-01-31T00:00:00Z");
    free(md);
    md = s_test_metadata("https://evil.test/e", certs + 2, 1, NULL);
    s_test_kept(kit, idp, id, 200, md, certs, 2, "the entityID changed: expected "
                                                 "https://idp.test/e, got https://evil.test/e");
    free(md);
    md = s_test_metadata("https://idp.test/e", certs, 0, NULL);
    s_test_kept(kit, idp, id, 200, md, certs, 2, "no signing certificate");
    free(md);
    s_test_kept(kit, idp, id, 404, "gone", certs, 2, "answered HTTP 404");
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE connections SET saml_idp_metadata_url = "
                                        "'http://127.0.0.1:1/md' WHERE id = ?", "s", id)
              == DIR_DB_OK);
    s_test_kept(kit, idp, id, 200, "unused", certs, 2, "could not be fetched");
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE connections SET saml_idp_metadata_url = ? "
                                        "WHERE id = ?", "ss", url, id) == DIR_DB_OK);

    /* The old certificate goes: only the new one is trusted; the error is cleared. */
    md = s_test_metadata("https://idp.test/e", certs + 1, 1, NULL);
    s_test_round(kit, idp, 200, md, id);
    free(md);
    SSO_CHECK(s_test_certs_are(kit, id, certs + 1, 1));
    s_test_last_event(kit, id, outcome, reason, sizeof reason);
    SSO_CHECK(!strcmp(outcome, "success") && strstr(reason, "added none")
              && strstr(reason, old.sha256));
    saml = s_test_saml(kit, id);
    SSO_CHECK(json_is_null(json_object_get(saml, "metadata_refresh_error")));
    json_decref(saml);

    /* Given other metadata while a fetch ran: that change stands. */
    md = s_test_metadata("https://idp.test/e", certs, 3, NULL);
    SSO_CHECK(sso_oidc_test_idp_route(idp, "/md", 200, NULL, md, 300) == 0);
    free(md);
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE saml_metadata_refresh SET next_at = 0 WHERE "
                                        "connection_id = ?", "s", id) == DIR_DB_OK);
    dir_conn_refresh_tick(dir, true);
    SSO_CHECK(dir->conn_refresh->running);
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE connections SET saml_idp_metadata_url = "
                                        "'https://other.test/md' WHERE id = ?", "s", id)
              == DIR_DB_OK);
    for (int i = 0; i < 1000 && dir->conn_refresh->running; i++) {
        usleep(10000);
        dir_conn_refresh_tick(dir, false);
    }
    SSO_CHECK(s_test_certs_are(kit, id, certs + 1, 1));

    /* A connection that drops its URL loses its schedule. */
    char target[200];
    snprintf(target, sizeof target, "/api/v1/connections/%s", id);
    json_t *patch = json_pack("{s:{s:[s]}}", "saml", "idp_certificates", certs[2]);
    char *patch_text = json_dumps(patch, 0);
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE connections SET saml_idp_metadata_url = NULL "
                                        "WHERE id = ?", "s", id) == DIR_DB_OK);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", target, patch_text, NULL) == 200);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM saml_metadata_refresh", NULL) == 0);
    saml = s_test_saml(kit, id);
    SSO_CHECK(json_is_null(json_object_get(saml, "metadata_next_refresh_at"))
              && json_is_null(json_object_get(saml, "metadata_refreshed_at")));
    json_decref(saml);
    free(patch_text);
    json_decref(patch);

    /* A stop waits for the fetch in progress only; the round's others are due at once. */
    char first[64] = "", second[64] = "";
    md = s_test_metadata("https://idp.test/e", certs, 1, NULL);
    SSO_CHECK(sso_oidc_test_idp_route(idp, "/md", 200, NULL, md, 0) == 0);
    SSO_CHECK(dir_testkit_field(kit, "POST", path, request, "id", first, sizeof first) == 201);
    SSO_CHECK(dir_testkit_field(kit, "POST", path, request, "id", second, sizeof second) == 201);
    SSO_CHECK(sso_oidc_test_idp_route(idp, "/md", 200, NULL, md, 300) == 0);
    free(md);
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE saml_metadata_refresh SET next_at = 0", NULL)
              == DIR_DB_OK);
    dir_conn_refresh_tick(dir, true);
    SSO_CHECK(dir->conn_refresh && dir->conn_refresh->running && dir->conn_refresh->n_jobs == 2);
    dir_conn_refresh_stop(dir);
    SSO_CHECK(!dir->conn_refresh && sso_oidc_test_idp_hits(idp, "/md") <= 1);
    SSO_CHECK(dir_db_int(dir->db, "SELECT next_at FROM saml_metadata_refresh WHERE "
                                  "connection_id = ?", "s", second) == 0);
done:
    dir_conn_refresh_stop(dir);
    sso_oidc_test_idp_destroy(&idp);
    for (int i = 0; i < 3; i++) {
        free(keys[i]);
        free(certs[i]);
    }
}

/* Expiry warnings: the nearest threshold once, not again after a restart, the next one when
   it is reached; none for a certificate far from its end. */
static void s_test_expiry(dir_testkit_t *kit)
{
    int64_t now = dir_now();
    char *key = NULL, *soon = NULL, *far_key = NULL, *far = NULL, org[64] = "", id[64] = "";
    SSO_CHECK(dir_pki_self_signed("Soon IdP", now - 86400, now + 5 * 86400, &key, &soon) == 0);
    SSO_CHECK(dir_pki_sp_keypair("Far IdP", &far_key, &far) == 0);
    if (!soon || !far)
        goto done;
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"Expiring\"}", "id", org, sizeof org) == 201);
    char path[200];
    snprintf(path, sizeof path, "/api/v1/organizations/%s/connections", org);
    json_t *request = json_pack("{s:s, s:{s:s, s:s, s:[s, s]}}", "type", "saml", "saml",
                                "idp_entity_id", "https://idp.test/e", "idp_sso_url",
                                "https://idp.test/sso", "idp_certificates", soon, far);
    char *text = json_dumps(request, 0);
    SSO_CHECK(dir_testkit_field(kit, "POST", path, text, "id", id, sizeof id) == 201);
    dir_conn_refresh_tick(kit->dir, true);
    char outcome[16], reason[DIR_EVENT_TEXT_MAX];
    dir_pki_cert_info_t info;
    SSO_CHECK(dir_pki_cert_info(soon, &info) == 0);
    SSO_CHECK(s_test_events(kit, id) == 1);
    s_test_last_event(kit, id, outcome, reason, sizeof reason);
    SSO_CHECK(!strcmp(outcome, "failure") && strstr(reason, "IdP certificate expiry: ")
              && strstr(reason, info.sha256) && strstr(reason, "within 7 days"));
    dir_conn_refresh_tick(kit->dir, true);
    dir_conn_refresh_stop(kit->dir);
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    dir_conn_refresh_tick(kit->dir, true);
    SSO_CHECK(s_test_events(kit, id) == 1);
    /* One that ends within a day: one warning, the last threshold's, not three. */
    char *last_key = NULL, *last = NULL, target[200];
    SSO_CHECK(dir_pki_self_signed("Last IdP", now - 86400, now + 43200, &last_key, &last) == 0);
    json_t *patch = json_pack("{s:{s:[s, s, s]}}", "saml", "idp_certificates", soon, far,
                              last ? last : "");
    char *patch_text = json_dumps(patch, 0);
    snprintf(target, sizeof target, "/api/v1/connections/%s", id);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", target, patch_text, NULL) == 200);
    dir_conn_refresh_tick(kit->dir, true);
    dir_conn_refresh_tick(kit->dir, true);
    SSO_CHECK(s_test_events(kit, id) == 2);
    s_test_last_event(kit, id, outcome, reason, sizeof reason);
    SSO_CHECK(strstr(reason, "within 1 day;") && strstr(reason, "CN=Last IdP"));
    dir_conn_refresh_stop(kit->dir);
    free(patch_text);
    json_decref(patch);
    free(last_key);
    free(last);
    free(text);
    json_decref(request);
done:
    free(key);
    free(soon);
    free(far_key);
    free(far);
}

void dir_conn_refresh_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test_refresh);
    dir_testkit_run(s_test_expiry);
}
