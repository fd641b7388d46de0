#include "sso_worker.h"
#include "sso_backoff.h"
#include "sso_config.h"
#include "sso_http.h"
#include "sso_log.h"
#include "sso_test.h"
#include <errno.h>

#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 2000

/* One broker this worker serves: its own connection, heartbeats and backoff, so that a
   broker that goes away is retried while the others keep serving. */
typedef struct {
    char *endpoint;
    zsock_t *socket;
    void *handle;            /* the socket's libzmq handle */
    int fd;                  /* the socket's ZMQ_FD: readable when libzmq has news for it */
    int64_t broker_expiry;   /* silent until then, the broker counts as gone */
    int64_t heartbeat_at;    /* when we send our next heartbeat */
    int64_t reconnect_at;    /* 0 while connected; else gone: connect again then */
    sso_backoff_t backoff;
    int connects;
} s_broker_t;

struct sso_worker_t {
    const sso_bus_keys_t *keys;
    char *service;
    s_broker_t brokers[SSO_BROKERS_MAX];
    size_t n_brokers;
    size_t next;             /* the broker try_recv reads first: each gets its turn */
    int credit;
    /* Counted since the last reply sent (sso_worker_count). */
    struct {
        char name[SSO_COUNTER_NAME_MAX + 1];
        uint64_t increment;
    } counters[SSO_WORKER_COUNTERS_MAX];
    size_t n_counters;
};

static void s_send_command(sso_worker_t *self, s_broker_t *broker, uint8_t command,
                           const char *service)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, MDPW_WORKER);
    zmsg_addmem(msg, &command, 1);
    if (service)
        zmsg_addstr(msg, service);
    if (service && self->credit > 1)
        zmsg_addstrf(msg, "%d", self->credit);
    zmsg_send(&msg, broker->socket);
}

static void s_connect(sso_worker_t *self, s_broker_t *broker)
{
    if (sso_bus_dealer_connect(&broker->socket, NULL, broker->endpoint, self->keys,
                               self->service) != 0)
        sso_error("worker %s: cannot connect to %s%s", self->service, broker->endpoint,
                  self->keys && !sso_bus_keys_can_connect(self->keys, self->service)
                      ? " (no bus key for this service)" : "");
    broker->handle = zsock_resolve(broker->socket);
    broker->fd = sso_bus_fd(broker->socket); /* -1: poll() skips it, the loop runs on its timers */
    s_send_command(self, broker, MDPW_READY, self->service);
    broker->broker_expiry = sso_now_ms() + SSO_HEARTBEAT_MS * SSO_HEARTBEAT_LIVENESS;
    broker->heartbeat_at = sso_now_ms() + SSO_HEARTBEAT_MS;
    broker->reconnect_at = 0;
    broker->connects++;
    if (broker->connects > 1)
        sso_info("worker %s: reconnected to %s", self->service, broker->endpoint);
}

sso_worker_t *sso_worker_new_brokers(const char *const *endpoints, size_t n,
                                     const sso_bus_keys_t *keys, const char *service, int credit)
{
    if (!endpoints || n == 0 || n > SSO_BROKERS_MAX || !service)
        return NULL;
    sso_worker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->credit = credit < 1 ? 1 : credit > SSO_WORKER_CREDIT_MAX ? SSO_WORKER_CREDIT_MAX : credit;
    self->keys = keys;
    self->service = strdup(service);
    self->n_brokers = n;
    bool ready = self->service != NULL;
    for (size_t i = 0; ready && i < n; i++) {
        sso_backoff_init(&self->brokers[i].backoff, RECONNECT_MIN_MS, RECONNECT_MAX_MS);
        ready = (self->brokers[i].endpoint = strdup(endpoints[i])) != NULL;
    }
    for (size_t i = 0; ready && i < n; i++)
        s_connect(self, &self->brokers[i]);
    if (!ready)
        sso_worker_destroy(&self);
    return self;
}

sso_worker_t *sso_worker_new(const char *endpoint, const sso_bus_keys_t *keys,
                             const char *service, int credit)
{
    return sso_worker_new_brokers(&endpoint, 1, keys, service, credit);
}

void sso_worker_destroy(sso_worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sso_worker_t *self = *self_p;
    for (size_t i = 0; i < self->n_brokers; i++) {
        s_broker_t *broker = &self->brokers[i];
        if (broker->socket && !broker->reconnect_at)
            s_send_command(self, broker, MDPW_DISCONNECT, NULL);
        zsock_destroy(&broker->socket);
        free(broker->endpoint);
    }
    free(self->service);
    free(self);
    *self_p = NULL;
}

int sso_worker_connects(sso_worker_t *self)
{
    int connects = 0;
    for (size_t i = 0; i < self->n_brokers; i++)
        connects += self->brokers[i].connects;
    return connects;
}

size_t sso_worker_brokers(const sso_worker_t *self) { return self->n_brokers; }

bool sso_worker_broker_live(const sso_worker_t *self, size_t broker)
{
    return broker < self->n_brokers && !self->brokers[broker].reconnect_at;
}

void sso_job_release(sso_job_t *job)
{
    zframe_destroy(&job->reply_to);
    zframe_destroy(&job->payload);
    if (job->meta)
        sso__meta__free_unpacked(job->meta, NULL);
    job->meta = NULL;
}

static void s_heartbeat_if_due(sso_worker_t *self, s_broker_t *broker, int64_t now)
{
    if (!broker->reconnect_at && now >= broker->heartbeat_at) {
        s_send_command(self, broker, MDPW_HEARTBEAT, NULL);
        broker->heartbeat_at = sso_now_ms() + SSO_HEARTBEAT_MS;
    }
}

void sso_worker_heartbeat_if_due(sso_worker_t *self)
{
    int64_t now = sso_now_ms();
    for (size_t i = 0; i < self->n_brokers; i++)
        s_heartbeat_if_due(self, &self->brokers[i], now);
}

/* Handles one message from a broker; returns 1 when it was a request (job filled). */
static int s_handle(sso_worker_t *self, size_t index, zmsg_t *msg, sso_job_t *job)
{
    s_broker_t *broker = &self->brokers[index];
    int rc = 0;
    broker->broker_expiry = sso_now_ms() + SSO_HEARTBEAT_MS * SSO_HEARTBEAT_LIVENESS;
    sso_backoff_reset(&broker->backoff);
    char *header = zmsg_popstr(msg);
    zframe_t *command_frame = zmsg_pop(msg);
    uint8_t command = 0;
    if (!header || strcmp(header, MDPW_WORKER) != 0 || !sso_frame_is_command(command_frame, &command))
        sso_warn("worker %s: dropped a malformed message from the broker", self->service);
    else if (command == MDPW_REQUEST) {
        zframe_t *reply_to = zmsg_pop(msg);
        zframe_t *empty = zmsg_pop(msg);
        zframe_t *meta_frame = zmsg_pop(msg);
        zframe_t *payload = zmsg_pop(msg);
        Sso__Meta *meta = NULL;
        if (!reply_to || !empty || zframe_size(empty) != 0 || !payload || zmsg_size(msg) != 0)
            sso_warn("worker %s: dropped a request with the wrong frames", self->service);
        else if ((meta = sso_meta_unpack(meta_frame)) != NULL) {
            job->reply_to = reply_to;
            job->meta = meta;
            job->payload = payload;
            job->broker = (int) index;
            job->connection = broker->connects;
            reply_to = payload = NULL;
            rc = 1;
        }
        zframe_destroy(&reply_to);
        zframe_destroy(&empty);
        zframe_destroy(&meta_frame);
        zframe_destroy(&payload);
    }
    else if (command == MDPW_DISCONNECT)
        s_connect(self, broker);
    else if (command != MDPW_HEARTBEAT)
        sso_warn("worker %s: unknown command 0x%02x from the broker", self->service, command);
    free(header);
    zframe_destroy(&command_frame);
    return rc;
}

/* One broker's turn: 1 with job filled, 0 when its socket is empty (or it is gone and not
   yet due to be tried again), -1 when the context is gone. */
static int s_try_broker(sso_worker_t *self, size_t index, sso_job_t *job)
{
    s_broker_t *broker = &self->brokers[index];
    if (broker->reconnect_at) {
        if (sso_now_ms() < broker->reconnect_at)
            return 0;
        s_connect(self, broker);
    }
    for (;;) {
        /* Before the read: a heartbeat's send may take the fd's signal, the read makes up. */
        s_heartbeat_if_due(self, broker, sso_now_ms());
        zmsg_t *msg = zmsg_recv_nowait(broker->socket);
        if (msg) {
            int got = s_handle(self, index, msg, job);
            zmsg_destroy(&msg);
            if (got)
                return 1;
            continue;
        }
        if (zmq_errno() != EAGAIN && zmq_errno() != EINTR)
            return -1; /* the context is gone */
        if (sso_now_ms() < broker->broker_expiry)
            return 0;
        /* Gone: tried again after a backoff, while the loop serves the other brokers. */
        int delay = sso_backoff_next(&broker->backoff);
        sso_warn("worker %s: broker %s silent, reconnecting in %d ms", self->service,
                 broker->endpoint, delay);
        broker->reconnect_at = sso_now_ms() + delay;
        return 0;
    }
}

int sso_worker_try_recv(sso_worker_t *self, sso_job_t *job)
{
    memset(job, 0, sizeof *job);
    for (size_t turn = 0; turn < self->n_brokers; turn++) {
        size_t index = (self->next + turn) % self->n_brokers;
        int got = s_try_broker(self, index, job);
        if (got == 1)
            self->next = (index + 1) % self->n_brokers;
        if (got != 0)
            return got;
    }
    return 0;
}

int64_t sso_worker_wake_at(const sso_worker_t *self)
{
    int64_t first = INT64_MAX;
    for (size_t i = 0; i < self->n_brokers; i++) {
        const s_broker_t *broker = &self->brokers[i];
        int64_t at = broker->reconnect_at ? broker->reconnect_at
                     : broker->heartbeat_at < broker->broker_expiry ? broker->heartbeat_at
                                                                    : broker->broker_expiry;
        first = at < first ? at : first;
    }
    return first;
}

int64_t sso_worker_heartbeat_at(const sso_worker_t *self)
{
    int64_t first = INT64_MAX;
    for (size_t i = 0; i < self->n_brokers; i++)
        if (!self->brokers[i].reconnect_at && self->brokers[i].heartbeat_at < first)
            first = self->brokers[i].heartbeat_at;
    return first;
}

int sso_worker_fd(const sso_worker_t *self) { return self->brokers[0].fd; }

size_t sso_worker_poll_items(const sso_worker_t *self, struct pollfd *items, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n_brokers && n < max; i++)
        if (!self->brokers[i].reconnect_at)
            items[n++] = (struct pollfd){self->brokers[i].fd, POLLIN, 0};
    return n;
}

int sso_worker_recv(sso_worker_t *self, sso_job_t *job)
{
    while (!zsys_interrupted) {
        int got = sso_worker_try_recv(self, job);
        if (got != 0)
            return got == 1 ? 0 : -1;
        struct pollfd items[SSO_BROKERS_MAX];
        size_t n = sso_worker_poll_items(self, items, SSO_BROKERS_MAX);
        if (sso_bus_wait_any(items, n, sso_worker_wake_at(self)) != 0)
            break;
    }
    return -1;
}

int sso_worker_reply(sso_worker_t *self, sso_job_t *job, zframe_t **payload_p)
{
    s_broker_t *broker = job->broker >= 0 && (size_t) job->broker < self->n_brokers
                             ? &self->brokers[job->broker] : NULL;
    if (!broker || job->connection != broker->connects) {
        sso_debug("worker %s: reply to %s dropped: it came before a reconnect", self->service,
                  job->meta ? job->meta->request_id : "?");
        zframe_destroy(payload_p);
        sso_job_release(job);
        return -1;
    }
    Sso__Meta meta = SSO__META__INIT;
    meta.request_id = job->meta ? job->meta->request_id : "";
    Sso__CounterIncrement items[SSO_WORKER_COUNTERS_MAX];
    Sso__CounterIncrement *ptrs[SSO_WORKER_COUNTERS_MAX];
    for (size_t i = 0; i < self->n_counters; i++) {
        sso__counter_increment__init(&items[i]);
        items[i].name = self->counters[i].name;
        items[i].increment = self->counters[i].increment;
        ptrs[i] = &items[i];
    }
    meta.counters = ptrs;
    meta.n_counters = self->n_counters;
    uint8_t command = MDPW_FINAL;
    zframe_t *meta_frame = sso_frame_pack(&meta.base);
    if (!*payload_p)
        *payload_p = zframe_new(NULL, 0);
    /* Frame by frame, no zmsg: the reply address, meta and payload go to libzmq as they are. */
    int rc = -1;
    if (meta_frame && *payload_p && job->reply_to
        && zmq_send(broker->handle, MDPW_WORKER, strlen(MDPW_WORKER), ZMQ_SNDMORE) != -1
        && zmq_send(broker->handle, &command, 1, ZMQ_SNDMORE) != -1
        && zframe_send(&job->reply_to, broker->socket, ZFRAME_MORE) == 0
        && zmq_send(broker->handle, "", 0, ZMQ_SNDMORE) != -1
        && zframe_send(&meta_frame, broker->socket, ZFRAME_MORE) == 0)
        rc = zframe_send(payload_p, broker->socket, 0);
    if (rc == 0)
        self->n_counters = 0; /* they left with this reply */
    zframe_destroy(&meta_frame);
    zframe_destroy(payload_p);
    sso_job_release(job);
    return rc;
}

int sso_worker_count(sso_worker_t *self, const char *name, uint64_t increment)
{
    if (!self || !sso_http_counter_name_ok(name))
        return -1;
    size_t i = 0;
    while (i < self->n_counters && strcmp(self->counters[i].name, name) != 0)
        i++;
    if (i == self->n_counters) {
        if (i == SSO_WORKER_COUNTERS_MAX)
            return -1;
        snprintf(self->counters[i].name, sizeof self->counters[i].name, "%s", name);
        self->counters[i].increment = 0;
        self->n_counters++;
    }
    self->counters[i].increment += increment;
    return 0;
}

/* ---- self-test: two brokers played by the test over inproc -------------------------------- */

int sso_worker_test_read(zsock_t *router, zframe_t **identity_p, char *text, size_t size)
{
    if (!(zsock_events(router) & ZMQ_POLLIN))
        return -1;
    zmsg_t *msg = zmsg_recv(router);
    if (!msg)
        return -1;
    zframe_destroy(identity_p);
    *identity_p = zmsg_pop(msg);
    free(zmsg_popstr(msg)); /* MDPW02 */
    zframe_t *command = zmsg_pop(msg);
    int code = command && zframe_size(command) == 1 ? zframe_data(command)[0] : -1;
    zframe_destroy(&command);
    zframe_t *last = zmsg_last(msg);
    if (text)
        snprintf(text, size, "%.*s", last ? (int) zframe_size(last) : 0,
                 last ? (const char *) zframe_data(last) : "");
    zmsg_destroy(&msg);
    return code;
}

/* Sends the worker at identity a REQUEST (body "request_id") or another command. */
static void s_test_send(zsock_t *router, zframe_t *identity, uint8_t command,
                        const char *request_id)
{
    zmsg_t *msg = zmsg_new();
    zmsg_append(msg, &(zframe_t *){zframe_dup(identity)});
    zmsg_addstr(msg, MDPW_WORKER);
    zmsg_addmem(msg, &command, 1);
    if (command == MDPW_REQUEST) {
        Sso__Meta meta = SSO__META__INIT;
        meta.request_id = (char *) request_id;
        meta.kind = SSO__META__KIND__RPC;
        meta.rpc = "x";
        zmsg_addstr(msg, "client-address");
        zmsg_addmem(msg, NULL, 0);
        zmsg_append(msg, &(zframe_t *){sso_frame_pack(&meta.base)});
        zmsg_addstr(msg, request_id);
    }
    SSO_CHECK(zmsg_send(&msg, router) == 0);
}

/* The worker takes the one request waiting and answers it with its own payload: true when it
   had one. */
static bool s_test_echo(sso_worker_t *worker)
{
    sso_job_t job;
    if (sso_worker_try_recv(worker, &job) != 1)
        return false;
    zframe_t *reply = zframe_dup(job.payload);
    SSO_CHECK(sso_worker_reply(worker, &job, &reply) == 0);
    return true;
}

/* One worker, two brokers: READY to both, each broker's requests answered to that broker, and
   a broker that goes silent is retried after a backoff while the other is served on; the
   retry says READY again there, and a reply to a request taken before it is dropped. */
static void s_test_brokers(void)
{
    const char *endpoints[] = {"inproc://worker-test-a", "inproc://worker-test-b"};
    zsock_t *routers[2] = {zsock_new_router(endpoints[0]), zsock_new_router(endpoints[1])};
    SSO_CHECK(routers[0] && routers[1]);
    const char *too_many[SSO_BROKERS_MAX + 1];
    for (size_t i = 0; i <= SSO_BROKERS_MAX; i++)
        too_many[i] = endpoints[0];
    SSO_CHECK(!sso_worker_new_brokers(too_many, SSO_BROKERS_MAX + 1, NULL, "two", 1));
    SSO_CHECK(!sso_worker_new_brokers(endpoints, 0, NULL, "two", 1));
    SSO_CHECK(!sso_worker_new_brokers(NULL, 1, NULL, "two", 1));
    sso_worker_t *worker = sso_worker_new_brokers(endpoints, 2, NULL, "two", 1);
    SSO_CHECK(worker && sso_worker_brokers(worker) == 2);
    if (!worker || !routers[0] || !routers[1]) {
        sso_worker_destroy(&worker);
        zsock_destroy(&routers[0]);
        zsock_destroy(&routers[1]);
        return;
    }
    zframe_t *identities[2] = {NULL, NULL};
    char text[64];
    for (int i = 0; i < 2; i++)
        SSO_CHECK(sso_worker_test_read(routers[i], &identities[i], text, sizeof text) == MDPW_READY
                  && !strcmp(text, "two"));
    struct pollfd items[SSO_BROKERS_MAX];
    SSO_CHECK(sso_worker_poll_items(worker, items, SSO_BROKERS_MAX) == 2);
    /* Each broker's request is answered to that broker. */
    s_test_send(routers[0], identities[0], MDPW_REQUEST, "via-a");
    s_test_send(routers[1], identities[1], MDPW_REQUEST, "via-b");
    SSO_CHECK(s_test_echo(worker) && s_test_echo(worker) && !s_test_echo(worker));
    SSO_CHECK(sso_worker_test_read(routers[0], &identities[0], text, sizeof text) == MDPW_FINAL
              && !strcmp(text, "via-a"));
    SSO_CHECK(sso_worker_test_read(routers[1], &identities[1], text, sizeof text) == MDPW_FINAL
              && !strcmp(text, "via-b"));
    SSO_CHECK(sso_worker_test_read(routers[0], &identities[0], text, sizeof text) == -1
              && sso_worker_test_read(routers[1], &identities[1], text, sizeof text) == -1);
    /* A busy broker does not starve the other: with both full, they take turns. */
    for (int i = 0; i < 3; i++) {
        s_test_send(routers[0], identities[0], MDPW_REQUEST, "a");
        s_test_send(routers[1], identities[1], MDPW_REQUEST, "b");
    }
    char order[8] = "";
    for (int i = 0; i < 6; i++) {
        sso_job_t job;
        SSO_CHECK(sso_worker_try_recv(worker, &job) == 1);
        order[i] = job.broker == 0 ? 'a' : 'b';
        zframe_t *reply = zframe_dup(job.payload);
        sso_worker_reply(worker, &job, &reply);
    }
    SSO_CHECK(!strcmp(order, "ababab") || !strcmp(order, "bababa"));
    while (sso_worker_test_read(routers[0], &identities[0], text, sizeof text) != -1
           || sso_worker_test_read(routers[1], &identities[1], text, sizeof text) != -1)
        ;
    /* Broker b goes silent (its expiry passes): a reconnect is scheduled after a backoff, b's
       socket leaves the poll set, no heartbeat goes to it, and a is served meanwhile. */
    s_test_send(routers[1], identities[1], MDPW_REQUEST, "before");
    sso_job_t held;
    SSO_CHECK(sso_worker_try_recv(worker, &held) == 1 && held.broker == 1);
    worker->brokers[1].broker_expiry = sso_now_ms() - 1;
    worker->brokers[0].heartbeat_at = sso_now_ms() - 1;
    int64_t before = sso_now_ms();
    sso_job_t none;
    SSO_CHECK(sso_worker_try_recv(worker, &none) == 0);
    int64_t retry_at = worker->brokers[1].reconnect_at;
    SSO_CHECK(retry_at >= before + RECONNECT_MIN_MS
              && retry_at <= sso_now_ms() + RECONNECT_MIN_MS + RECONNECT_MIN_MS / 5);
    SSO_CHECK(!sso_worker_broker_live(worker, 1) && sso_worker_broker_live(worker, 0));
    SSO_CHECK(sso_worker_poll_items(worker, items, SSO_BROKERS_MAX) == 1
              && items[0].fd == worker->brokers[0].fd);
    SSO_CHECK(sso_worker_wake_at(worker) <= retry_at);
    worker->brokers[1].heartbeat_at = sso_now_ms() - 1;
    sso_worker_heartbeat_if_due(worker);
    SSO_CHECK(sso_worker_heartbeat_at(worker) == worker->brokers[0].heartbeat_at);
    SSO_CHECK(sso_worker_test_read(routers[0], &identities[0], text, sizeof text)
              == MDPW_HEARTBEAT);
    SSO_CHECK(sso_worker_test_read(routers[1], &identities[1], text, sizeof text) == -1);
    s_test_send(routers[0], identities[0], MDPW_REQUEST, "during");
    SSO_CHECK(s_test_echo(worker));
    SSO_CHECK(sso_worker_test_read(routers[0], &identities[0], text, sizeof text) == MDPW_FINAL
              && !strcmp(text, "during"));
    /* Not before its time; then READY again at b, and the old request's reply is dropped. */
    SSO_CHECK(sso_worker_try_recv(worker, &none) == 0 && worker->brokers[1].reconnect_at);
    worker->brokers[1].reconnect_at = sso_now_ms() - 1;
    SSO_CHECK(sso_worker_try_recv(worker, &none) == 0 && sso_worker_broker_live(worker, 1));
    SSO_CHECK(sso_worker_connects(worker) == 3);
    SSO_CHECK(sso_worker_test_read(routers[1], &identities[1], text, sizeof text) == MDPW_READY);
    zframe_t *late = zframe_from("late");
    SSO_CHECK(sso_worker_reply(worker, &held, &late) == -1 && !late);
    SSO_CHECK(sso_worker_test_read(routers[1], &identities[1], text, sizeof text) == -1);
    /* Silent again before it answered anything: the next wait is twice as long. */
    worker->brokers[1].broker_expiry = sso_now_ms() - 1;
    before = sso_now_ms();
    SSO_CHECK(sso_worker_try_recv(worker, &none) == 0);
    SSO_CHECK(worker->brokers[1].reconnect_at >= before + 2 * RECONNECT_MIN_MS);
    worker->brokers[1].reconnect_at = sso_now_ms() - 1;
    SSO_CHECK(sso_worker_try_recv(worker, &none) == 0);
    SSO_CHECK(sso_worker_test_read(routers[1], &identities[1], text, sizeof text) == MDPW_READY);
    /* A word from it resets the backoff. */
    s_test_send(routers[1], identities[1], MDPW_HEARTBEAT, NULL);
    SSO_CHECK(sso_worker_try_recv(worker, &none) == 0
              && worker->brokers[1].backoff.step_ms == RECONNECT_MIN_MS);
    sso_worker_destroy(&worker);
    for (int i = 0; i < 2; i++) {
        int code;
        do
            code = sso_worker_test_read(routers[i], &identities[i], text, sizeof text);
        while (code == MDPW_HEARTBEAT);
        SSO_CHECK(code == MDPW_DISCONNECT);
        zframe_destroy(&identities[i]);
        zsock_destroy(&routers[i]);
    }
}

/* The counts themselves; that they reach the broker is sso_broker_test's. */
void sso_worker_test(bool verbose)
{
    (void) verbose;
    s_test_brokers();
    sso_worker_t *worker = sso_worker_new("inproc://worker-test-nobody", NULL, "counting", 1);
    SSO_CHECK(worker != NULL);
    if (!worker)
        return;
    SSO_CHECK(sso_worker_count(NULL, "x", 1) == -1);
    SSO_CHECK(sso_worker_count(worker, NULL, 1) == -1);
    SSO_CHECK(sso_worker_count(worker, "", 1) == -1);
    SSO_CHECK(sso_worker_count(worker, "Bad Name", 1) == -1);
    SSO_CHECK(sso_worker_count(worker, "write_transactions", 1) == 0);
    SSO_CHECK(sso_worker_count(worker, "write_transactions", 2) == 0);
    SSO_CHECK(worker->n_counters == 1 && worker->counters[0].increment == 3);
    for (int i = 1; i < SSO_WORKER_COUNTERS_MAX; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        SSO_CHECK(sso_worker_count(worker, name, 1) == 0);
    }
    SSO_CHECK(sso_worker_count(worker, "one_too_many", 1) == -1);
    SSO_CHECK(sso_worker_count(worker, "write_transactions", 1) == 0); /* a known one still */
    SSO_CHECK(worker->n_counters == SSO_WORKER_COUNTERS_MAX && worker->counters[0].increment == 4);
    /* A reply not sent (the job came before a reconnect) keeps them for the next. */
    sso_job_t job = {.connection = -1};
    zframe_t *payload = zframe_new("x", 1);
    SSO_CHECK(sso_worker_reply(worker, &job, &payload) == -1 && !payload);
    SSO_CHECK(worker->n_counters == SSO_WORKER_COUNTERS_MAX);
    sso_worker_destroy(&worker);
    SSO_CHECK(worker == NULL);
}
