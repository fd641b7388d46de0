#include "sso_worker.h"
#include "sso_http.h"
#include "sso_log.h"
#include "sso_test.h"
#include <errno.h>

#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 2000

struct sso_worker_t {
    char *endpoint;
    const sso_bus_keys_t *keys;
    char *service;
    zsock_t *socket;
    void *handle;            /* the socket's libzmq handle */
    int fd;                  /* the socket's ZMQ_FD: readable when libzmq has news for it */
    int64_t broker_expiry;   /* silent until then, the broker counts as gone */
    int64_t heartbeat_at;    /* when we send our next heartbeat */
    int reconnect_ms;        /* current backoff */
    int connects;
    int credit;
    /* Counted since the last reply sent (sso_worker_count). */
    struct {
        char name[SSO_COUNTER_NAME_MAX + 1];
        uint64_t increment;
    } counters[SSO_WORKER_COUNTERS_MAX];
    size_t n_counters;
};

static void s_send_command(sso_worker_t *self, uint8_t command, const char *service)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, MDPW_WORKER);
    zmsg_addmem(msg, &command, 1);
    if (service)
        zmsg_addstr(msg, service);
    if (service && self->credit > 1)
        zmsg_addstrf(msg, "%d", self->credit);
    zmsg_send(&msg, self->socket);
}

static void s_connect(sso_worker_t *self)
{
    if (sso_bus_dealer_connect(&self->socket, self->endpoint, self->keys, self->service) != 0)
        sso_error("worker %s: cannot connect to %s%s", self->service, self->endpoint,
                  self->keys && !sso_bus_keys_can_connect(self->keys, self->service)
                      ? " (no bus key for this service)" : "");
    self->handle = zsock_resolve(self->socket);
    self->fd = sso_bus_fd(self->socket); /* -1: poll() skips it, the loop runs on its timers */
    s_send_command(self, MDPW_READY, self->service);
    self->broker_expiry = sso_now_ms() + SSO_HEARTBEAT_MS * SSO_HEARTBEAT_LIVENESS;
    self->heartbeat_at = sso_now_ms() + SSO_HEARTBEAT_MS;
    self->connects++;
    if (self->connects > 1)
        sso_info("worker %s: reconnected to %s", self->service, self->endpoint);
}

sso_worker_t *sso_worker_new(const char *endpoint, const sso_bus_keys_t *keys,
                             const char *service, int credit)
{
    sso_worker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->credit = credit < 1 ? 1 : credit > SSO_WORKER_CREDIT_MAX ? SSO_WORKER_CREDIT_MAX : credit;
    self->endpoint = strdup(endpoint);
    self->keys = keys;
    self->service = strdup(service);
    self->reconnect_ms = RECONNECT_MIN_MS;
    s_connect(self);
    return self;
}

void sso_worker_destroy(sso_worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sso_worker_t *self = *self_p;
    if (self->socket)
        s_send_command(self, MDPW_DISCONNECT, NULL);
    zsock_destroy(&self->socket);
    free(self->endpoint);
    free(self->service);
    free(self);
    *self_p = NULL;
}

int sso_worker_connects(sso_worker_t *self) { return self->connects; }

void sso_job_release(sso_job_t *job)
{
    zframe_destroy(&job->reply_to);
    zframe_destroy(&job->payload);
    if (job->meta)
        sso__meta__free_unpacked(job->meta, NULL);
    job->meta = NULL;
}

void sso_worker_heartbeat_if_due(sso_worker_t *self)
{
    if (sso_now_ms() >= self->heartbeat_at) {
        s_send_command(self, MDPW_HEARTBEAT, NULL);
        self->heartbeat_at = sso_now_ms() + SSO_HEARTBEAT_MS;
    }
}

/* Handles one message from the broker; returns 1 when it was a request (job filled). */
static int s_handle(sso_worker_t *self, zmsg_t *msg, sso_job_t *job)
{
    int rc = 0;
    self->broker_expiry = sso_now_ms() + SSO_HEARTBEAT_MS * SSO_HEARTBEAT_LIVENESS;
    self->reconnect_ms = RECONNECT_MIN_MS;
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
            job->connection = self->connects;
            reply_to = payload = NULL;
            rc = 1;
        }
        zframe_destroy(&reply_to);
        zframe_destroy(&empty);
        zframe_destroy(&meta_frame);
        zframe_destroy(&payload);
    }
    else if (command == MDPW_DISCONNECT)
        s_connect(self);
    else if (command != MDPW_HEARTBEAT)
        sso_warn("worker %s: unknown command 0x%02x from the broker", self->service, command);
    free(header);
    zframe_destroy(&command_frame);
    return rc;
}

int sso_worker_try_recv(sso_worker_t *self, sso_job_t *job)
{
    memset(job, 0, sizeof *job);
    for (;;) {
        /* Before the read: a heartbeat's send may take the fd's signal, the read makes up. */
        sso_worker_heartbeat_if_due(self);
        zmsg_t *msg = zmsg_recv_nowait(self->socket);
        if (msg) {
            int got = s_handle(self, msg, job);
            zmsg_destroy(&msg);
            if (got)
                return 1;
            continue;
        }
        if (zmq_errno() != EAGAIN && zmq_errno() != EINTR)
            return -1; /* the context is gone */
        if (sso_now_ms() < self->broker_expiry)
            return 0;
        sso_warn("worker %s: broker silent, reconnecting in %d ms", self->service,
                 self->reconnect_ms);
        zclock_sleep(self->reconnect_ms);
        self->reconnect_ms = self->reconnect_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS
                                                                       : self->reconnect_ms * 2;
        s_connect(self);
    }
}

int64_t sso_worker_wake_at(const sso_worker_t *self)
{
    return self->heartbeat_at < self->broker_expiry ? self->heartbeat_at : self->broker_expiry;
}

int64_t sso_worker_heartbeat_at(const sso_worker_t *self) { return self->heartbeat_at; }

int sso_worker_fd(const sso_worker_t *self) { return self->fd; }

int sso_worker_recv(sso_worker_t *self, sso_job_t *job)
{
    while (!zsys_interrupted) {
        int got = sso_worker_try_recv(self, job);
        if (got != 0)
            return got == 1 ? 0 : -1;
        if (sso_bus_wait(self->fd, sso_worker_wake_at(self)) != 0)
            break;
    }
    return -1;
}

int sso_worker_reply(sso_worker_t *self, sso_job_t *job, zframe_t **payload_p)
{
    if (job->connection != self->connects) {
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
        && zmq_send(self->handle, MDPW_WORKER, strlen(MDPW_WORKER), ZMQ_SNDMORE) != -1
        && zmq_send(self->handle, &command, 1, ZMQ_SNDMORE) != -1
        && zframe_send(&job->reply_to, self->socket, ZFRAME_MORE) == 0
        && zmq_send(self->handle, "", 0, ZMQ_SNDMORE) != -1
        && zframe_send(&meta_frame, self->socket, ZFRAME_MORE) == 0)
        rc = zframe_send(payload_p, self->socket, 0);
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

/* The counts themselves; that they reach the broker is sso_broker_test's. */
void sso_worker_test(bool verbose)
{
    (void) verbose;
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
