#include "sso_broker.h"
#include "sso_config.h"
#include "sso_log.h"
#include "sso_test.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

/* A deadline further out than this is clamped: no request may pin broker memory for long. */
#define MAX_DEADLINE_MS 600000
#define DEFAULT_DEADLINE_MS 10000

typedef struct service_t service_t;
typedef struct worker_t worker_t;

typedef struct {
    uint64_t seq;               /* the broker's own handle, sent to the worker as address */
    service_t *service;
    zframe_t *client;           /* external client's routing id; NULL for internal ones */
    sso_broker_reply_fn *reply_fn;
    void *arg;
    char *request_id;
    zframe_t *meta_frame;       /* kept so an idempotent request can be re-sent */
    zframe_t *payload;
    int64_t deadline;
    bool idempotent;
    worker_t *worker;           /* while in flight */
} request_t;

struct service_t {
    char *name;
    zlist_t *requests;          /* queued, oldest first */
    zlist_t *waiting;           /* workers with room for another request, round-robin */
    int workers;
};

struct worker_t {
    char *key;                  /* routing id in hex */
    zframe_t *identity;
    service_t *service;
    int64_t expiry;
    int credit;                 /* requests it takes at once (its READY says; default 1) */
    int outstanding;            /* sent and not yet answered, timed-out ones included */
    zlist_t *inflight;          /* requests still waiting for its answer */
    bool listed;                /* in service->waiting */
};

typedef struct {
    char service[SSO_SERVICE_NAME_MAX + 1];
    char *request_id;
    int64_t deadline;
    bool idempotent;
    zframe_t *meta_frame;
    zframe_t *payload;
    sso_broker_reply_fn *reply_fn;
    void *arg;
} submission_t;

struct sso_broker_t {
    zsock_t *router;
    char *endpoint;
    zhashx_t *services;
    zhashx_t *workers;
    zlistx_t *pending;          /* every live request, for deadline scans */
    uint64_t next_seq;
    int64_t heartbeat_at;
    pthread_t thread;
    bool started;
    int wake[2];                /* pipe: submissions and stop wake the loop */
    pthread_mutex_t lock;       /* guards inbox, stopping and the stats snapshot */
    zlist_t *inbox;
    bool stopping;
    zhashx_t *stats;            /* service name -> int[2] {instances, queued} */
    uint64_t dropped;
    int64_t dropped_logged_at;
};

static int s_parse_credit(const char *text, long *credit)
{
    return sso_parse_int(text, 1, SSO_WORKER_CREDIT_MAX, credit);
}

static void s_request_destroy(request_t **request_p)
{
    request_t *request = *request_p;
    if (!request)
        return;
    zframe_destroy(&request->client);
    zframe_destroy(&request->meta_frame);
    zframe_destroy(&request->payload);
    free(request->request_id);
    free(request);
    *request_p = NULL;
}

static void s_dropped(sso_broker_t *self, const char *why)
{
    self->dropped++;
    int64_t now = sso_now_ms();
    if (now - self->dropped_logged_at >= 1000) {
        sso_warn("broker: dropped a message: %s (%llu dropped so far)", why,
                 (unsigned long long) self->dropped);
        self->dropped_logged_at = now;
    }
}

static void s_stats_update(sso_broker_t *self, service_t *service)
{
    pthread_mutex_lock(&self->lock);
    int *counts = zhashx_lookup(self->stats, service->name);
    if (!counts) {
        counts = calloc(2, sizeof(int));
        zhashx_insert(self->stats, service->name, counts);
    }
    counts[0] = service->workers;
    counts[1] = (int) zlist_size(service->requests);
    pthread_mutex_unlock(&self->lock);
}

static void s_free_counts(void **item)
{
    free(*item);
    *item = NULL;
}

static service_t *s_service_require(sso_broker_t *self, const char *name)
{
    service_t *service = zhashx_lookup(self->services, name);
    if (!service) {
        service = calloc(1, sizeof *service);
        service->name = strdup(name);
        service->requests = zlist_new();
        service->waiting = zlist_new();
        zhashx_insert(self->services, name, service);
        s_stats_update(self, service);
    }
    return service;
}

static void s_service_destroy(void **item)
{
    service_t *service = *item;
    if (!service)
        return;
    zlist_destroy(&service->requests);
    zlist_destroy(&service->waiting);
    free(service->name);
    free(service);
    *item = NULL;
}

/* Sends msg on the router without blocking; -1 when the peer is gone or its queue is full. */
static int s_send(sso_broker_t *self, zmsg_t **msg_p)
{
    zmsg_t *msg = *msg_p;
    void *socket = zsock_resolve(self->router);
    size_t count = zmsg_size(msg), index = 0;
    int rc = 0;
    for (zframe_t *frame = zmsg_first(msg); frame; frame = zmsg_next(msg), index++) {
        int flags = ZMQ_DONTWAIT | (index + 1 < count ? ZMQ_SNDMORE : 0);
        if (zmq_send(socket, zframe_data(frame), zframe_size(frame), flags) == -1) {
            rc = -1;
            break;
        }
    }
    zmsg_destroy(msg_p);
    return rc;
}

/* Answers a request's originator and frees the request. */
static void s_answer(sso_broker_t *self, request_t *request, uint32_t bus_status, zframe_t *payload)
{
    void *handle = zlistx_find(self->pending, request);
    if (handle)
        zlistx_delete(self->pending, handle);
    if (!request->client) {
        request->reply_fn(request->arg, bus_status, payload);
        payload = NULL;
    }
    else {
        Sso__Meta meta = SSO__META__INIT;
        meta.request_id = request->request_id;
        meta.bus_status = bus_status;
        meta.bus_error = bus_status == 503 ? "no instance of the service is available"
                       : bus_status == 504 ? "deadline passed" : "";
        zmsg_t *msg = zmsg_new();
        zmsg_append(msg, &request->client);
        zmsg_addstr(msg, MDPC_CLIENT);
        uint8_t command = MDPC_FINAL;
        zmsg_addmem(msg, &command, 1);
        zmsg_addstr(msg, request->service ? request->service->name : "");
        zframe_t *meta_frame = sso_frame_pack(&meta.base);
        zmsg_append(msg, &meta_frame);
        if (payload)
            zmsg_append(msg, &payload);
        if (s_send(self, &msg) != 0)
            sso_debug("broker: client went away before its answer");
    }
    zframe_destroy(&payload);
    s_request_destroy(&request);
}

static void s_worker_send(sso_broker_t *self, worker_t *worker, uint8_t command, request_t *request)
{
    zmsg_t *msg = zmsg_new();
    zframe_t *identity = zframe_dup(worker->identity);
    zmsg_append(msg, &identity);
    zmsg_addstr(msg, MDPW_WORKER);
    zmsg_addmem(msg, &command, 1);
    if (request) {
        zmsg_addmem(msg, &request->seq, sizeof request->seq);
        zmsg_addmem(msg, NULL, 0);
        zframe_t *meta = zframe_dup(request->meta_frame);
        zframe_t *payload = zframe_dup(request->payload);
        zmsg_append(msg, &meta);
        zmsg_append(msg, &payload);
    }
    if (s_send(self, &msg) != 0 && request)
        worker->expiry = 0; /* unreachable: the next purge removes it */
}

static void s_dispatch(sso_broker_t *self, service_t *service);

static void s_worker_delete(sso_broker_t *self, worker_t *worker, bool disconnect)
{
    if (disconnect)
        s_worker_send(self, worker, MDPW_DISCONNECT, NULL);
    service_t *service = worker->service;
    if (service) {
        zlist_remove(service->waiting, worker);
        service->workers--;
    }
    request_t *request;
    while ((request = zlist_pop(worker->inflight))) {
        request->worker = NULL;
        if (request->idempotent && sso_now_ms() < request->deadline) {
            sso_info("broker: %s instance died; re-sending idempotent request %s", service->name,
                     request->request_id);
            zlist_push(service->requests, request);
        }
        else {
            sso_warn("broker: %s instance died during request %s", service->name,
                     request->request_id);
            s_answer(self, request, 503, NULL);
        }
    }
    if (service && service->workers == 0) {
        /* Nobody left to serve what is queued: fail fast rather than wait for deadlines. */
        request_t *queued;
        while ((queued = zlist_pop(service->requests)))
            s_answer(self, queued, 503, NULL);
    }
    zhashx_delete(self->workers, worker->key);
    if (service) {
        s_stats_update(self, service);
        s_dispatch(self, service);
    }
}

static void s_worker_free(void **item)
{
    worker_t *worker = *item;
    if (!worker)
        return;
    zframe_destroy(&worker->identity);
    zlist_destroy(&worker->inflight);
    free(worker->key);
    free(worker);
    *item = NULL;
}

static void s_dispatch(sso_broker_t *self, service_t *service)
{
    while (zlist_size(service->requests) && zlist_size(service->waiting)) {
        worker_t *worker = zlist_pop(service->waiting);
        worker->listed = false;
        if (worker->expiry < sso_now_ms()) {
            s_worker_delete(self, worker, false);
            return; /* s_worker_delete dispatched again */
        }
        request_t *request = zlist_pop(service->requests);
        s_worker_send(self, worker, MDPW_REQUEST, request);
        if (worker->expiry == 0) {
            /* The send failed: the instance is gone. The request goes back to the front,
               whatever its idempotence, because it never left the broker. */
            zlist_push(service->requests, request);
            s_worker_delete(self, worker, false);
            return;
        }
        request->worker = worker;
        zlist_append(worker->inflight, request);
        worker->outstanding++;
        if (worker->outstanding < worker->credit) {
            zlist_append(service->waiting, worker);
            worker->listed = true;
        }
    }
    s_stats_update(self, service);
}

/* Queues a new request; takes meta_frame and payload. */
static void s_request_new(sso_broker_t *self, const char *service_name, const char *request_id,
                          int64_t deadline, bool idempotent, zframe_t **meta_frame_p, zframe_t **payload_p, zframe_t **client_p,
                          sso_broker_reply_fn *reply_fn, void *arg)
{
    request_t *request = calloc(1, sizeof *request);
    request->seq = ++self->next_seq;
    request->client = *client_p;
    *client_p = NULL;
    request->reply_fn = reply_fn;
    request->arg = arg;
    request->request_id = strdup(request_id);
    request->meta_frame = *meta_frame_p;
    *meta_frame_p = NULL;
    request->payload = *payload_p;
    *payload_p = NULL;
    request->idempotent = idempotent;
    int64_t now = sso_now_ms();
    request->deadline = deadline;
    if (request->deadline <= 0)
        request->deadline = now + DEFAULT_DEADLINE_MS;
    if (request->deadline > now + MAX_DEADLINE_MS)
        request->deadline = now + MAX_DEADLINE_MS;
    zlistx_add_end(self->pending, request);
    service_t *service = zhashx_lookup(self->services, service_name);
    if (!service || service->workers == 0) {
        s_answer(self, request, 503, NULL);
        return;
    }
    request->service = service;
    zlist_append(service->requests, request);
    s_dispatch(self, service);
}

static void s_client_message(sso_broker_t *self, zframe_t **sender_p, zmsg_t *msg)
{
    zframe_t *command_frame = zmsg_pop(msg);
    zframe_t *service_frame = zmsg_pop(msg);
    zframe_t *meta_frame = zmsg_pop(msg);
    zframe_t *payload = zmsg_pop(msg);
    uint8_t command = 0;
    Sso__Meta *meta = NULL;
    if (!sso_frame_is_command(command_frame, &command) || command != MDPC_REQUEST)
        s_dropped(self, "client command is not REQUEST");
    else if (!service_frame || !sso_service_name_valid((char *) zframe_data(service_frame),
                                                       zframe_size(service_frame)))
        s_dropped(self, "client request names no valid service");
    else if (!payload || zmsg_size(msg) != 0)
        s_dropped(self, "client request body is not meta + one payload frame");
    else if ((meta = sso_meta_unpack(meta_frame)) == NULL || !*meta->request_id)
        s_dropped(self, "client request meta does not unpack");
    else {
        char *name = zframe_strdup(service_frame);
        s_request_new(self, name, meta->request_id, meta->deadline_ms, meta->idempotent,
                      &meta_frame, &payload, sender_p, NULL, NULL);
        free(name);
    }
    if (meta)
        sso__meta__free_unpacked(meta, NULL);
    zframe_destroy(&command_frame);
    zframe_destroy(&service_frame);
    zframe_destroy(&meta_frame);
    zframe_destroy(&payload);
}

static void s_worker_message(sso_broker_t *self, zframe_t *sender, zmsg_t *msg)
{
    char *key = zframe_strhex(sender);
    worker_t *worker = zhashx_lookup(self->workers, key);
    zframe_t *command_frame = zmsg_pop(msg);
    uint8_t command = 0;
    if (!sso_frame_is_command(command_frame, &command)) {
        s_dropped(self, "worker message has no command");
        goto done;
    }
    if (command == MDPW_READY) {
        zframe_t *service_frame = zmsg_pop(msg);
        /* Extension: an optional frame after the service name gives the worker's credit,
           how many requests it takes at once, so round trips overlap. */
        char *credit_text = zmsg_popstr(msg);
        long credit = 1;
        if (credit_text && s_parse_credit(credit_text, &credit) != 0)
            credit = 0;
        free(credit_text);
        if (worker || !service_frame || zmsg_size(msg) != 0 || credit < 1
            || !sso_service_name_valid((char *) zframe_data(service_frame), zframe_size(service_frame))) {
            s_dropped(self, "bad READY");
            if (worker)
                s_worker_delete(self, worker, true);
            else {
                worker_t stray = {.identity = sender};
                s_worker_send(self, &stray, MDPW_DISCONNECT, NULL);
            }
        }
        else {
            char *name = zframe_strdup(service_frame);
            worker = calloc(1, sizeof *worker);
            worker->key = strdup(key);
            worker->identity = zframe_dup(sender);
            worker->service = s_service_require(self, name);
            worker->expiry = sso_now_ms() + SSO_HEARTBEAT_MS * SSO_HEARTBEAT_LIVENESS;
            worker->credit = (int) credit;
            worker->inflight = zlist_new();
            worker->service->workers++;
            zhashx_insert(self->workers, key, worker);
            zlist_append(worker->service->waiting, worker);
            worker->listed = true;
            sso_info("broker: %s instance ready (%d live)", name, worker->service->workers);
            free(name);
            s_stats_update(self, worker->service);
            s_dispatch(self, worker->service);
        }
        zframe_destroy(&service_frame);
        goto done;
    }
    if (!worker) {
        /* Not registered (we restarted, or it never said READY): make it start over. */
        worker_t stray = {.identity = sender};
        if (command != MDPW_DISCONNECT)
            s_worker_send(self, &stray, MDPW_DISCONNECT, NULL);
        goto done;
    }
    worker->expiry = sso_now_ms() + SSO_HEARTBEAT_MS * SSO_HEARTBEAT_LIVENESS;
    if (command == MDPW_FINAL) {
        zframe_t *address = zmsg_pop(msg);
        zframe_t *empty = zmsg_pop(msg);
        zframe_t *meta_frame = zmsg_pop(msg);
        zframe_t *payload = zmsg_pop(msg);
        if (!address || zframe_size(address) != sizeof(uint64_t) || !empty || zframe_size(empty)
            || !meta_frame || !payload || zmsg_size(msg) != 0)
            s_dropped(self, "worker reply frames malformed");
        else if (worker->outstanding == 0)
            s_dropped(self, "reply from an idle worker");
        else {
            uint64_t seq;
            memcpy(&seq, zframe_data(address), sizeof seq);
            request_t *request = zlist_first(worker->inflight);
            while (request && request->seq != seq)
                request = zlist_next(worker->inflight);
            if (request) {
                zlist_remove(worker->inflight, request);
                request->worker = NULL;
                s_answer(self, request, 0, payload);
                payload = NULL;
            }
            else
                sso_debug("broker: late reply from %s dropped", worker->service->name);
            worker->outstanding--;
            if (!worker->listed) {
                zlist_append(worker->service->waiting, worker);
                worker->listed = true;
            }
            s_dispatch(self, worker->service);
        }
        zframe_destroy(&address);
        zframe_destroy(&empty);
        zframe_destroy(&meta_frame);
        zframe_destroy(&payload);
    }
    else if (command == MDPW_DISCONNECT)
        s_worker_delete(self, worker, false);
    else if (command != MDPW_HEARTBEAT)
        s_dropped(self, "unknown worker command");
done:
    zframe_destroy(&command_frame);
    free(key);
}

static void s_router_message(sso_broker_t *self, zmsg_t *msg)
{
    zframe_t *sender = zmsg_pop(msg);
    char *header = zmsg_popstr(msg);
    if (!sender || !header)
        s_dropped(self, "too few frames");
    else if (strcmp(header, MDPC_CLIENT) == 0)
        s_client_message(self, &sender, msg);
    else if (strcmp(header, MDPW_WORKER) == 0)
        s_worker_message(self, sender, msg);
    else
        s_dropped(self, "unknown protocol header");
    free(header);
    zframe_destroy(&sender);
}

static void s_heartbeat(sso_broker_t *self)
{
    int64_t now = sso_now_ms();
    zlistx_t *dead = zlistx_new();
    for (worker_t *worker = zhashx_first(self->workers); worker; worker = zhashx_next(self->workers)) {
        if (worker->expiry < now)
            zlistx_add_end(dead, worker);
        else
            s_worker_send(self, worker, MDPW_HEARTBEAT, NULL);
    }
    for (worker_t *worker = zlistx_first(dead); worker; worker = zlistx_next(dead)) {
        sso_warn("broker: %s instance expired (no heartbeat)", worker->service->name);
        s_worker_delete(self, worker, false);
    }
    zlistx_destroy(&dead);
    for (service_t *service = zhashx_first(self->services); service;
         service = zhashx_next(self->services))
        s_stats_update(self, service);
}

static int64_t s_expire(sso_broker_t *self)
{
    int64_t now = sso_now_ms(), next = now + SSO_HEARTBEAT_MS;
    request_t *request = zlistx_first(self->pending);
    while (request) {
        request_t *following = zlistx_next(self->pending);
        if (request->deadline <= now) {
            if (request->worker)
                zlist_remove(request->worker->inflight, request); /* a late reply is dropped */
            else if (request->service)
                zlist_remove(request->service->requests, request);
            s_answer(self, request, 504, NULL);
        }
        else if (request->deadline < next)
            next = request->deadline;
        request = following;
    }
    return next;
}

static void s_take_inbox(sso_broker_t *self)
{
    char drain[256];
    while (read(self->wake[0], drain, sizeof drain) > 0) {
    }
    pthread_mutex_lock(&self->lock);
    zlist_t *inbox = self->inbox;
    self->inbox = zlist_new();
    pthread_mutex_unlock(&self->lock);
    submission_t *submission;
    while ((submission = zlist_pop(inbox))) {
        zframe_t *no_client = NULL;
        s_request_new(self, submission->service, submission->request_id, submission->deadline,
                      submission->idempotent, &submission->meta_frame, &submission->payload,
                      &no_client, submission->reply_fn, submission->arg);
        free(submission->request_id);
        free(submission);
    }
    zlist_destroy(&inbox);
}

static void *s_run(void *arg)
{
    sso_broker_t *self = arg;
    self->heartbeat_at = sso_now_ms() + SSO_HEARTBEAT_MS;
    while (true) {
        pthread_mutex_lock(&self->lock);
        bool stopping = self->stopping;
        pthread_mutex_unlock(&self->lock);
        if (stopping)
            break;
        int64_t next = s_expire(self);
        if (self->heartbeat_at < next)
            next = self->heartbeat_at;
        long wait = (long) (next - sso_now_ms());
        zmq_pollitem_t items[] = {{zsock_resolve(self->router), 0, ZMQ_POLLIN, 0},
                                  {NULL, self->wake[0], ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, 2, wait < 0 ? 0 : wait);
        if (rc == -1 && errno != EINTR)
            break;
        /* Bounded batch so submissions and timers are never starved by a flood. */
        for (int i = 0; i < 1000 && (items[0].revents & ZMQ_POLLIN); i++) {
            zmsg_t *msg = zmsg_recv_nowait(self->router);
            if (!msg)
                break;
            s_router_message(self, msg);
            zmsg_destroy(&msg);
        }
        if (items[1].revents & ZMQ_POLLIN)
            s_take_inbox(self);
        if (sso_now_ms() >= self->heartbeat_at) {
            s_heartbeat(self);
            self->heartbeat_at = sso_now_ms() + SSO_HEARTBEAT_MS;
        }
    }
    /* Stopping: take what was submitted, then answer everything still pending. */
    s_take_inbox(self);
    request_t *request;
    while ((request = zlistx_first(self->pending))) {
        if (request->worker)
            zlist_remove(request->worker->inflight, request);
        else if (request->service)
            zlist_remove(request->service->requests, request);
        s_answer(self, request, 503, NULL);
    }
    return NULL;
}

sso_broker_t *sso_broker_new(const char *endpoint)
{
    sso_broker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->router = zsock_new(ZMQ_ROUTER);
    zsock_set_router_mandatory(self->router, 1);
    zsock_set_maxmsgsize(self->router, SSO_BUS_MAX_FRAME);
    zsock_set_linger(self->router, 0);
    zsock_set_sndhwm(self->router, 100000);
    zsock_set_rcvhwm(self->router, 100000);
    if (zsock_bind(self->router, "%s", endpoint) == -1) {
        sso_error("broker: cannot bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
        zsock_destroy(&self->router);
        free(self);
        return NULL;
    }
    self->endpoint = strdup(endpoint);
    self->services = zhashx_new();
    zhashx_set_destructor(self->services, s_service_destroy);
    self->workers = zhashx_new();
    zhashx_set_destructor(self->workers, s_worker_free);
    self->pending = zlistx_new();
    self->inbox = zlist_new();
    self->stats = zhashx_new();
    zhashx_set_destructor(self->stats, s_free_counts);
    pthread_mutex_init(&self->lock, NULL);
    if (pipe(self->wake) != 0) {
        sso_broker_destroy(&self);
        return NULL;
    }
    fcntl(self->wake[0], F_SETFL, O_NONBLOCK);
    fcntl(self->wake[1], F_SETFL, O_NONBLOCK);
    fcntl(self->wake[0], F_SETFD, FD_CLOEXEC);
    fcntl(self->wake[1], F_SETFD, FD_CLOEXEC);
    return self;
}

int sso_broker_start(sso_broker_t *self)
{
    if (pthread_create(&self->thread, NULL, s_run, self) != 0)
        return -1;
    self->started = true;
    return 0;
}

static void s_wake(sso_broker_t *self)
{
    char byte = 1;
    if (write(self->wake[1], &byte, 1) < 0) {
        /* The pipe is full: the loop is already due to wake. */
    }
}

void sso_broker_destroy(sso_broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sso_broker_t *self = *self_p;
    if (self->started) {
        pthread_mutex_lock(&self->lock);
        self->stopping = true;
        pthread_mutex_unlock(&self->lock);
        s_wake(self);
        pthread_join(self->thread, NULL);
    }
    zhashx_destroy(&self->workers);
    zhashx_destroy(&self->services);
    zlistx_destroy(&self->pending);
    zlist_destroy(&self->inbox);
    zhashx_destroy(&self->stats);
    zsock_destroy(&self->router);
    if (self->wake[0] > 0) {
        close(self->wake[0]);
        close(self->wake[1]);
    }
    pthread_mutex_destroy(&self->lock);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}

int sso_broker_submit(sso_broker_t *self, const char *service, Sso__Meta *meta,
                      zframe_t **payload_p, sso_broker_reply_fn *reply_fn, void *arg)
{
    if (strlen(service) > SSO_SERVICE_NAME_MAX)
        return -1;
    submission_t *submission = calloc(1, sizeof *submission);
    if (!submission)
        return -1;
    snprintf(submission->service, sizeof submission->service, "%s", service);
    submission->request_id = strdup(meta->request_id);
    submission->deadline = meta->deadline_ms;
    submission->idempotent = meta->idempotent;
    submission->meta_frame = sso_frame_pack(&meta->base);
    submission->payload = *payload_p;
    *payload_p = NULL;
    submission->reply_fn = reply_fn;
    submission->arg = arg;
    pthread_mutex_lock(&self->lock);
    bool accepted = !self->stopping && submission->meta_frame && submission->request_id;
    /* One wake-up per batch: the loop takes the whole inbox at once. */
    bool wake = accepted && zlist_size(self->inbox) == 0;
    if (accepted)
        zlist_append(self->inbox, submission);
    pthread_mutex_unlock(&self->lock);
    if (!accepted) {
        zframe_destroy(&submission->payload);
        zframe_destroy(&submission->meta_frame);
        free(submission->request_id);
        free(submission);
        return -1;
    }
    if (wake)
        s_wake(self);
    return 0;
}

int sso_broker_instances(sso_broker_t *self, const char *service)
{
    pthread_mutex_lock(&self->lock);
    int *counts = zhashx_lookup(self->stats, service);
    int instances = counts ? counts[0] : 0;
    pthread_mutex_unlock(&self->lock);
    return instances;
}

void sso_broker_stats(sso_broker_t *self, sso_broker_stat_fn *fn, void *arg)
{
    pthread_mutex_lock(&self->lock);
    for (int *counts = zhashx_first(self->stats); counts; counts = zhashx_next(self->stats))
        fn(arg, zhashx_cursor(self->stats), counts[0], counts[1]);
    pthread_mutex_unlock(&self->lock);
}

/* The broker, a worker on a thread and a client, in one process over inproc. */
#include "sso_client.h"
#include "sso_worker.h"

static void *s_echo_worker(void *arg)
{
    const char *endpoint = arg;
    sso_worker_t *worker = sso_worker_new(endpoint, "echo", 1);
    sso_job_t job;
    while (sso_worker_recv(worker, &job) == 0) {
        bool stop = zframe_streq(job.payload, "stop");
        if (zframe_streq(job.payload, "slow"))
            zclock_sleep(300);
        zframe_t *reply = zframe_dup(job.payload);
        sso_worker_reply(worker, &job, &reply);
        if (stop)
            break;
    }
    sso_worker_destroy(&worker);
    return NULL;
}

typedef struct {
    int calls;
    uint32_t status;
} s_capture_t;

static void s_capture(void *arg, uint32_t status, zframe_t *payload)
{
    s_capture_t *capture = arg;
    capture->calls++;
    capture->status = status;
    zframe_destroy(&payload);
}

void sso_broker_test(bool verbose)
{
    (void) verbose;
    const char *endpoint = "inproc://sso-broker-test";
    sso_broker_t *broker = sso_broker_new(endpoint);
    SSO_CHECK(broker);
    if (!broker)
        return;
    SSO_CHECK(sso_broker_start(broker) == 0);
    sso_client_t *client = sso_client_new(endpoint, NULL);
    zframe_t *payload = zframe_from("hi"), *reply = NULL;

    /* No instance yet: 503 at once. */
    SSO_CHECK(sso_client_call(client, "echo", "x", true, 1000, &payload, &reply) == SSO_CALL_NO_SERVICE);

    pthread_t thread;
    pthread_create(&thread, NULL, s_echo_worker, (void *) endpoint);
    for (int i = 0; i < 100 && sso_broker_instances(broker, "echo") == 0; i++)
        zclock_sleep(10);
    SSO_CHECK(sso_broker_instances(broker, "echo") == 1);

    payload = zframe_from("hello");
    SSO_CHECK(sso_client_call(client, "echo", "x", true, 1000, &payload, &reply) == SSO_CALL_OK);
    SSO_CHECK(reply && zframe_streq(reply, "hello"));
    zframe_destroy(&reply);

    /* A deadline shorter than the work: 504, and the late reply is dropped. */
    payload = zframe_from("slow");
    SSO_CHECK(sso_client_call(client, "echo", "x", false, 100, &payload, &reply) == SSO_CALL_TIMEOUT);
    zclock_sleep(300);
    payload = zframe_from("after");
    SSO_CHECK(sso_client_call(client, "echo", "x", true, 1000, &payload, &reply) == SSO_CALL_OK);
    SSO_CHECK(reply && zframe_streq(reply, "after"));
    zframe_destroy(&reply);

    /* An internal submission. */
    s_capture_t capture = {0};
    Sso__Meta meta = SSO__META__INIT;
    meta.request_id = "internal-1";
    meta.deadline_ms = sso_now_ms() + 1000;
    payload = zframe_from("inside");
    SSO_CHECK(sso_broker_submit(broker, "echo", &meta, &payload, s_capture, &capture) == 0);
    for (int i = 0; i < 100 && capture.calls == 0; i++)
        zclock_sleep(10);
    SSO_CHECK(capture.calls == 1 && capture.status == 0);

    payload = zframe_from("stop");
    SSO_CHECK(sso_client_call(client, "echo", "x", false, 1000, &payload, &reply) == SSO_CALL_OK);
    zframe_destroy(&reply);
    pthread_join(thread, NULL);
    for (int i = 0; i < 100 && sso_broker_instances(broker, "echo") != 0; i++)
        zclock_sleep(10);
    SSO_CHECK(sso_broker_instances(broker, "echo") == 0);

    /* Malformed client messages are dropped, and the broker still answers after them. */
    zsock_t *raw = zsock_new_dealer(endpoint);
    zstr_sendm(raw, MDPC_CLIENT);
    zstr_send(raw, "garbage");
    zstr_send(raw, "NOTMDP");
    zstr_sendm(raw, MDPC_CLIENT);
    zsock_send(raw, "bsss", "\x01", 1, "echo", "not a meta", "payload");
    zsock_destroy(&raw);
    payload = zframe_from("again");
    SSO_CHECK(sso_client_call(client, "echo", "x", true, 500, &payload, &reply) == SSO_CALL_NO_SERVICE);

    sso_client_destroy(&client);
    sso_broker_destroy(&broker);
    SSO_CHECK(broker == NULL);
}
