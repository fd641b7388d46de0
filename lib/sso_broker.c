#include "sso_broker.h"
#include "sso_rpc.h"
#include "sso_config.h"
#include "sso_http.h"
#include "sso_log.h"
#include "sso_test.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

/* A deadline further out than this is clamped: no request may pin broker memory for long. */
#define MAX_DEADLINE_MS 600000
#define DEFAULT_DEADLINE_MS 10000
/* Messages taken from the router in one go, so submissions and timers are never starved. */
#define RECV_BATCH 1000
/* How long a stopping broker lets its hook flush the answers it just gave. */
#define STOP_FLUSH_MS 1000

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
    size_t series;              /* its sso_broker_requests series */
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
    char rpc[SSO_COUNTER_NAME_MAX + 1]; /* its series label (s_series) */
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
    const sso_bus_keys_t *keys; /* NULL: an inproc bus in the clear (tests) */
    zsock_t *zap_handler;       /* ZAP requests from libzmq, answered by the zap actor */
    zactor_t *zap;
    void *socket;               /* the router's libzmq handle */
    int bus_fd;                 /* its ZMQ_FD (see s_drain) */
    char *endpoint;
    zhashx_t *services;
    zhashx_t *workers;
    zlistx_t *pending;          /* every live request, for deadline scans */
    uint64_t next_seq;
    int64_t heartbeat_at;
    int64_t expire_at;          /* no deadline passes before this: no scan needed until then */
    bool sent;                  /* sent on the router since its last empty read (see s_drain) */
    bool answered;              /* answered an internal request since the hook last ran */
    pthread_t thread;
    bool started;
    int wake[2];                /* pipe: submissions from other threads and stop wake the loop */
    pthread_mutex_t lock;       /* guards inbox, stopping and the stats snapshot */
    zlist_t *inbox;
    atomic_bool stopping;
    int hook_fd;                /* sso_broker_attach; -1 when none */
    sso_broker_hook_fn *hook_fn;
    void *hook_arg;
    zhashx_t *stats;            /* service name -> int[2] {instances, queued} */
    uint64_t dropped;
    int64_t dropped_logged_at;
    /* sso_broker_requests. Series are added on the loop's thread only, their labels written
       under series_lock before n_series counts them; the last one is every "other". */
    pthread_mutex_t series_lock;
    struct {
        char service[SSO_SERVICE_NAME_MAX + 1];
        char caller[SSO_SERVICE_NAME_MAX + 1];
        char rpc[SSO_COUNTER_NAME_MAX + 1];
        atomic_ullong count;
    } series[SSO_BROKER_REQUEST_SERIES + 1];
    size_t n_series;
    sso_broker_counter_fn *counter_fn; /* sso_broker_on_counters */
    void *counter_arg;
};

/* The broker whose loop runs on this thread, if any: its own submissions skip the inbox. */
static _Thread_local sso_broker_t *s_loop_broker;

static int s_parse_credit(const char *text, long *credit)
{
    return sso_parse_int(text, 1, SSO_WORKER_CREDIT_MAX, credit);
}

/* The series a request routed to service counts in (see sso_broker_requests). */
static size_t s_series(sso_broker_t *self, const char *service, const char *caller,
                       const char *rpc)
{
    if (!sso_rpc_label_ok(rpc))
        rpc = "other";
    size_t rpcs = 0, other = SSO_BROKER_REQUEST_SERIES;
    for (size_t i = 0; i < self->n_series; i++) {
        if (strcmp(self->series[i].service, service) || strcmp(self->series[i].caller, caller))
            continue;
        if (!strcmp(self->series[i].rpc, rpc))
            return i;
        if (!strcmp(self->series[i].rpc, "other"))
            other = i;
        rpcs++;
    }
    if (rpcs >= SSO_BROKER_RPCS_PER_CALLER) {
        if (other < SSO_BROKER_REQUEST_SERIES)
            return other;
        rpc = "other";
    }
    if (self->n_series == SSO_BROKER_REQUEST_SERIES || strlen(service) >= sizeof self->series[0].service
        || strlen(caller) >= sizeof self->series[0].caller)
        return SSO_BROKER_REQUEST_SERIES;
    size_t i = self->n_series;
    pthread_mutex_lock(&self->series_lock);
    snprintf(self->series[i].service, sizeof self->series[i].service, "%s", service);
    snprintf(self->series[i].caller, sizeof self->series[i].caller, "%s", caller);
    snprintf(self->series[i].rpc, sizeof self->series[i].rpc, "%s", rpc);
    self->n_series++;
    pthread_mutex_unlock(&self->series_lock);
    return i;
}

/* The rpc label of a request described by meta: "http" for HTTP, else its rpc name. */
static const char *s_rpc_label(const Sso__Meta *meta)
{
    return meta->kind == SSO__META__KIND__HTTP ? "http" : meta->rpc ? meta->rpc : "";
}

void sso_broker_requests(sso_broker_t *self, sso_broker_request_fn *fn, void *arg)
{
    pthread_mutex_lock(&self->series_lock);
    for (size_t i = 0; i < self->n_series; i++)
        fn(arg, self->series[i].service, self->series[i].caller, self->series[i].rpc,
           atomic_load_explicit(&self->series[i].count, memory_order_relaxed));
    uint64_t folded = atomic_load_explicit(&self->series[SSO_BROKER_REQUEST_SERIES].count,
                                           memory_order_relaxed);
    if (folded)
        fn(arg, "other", "other", "other", folded);
    pthread_mutex_unlock(&self->series_lock);
}

int sso_broker_on_counters(sso_broker_t *self, sso_broker_counter_fn *fn, void *arg)
{
    if (self->started)
        return -1;
    self->counter_fn = fn;
    self->counter_arg = arg;
    return 0;
}

/* Hands what the worker counted (Meta.counters of its reply) to the counter callback. A reply
   meta with nothing but a request id shorter than 128 bytes (all but a few) is not unpacked. */
static void s_reply_counters(sso_broker_t *self, worker_t *worker, zframe_t *meta_frame)
{
    const byte *data = zframe_data(meta_frame);
    size_t size = zframe_size(meta_frame);
    if (!self->counter_fn || size == 0
        || (size >= 2 && data[0] == 0x0a && data[1] < 0x80 && size == 2u + data[1]))
        return;
    Sso__Meta *meta = sso_meta_unpack(meta_frame);
    if (meta && meta->n_counters <= SSO_WORKER_COUNTERS_MAX)
        for (size_t i = 0; i < meta->n_counters; i++)
            if (sso_http_counter_name_ok(meta->counters[i]->name))
                self->counter_fn(self->counter_arg, worker->service->name,
                                 meta->counters[i]->name, meta->counters[i]->increment);
    if (meta)
        sso__meta__free_unpacked(meta, NULL);
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

typedef struct {
    const void *data;
    size_t size;
} part_t;

/* Sends parts as one message on the router without blocking; -1 when the peer is gone or its
   queue is full (ROUTER_MANDATORY refuses the first frame then, so nothing half-sent). No zmsg:
   each frame is copied once, into libzmq. */
static int s_sendv(sso_broker_t *self, const part_t *parts, size_t count)
{
    self->sent = true;
    for (size_t i = 0; i < count; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < count ? ZMQ_SNDMORE : 0);
        if (zmq_send(self->socket, parts[i].data, parts[i].size, flags) == -1)
            return -1;
    }
    return 0;
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
        self->answered = self->hook_fn != NULL;
    }
    else {
        Sso__Meta meta = SSO__META__INIT;
        meta.request_id = request->request_id;
        meta.bus_status = bus_status;
        meta.bus_error = bus_status == 503 ? "no instance of the service is available"
                       : bus_status == 504 ? "deadline passed" : "";
        zframe_t *meta_frame = sso_frame_pack(&meta.base);
        uint8_t command = MDPC_FINAL;
        const char *service = request->service ? request->service->name : "";
        part_t parts[] = {{zframe_data(request->client), zframe_size(request->client)},
                          {MDPC_CLIENT, strlen(MDPC_CLIENT)},
                          {&command, 1},
                          {service, strlen(service)},
                          {meta_frame ? zframe_data(meta_frame) : NULL,
                           meta_frame ? zframe_size(meta_frame) : 0},
                          {payload ? zframe_data(payload) : NULL,
                           payload ? zframe_size(payload) : 0}};
        if (!meta_frame || s_sendv(self, parts, payload ? 6 : 5) != 0)
            sso_debug("broker: client went away before its answer");
        zframe_destroy(&meta_frame);
    }
    zframe_destroy(&payload);
    s_request_destroy(&request);
}

static void s_worker_send(sso_broker_t *self, worker_t *worker, uint8_t command, request_t *request)
{
    part_t parts[] = {{zframe_data(worker->identity), zframe_size(worker->identity)},
                      {MDPW_WORKER, strlen(MDPW_WORKER)},
                      {&command, 1},
                      {request ? &request->seq : NULL, request ? sizeof request->seq : 0},
                      {NULL, 0},
                      {request ? zframe_data(request->meta_frame) : NULL,
                       request ? zframe_size(request->meta_frame) : 0},
                      {request ? zframe_data(request->payload) : NULL,
                       request ? zframe_size(request->payload) : 0}};
    if (s_sendv(self, parts, request ? 7 : 3) != 0 && request)
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
        atomic_fetch_add_explicit(&self->series[request->series].count, 1, memory_order_relaxed);
        zlist_append(worker->inflight, request);
        worker->outstanding++;
        if (worker->outstanding < worker->credit) {
            zlist_append(service->waiting, worker);
            worker->listed = true;
        }
    }
    s_stats_update(self, service);
}

/* Queues a new request from caller (its series labels: caller, rpc); takes meta_frame and
   payload. */
static void s_request_new(sso_broker_t *self, const char *service_name, const char *caller,
                          const char *rpc, const char *request_id, int64_t deadline,
                          bool idempotent, zframe_t **meta_frame_p, zframe_t **payload_p,
                          zframe_t **client_p, sso_broker_reply_fn *reply_fn, void *arg)
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
    if (request->deadline < self->expire_at)
        self->expire_at = request->deadline;
    zlistx_add_end(self->pending, request);
    service_t *service = zhashx_lookup(self->services, service_name);
    if (!service || service->workers == 0) {
        s_answer(self, request, 503, NULL);
        return;
    }
    request->service = service;
    request->series = s_series(self, service->name, caller, rpc);
    zlist_append(service->requests, request);
    s_dispatch(self, service);
}

static void s_client_message(sso_broker_t *self, zframe_t **sender_p, const char *role,
                             zmsg_t *msg)
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
        /* The worker learns who calls from the broker only, never from the caller. */
        char *claimed = meta->caller;
        meta->caller = (char *) (role ? role : "");
        zframe_t *stamped = sso_frame_pack(&meta->base);
        meta->caller = claimed; /* freed with the meta */
        char *name = zframe_strdup(service_frame);
        if (stamped)
            s_request_new(self, name, role ? role : "", s_rpc_label(meta), meta->request_id,
                          meta->deadline_ms, meta->idempotent, &stamped, &payload, sender_p,
                          NULL, NULL);
        free(name);
    }
    if (meta)
        sso__meta__free_unpacked(meta, NULL);
    zframe_destroy(&command_frame);
    zframe_destroy(&service_frame);
    zframe_destroy(&meta_frame);
    zframe_destroy(&payload);
}

static void s_worker_message(sso_broker_t *self, zframe_t *sender, const char *role,
                             zmsg_t *msg)
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
        /* A key serves only the service named like its role: a saml key cannot stand in for
           the token service or the directory. */
        bool allowed = !role || (service_frame && zframe_streq(service_frame, role));
        if (worker || !service_frame || zmsg_size(msg) != 0 || credit < 1 || !allowed
            || !sso_service_name_valid((char *) zframe_data(service_frame), zframe_size(service_frame))) {
            s_dropped(self, allowed ? "bad READY" : "READY for a service its key is not for");
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
    if (worker && role && strcmp(role, worker->service->name) != 0) {
        /* Its routing id, taken over by a peer with another service's key after the worker
           left: that peer may not answer, nor keep the worker alive to be sent requests. */
        s_dropped(self, "worker message from a key other than its READY's");
        s_worker_delete(self, worker, false);
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
            s_reply_counters(self, worker, meta_frame);
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
    /* With keys, every message carries the role ZAP gave its connection ("User-Id"); one
       without came by no handshake of ours and is dropped. */
    const char *user_id = self->keys && zmsg_first(msg)
                              ? zframe_meta(zmsg_first(msg), "User-Id") : NULL;
    char role_buf[SSO_SERVICE_NAME_MAX + 1]; /* the frame holding user_id goes next */
    snprintf(role_buf, sizeof role_buf, "%s", user_id ? user_id : "");
    const char *role = user_id ? role_buf : NULL;
    char *header = zmsg_popstr(msg);
    if (!sender || !header)
        s_dropped(self, "too few frames");
    else if (self->keys && (!role || !*role))
        s_dropped(self, "message from an unauthenticated peer");
    else if (strcmp(header, MDPC_CLIENT) == 0)
        s_client_message(self, &sender, role, msg);
    else if (strcmp(header, MDPW_WORKER) == 0)
        s_worker_message(self, sender, role, msg);
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

/* Answers 504 for every request whose deadline has passed; remembers the next deadline. */
static void s_expire(sso_broker_t *self, int64_t now)
{
    int64_t next = now + MAX_DEADLINE_MS;
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
    self->expire_at = next;
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
        s_request_new(self, submission->service, "gateway", submission->rpc,
                      submission->request_id, submission->deadline, submission->idempotent,
                      &submission->meta_frame, &submission->payload, &no_client,
                      submission->reply_fn, submission->arg);
        free(submission->request_id);
        free(submission);
    }
    zlist_destroy(&inbox);
}

/* Reads the router until it is empty or a batch is done; true when it stopped at the batch
   limit (more may be waiting, and the socket's fd will not say so).
   The socket's fd only signals new activity, and any send may consume that signal (libzmq
   processes its commands then), so the socket must be read until empty before the loop blocks
   on the fd again: that empty read is what clears `sent`. */
static bool s_drain(sso_broker_t *self)
{
    for (int i = 0; i < RECV_BATCH; i++) {
        zmsg_t *msg = zmsg_recv_nowait(self->router);
        if (!msg) {
            self->sent = false;
            return false;
        }
        s_router_message(self, msg);
        zmsg_destroy(&msg);
    }
    return true;
}

static int64_t s_min_timer(int64_t a, int64_t b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

static void *s_run(void *arg)
{
    sso_broker_t *self = arg;
    s_loop_broker = self;
    struct pollfd fds[3] = {{self->bus_fd, POLLIN, 0}, {self->wake[0], POLLIN, 0},
                            {self->hook_fd, POLLIN, 0}};
    nfds_t nfds = self->hook_fn ? 3 : 2;
    self->heartbeat_at = sso_now_ms() + SSO_HEARTBEAT_MS;
    bool bus_due = true, hook_due = self->hook_fn != NULL;
    int64_t hook_at = -1;       /* when the hook asked to run again; -1: only on its fd */
    int hook_again = 0;         /* immediate re-runs in a row, without a poll between */
    while (!atomic_load_explicit(&self->stopping, memory_order_relaxed)) {
        if (fds[1].revents & POLLIN)
            s_take_inbox(self);
        if (bus_due)
            bus_due = s_drain(self);
        int64_t now = sso_now_ms();
        if (now >= self->expire_at)
            s_expire(self, now);
        if (now >= self->heartbeat_at) {
            s_heartbeat(self);
            self->heartbeat_at = now + SSO_HEARTBEAT_MS;
        }
        /* The hook runs after the bus so the answers just given reach it at once. */
        long hook_wait = -1;
        if (self->hook_fn && (hook_due || self->answered || (hook_at >= 0 && now >= hook_at))) {
            self->answered = false;
            hook_wait = self->hook_fn(self->hook_arg, false);
            hook_at = hook_wait < 0 ? -1 : sso_now_ms() + hook_wait;
        }
        hook_due = false;
        /* A hook with more to do at once (MHD takes a few turns to finish a resumed
           connection) runs again without a poll between, a few times at most. */
        bool again = hook_wait == 0 && hook_again < 8;
        hook_again = again ? hook_again + 1 : 0;
        if (self->sent || self->answered || again) {
            /* Work made since the bus was last read: read it again before blocking. */
            bus_due = bus_due || self->sent;
            hook_due = self->answered || again;
            fds[0].revents = fds[1].revents = fds[2].revents = 0;
            continue;
        }
        int64_t next = s_min_timer(s_min_timer(self->expire_at, self->heartbeat_at), hook_at);
        long wait = bus_due ? 0 : (long) (next - sso_now_ms());
        int rc = poll(fds, nfds, wait < 0 ? 0 : (int) (wait > 60000 ? 60000 : wait));
        if (rc == -1 && errno != EINTR) {
            sso_error("broker: poll failed: %s", strerror(errno));
            break;
        }
        if (rc <= 0)
            fds[0].revents = fds[1].revents = fds[2].revents = 0;
        bus_due = bus_due || (fds[0].revents & POLLIN);
        hook_due = fds[2].revents != 0;
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
    /* Let the hook deliver those answers before the thread goes. */
    int64_t until = sso_now_ms() + STOP_FLUSH_MS;
    while (self->hook_fn) {
        long wait = self->hook_fn(self->hook_arg, true);
        int64_t left = until - sso_now_ms();
        if (wait < 0 || left <= 0)
            break;
        struct pollfd hook = {self->hook_fd, POLLIN, 0};
        if (poll(&hook, 1, (int) (wait < left ? wait : left)) == -1 && errno != EINTR)
            break;
    }
    s_loop_broker = NULL;
    return NULL;
}

/* ---- ZAP (RFC 27): who may connect ---------------------------------------------------- */

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN "sso-bus" /* only the bus's own socket is judged by the bus's keys */

/* Answers one ZAP request: 200 with the key's role as user id when the client's CURVE public
   key is one of the roles', else 400. libzmq then attaches the role to every message of that
   connection, or closes it. */
static void s_zap_answer(const sso_bus_keys_t *keys, zsock_t *handler, uint64_t *denied,
                         sso_log_limit_t *limit)
{
    zmsg_t *request = zmsg_recv(handler);
    if (!request)
        return;
    char *version = zmsg_popstr(request);
    char *sequence = zmsg_popstr(request);
    char *domain = zmsg_popstr(request);
    char *address = zmsg_popstr(request);
    zframe_t *identity = zmsg_pop(request);
    char *mechanism = zmsg_popstr(request);
    zframe_t *key = zmsg_pop(request);
    const char *role = NULL;
    if (version && !strcmp(version, "1.0") && domain && !strcmp(domain, ZAP_DOMAIN) && mechanism
        && !strcmp(mechanism, "CURVE") && key
        && zmsg_size(request) == 0)
        role = sso_bus_keys_role(keys, zframe_data(key), zframe_size(key));
    zmsg_t *reply = zmsg_new();
    zmsg_addstr(reply, "1.0");
    zmsg_addstr(reply, sequence ? sequence : "");
    zmsg_addstr(reply, role ? "200" : "400");
    zmsg_addstr(reply, role ? "OK" : "not a key of this bus");
    zmsg_addstr(reply, role ? role : "");
    zmsg_addmem(reply, NULL, 0);
    if (zmsg_send(&reply, handler) != 0)
        zmsg_destroy(&reply);
    if (!role) {
        (*denied)++;
        unsigned long long unlogged = 0;
        if (sso_log_limit_due(limit, sso_now_ms(), 1000, &unlogged)) {
            char text[41] = "?";
            if (key && zframe_size(key) == 32)
                zmq_z85_encode(text, zframe_data(key), 32);
            sso_warn("broker: refused a bus connection from %s with an unknown key %s (%llu "
                     "refused so far)", address ? address : "?", text,
                     (unsigned long long) *denied);
        }
    }
    free(version);
    free(sequence);
    free(domain);
    free(address);
    free(mechanism);
    zframe_destroy(&identity);
    zframe_destroy(&key);
    zmsg_destroy(&request);
}

/* The ZAP handler's own thread, so a handshake never waits for the broker's loop. */
static void s_zap_actor(zsock_t *pipe, void *arg)
{
    sso_broker_t *self = arg;
    zpoller_t *poller = zpoller_new(pipe, self->zap_handler, NULL);
    zpoller_set_nonstop(poller, true); /* SIGINT is for the process to handle, not this */
    zsock_signal(pipe, 0);
    uint64_t denied = 0;
    sso_log_limit_t limit = {0};
    while (poller) {
        void *which = zpoller_wait(poller, -1);
        if (which == self->zap_handler)
            s_zap_answer(self->keys, self->zap_handler, &denied, &limit);
        else if (which == pipe) {
            char *command = zstr_recv(pipe);
            bool stop = !command || !strcmp(command, "$TERM");
            free(command);
            if (stop)
                break;
        }
        else if (zpoller_terminated(poller))
            break;
    }
    zpoller_destroy(&poller);
}

sso_broker_t *sso_broker_new(const char *endpoint, const sso_bus_keys_t *keys)
{
    if (!keys && strncmp(endpoint, "inproc://", 9) != 0) {
        sso_error("broker: %s needs the bus keys: only inproc:// runs without CURVE", endpoint);
        return NULL;
    }
    sso_broker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->keys = keys;
    self->router = zsock_new(ZMQ_ROUTER);
    zsock_set_router_mandatory(self->router, 1);
    zsock_set_maxmsgsize(self->router, SSO_BUS_MAX_FRAME);
    zsock_set_linger(self->router, 0);
    zsock_set_sndhwm(self->router, 100000);
    zsock_set_rcvhwm(self->router, 100000);
    /* The ZAP handler is bound before the router: no handshake may ever find none. */
    const char *failure = NULL;
    if (keys) {
        self->zap_handler = zsock_new(ZMQ_REP);
        if (!self->zap_handler || zsock_bind(self->zap_handler, ZAP_ENDPOINT) != 0)
            failure = "cannot bind the ZAP handler (another broker in this process?)";
        else if (sso_bus_keys_serve(keys, self->router) != 0)
            failure = "the bus keys dir has no broker.key_secret";
        else if (!(self->zap = zactor_new(s_zap_actor, self)))
            failure = "cannot start the ZAP handler";
        else
            zsock_set_zap_domain(self->router, ZAP_DOMAIN);
    }
    if (!failure && zsock_bind(self->router, "%s", endpoint) == -1)
        failure = zmq_strerror(zmq_errno());
    if (failure) {
        sso_error("broker: cannot bind %s: %s", endpoint, failure);
        zactor_destroy(&self->zap);
        zsock_destroy(&self->zap_handler);
        zsock_destroy(&self->router);
        free(self);
        return NULL;
    }
    self->socket = zsock_resolve(self->router);
    self->hook_fd = -1;
    self->expire_at = INT64_MAX;
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
    pthread_mutex_init(&self->series_lock, NULL);
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

int sso_broker_attach(sso_broker_t *self, int fd, sso_broker_hook_fn *fn, void *arg)
{
    if (self->started || self->hook_fn || fd < 0 || !fn)
        return -1;
    self->hook_fd = fd;
    self->hook_fn = fn;
    self->hook_arg = arg;
    return 0;
}

int sso_broker_start(sso_broker_t *self)
{
    size_t size = sizeof self->bus_fd;
    if (zmq_getsockopt(self->socket, ZMQ_FD, &self->bus_fd, &size) != 0) {
        sso_error("broker: no file descriptor for the router: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
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
        /* Under the lock, so a submission either lands in the inbox the loop takes last or
           is refused. */
        pthread_mutex_lock(&self->lock);
        atomic_store(&self->stopping, true);
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
    zactor_destroy(&self->zap);
    /* Unbound at once (a closing socket frees its inproc endpoint only later), so another
       broker in this process may take over. */
    if (self->zap_handler)
        zsock_unbind(self->zap_handler, ZAP_ENDPOINT);
    zsock_destroy(&self->zap_handler);
    if (self->wake[0] > 0) {
        close(self->wake[0]);
        close(self->wake[1]);
    }
    pthread_mutex_destroy(&self->lock);
    pthread_mutex_destroy(&self->series_lock);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}

int sso_broker_submit(sso_broker_t *self, const char *service, Sso__Meta *meta,
                      zframe_t **payload_p, sso_broker_reply_fn *reply_fn, void *arg)
{
    if (strlen(service) > SSO_SERVICE_NAME_MAX || !*payload_p || !meta->request_id)
        return -1;
    /* The process the broker runs in is the gateway; whatever meta said, that is the caller. */
    Sso__Meta stamped = *meta;
    stamped.caller = "gateway";
    meta = &stamped;
    if (s_loop_broker == self) {
        /* From the broker's own thread (its hook): straight in, no inbox, no wake-up. */
        if (atomic_load_explicit(&self->stopping, memory_order_relaxed))
            return -1;
        zframe_t *meta_frame = sso_frame_pack(&meta->base), *no_client = NULL;
        if (!meta_frame)
            return -1;
        s_request_new(self, service, "gateway", s_rpc_label(meta), meta->request_id,
                      meta->deadline_ms, meta->idempotent, &meta_frame, payload_p, &no_client,
                      reply_fn, arg);
        return 0;
    }
    submission_t *submission = calloc(1, sizeof *submission);
    if (!submission)
        return -1;
    snprintf(submission->service, sizeof submission->service, "%s", service);
    /* Whole or not at all: a cut rpc name would be a well-formed label of its own. */
    const char *rpc = s_rpc_label(meta);
    snprintf(submission->rpc, sizeof submission->rpc, "%s",
             strlen(rpc) < sizeof submission->rpc ? rpc : "");
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
#include "sso_fiber.h"
#include "sso_worker.h"

typedef struct {
    const char *endpoint;
    int credit;
} s_echo_args_t;

static void *s_echo_worker(void *arg)
{
    s_echo_args_t *args = arg;
    sso_worker_t *worker = sso_worker_new(args->endpoint, NULL, "echo", args->credit);
    sso_job_t job;
    while (sso_worker_recv(worker, &job) == 0) {
        bool stop = zframe_streq(job.payload, "stop");
        if (zframe_streq(job.payload, "slow"))
            zclock_sleep(300);
        if (zframe_streq(job.payload, "count"))
            sso_worker_count(worker, "write_transactions", 2);
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

/* Keeps the payload of an internal request's answer (arg: an _Atomic(zframe_t *)). */
static void s_keep(void *arg, uint32_t status, zframe_t *payload)
{
    (void) status;
    atomic_store((_Atomic(zframe_t *) *) arg, payload);
}

/* A hook that submits from the broker's thread what the test writes to its pipe: 'n' to a
   service nobody serves, 'e' to echo, 'h' to a worker that never answers. */
typedef struct {
    sso_broker_t *broker;
    int fd;
    atomic_long wait_ms;        /* what it returns */
    atomic_int calls;
    atomic_int seen;            /* answers given when it last ran */
    atomic_int stopping_calls;
    atomic_int submitted;
    atomic_int answered;
    atomic_int echoed;          /* status 0 with the payload sent */
    atomic_int unavailable;     /* 503 */
    atomic_int sync_answers;    /* answered before sso_broker_submit returned */
} s_hook_t;

static void s_hook_reply(void *arg, uint32_t status, zframe_t *payload)
{
    s_hook_t *hook = arg;
    if (status == 0 && payload && zframe_streq(payload, "ping"))
        atomic_fetch_add(&hook->echoed, 1);
    else if (status == 503 && !payload)
        atomic_fetch_add(&hook->unavailable, 1);
    atomic_fetch_add(&hook->answered, 1);
    zframe_destroy(&payload);
}

static long s_hook_fn(void *arg, bool stopping)
{
    s_hook_t *hook = arg;
    atomic_fetch_add(&hook->calls, 1);
    atomic_store(&hook->seen, atomic_load(&hook->answered));
    if (stopping) {
        atomic_fetch_add(&hook->stopping_calls, 1);
        return atomic_load(&hook->answered) == atomic_load(&hook->submitted) ? -1 : 0;
    }
    char commands[64];
    ssize_t n;
    while ((n = read(hook->fd, commands, sizeof commands)) > 0)
        for (ssize_t i = 0; i < n; i++) {
            char id[32];
            snprintf(id, sizeof id, "hook-%d", atomic_load(&hook->submitted));
            Sso__Meta meta = SSO__META__INIT;
            meta.request_id = id;
            meta.deadline_ms = sso_now_ms() + 5000;
            zframe_t *payload = zframe_from("ping");
            int before = atomic_load(&hook->answered);
            if (sso_broker_submit(hook->broker, commands[i] == 'n' ? "nobody"
                                  : commands[i] == 'h' ? "hang" : "echo",
                                  &meta, &payload, s_hook_reply, hook) == 0) {
                atomic_fetch_add(&hook->submitted, 1);
                if (atomic_load(&hook->answered) > before)
                    atomic_fetch_add(&hook->sync_answers, 1);
            }
            zframe_destroy(&payload);
        }
    return atomic_load(&hook->wait_ms);
}

/* A bounded poll: up to 10 s, for a loaded machine under the sanitizers. */
static void s_wait_for(atomic_int *value, int expected)
{
    for (int i = 0; i < 1000 && atomic_load(value) < expected; i++)
        zclock_sleep(10);
}

static void s_hook_test(void)
{
    const char *endpoint = "inproc://sso-broker-hook-test";
    sso_broker_t *broker = sso_broker_new(endpoint, NULL);
    int fds[2] = {-1, -1};
    SSO_CHECK(broker && pipe(fds) == 0);
    if (!broker || fds[0] < 0) {
        sso_broker_destroy(&broker);
        return;
    }
    SSO_CHECK(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);
    s_hook_t hook = {.broker = broker, .fd = fds[0]};
    atomic_store(&hook.wait_ms, 20);
    SSO_CHECK(sso_broker_attach(broker, -1, s_hook_fn, &hook) == -1);
    SSO_CHECK(sso_broker_attach(broker, fds[0], s_hook_fn, &hook) == 0);
    SSO_CHECK(sso_broker_attach(broker, fds[0], s_hook_fn, &hook) == -1); /* one per broker */
    SSO_CHECK(sso_broker_start(broker) == 0);

    /* It asked to run again in 20 ms: it does, with nothing else going on. */
    zclock_sleep(200);
    SSO_CHECK(atomic_load(&hook.calls) >= 5);
    atomic_store(&hook.wait_ms, -1); /* from now on, only its fd and answers run it */

    /* From the broker's thread, a request nobody serves is answered before submit returns. */
    SSO_CHECK(write(fds[1], "n", 1) == 1);
    /* The hook counts a synchronous answer after submit returns, which is after the answer
       itself: wait for that count, not for the answer. */
    s_wait_for(&hook.sync_answers, 1);
    SSO_CHECK(atomic_load(&hook.unavailable) == 1 && atomic_load(&hook.sync_answers) == 1);

    /* A burst through a worker taking 8 at once: every answer comes back to the hook. */
    pthread_t thread;
    s_echo_args_t echo_args = {endpoint, 8};
    SSO_CHECK(pthread_create(&thread, NULL, s_echo_worker, &echo_args) == 0);
    for (int i = 0; i < 1000 && sso_broker_instances(broker, "echo") == 0; i++)
        zclock_sleep(10);
    char burst[40];
    memset(burst, 'e', sizeof burst);
    SSO_CHECK(write(fds[1], burst, sizeof burst) == (ssize_t) sizeof burst);
    s_wait_for(&hook.answered, 41);
    SSO_CHECK(atomic_load(&hook.echoed) == 40 && atomic_load(&hook.submitted) == 41);
    /* It ran after the last answer, with nothing on its fd: answers wake it. */
    s_wait_for(&hook.seen, 41);
    SSO_CHECK(atomic_load(&hook.seen) == 41);
    sso_client_t *client = sso_client_new(endpoint, NULL, NULL, NULL);
    zframe_t *payload = zframe_from("stop"), *reply = NULL;
    SSO_CHECK(sso_client_call(client, "echo", "x", false, 1000, &payload, &reply) == SSO_CALL_OK);
    zframe_destroy(&reply);
    sso_client_destroy(&client);
    pthread_join(thread, NULL);

    /* Stopping: a request a worker still holds is answered 503, and the hook is run until it
       says that answer is out. */
    zsock_t *hang = zsock_new_dealer(endpoint);
    zsock_set_rcvtimeo(hang, 3000);
    SSO_CHECK(zsock_send(hang, "sbs", MDPW_WORKER, "\x01", (size_t) 1, "hang") == 0);
    for (int i = 0; i < 1000 && sso_broker_instances(broker, "hang") == 0; i++)
        zclock_sleep(10);
    SSO_CHECK(write(fds[1], "h", 1) == 1);
    bool held = false; /* the request reached the worker (heartbeats may come first) */
    for (int i = 0; i < 5 && !held; i++) {
        zmsg_t *msg = zmsg_recv(hang);
        if (!msg)
            break;
        zframe_t *command = zmsg_first(msg) ? zmsg_next(msg) : NULL;
        uint8_t code = 0;
        held = sso_frame_is_command(command, &code) && code == MDPW_REQUEST;
        zmsg_destroy(&msg);
    }
    SSO_CHECK(held);
    int before = atomic_load(&hook.unavailable);
    sso_broker_destroy(&broker);
    SSO_CHECK(atomic_load(&hook.unavailable) == before + 1);
    SSO_CHECK(atomic_load(&hook.stopping_calls) >= 1);
    SSO_CHECK(atomic_load(&hook.answered) == atomic_load(&hook.submitted));
    zsock_destroy(&hang);
    close(fds[0]);
    close(fds[1]);
}

/* A worker that answers nothing until it holds 3 requests (or 3 s passed), then answers them
   last first: only a client that has all 3 calls out at once gets its answers in time. */
static void *s_gather_worker(void *arg)
{
    const char *endpoint = arg;
    sso_worker_t *worker = sso_worker_new(endpoint, NULL, "gather", 3);
    sso_job_t jobs[3];
    int held = 0;
    int64_t until = sso_now_ms() + 3000;
    while (held < 3 && sso_now_ms() < until) {
        int got = sso_worker_try_recv(worker, &jobs[held]);
        if (got == 1)
            held++;
        else if (got == -1 || sso_bus_wait(sso_worker_fd(worker), sso_now_ms() + 20) != 0)
            break;
    }
    while (held > 0) {
        held--;
        zframe_t *reply = zframe_dup(jobs[held].payload);
        sso_worker_reply(worker, &jobs[held], &reply);
    }
    sso_worker_destroy(&worker);
    return NULL;
}

typedef struct {
    sso_client_t *client;
    char sent[16];
    sso_call_status_t status;
    char *answer;
} s_fiber_call_t;

static void s_fiber_call(void *arg)
{
    s_fiber_call_t *call = arg;
    zframe_t *payload = zframe_from(call->sent), *reply = NULL;
    call->status = sso_client_call(call->client, "gather", "x", false, 2000, &payload, &reply);
    call->answer = reply ? zframe_strdup(reply) : NULL;
    zframe_destroy(&reply);
}

/* Calls from fibers wait together and each gets its own answer, whatever their order. */
static void s_fiber_client_test(void)
{
    const char *endpoint = "inproc://sso-broker-fiber-test";
    sso_broker_t *broker = sso_broker_new(endpoint, NULL);
    SSO_CHECK(broker && sso_broker_start(broker) == 0);
    pthread_t thread;
    SSO_CHECK(pthread_create(&thread, NULL, s_gather_worker, (void *) endpoint) == 0);
    for (int i = 0; i < 1000 && sso_broker_instances(broker, "gather") == 0; i++)
        zclock_sleep(10);
    sso_client_t *client = sso_client_new(endpoint, NULL, NULL, NULL);
    sso_client_set_async(client, true);
    SSO_CHECK(sso_client_pending(client) == 0 && sso_client_dispatch(client) == INT64_MAX);
    sso_fiber_t *fibers[3] = {NULL};
    s_fiber_call_t calls[3];
    for (int i = 0; i < 3; i++) {
        calls[i] = (s_fiber_call_t){.client = client, .status = SSO_CALL_BAD};
        snprintf(calls[i].sent, sizeof calls[i].sent, "call-%d", i);
        fibers[i] = sso_fiber_new(256 * 1024);
        SSO_CHECK(fibers[i] && sso_fiber_start(fibers[i], s_fiber_call, &calls[i]) == 0);
    }
    SSO_CHECK(sso_client_pending(client) == 3);
    bool running = true;
    for (int64_t stop = sso_now_ms() + 5000; running && sso_now_ms() < stop;) {
        int64_t until = sso_client_dispatch(client);
        running = false;
        for (int i = 0; i < 3; i++)
            running |= sso_fiber_running(fibers[i]);
        if (running)
            sso_bus_wait(sso_client_fd(client), until < stop ? until : stop);
    }
    SSO_CHECK(!running && sso_client_pending(client) == 0);
    for (int i = 0; i < 3; i++) {
        SSO_CHECK(calls[i].status == SSO_CALL_OK && calls[i].answer
                  && !strcmp(calls[i].answer, calls[i].sent));
        free(calls[i].answer);
        sso_fiber_destroy(&fibers[i]);
    }
    pthread_join(thread, NULL);
    /* Outside a fiber the same client still calls synchronously: no instance now, 503. */
    for (int i = 0; i < 1000 && sso_broker_instances(broker, "gather") > 0; i++)
        zclock_sleep(10);
    zframe_t *payload = zframe_from("sync"), *reply = NULL;
    SSO_CHECK(sso_client_call(client, "gather", "x", false, 1000, &payload, &reply)
              == SSO_CALL_NO_SERVICE && !reply);
    sso_client_destroy(&client);
    sso_broker_destroy(&broker);
}

/* ---- the private bus: CURVE keys, ZAP, roles ------------------------------------------- */

typedef struct {
    const char *endpoint;
    const sso_bus_keys_t *keys;
    const char *service;
} s_whoami_args_t;

/* A worker that answers every request with the caller the broker named in its meta. */
static void *s_whoami_worker(void *arg)
{
    s_whoami_args_t *args = arg;
    sso_worker_t *worker = sso_worker_new(args->endpoint, args->keys, args->service, 1);
    sso_job_t job;
    while (sso_worker_recv(worker, &job) == 0) {
        bool stop = zframe_streq(job.payload, "stop");
        zframe_t *reply = zframe_from(job.meta->caller);
        sso_worker_reply(worker, &job, &reply);
        if (stop)
            break;
    }
    sso_worker_destroy(&worker);
    return NULL;
}

/* True when a message arrives on socket within wait_ms. */
static bool s_readable(zsock_t *socket, int wait_ms)
{
    zpoller_t *poller = zpoller_new(socket, NULL);
    bool readable = poller && zpoller_wait(poller, wait_ms) == socket;
    zpoller_destroy(&poller);
    return readable;
}

/* Sends a READY for service and a request to it on socket; true when anything at all came
   back within wait_ms (a DISCONNECT, an answer). */
static bool s_rogue_heard(zsock_t *socket, const char *service, int wait_ms)
{
    zsock_send(socket, "sbs", MDPW_WORKER, "\x01", (size_t) 1, service);
    Sso__Meta meta = SSO__META__INIT;
    meta.request_id = "rogue";
    meta.deadline_ms = sso_now_ms() + 2000;
    meta.caller = (char *) service;
    zframe_t *meta_frame = sso_frame_pack(&meta.base);
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, MDPC_CLIENT);
    zmsg_addmem(msg, "\x01", 1);
    zmsg_addstr(msg, service);
    zmsg_append(msg, &meta_frame);
    zmsg_addstr(msg, "hello");
    /* The send may time out (see s_rogue); the message is then still ours. */
    if (zmsg_send(&msg, socket) != 0)
        zmsg_destroy(&msg);
    return s_readable(socket, wait_ms);
}

/* A DEALER to endpoint that speaks CURVE with the keypair public/secret (NULL: in the clear)
   to the broker's public key. */
static zsock_t *s_rogue(const char *endpoint, zcert_t *cert, zcert_t *broker)
{
    zsock_t *socket = zsock_new(ZMQ_DEALER);
    zsock_set_linger(socket, 0);
    /* A refused handshake drops the connection's pipe; a send then waits for the next one,
       which is refused too: without a timeout the test would hang there. */
    zsock_set_sndtimeo(socket, 500);
    if (cert) {
        zcert_apply(cert, socket);
        zsock_set_curve_serverkey(socket, zcert_public_txt(broker));
    }
    zsock_connect(socket, "%s", endpoint);
    return socket;
}

static void s_private_bus_test(void)
{
    /* Without keys, nothing but inproc is bound. */
    SSO_CHECK(sso_broker_new("tcp://127.0.0.1:*", NULL) == NULL);
    char base[] = "/tmp/sso-broker-test-XXXXXX";
    SSO_CHECK(mkdtemp(base) != NULL);
    char dir[96], endpoint[128], why[300], path[160];
    snprintf(dir, sizeof dir, "%s/bus", base);
    snprintf(endpoint, sizeof endpoint, "ipc://%s/bus.sock", base);
    const char *const roles[] = {"echo", "caller", NULL};
    sso_bus_keys_t *keys = sso_bus_keys_make(dir, roles, true, why, sizeof why);
    sso_broker_t *broker = keys ? sso_broker_new(endpoint, keys) : NULL;
    SSO_CHECK(broker && sso_broker_start(broker) == 0);
    snprintf(path, sizeof path, "%s/broker.key", dir);
    zcert_t *broker_cert = zcert_load(path);
    snprintf(path, sizeof path, "%s/echo.key", dir);
    zcert_t *echo_public = zcert_load(path);
    SSO_CHECK(broker_cert && echo_public);
    if (!broker || !broker_cert || !echo_public) {
        zcert_destroy(&broker_cert);
        zcert_destroy(&echo_public);
        sso_broker_destroy(&broker);
        sso_bus_keys_destroy(&keys);
        return;
    }
    /* The real echo worker, with its own key. */
    pthread_t thread;
    s_whoami_args_t args = {endpoint, keys, "echo"};
    SSO_CHECK(pthread_create(&thread, NULL, s_whoami_worker, &args) == 0);
    for (int i = 0; i < 1000 && sso_broker_instances(broker, "echo") == 0; i++)
        zclock_sleep(10);
    SSO_CHECK(sso_broker_instances(broker, "echo") == 1);

    /* A caller with its key is served, and the worker is told who calls. */
    sso_client_t *client = sso_client_new(endpoint, keys, "caller", NULL);
    zframe_t *payload = zframe_from("hi"), *reply = NULL;
    SSO_CHECK(sso_client_call(client, "echo", "x", false, 2000, &payload, &reply) == SSO_CALL_OK
              && reply && zframe_streq(reply, "caller"));
    zframe_destroy(&reply);
    /* Whatever a caller claims in its meta, the broker's word is what the worker gets. */
    zsock_t *liar = NULL;
    SSO_CHECK(sso_bus_dealer_connect(&liar, NULL, endpoint, keys, "caller") == 0);
    SSO_CHECK(s_rogue_heard(liar, "echo", 2000)); /* READY refused: DISCONNECT */
    bool told_caller = false;
    for (int i = 0; i < 5 && !told_caller; i++) {
        zmsg_t *msg = zmsg_recv(liar);
        told_caller = msg && zmsg_size(msg) == 5 && zframe_streq(zmsg_last(msg), "caller");
        zmsg_destroy(&msg);
        if (!told_caller && !s_readable(liar, 2000))
            break;
    }
    SSO_CHECK(told_caller);
    zsock_destroy(&liar);
    /* The gateway's own requests are the gateway's. */
    Sso__Meta meta = SSO__META__INIT;
    meta.request_id = "internal-caller";
    meta.deadline_ms = sso_now_ms() + 2000;
    meta.caller = "echo";
    payload = zframe_from("inside");
    _Atomic(zframe_t *) kept = NULL;
    SSO_CHECK(sso_broker_submit(broker, "echo", &meta, &payload, s_keep, &kept) == 0);
    for (int i = 0; i < 200 && !atomic_load(&kept); i++)
        zclock_sleep(10);
    zframe_t *seen = atomic_load(&kept);
    SSO_CHECK(seen && zframe_streq(seen, "gateway"));
    zframe_destroy(&seen);

    /* Rogues: in the clear, with a key of their own, with the echo worker's public key but
       not its secret, and with the caller's real key trying to serve echo. None is heard,
       none is registered. */
    zcert_t *own = zcert_new();
    zcert_t *stolen = zcert_new_from(zcert_public_key(echo_public), zcert_secret_key(own));
    zsock_t *clear = s_rogue(endpoint, NULL, broker_cert);
    zsock_t *stranger = s_rogue(endpoint, own, broker_cert);
    zsock_t *thief = s_rogue(endpoint, stolen, broker_cert);
    SSO_CHECK(!s_rogue_heard(clear, "echo", 500));
    SSO_CHECK(!s_rogue_heard(stranger, "echo", 500));
    SSO_CHECK(!s_rogue_heard(thief, "echo", 500));
    zsock_t *impostor = NULL;
    SSO_CHECK(sso_bus_dealer_connect(&impostor, NULL, endpoint, keys, "caller") == 0);
    zsock_send(impostor, "sbs", MDPW_WORKER, "\x01", (size_t) 1, "echo");
    zmsg_t *answer = s_readable(impostor, 2000) ? zmsg_recv(impostor) : NULL;
    zframe_t *command = answer && zmsg_size(answer) == 2 ? zmsg_last(answer) : NULL;
    SSO_CHECK(command && zframe_size(command) == 1 && zframe_data(command)[0] == MDPW_DISCONNECT);
    zmsg_destroy(&answer);
    zclock_sleep(100);
    SSO_CHECK(sso_broker_instances(broker, "echo") == 1);
    /* Every request still reaches the real worker. */
    for (int i = 0; i < 5; i++) {
        payload = zframe_from("again");
        SSO_CHECK(sso_client_call(client, "echo", "x", false, 2000, &payload, &reply)
                  == SSO_CALL_OK && reply && zframe_streq(reply, "caller"));
        zframe_destroy(&reply);
    }
    zsock_destroy(&clear);
    zsock_destroy(&stranger);
    zsock_destroy(&thief);
    zsock_destroy(&impostor);
    zcert_destroy(&own);
    zcert_destroy(&stolen);

    payload = zframe_from("stop");
    SSO_CHECK(sso_client_call(client, "echo", "x", false, 2000, &payload, &reply) == SSO_CALL_OK);
    zframe_destroy(&reply);
    pthread_join(thread, NULL);
    sso_client_destroy(&client);
    sso_broker_destroy(&broker);
    /* A second broker in the process after the first is gone: the ZAP endpoint is free. */
    snprintf(endpoint, sizeof endpoint, "ipc://%s/bus2.sock", base);
    broker = sso_broker_new(endpoint, keys);
    SSO_CHECK(broker);
    sso_broker_destroy(&broker);
    zcert_destroy(&broker_cert);
    zcert_destroy(&echo_public);
    sso_bus_keys_destroy(&keys);
    const char *files[] = {"broker", "echo", "caller"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s.key", dir, files[i]);
        unlink(path);
        snprintf(path, sizeof path, "%s/%s.key_secret", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    const char *sockets[] = {"bus.sock", "bus2.sock"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", base, sockets[i]);
        unlink(path);
    }
    SSO_CHECK(rmdir(base) == 0);
}

/* sso_broker_requests, flattened: "service/caller/rpc=count " per series. */
static void s_series_text(void *arg, const char *service, const char *caller, const char *rpc,
                          uint64_t count)
{
    char *text = arg;
    size_t len = strlen(text);
    snprintf(text + len, 16384 - len, "%s/%s/%s=%llu ", service, caller, rpc,
             (unsigned long long) count);
}

/* Whether series is listed, within a second (the loop counts a request once it has sent it,
   so the instance may hold it a moment before). */
static bool s_series_has(sso_broker_t *broker, const char *series)
{
    static char text[16384];
    bool found = false;
    for (int i = 0; i < 100 && !found; i++) {
        if (i)
            zclock_sleep(10);
        text[0] = '\0';
        sso_broker_requests(broker, s_series_text, text);
        found = strstr(text, series) != NULL;
    }
    if (!found)
        sso_warn("broker test: no \"%s\" in \"%s\"", series, text);
    return found;
}

static void s_add_counter(void *arg, const char *service, const char *name, uint64_t increment)
{
    if (!strcmp(service, "echo") && !strcmp(name, "write_transactions"))
        atomic_fetch_add((atomic_ullong *) arg, increment);
}

/* Requests are counted by service, caller and rpc each time they reach an instance, with
   bounded labels; what a worker counts reaches the counter callback with its reply. */
static void s_counting_test(void)
{
    const char *endpoint = "inproc://sso-broker-counting";
    sso_broker_t *broker = sso_broker_new(endpoint, NULL);
    SSO_CHECK(broker);
    if (!broker)
        return;
    atomic_ullong counted = 0;
    SSO_CHECK(sso_broker_on_counters(broker, s_add_counter, &counted) == 0);
    SSO_CHECK(sso_broker_start(broker) == 0);
    SSO_CHECK(sso_broker_on_counters(broker, s_add_counter, &counted) == -1); /* too late */
    sso_client_t *client = sso_client_new(endpoint, NULL, NULL, NULL);
    zframe_t *payload = zframe_from("hi"), *reply = NULL;
    /* No instance: answered 503, routed nowhere, counted nowhere. */
    SSO_CHECK(sso_client_call(client, "echo", "lookup", true, 500, &payload, &reply)
              == SSO_CALL_NO_SERVICE);

    /* An instance that takes a request and leaves without answering. */
    zsock_t *flaky = zsock_new_dealer(endpoint);
    zsock_set_rcvtimeo(flaky, 3000);
    SSO_CHECK(zsock_send(flaky, "sbs", MDPW_WORKER, "\x01", (size_t) 1, "echo") == 0);
    for (int i = 0; i < 1000 && sso_broker_instances(broker, "echo") == 0; i++)
        zclock_sleep(10);
    s_capture_t capture = {0};
    Sso__Meta meta = SSO__META__INIT;
    meta.request_id = "counted-1";
    meta.deadline_ms = sso_now_ms() + 3000;
    meta.idempotent = true;
    meta.kind = SSO__META__KIND__HTTP;
    meta.rpc = "ignored for http";
    payload = zframe_from("again");
    SSO_CHECK(sso_broker_submit(broker, "echo", &meta, &payload, s_capture, &capture) == 0);
    zmsg_t *taken = zmsg_recv(flaky);
    SSO_CHECK(taken != NULL);
    zmsg_destroy(&taken);
    SSO_CHECK(s_series_has(broker, "echo/gateway/http=1 "));
    /* A real instance joins, the flaky one leaves: the idempotent request goes to the real
       one and counts again. */
    pthread_t thread;
    s_echo_args_t echo_args = {endpoint, 1};
    pthread_create(&thread, NULL, s_echo_worker, &echo_args);
    for (int i = 0; i < 1000 && sso_broker_instances(broker, "echo") < 2; i++)
        zclock_sleep(10);
    SSO_CHECK(zsock_send(flaky, "sb", MDPW_WORKER, "\x06", (size_t) 1) == 0); /* DISCONNECT */
    for (int i = 0; i < 200 && capture.calls == 0; i++)
        zclock_sleep(10);
    SSO_CHECK(capture.calls == 1 && capture.status == 0);
    SSO_CHECK(s_series_has(broker, "echo/gateway/http=2 "));
    zsock_destroy(&flaky);

    /* Clients' RPCs, by name (a caller without a key is ""); a name that is no label is
       "other"; and what the worker counted came with its answer. */
    payload = zframe_from("count");
    SSO_CHECK(sso_client_call(client, "echo", "lookup", true, 1000, &payload, &reply) == SSO_CALL_OK);
    zframe_destroy(&reply);
    SSO_CHECK(atomic_load(&counted) == 2);
    payload = zframe_from("count");
    SSO_CHECK(sso_client_call(client, "echo", "lookup", true, 1000, &payload, &reply) == SSO_CALL_OK);
    zframe_destroy(&reply);
    SSO_CHECK(atomic_load(&counted) == 4);
    payload = zframe_from("hi");
    SSO_CHECK(sso_client_call(client, "echo", "Bad\"} 9", true, 1000, &payload, &reply) == SSO_CALL_OK);
    zframe_destroy(&reply);
    payload = zframe_from("hi");
    SSO_CHECK(sso_client_call(client, "echo", "", true, 1000, &payload, &reply) == SSO_CALL_OK);
    zframe_destroy(&reply);
    SSO_CHECK(s_series_has(broker, "echo//lookup=2 ") && s_series_has(broker, "echo//other=2 "));
    /* A 504 was routed: it counts. */
    payload = zframe_from("slow");
    SSO_CHECK(sso_client_call(client, "echo", "lookup", false, 100, &payload, &reply) == SSO_CALL_TIMEOUT);
    SSO_CHECK(s_series_has(broker, "echo//lookup=3 "));
    zclock_sleep(300);
    payload = zframe_from("stop");
    SSO_CHECK(sso_client_call(client, "echo", "lookup", false, 1000, &payload, &reply) == SSO_CALL_OK);
    zframe_destroy(&reply);
    pthread_join(thread, NULL);
    sso_client_destroy(&client);

    /* Hostile labels stay bounded (called on this thread: the loop adds series only for
       requests, and none is in flight now). */
    char rpc[40], service[40];
    size_t first = s_series(broker, "svc", "caller", "rpc0");
    SSO_CHECK(s_series(broker, "svc", "caller", "rpc0") == first);
    for (int i = 1; i < SSO_BROKER_RPCS_PER_CALLER + 10; i++) {
        snprintf(rpc, sizeof rpc, "rpc%d", i);
        s_series(broker, "svc", "caller", rpc);
    }
    size_t other = s_series(broker, "svc", "caller", "rpc_past_the_cap");
    SSO_CHECK(other < SSO_BROKER_REQUEST_SERIES && !strcmp(broker->series[other].rpc, "other"));
    SSO_CHECK(s_series(broker, "svc", "caller", "rpc1") == first + 1); /* known ones stay */
    SSO_CHECK(s_series(broker, "svc", "other_caller", "rpc_past_the_cap") != other);
    for (int i = 0; i < SSO_BROKER_REQUEST_SERIES; i++) {
        snprintf(service, sizeof service, "svc%d", i);
        s_series(broker, service, "caller", "x");
    }
    SSO_CHECK(broker->n_series == SSO_BROKER_REQUEST_SERIES);
    SSO_CHECK(s_series(broker, "one_more", "caller", "x") == SSO_BROKER_REQUEST_SERIES);
    atomic_fetch_add(&broker->series[SSO_BROKER_REQUEST_SERIES].count, 1);
    SSO_CHECK(s_series_has(broker, "other/other/other=1 "));
    sso_broker_destroy(&broker);
}

void sso_broker_test(bool verbose)
{
    (void) verbose;
    s_counting_test();
    s_private_bus_test();
    s_hook_test();
    s_fiber_client_test();
    const char *endpoint = "inproc://sso-broker-test";
    sso_broker_t *broker = sso_broker_new(endpoint, NULL);
    SSO_CHECK(broker);
    if (!broker)
        return;
    SSO_CHECK(sso_broker_start(broker) == 0);
    sso_client_t *client = sso_client_new(endpoint, NULL, NULL, NULL);
    zframe_t *payload = zframe_from("hi"), *reply = NULL;

    /* No instance yet: 503 at once. */
    SSO_CHECK(sso_client_call(client, "echo", "x", true, 1000, &payload, &reply) == SSO_CALL_NO_SERVICE);

    pthread_t thread;
    s_echo_args_t echo_args = {endpoint, 1};
    pthread_create(&thread, NULL, s_echo_worker, &echo_args);
    for (int i = 0; i < 1000 && sso_broker_instances(broker, "echo") == 0; i++)
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
    for (int i = 0; i < 1000 && sso_broker_instances(broker, "echo") != 0; i++)
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
