/* dir_webhook_sender: claims, sends and records the outbox's deliveries. */
#include "webhooks/dir_webhook_sender.h"
#include "webhooks/dir_webhooks.h"
#include "dir_testkit.h"
#include "login/dir_events.h"
#include "sso_crypto.h"
#include "sso_fetch.h"
#include "sso_log.h"
#include "sso_test.h"
#include "sso_webhook.h"
#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#define S_ID_MAX 64

/* One delivery's attempt: what the loop gave the thread, and what the thread brought back. */
typedef struct {
    char id[S_ID_MAX + 1];
    char message_id[S_ID_MAX + 1];
    int attempt;          /* this attempt's number, 1-based */
    int64_t lease_ms;     /* the claim's lease_until_ms: the apply checks it is still ours */
    char *url;
    char *secret;         /* cleansed when freed */
    char *previous;       /* a rotated secret still in its overlap, or NULL; cleansed too */
    char *payload;
    /* Results. */
    bool sent;            /* false: not attempted (the directory stopped first) */
    int fetch_rc;
    long status;
    char why[300];
    int64_t at;           /* Unix seconds at the start */
    int64_t duration_ms;
} s_job_t;

struct _dir_webhook_sender_t {
    bool allow_private;
    pthread_t thread;
    bool running;          /* a round is in flight (the thread is to be joined) */
    atomic_bool done;      /* the thread has sent every job of the round */
    atomic_bool stopping;  /* the directory stops: the thread sends no further job */
    s_job_t jobs[DIR_WEBHOOK_ROUND];
    size_t n_jobs;
    int64_t look_at_ms;    /* when the tick next looks for due deliveries */
};

/* One POST, signed at the time it leaves. */
static void s_send(dir_webhook_sender_t *self, s_job_t *job)
{
    int64_t start = dir_webhooks_now_ms();
    job->at = start / 1000;
    size_t len = strlen(job->payload);
    char *signature = sso_webhook_sign(job->secret, job->message_id, job->at, job->payload, len);
    /* During a rotation's overlap the old secret signs too: Standard Webhooks receivers
       accept a delivery when any of the space-separated signatures verifies. */
    char *previous = signature && job->previous ? sso_webhook_sign(job->previous,
                                                                   job->message_id, job->at,
                                                                   job->payload, len)
                                                : NULL;
    if (!signature) {
        job->fetch_rc = -1;
        snprintf(job->why, sizeof job->why, "could not sign (the stored secret is unusable)");
        job->duration_ms = 0;
        return;
    }
    char id_header[S_ID_MAX + 16], time_header[48], signature_header[320];
    snprintf(id_header, sizeof id_header, "webhook-id: %s", job->message_id);
    snprintf(time_header, sizeof time_header, "webhook-timestamp: %lld", (long long) job->at);
    snprintf(signature_header, sizeof signature_header, "webhook-signature: %s%s%s", signature,
             previous ? " " : "", previous ? previous : "");
    free(signature);
    free(previous);
    const char *const headers[] = {id_header, time_header, signature_header, NULL};
    sso_fetch_request_t request = {.url = job->url, .method = "POST", .body = job->payload,
                                   .body_len = len, .content_type = "application/json",
                                   .headers = headers, .allow_private = self->allow_private,
                                   .timeout_ms = DIR_WEBHOOK_TIMEOUT_MS,
                                   .max_bytes = DIR_WEBHOOK_RESPONSE_MAX};
    sso_fetch_response_t response;
    job->fetch_rc = sso_fetch(&request, &response, job->why, sizeof job->why);
    job->status = job->fetch_rc == 0 ? response.status : 0;
    sso_fetch_response_free(&response);
    job->duration_ms = dir_webhooks_now_ms() - start;
}

static void *s_round_run(void *arg)
{
    dir_webhook_sender_t *self = arg;
    for (size_t i = 0; i < self->n_jobs; i++) {
        if (atomic_load(&self->stopping))
            break;
        s_send(self, &self->jobs[i]);
        self->jobs[i].sent = true;
    }
    atomic_store(&self->done, true);
    return NULL;
}

static void s_job_free(s_job_t *job)
{
    if (job->secret)
        OPENSSL_cleanse(job->secret, strlen(job->secret));
    free(job->secret);
    if (job->previous)
        OPENSSL_cleanse(job->previous, strlen(job->previous));
    free(job->previous);
    free(job->url);
    free(job->payload);
    memset(job, 0, sizeof *job);
}

static void s_jobs_free(dir_webhook_sender_t *self)
{
    for (size_t i = 0; i < self->n_jobs; i++)
        s_job_free(&self->jobs[i]);
    self->n_jobs = 0;
}

int64_t dir_webhook_sender_backoff_ms(const dir_t *dir, int attempts, uint32_t random)
{
    static const int64_t schedule_s[] = {5, 30, 120, 600, 3600, 21600};
    size_t last = sizeof schedule_s / sizeof schedule_s[0] - 1;
    size_t index = attempts < 1 ? 0 : (size_t) attempts - 1 > last ? last : (size_t) attempts - 1;
    /* The schedule in the first delay's units: 5 s by default, shorter in tests. */
    int64_t delay = schedule_s[index] * dir->webhook_first_retry_ms / 5;
    int64_t spread = delay / 5; /* ±10% */
    return delay - delay / 10 + (spread > 0 ? (int64_t) (random % (uint64_t) (spread + 1)) : 0);
}

/* What one attempt brought, in a write of its own: the delivery log's row, and the delivery
   delivered, failed, or due again after its backoff. A claim no longer ours (its lease ended
   and another took it) records the attempt only. */
static int s_apply(dir_t *dir, const s_job_t *job)
{
    int64_t now_ms = dir_webhooks_now_ms();
    if (!job->sent)
        /* Not sent: the claim is given back, due at once. */
        return dir_db_run(dir->db, NULL, "UPDATE webhook_deliveries SET lease_until_ms = 0 "
                                         "WHERE id = ? AND lease_until_ms = ?",
                          "si", job->id, job->lease_ms) == DIR_DB_OK
                   ? 0
                   : -1;
    bool delivered = job->fetch_rc == 0 && job->status >= 200 && job->status < 300;
    char error[400] = "";
    if (job->fetch_rc != 0)
        snprintf(error, sizeof error, "%s", job->why);
    else if (!delivered)
        snprintf(error, sizeof error, "the endpoint answered HTTP %ld", job->status);
    if (dir_db_run(dir->db, NULL, "INSERT INTO webhook_attempts (delivery_id, attempt, at, "
                                  "http_status, error, duration_ms) VALUES (?, ?, ?, nullif(?, "
                                  "0), nullif(?, ''), ?)",
                   "siiisi", job->id, (int64_t) job->attempt, job->at, (int64_t) job->status,
                   error, job->duration_ms) != DIR_DB_OK)
        return -1;
    uint32_t r = 0;
    if (sso_random_bytes((uint8_t *) &r, sizeof r) != 0)
        r = 0;
    int64_t next = now_ms + dir_webhook_sender_backoff_ms(dir, job->attempt, r);
    /* Failed once its 3 days are over; else due after its backoff, or at their end for one
       last try. */
    int changes = 0;
    if (dir_db_run(dir->db, &changes,
                   "UPDATE webhook_deliveries SET status = CASE WHEN ?1 = 1 THEN 'delivered' WHEN "
                   "?2 >= deadline_ms THEN 'failed' ELSE 'pending' END, attempts = ?3, "
                   "next_at_ms = min(?4, deadline_ms), lease_until_ms = 0, last_http_status = "
                   "nullif(?5, 0), last_error = nullif(?6, ''), updated_at = ?7 WHERE id = ?8 "
                   "AND status = 'pending' AND lease_until_ms = ?9",
                   "iiiiisisi", (int64_t) delivered, now_ms, (int64_t) job->attempt, next,
                   (int64_t) job->status, error, now_ms / 1000, job->id, job->lease_ms)
        != DIR_DB_OK)
        return -1;
    if (changes == 1 && !delivered)
        sso_warn("webhook delivery %s (message %s), attempt %d: %s", job->id, job->message_id,
                 job->attempt, error);
    return 0;
}

/* The round's results, each in a write of its own. */
static void s_round_finish(dir_t *dir, dir_webhook_sender_t *self)
{
    pthread_join(self->thread, NULL);
    self->running = false;
    for (size_t i = 0; i < self->n_jobs; i++) {
        if (dir_db_begin(dir->db) != 0 || s_apply(dir, &self->jobs[i]) != 0
            || dir_db_commit(dir->db) != 0) {
            dir_db_rollback(dir->db);
            /* The lease ends and the delivery is sent again: at least once. */
            sso_warn("webhook delivery %s: its attempt was not recorded", self->jobs[i].id);
        }
    }
    s_jobs_free(self);
}

/* The secret of endpoint sealed in stmt's column, opened (caller cleanses and frees). */
static char *s_open_secret(dir_t *dir, dir_db_stmt_t *stmt, int column, const char *endpoint)
{
    size_t len = 0;
    const void *sealed = dir_db_blob(stmt, column, &len);
    char aad[S_ID_MAX + 32];
    snprintf(aad, sizeof aad, "webhook:%s:secret", endpoint);
    return sealed ? dir_keys_open(dir->keys, sealed, len, aad, NULL) : NULL;
}

/* Claims up to DIR_WEBHOOK_ROUND due deliveries into the round's jobs, in one write: the head
   of each (endpoint, stream) whose time has come and whose claim, if any, has ended. One past
   its 3 days (its endpoint was disabled meanwhile) is failed there and not sent. How many. */
static size_t s_claim(dir_t *dir, dir_webhook_sender_t *self, int64_t now_ms)
{
    int64_t lease = now_ms + DIR_WEBHOOK_LEASE_MS;
    dir_db_stmt_t *stmt = dir_db_query(
        dir->db,
        "SELECT d.id, d.message_id, d.attempts, d.deadline_ms, e.id, e.url, e.secret_sealed, "
        "m.payload, e.previous_secret_sealed, e.previous_secret_until FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id "
        "JOIN webhook_messages m ON m.id = d.message_id WHERE d.status = 'pending' AND "
        "e.disabled = 0 AND d.next_at_ms <= ?1 AND d.lease_until_ms <= ?1 AND d.seq = (SELECT "
        "min(h.seq) FROM webhook_deliveries h WHERE h.endpoint_id = d.endpoint_id AND "
        "h.stream = d.stream AND h.status = 'pending') ORDER BY d.next_at_ms, d.seq LIMIT ?2",
        "ii", now_ms, (int64_t) DIR_WEBHOOK_ROUND);
    bool ok = stmt != NULL;
    json_t *expired = json_array();
    while (ok && dir_db_step(stmt) == DIR_DB_ROW && self->n_jobs < DIR_WEBHOOK_ROUND) {
        const char *id = dir_db_text(stmt, 0);
        if (strlen(id) > S_ID_MAX || strlen(dir_db_text(stmt, 1)) > S_ID_MAX)
            continue;
        if (now_ms >= dir_db_int64(stmt, 3)) {
            json_array_append_new(expired, json_string(id));
            continue;
        }
        s_job_t *job = &self->jobs[self->n_jobs];
        snprintf(job->id, sizeof job->id, "%s", id);
        snprintf(job->message_id, sizeof job->message_id, "%s", dir_db_text(stmt, 1));
        job->attempt = (int) dir_db_int64(stmt, 2) + 1;
        job->lease_ms = lease;
        job->secret = s_open_secret(dir, stmt, 6, dir_db_text(stmt, 4));
        if (!dir_db_is_null(stmt, 8) && dir_db_int64(stmt, 9) * 1000 > now_ms)
            job->previous = s_open_secret(dir, stmt, 8, dir_db_text(stmt, 4));
        job->url = strdup(dir_db_text(stmt, 5));
        job->payload = strdup(dir_db_text(stmt, 7));
        self->n_jobs++;
        ok = job->url && job->payload;
        if (!job->secret) /* s_send records a failed attempt: never sent unsigned */
            sso_warn("webhook delivery %s: the endpoint's secret cannot be opened", id);
    }
    dir_db_release(stmt);
    /* Nothing due: no write (the look runs several times a second). */
    if (!ok || (self->n_jobs == 0 && json_array_size(expired) == 0)
        || dir_db_begin(dir->db) != 0) {
        json_decref(expired);
        s_jobs_free(self);
        return 0;
    }
    size_t i, kept = 0;
    json_t *item;
    json_array_foreach(expired, i, item) {
        ok = ok && dir_db_run(dir->db, NULL, "UPDATE webhook_deliveries SET status = 'failed', "
                                             "last_error = 'not delivered within 3 days', "
                                             "updated_at = ? WHERE id = ? AND status = "
                                             "'pending'", "is", now_ms / 1000,
                              json_string_value(item)) == DIR_DB_OK;
    }
    json_decref(expired);
    /* Moving the lease on, guarded by what was read, is the claim: a row another instance
       claimed since is not ours (and is dropped from the round). */
    for (i = 0; ok && i < self->n_jobs; i++) {
        int changes = 0;
        ok = dir_db_run(dir->db, &changes, "UPDATE webhook_deliveries SET lease_until_ms = ? "
                                           "WHERE id = ? AND status = 'pending' AND "
                                           "lease_until_ms <= ?",
                        "isi", lease, self->jobs[i].id, now_ms) == DIR_DB_OK;
        if (changes == 1 && i != kept) {
            s_job_t mine = self->jobs[i];
            self->jobs[i] = self->jobs[kept];
            self->jobs[kept] = mine;
        }
        kept += changes == 1;
    }
    for (i = kept; ok && i < self->n_jobs; i++)
        s_job_free(&self->jobs[i]);
    if (ok)
        self->n_jobs = kept;
    if (!ok || dir_db_commit(dir->db) != 0) {
        dir_db_rollback(dir->db);
        s_jobs_free(self);
    }
    return self->n_jobs;
}

void dir_webhook_sender_tick(dir_t *dir, bool force)
{
    dir_webhook_sender_t *self = dir->webhook_sender;
    if (!self && !(self = dir->webhook_sender = calloc(1, sizeof *self)))
        return;
    if (self->running && atomic_load(&self->done)) {
        s_round_finish(dir, self);
        self->look_at_ms = 0; /* a backlog goes on at once */
    }
    int64_t now_ms = dir_webhooks_now_ms();
    if (self->running || (!force && now_ms < self->look_at_ms))
        return;
    self->look_at_ms = now_ms + DIR_WEBHOOK_LOOK_MS;
    self->allow_private = dir->allow_private_upstreams;
    if (s_claim(dir, self, now_ms) == 0)
        return;
    atomic_store(&self->done, false);
    atomic_store(&self->stopping, false);
    if (pthread_create(&self->thread, NULL, s_round_run, self) != 0) {
        sso_warn("webhooks: cannot start the sender's thread; the claims end with their lease");
        s_jobs_free(self);
        return;
    }
    self->running = true;
}

void dir_webhook_sender_stop(dir_t *dir)
{
    dir_webhook_sender_t *self = dir->webhook_sender;
    if (!self)
        return;
    if (self->running) {
        atomic_store(&self->stopping, true);
        s_round_finish(dir, self);
    }
    s_jobs_free(self);
    free(self);
    dir->webhook_sender = NULL;
}

/* ---- self-test: a recording receiver on loopback ------------------------------------------ */

#define S_TEST_MAX 64

typedef struct {
    int listener;
    atomic_bool stop;
    pthread_mutex_t lock;
    int fail_first;              /* answer 500 to this many requests, then 200 */
    int delay_ms;                /* before each answer */
    int n;                       /* requests received */
    char id[S_TEST_MAX][S_ID_MAX + 1];
    int64_t timestamp[S_TEST_MAX];
    char signature[S_TEST_MAX][320];
    char body[S_TEST_MAX][1024];
    int answered[S_TEST_MAX];
} s_receiver_t;

/* The value of header name (lower case, as the sender writes it) in head, into out. */
static void s_test_header(const char *head, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    const char *at = strcasestr(head, name);
    if (at) {
        at += strlen(name);
        snprintf(out, size, "%.*s", (int) strcspn(at, "\r\n"), at);
    }
}

static void s_test_serve_one(s_receiver_t *rx, int fd)
{
    char head[8192];
    size_t got = sso_test_read_head(fd, head, sizeof head, 2000);
    char *end = strstr(head, "\r\n\r\n");
    char length[16];
    s_test_header(head, "\r\ncontent-length: ", length, sizeof length);
    long want = strtol(length, NULL, 10);
    char body[1024] = "";
    size_t have = end ? got - (size_t) (end + 4 - head) : 0;
    if (end && want > 0 && want < (long) sizeof body) {
        memcpy(body, end + 4, have < sizeof body ? have : sizeof body - 1);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        while ((long) have < want && poll(&pfd, 1, 2000) > 0) {
            ssize_t n = read(fd, body + have, (size_t) want - have);
            if (n <= 0)
                break;
            have += (size_t) n;
        }
        body[have < sizeof body ? have : sizeof body - 1] = '\0';
    }
    pthread_mutex_lock(&rx->lock);
    int i = rx->n < S_TEST_MAX ? rx->n++ : S_TEST_MAX - 1;
    int status = i < rx->fail_first ? 500 : 200;
    char stamp[32];
    s_test_header(head, "\r\nwebhook-id: ", rx->id[i], sizeof rx->id[i]);
    s_test_header(head, "\r\nwebhook-timestamp: ", stamp, sizeof stamp);
    s_test_header(head, "\r\nwebhook-signature: ", rx->signature[i], sizeof rx->signature[i]);
    rx->timestamp[i] = strtoll(stamp, NULL, 10);
    snprintf(rx->body[i], sizeof rx->body[i], "%s", body);
    rx->answered[i] = status;
    int delay = rx->delay_ms;
    pthread_mutex_unlock(&rx->lock);
    if (delay)
        usleep((useconds_t) delay * 1000);
    char reply[128];
    int len = snprintf(reply, sizeof reply, "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: "
                                            "close\r\n\r\nok", status);
    if (write(fd, reply, (size_t) len) != len)
        sso_warn("receiver: short write");
}

static void *s_test_receive(void *arg)
{
    s_receiver_t *rx = arg;
    struct pollfd pfd = {.fd = rx->listener, .events = POLLIN};
    while (!atomic_load(&rx->stop)) {
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        int fd = accept(rx->listener, NULL, NULL);
        if (fd >= 0) {
            s_test_serve_one(rx, fd);
            close(fd);
        }
    }
    return NULL;
}

/* Ticks until sql (an integer) reaches want, for at most about 10 s. */
static bool s_test_until(dir_t *dir, const char *sql, int64_t want)
{
    for (int i = 0; i < 1000; i++) {
        dir_webhook_sender_tick(dir, false);
        if (dir_db_int(dir->db, sql, NULL) == want)
            return true;
        usleep(10000);
    }
    fprintf(stderr, "waited in vain for %s = %lld (got %lld)\n", sql, (long long) want,
            (long long) dir_db_int(dir->db, sql, NULL));
    return false;
}

/* An endpoint on the receiver at url, for login events; its id and secret. */
static void s_test_endpoint(dir_testkit_t *kit, const char *url, char *id, char *secret)
{
    char request[400];
    snprintf(request, sizeof request, "{\"url\":\"%s/hook\",\"events\":[\"login.succeeded\","
                                      "\"login.failed\"]}", url);
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/webhooks", request, &body) == 201);
    snprintf(id, S_ID_MAX + 1, "%s", dir_testkit_str(body, "id"));
    snprintf(secret, 80, "%s", dir_testkit_str(body, "secret"));
    json_decref(body);
}

/* A login event of org with subject, in its own write; 0 or -1. */
static int s_test_login(dir_t *dir, const char *org, const char *subject)
{
    dir_event_t event = {.organization_id = org, .success = true, .subject = subject};
    return dir_events_add(dir, &event, NULL);
}

#define S_PENDING "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"

/* Starts rx on a thread and makes an endpoint on it for login events. 0, or -1 (counted). */
static int s_test_receiver_start(dir_testkit_t *kit, s_receiver_t *rx, pthread_t *thread,
                                 char *endpoint, char *secret)
{
    pthread_mutex_init(&rx->lock, NULL);
    int port = sso_test_listen(&rx->listener);
    SSO_CHECK(port > 0 && pthread_create(thread, NULL, s_test_receive, rx) == 0);
    if (port <= 0)
        return -1;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    kit->dir->allow_private_upstreams = true;
    s_test_endpoint(kit, url, endpoint, secret);
    return 0;
}

static void s_test_receiver_stop(dir_t *dir, s_receiver_t *rx, pthread_t thread)
{
    atomic_store(&rx->stop, true);
    pthread_join(thread, NULL);
    close(rx->listener);
    dir_webhook_sender_stop(dir);
    pthread_mutex_destroy(&rx->lock);
}

/* Signed, ordered per stream, retried with backoff, logged. */
static void s_test_order(dir_testkit_t *kit)
{
    dir_t *dir = kit->dir;
    dir->allow_private_upstreams = true;
    dir->webhook_first_retry_ms = 20;
    s_receiver_t rx = {.fail_first = 2};
    pthread_t thread;
    char endpoint[S_ID_MAX + 1], secret[80];
    if (s_test_receiver_start(kit, &rx, &thread, endpoint, secret) != 0)
        return;
    /* Three of org_a, one of org_b, in this order. */
    SSO_CHECK(s_test_login(dir, "org_a", "a1") == 0 && s_test_login(dir, "org_b", "b1") == 0
              && s_test_login(dir, "org_a", "a2") == 0 && s_test_login(dir, "org_a", "a3") == 0);
    SSO_CHECK(s_test_until(dir, S_PENDING, 0));
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_deliveries WHERE status = "
                                  "'delivered'", NULL) == 4);
    pthread_mutex_lock(&rx.lock);
    /* Every request signed as the specification says, with the message's id. */
    for (int i = 0; i < rx.n; i++) {
        char *want = sso_webhook_sign(secret, rx.id[i], rx.timestamp[i], rx.body[i],
                                      strlen(rx.body[i]));
        SSO_CHECK(want && !strcmp(want, rx.signature[i]) && !strncmp(rx.id[i], "msg_", 4)
                  && llabs(rx.timestamp[i] - dir_now()) < 30);
        free(want);
    }
    /* Per stream: the subjects in their order, each after its predecessor's 2xx only. */
    const char *org_a[] = {"\"a1\"", "\"a2\"", "\"a3\""};
    size_t next = 0;
    for (int i = 0; i < rx.n; i++) {
        if (!strstr(rx.body[i], "\"org_a\""))
            continue;
        bool in_order = next < 3 && strstr(rx.body[i], org_a[next]);
        SSO_CHECK(in_order);
        if (rx.answered[i] == 200)
            next++;
    }
    SSO_CHECK(next == 3 && rx.n == 6);
    pthread_mutex_unlock(&rx.lock);
    /* The two failures are in the delivery log, with the statuses; the first retry waited. */
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_attempts WHERE http_status = "
                                  "500 AND error LIKE '%HTTP 500%' AND attempt = 1", NULL) == 2);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_attempts", NULL) == 6);
    char list[200];
    json_t *body = NULL;
    snprintf(list, sizeof list, "/api/v1/webhooks/%s/deliveries?status=delivered", endpoint);
    SSO_CHECK(dir_testkit_call(kit, "GET", list, NULL, &body) == 200);
    json_t *data = json_object_get(body, "data");
    size_t retried = 0, i;
    json_t *item;
    json_array_foreach(data, i, item) {
        json_t *log = json_object_get(item, "attempt_log");
        retried += json_integer_value(json_object_get(item, "attempts")) == 2
                   && json_array_size(log) == 2
                   && json_integer_value(json_object_get(json_array_get(log, 0), "http_status"))
                          == 200
                   && json_integer_value(json_object_get(json_array_get(log, 1), "http_status"))
                          == 500;
    }
    SSO_CHECK(json_array_size(data) == 4 && retried == 2);
    json_decref(body);
    s_test_receiver_stop(dir, &rx, thread);
}

/* A rotated secret signs beside the new one for its overlap: the header carries the new
   signature, then the old; a rotation without overlap leaves only the new one. */
static void s_test_rotation(dir_testkit_t *kit)
{
    dir_t *dir = kit->dir;
    s_receiver_t rx = {0};
    pthread_t thread;
    char endpoint[S_ID_MAX + 1], old[80], rotate[200], fresh[80], last[80];
    if (s_test_receiver_start(kit, &rx, &thread, endpoint, old) != 0)
        return;
    snprintf(rotate, sizeof rotate, "/api/v1/webhooks/%s/secret/rotate", endpoint);
    SSO_CHECK(dir_testkit_field(kit, "POST", rotate, "{\"overlap_seconds\":3600}", "secret",
                                fresh, sizeof fresh) == 200);
    SSO_CHECK(s_test_login(dir, "org_a", "r1") == 0 && s_test_until(dir, S_PENDING, 0));
    SSO_CHECK(dir_testkit_field(kit, "POST", rotate, "{\"overlap_seconds\":0}", "secret", last,
                                sizeof last) == 200);
    SSO_CHECK(s_test_login(dir, "org_a", "r2") == 0 && s_test_until(dir, S_PENDING, 0));
    pthread_mutex_lock(&rx.lock);
    SSO_CHECK(rx.n == 2);
    const char *secrets[2][2] = {{fresh, old}, {last, NULL}};
    for (int i = 0; i < rx.n && i < 2; i++) {
        char *first = sso_webhook_sign(secrets[i][0], rx.id[i], rx.timestamp[i], rx.body[i],
                                       strlen(rx.body[i]));
        char *second = secrets[i][1] ? sso_webhook_sign(secrets[i][1], rx.id[i],
                                                        rx.timestamp[i], rx.body[i],
                                                        strlen(rx.body[i]))
                                     : NULL;
        char want[320];
        snprintf(want, sizeof want, "%s%s%s", first ? first : "?", second ? " " : "",
                 second ? second : "");
        SSO_CHECK(first && !strcmp(rx.signature[i], want));
        free(first);
        free(second);
    }
    pthread_mutex_unlock(&rx.lock);
    s_test_receiver_stop(dir, &rx, thread);
}

/* The backoff's schedule, its spread and its scale. */
static void s_test_backoff(dir_testkit_t *kit)
{
    dir_t *dir = kit->dir;
    static const int64_t want_s[] = {5, 30, 120, 600, 3600, 21600, 21600, 21600};
    for (int attempts = 1; attempts <= 8; attempts++) {
        int64_t base = want_s[attempts - 1] * 1000;
        int64_t low = dir_webhook_sender_backoff_ms(dir, attempts, 0);
        int64_t high = dir_webhook_sender_backoff_ms(dir, attempts, UINT32_MAX);
        int64_t mid = dir_webhook_sender_backoff_ms(dir, attempts, 12345);
        /* Within ±10% of the schedule, spread by the random value. */
        SSO_CHECK(low == base - base / 10 && high <= base + base / 10 && high > low
                  && mid > low && mid <= base + base / 10 && mid != high);
    }
    SSO_CHECK(dir_webhook_sender_backoff_ms(dir, 1000, 0) == 21600000 - 2160000);
    dir->webhook_first_retry_ms = 100;
    SSO_CHECK(dir_webhook_sender_backoff_ms(dir, 1, 0) == 90
              && dir_webhook_sender_backoff_ms(dir, 2, 0) == 540);
    /* A failed attempt is due again after it: the first retry, in the database. */
    dir->allow_private_upstreams = true;
    dir->webhook_first_retry_ms = 60000;
    char endpoint[S_ID_MAX + 1], secret[80];
    s_test_endpoint(kit, "http://127.0.0.1:1", endpoint, secret); /* nobody listens */
    SSO_CHECK(s_test_login(dir, "org_a", "a1") == 0);
    int64_t before = dir_webhooks_now_ms();
    SSO_CHECK(s_test_until(dir, "SELECT attempts FROM webhook_deliveries", 1));
    int64_t next = dir_db_int(dir->db, "SELECT next_at_ms FROM webhook_deliveries", NULL);
    SSO_CHECK(next >= before + 54000 && next <= dir_webhooks_now_ms() + 66000);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_attempts WHERE http_status IS "
                                  "NULL AND error IS NOT NULL", NULL) == 1);
    /* Not due yet: another look sends nothing. */
    dir_webhook_sender_tick(dir, true);
    SSO_CHECK(!dir->webhook_sender->running);
    dir_webhook_sender_stop(dir);
}

/* The 3 days' end: a delivery failing then is failed (at its attempt, or at the claim when its
   endpoint was disabled meanwhile) and its stream moves on. */
static void s_test_end(dir_testkit_t *kit)
{
    dir_t *dir = kit->dir;
    dir->allow_private_upstreams = true;
    dir->webhook_first_retry_ms = 20;
    s_receiver_t rx = {.fail_first = 1};
    pthread_t thread;
    char endpoint[S_ID_MAX + 1], secret[80];
    if (s_test_receiver_start(kit, &rx, &thread, endpoint, secret) != 0)
        return;
    SSO_CHECK(s_test_login(dir, "org_a", "a1") == 0 && s_test_login(dir, "org_a", "a2") == 0);
    /* The first attempt of a1 fails after its deadline passed: failed, not retried. */
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE webhook_deliveries SET deadline_ms = 1 WHERE "
                                        "seq = (SELECT min(seq) FROM webhook_deliveries)", NULL)
              == DIR_DB_OK);
    /* The claim fails it (past its deadline) without sending; a2 is delivered. */
    SSO_CHECK(s_test_until(dir, S_PENDING, 0));
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_deliveries WHERE status = "
                                  "'failed' AND last_error LIKE '%3 days%' AND attempts = 0",
                         NULL) == 1);
    /* At an attempt: claimed, its deadline passes while it is sent; it fails (the receiver's
       first answer is its 500). */
    SSO_CHECK(dir_db_run(dir->db, NULL, "DELETE FROM webhook_deliveries", NULL) == DIR_DB_OK);
    pthread_mutex_lock(&rx.lock);
    rx.fail_first = rx.n + 1;
    rx.delay_ms = 200;
    pthread_mutex_unlock(&rx.lock);
    SSO_CHECK(s_test_login(dir, "org_a", "a3") == 0 && s_test_login(dir, "org_a", "a4") == 0);
    dir_webhook_sender_tick(dir, true);
    SSO_CHECK(dir->webhook_sender->running);
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE webhook_deliveries SET deadline_ms = 1", NULL)
              == DIR_DB_OK);
    for (int i = 0; i < 500 && dir->webhook_sender->running; i++) {
        usleep(10000);
        dir_webhook_sender_tick(dir, false);
    }
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_deliveries WHERE status = "
                                  "'failed' AND attempts = 1 AND last_http_status = 500", NULL)
              == 1);
    s_test_receiver_stop(dir, &rx, thread);
}

/* Claims: a live lease (another instance's) is skipped, an ended one (a killed process's) is
   taken; a disabled endpoint's deliveries wait; a restart loses nothing. */
static void s_test_lease(dir_testkit_t *kit)
{
    dir_t *dir = kit->dir;
    dir->allow_private_upstreams = true;
    s_receiver_t rx = {0};
    pthread_t thread;
    char endpoint[S_ID_MAX + 1], secret[80], path[200];
    if (s_test_receiver_start(kit, &rx, &thread, endpoint, secret) != 0)
        return;
    SSO_CHECK(s_test_login(dir, "org_a", "a1") == 0);
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE webhook_deliveries SET lease_until_ms = ?",
                         "i", dir_webhooks_now_ms() + 60000) == DIR_DB_OK);
    dir_webhook_sender_tick(dir, true);
    SSO_CHECK(!dir->webhook_sender->running);
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE webhook_deliveries SET lease_until_ms = ?",
                         "i", dir_webhooks_now_ms() - 1) == DIR_DB_OK);
    SSO_CHECK(s_test_until(dir, S_PENDING, 0));
    SSO_CHECK(rx.n == 1);
    /* Disabled: the new one waits, across a restart; enabled, it leaves. */
    snprintf(path, sizeof path, "/api/v1/webhooks/%s", endpoint);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path, "{\"disabled\":true}", NULL) == 200);
    /* A disabled endpoint gets no new deliveries; one queued before it was disabled waits. */
    SSO_CHECK(s_test_login(dir, "org_a", "a2") == 0);
    SSO_CHECK(dir_db_int(dir->db, S_PENDING, NULL) == 0);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path, "{\"disabled\":false}", NULL) == 200);
    SSO_CHECK(s_test_login(dir, "org_a", "a3") == 0);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path, "{\"disabled\":true}", NULL) == 200);
    dir_webhook_sender_tick(dir, true);
    SSO_CHECK(!dir->webhook_sender->running && dir_db_int(dir->db, S_PENDING, NULL) == 1);
    dir_webhook_sender_stop(dir);
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    dir = kit->dir;
    dir->allow_private_upstreams = true;
    SSO_CHECK(dir_db_int(dir->db, S_PENDING, NULL) == 1);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path, "{\"disabled\":false}", NULL) == 200);
    SSO_CHECK(s_test_until(dir, S_PENDING, 0));
    pthread_mutex_lock(&rx.lock);
    SSO_CHECK(rx.n == 2 && strstr(rx.body[1], "\"a3\""));
    pthread_mutex_unlock(&rx.lock);
    s_test_receiver_stop(dir, &rx, thread);
}

void dir_webhook_sender_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test_order);
    dir_testkit_run(s_test_rotation);
    dir_testkit_run(s_test_backoff);
    dir_testkit_run(s_test_end);
    dir_testkit_run(s_test_lease);
}
