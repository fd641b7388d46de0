#include "sso_client.h"
#include "sso_config.h"
#include "sso_fiber.h"
#include "sso_log.h"
#include <errno.h>

/* What a client knows of its connection to a broker (several brokers only: with one there is
   no choice to make, and it stays S_LINK_NEW). */
typedef enum {
    S_LINK_NEW,  /* just made: nothing heard yet */
    S_LINK_UP,   /* connected, handshake done */
    S_LINK_DOWN, /* lost, refused, or silent when a call needed it */
} s_link_t;

/* A call waiting for its answer; lives on its caller's stack (a fiber's, or the thread's for a
   synchronous call). */
typedef struct s_pending_t {
    struct s_pending_t *next, *prev;
    const char *request_id;
    const char *service, *rpc; /* the caller's, alive while it waits */
    bool idempotent;
    int timeout_ms;
    int64_t deadline, give_up;
    size_t broker;             /* the broker it went through last */
    int tries;                 /* how many brokers it went through */
    zframe_t *copy;            /* several brokers: the payload, to send it through another */
    bool moving;               /* marked while its broker's calls are moved (s_move_calls) */
    sso_fiber_t *fiber;        /* NULL: a synchronous call */
    bool answered;
    sso_call_status_t status;
    zframe_t *reply;
} s_pending_t;

typedef struct {
    char *endpoint;
    zsock_t *socket;
    void *handle;      /* the socket's libzmq handle */
    int fd;            /* its ZMQ_FD (see sso_bus_wait) */
    zsock_t *monitor;  /* several brokers: the socket's connection events */
    s_link_t link;
    bool lost;         /* went down since the last dispatch: its calls are to be moved */
    bool lost_was_up;  /* ... and it had been up (calls may have reached it) */
    bool stale;        /* a call through it got no answer at all: made afresh once none waits */
} s_broker_t;

struct sso_client_t {
    const sso_bus_keys_t *keys;
    char *role;
    s_broker_t brokers[SSO_BROKERS_MAX];
    size_t n_brokers;
    size_t current;             /* the broker new calls go through while it is up: the
                                   first listed at start */
    sso_worker_t *heartbeat_for;
    bool async;                 /* calls from fibers yield (sso_client_set_async) */
    bool context_gone;          /* a read found ZeroMQ's context terminated: no answer comes */
    s_pending_t *pending;       /* calls waiting */
};

static void s_connect(sso_client_t *self, s_broker_t *broker)
{
    /* Not reported here: the endpoint is the broker's, which the service's worker (or the
       broker itself) has already checked and logged. */
    (void) sso_bus_dealer_connect(&broker->socket, self->n_brokers > 1 ? &broker->monitor : NULL,
                                  broker->endpoint, self->keys, self->role);
    broker->handle = zsock_resolve(broker->socket);
    broker->fd = sso_bus_fd(broker->socket);
    broker->link = S_LINK_NEW;
    broker->stale = false;
}

sso_client_t *sso_client_new_brokers(const char *const *endpoints, size_t n,
                                     const sso_bus_keys_t *keys, const char *role,
                                     sso_worker_t *heartbeat_for)
{
    if (!endpoints || n == 0 || n > SSO_BROKERS_MAX)
        return NULL;
    sso_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->keys = keys;
    self->role = strdup(role ? role : "");
    self->heartbeat_for = heartbeat_for;
    self->n_brokers = n;
    self->current = 0; /* the first listed, while it is up */
    bool ready = self->role != NULL;
    for (size_t i = 0; ready && i < n; i++)
        ready = (self->brokers[i].endpoint = strdup(endpoints[i])) != NULL;
    for (size_t i = 0; ready && i < n; i++)
        s_connect(self, &self->brokers[i]);
    if (!ready)
        sso_client_destroy(&self);
    return self;
}

sso_client_t *sso_client_new(const char *endpoint, const sso_bus_keys_t *keys, const char *role,
                             sso_worker_t *heartbeat_for)
{
    return sso_client_new_brokers(&endpoint, 1, keys, role, heartbeat_for);
}

void sso_client_destroy(sso_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sso_client_t *self = *self_p;
    for (size_t i = 0; i < self->n_brokers; i++) {
        sso_bus_dealer_close(&self->brokers[i].socket, &self->brokers[i].monitor);
        free(self->brokers[i].endpoint);
    }
    free(self->role);
    free(self);
    *self_p = NULL;
}

/* The broker for a call: the current one while it is up, else the first after it that is up,
   then one just made, then (worst allowing) one that is down; never exclude. SIZE_MAX when
   none fits. A client sticks to its broker, so one that comes back is not used before it is
   needed, by which time its services have registered there again. */
static size_t s_pick(sso_client_t *self, size_t exclude, s_link_t worst)
{
    const s_link_t order[] = {S_LINK_UP, S_LINK_NEW, S_LINK_DOWN};
    for (size_t o = 0; o < sizeof order / sizeof *order; o++) {
        for (size_t turn = 0; turn < self->n_brokers; turn++) {
            size_t i = (self->current + turn) % self->n_brokers;
            if (i != exclude && self->brokers[i].link == order[o]) {
                self->current = i;
                return i;
            }
        }
        if (order[o] == worst)
            break;
    }
    return SIZE_MAX;
}

/* Parses a reply: 0 with *meta_p and *payload_p (NULL when absent; callers free both), or -1
   when it is malformed (dropped). */
static int s_parse_reply(zmsg_t *msg, Sso__Meta **meta_p, zframe_t **payload_p)
{
    *meta_p = NULL;
    *payload_p = NULL;
    char *header = zmsg_popstr(msg);
    zframe_t *command_frame = zmsg_pop(msg);
    char *service = zmsg_popstr(msg);
    zframe_t *meta_frame = zmsg_pop(msg);
    zframe_t *payload = zmsg_pop(msg);
    uint8_t command = 0;
    int rc = -1;
    if (!header || strcmp(header, MDPC_CLIENT) || !sso_frame_is_command(command_frame, &command)
        || command != MDPC_FINAL || !service)
        sso_warn("client: dropped a malformed reply");
    else if ((*meta_p = sso_meta_unpack(meta_frame)) != NULL) {
        *payload_p = payload;
        payload = NULL;
        rc = 0;
    }
    free(header);
    free(service);
    zframe_destroy(&command_frame);
    zframe_destroy(&meta_frame);
    zframe_destroy(&payload);
    return rc;
}

/* The outcome a reply carries: SSO_CALL_OK with *reply_p (taken from *payload_p), or the
   broker's status. */
static sso_call_status_t s_outcome(const Sso__Meta *meta, zframe_t **payload_p,
                                   zframe_t **reply_p)
{
    if (meta->bus_status == 0 && *payload_p) {
        *reply_p = *payload_p;
        *payload_p = NULL;
        return SSO_CALL_OK;
    }
    return meta->bus_status == 503 ? SSO_CALL_NO_SERVICE
         : meta->bus_status == 400 ? SSO_CALL_BAD : SSO_CALL_TIMEOUT;
}

/* Sends entry's request frames through broker; takes *payload_p. 0, or -1 when libzmq
   refused. */
static int s_send(sso_client_t *self, size_t broker, const s_pending_t *entry,
                  zframe_t **payload_p)
{
    s_broker_t *to = &self->brokers[broker];
    Sso__Meta meta = SSO__META__INIT;
    meta.request_id = (char *) entry->request_id;
    meta.deadline_ms = entry->deadline;
    meta.idempotent = entry->idempotent;
    meta.kind = SSO__META__KIND__RPC;
    meta.rpc = (char *) entry->rpc;
    uint8_t command = MDPC_REQUEST;
    zframe_t *meta_frame = sso_frame_pack(&meta.base);
    /* Frame by frame, no zmsg: meta and payload go to libzmq as they are. */
    bool sent = meta_frame && *payload_p
                && zmq_send(to->handle, MDPC_CLIENT, strlen(MDPC_CLIENT), ZMQ_SNDMORE) != -1
                && zmq_send(to->handle, &command, 1, ZMQ_SNDMORE) != -1
                && zmq_send(to->handle, entry->service, strlen(entry->service), ZMQ_SNDMORE) != -1
                && zframe_send(&meta_frame, to->socket, ZFRAME_MORE) == 0
                && zframe_send(payload_p, to->socket, 0) == 0;
    zframe_destroy(&meta_frame);
    zframe_destroy(payload_p);
    return sent ? 0 : -1;
}

/* Sends entry again through another broker than the one it went through, one whose link is
   no worse than worst: true when it went. Only for a call that kept its payload. */
static bool s_resend(sso_client_t *self, s_pending_t *entry, s_link_t worst)
{
    if (!entry->copy || entry->tries >= (int) self->n_brokers)
        return false;
    size_t to = s_pick(self, entry->broker, worst);
    zframe_t *payload = to == SIZE_MAX ? NULL : zframe_dup(entry->copy);
    if (!payload || s_send(self, to, entry, &payload) != 0)
        return false;
    sso_info("client: %s.%s (request %s) sent again, through %s", entry->service, entry->rpc,
             entry->request_id, self->brokers[to].endpoint);
    entry->broker = to;
    entry->tries++;
    return true;
}

/* Hands entry its outcome; a call waiting in a fiber runs on. The list may change while it
   runs, so callers look it up again afterwards. */
static void s_answer(s_pending_t *entry, sso_call_status_t status, zframe_t *reply)
{
    entry->answered = true;
    entry->status = status;
    entry->reply = reply;
    if (entry->fiber)
        sso_fiber_resume(entry->fiber);
}

/* Reads every answer waiting on broker's socket and hands each to its call (a stale one, whose
   caller gave up, is dropped). A "no instance here" of an idempotent call is tried at another
   broker that is up: the service may be registered there. */
static void s_take_replies(sso_client_t *self, s_broker_t *broker)
{
    zmsg_t *msg;
    while ((msg = zmsg_recv_nowait(broker->socket)) != NULL) {
        Sso__Meta *meta = NULL;
        zframe_t *payload = NULL;
        s_pending_t *entry = NULL;
        if (s_parse_reply(msg, &meta, &payload) == 0) {
            entry = self->pending;
            while (entry && (entry->answered || strcmp(entry->request_id, meta->request_id)))
                entry = entry->next;
        }
        zmsg_destroy(&msg);
        zframe_t *reply = NULL;
        sso_call_status_t status = entry ? s_outcome(meta, &payload, &reply) : SSO_CALL_TIMEOUT;
        if (meta)
            sso__meta__free_unpacked(meta, NULL);
        zframe_destroy(&payload);
        if (entry && status == SSO_CALL_NO_SERVICE && entry->idempotent
            && s_resend(self, entry, S_LINK_UP))
            continue;
        if (entry)
            s_answer(entry, status, reply);
    }
    if (zmq_errno() == ETERM)
        self->context_gone = true;
}

/* broker's connection went down. Its socket is made afresh when calls wait on it, so that
   nothing queued there reaches a broker that comes back: those calls are sent through another
   broker when that is safe (idempotent, or never sent: the link never came up), and otherwise
   answered at once; their broker lost them, and with them their outcome. */
static void s_move_calls(sso_client_t *self, s_broker_t *broker, bool was_up)
{
    size_t index = (size_t) (broker - self->brokers);
    s_take_replies(self, broker); /* what it answered before it went */
    bool any = false;
    for (s_pending_t *entry = self->pending; entry; entry = entry->next)
        if (!entry->answered && entry->broker == index)
            any = entry->moving = true;
    if (!any)
        return;
    s_connect(self, broker);
    broker->link = S_LINK_DOWN;
    for (;;) {
        s_pending_t *entry = self->pending;
        while (entry && !entry->moving)
            entry = entry->next;
        if (!entry)
            break;
        entry->moving = false;
        if ((entry->idempotent || !was_up) && s_resend(self, entry, S_LINK_DOWN))
            continue;
        if (entry->idempotent || !was_up) {
            /* No other broker: it waits in the fresh socket for this one to come back. */
            zframe_t *payload = entry->copy ? zframe_dup(entry->copy) : NULL;
            if (payload && s_send(self, index, entry, &payload) == 0)
                continue;
        }
        sso_warn("client: %s.%s (request %s) lost with the broker %s", entry->service,
                 entry->rpc, entry->request_id, broker->endpoint);
        s_answer(entry, was_up ? SSO_CALL_TIMEOUT : SSO_CALL_NO_SERVICE, NULL);
    }
}

/* Reads each broker's connection events (several brokers only) into its link. Calls waiting
   on a broker that went down are moved by the next dispatch (s_watch), not here: this also
   runs in a call, inside a fiber, which may not resume others. */
static void s_read_links(sso_client_t *self)
{
    for (size_t i = 0; i < self->n_brokers; i++) {
        s_broker_t *broker = &self->brokers[i];
        int event;
        while ((event = sso_bus_monitor_event(broker->monitor)) != 0) {
            if (event == SSO_BUS_LINK_UP) {
                if (broker->link == S_LINK_DOWN)
                    sso_info("client %s: broker %s is up", self->role, broker->endpoint);
                broker->link = S_LINK_UP;
                continue;
            }
            if (broker->link == S_LINK_DOWN)
                continue; /* still down: libzmq retries, nothing new */
            if (broker->link == S_LINK_UP)
                sso_warn("client %s: lost the broker %s", self->role, broker->endpoint);
            broker->lost_was_up = broker->lost_was_up || broker->link == S_LINK_UP;
            broker->lost = true;
            broker->link = S_LINK_DOWN;
        }
    }
}

/* Takes the link events and moves the calls of each broker that went down. */
static void s_watch(sso_client_t *self)
{
    s_read_links(self);
    for (size_t i = 0; i < self->n_brokers; i++) {
        s_broker_t *broker = &self->brokers[i];
        if (!broker->lost)
            continue;
        bool was_up = broker->lost_was_up;
        broker->lost = broker->lost_was_up = false;
        s_move_calls(self, broker, was_up);
    }
}

int64_t sso_client_dispatch(sso_client_t *self)
{
    for (size_t i = 0; i < self->n_brokers; i++)
        s_take_replies(self, &self->brokers[i]);
    s_watch(self);
    /* Calls the broker never answered, not even with its 504: it is gone (or stuck). An
       idempotent one gets a deadline of its own at another broker. */
    int64_t now = sso_now_ms(), next = INT64_MAX;
    for (s_pending_t *entry = self->pending; entry;) {
        if (entry->answered || entry->give_up > now) {
            if (!entry->answered)
                next = entry->give_up < next ? entry->give_up : next;
            entry = entry->next;
            continue;
        }
        s_broker_t *silent = &self->brokers[entry->broker];
        sso_warn("client: no answer from the broker %s for request %s", silent->endpoint,
                 entry->request_id);
        silent->stale = true;
        if (self->n_brokers > 1)
            silent->link = S_LINK_DOWN;
        int64_t deadline = entry->deadline, give_up = entry->give_up;
        entry->deadline = now + entry->timeout_ms;
        entry->give_up = entry->deadline + 500;
        if (entry->idempotent && s_resend(self, entry, S_LINK_NEW)) {
            entry = self->pending;
            next = INT64_MAX;
            continue;
        }
        entry->deadline = deadline;
        entry->give_up = give_up;
        s_answer(entry, SSO_CALL_TIMEOUT, NULL);
        entry = self->pending; /* from the top: the list changed */
        next = INT64_MAX;
    }
    /* A fresh socket drops any late reply, once no call waits on the old one. */
    for (size_t i = 0; i < self->n_brokers; i++) {
        bool waited_on = false;
        for (s_pending_t *entry = self->pending; entry && !waited_on; entry = entry->next)
            waited_on = !entry->answered && entry->broker == i;
        if (self->brokers[i].stale && !waited_on)
            s_connect(self, &self->brokers[i]);
    }
    return next;
}

size_t sso_client_poll_items(const sso_client_t *self, struct pollfd *items, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n_brokers && n < max; i++) {
        items[n++] = (struct pollfd){self->brokers[i].fd, POLLIN, 0};
        if (self->brokers[i].monitor && n < max)
            items[n++] = (struct pollfd){sso_bus_fd(self->brokers[i].monitor), POLLIN, 0};
    }
    return n;
}

/* A call outside a fiber waits here, dispatching as the loop would, until it is answered. */
static void s_wait(sso_client_t *self, s_pending_t *entry)
{
    while (!entry->answered) {
        if (self->heartbeat_for)
            sso_worker_heartbeat_if_due(self->heartbeat_for);
        int64_t until = sso_client_dispatch(self);
        if (entry->answered)
            break;
        int64_t now = sso_now_ms();
        if (self->heartbeat_for && until > now + SSO_HEARTBEAT_MS / 2)
            until = now + SSO_HEARTBEAT_MS / 2;
        struct pollfd items[2 * SSO_BROKERS_MAX];
        size_t n = sso_client_poll_items(self, items, 2 * SSO_BROKERS_MAX);
        if (zsys_interrupted || self->context_gone || sso_bus_wait_any(items, n, until) != 0) {
            /* Stopping: a fresh socket drops the late reply. */
            sso_warn("client: no answer from the broker for %s.%s", entry->service, entry->rpc);
            self->brokers[entry->broker].stale = true;
            s_answer(entry, SSO_CALL_TIMEOUT, NULL);
        }
    }
}

sso_call_status_t sso_client_call(sso_client_t *self, const char *service, const char *rpc,
                                  bool idempotent, int timeout_ms, zframe_t **payload_p,
                                  zframe_t **reply_p)
{
    *reply_p = NULL;
    char *request_id = sso_request_id_new();
    s_pending_t entry = {.request_id = request_id, .service = service, .rpc = rpc,
                         .idempotent = idempotent, .timeout_ms = timeout_ms,
                         .fiber = self->async ? sso_fiber_current() : NULL, .tries = 1,
                         .status = SSO_CALL_TIMEOUT};
    entry.deadline = sso_now_ms() + timeout_ms;
    /* The broker answers by the deadline; wait a little longer for its 504 before giving up
       ourselves. */
    entry.give_up = entry.deadline + 500;
    if (request_id && self->n_brokers > 1)
        entry.copy = zframe_dup(*payload_p);
    if (self->n_brokers > 1)
        s_read_links(self); /* a broker lost just now is not picked */
    entry.broker = s_pick(self, SIZE_MAX, S_LINK_DOWN);
    if (!request_id || (self->n_brokers > 1 && !entry.copy)
        || s_send(self, entry.broker, &entry, payload_p)) {
        zframe_destroy(payload_p);
        zframe_destroy(&entry.copy);
        free(request_id);
        return SSO_CALL_NO_SERVICE;
    }
    entry.next = self->pending;
    if (self->pending)
        self->pending->prev = &entry;
    self->pending = &entry;
    if (entry.fiber)
        while (!entry.answered)
            sso_fiber_yield();
    else
        s_wait(self, &entry);
    if (entry.prev)
        entry.prev->next = entry.next;
    else
        self->pending = entry.next;
    if (entry.next)
        entry.next->prev = entry.prev;
    zframe_destroy(&entry.copy);
    free(request_id);
    *reply_p = entry.reply;
    return entry.status;
}

void sso_client_set_async(sso_client_t *self, bool async) { self->async = async; }

int sso_client_fd(const sso_client_t *self) { return self->brokers[0].fd; }

size_t sso_client_pending(const sso_client_t *self)
{
    size_t count = 0;
    for (const s_pending_t *entry = self->pending; entry; entry = entry->next)
        count++;
    return count;
}

bool sso_client_readable(const sso_client_t *self)
{
    for (size_t i = 0; i < self->n_brokers; i++) {
        const s_broker_t *broker = &self->brokers[i];
        if ((broker->socket && (zsock_events(broker->socket) & ZMQ_POLLIN))
            || (broker->monitor && (zsock_events(broker->monitor) & ZMQ_POLLIN)))
            return true;
    }
    return false;
}

size_t sso_client_broker(const sso_client_t *self) { return self->current; }

/* ---- self-test: two brokers played by the test over tcp --------------------------------- */
#include "sso_test.h"

typedef struct {
    sso_client_t *client;
    bool idempotent;
    int timeout_ms;
    bool done;
    sso_call_status_t status;
    zframe_t *reply;
} s_test_call_t;

static void s_test_call_run(void *arg)
{
    s_test_call_t *call = arg;
    zframe_t *payload = zframe_from("ping");
    call->status = sso_client_call(call->client, "svc", "Reads.Get", call->idempotent,
                                   call->timeout_ms, &payload, &call->reply);
    call->done = true;
}

/* Starts a call in fiber; it waits there for the test's dispatches. */
static void s_test_call(sso_fiber_t *fiber, s_test_call_t *call, sso_client_t *client,
                        bool idempotent, int timeout_ms)
{
    zframe_destroy(&call->reply);
    *call = (s_test_call_t){.client = client, .idempotent = idempotent,
                            .timeout_ms = timeout_ms};
    SSO_CHECK(sso_fiber_start(fiber, s_test_call_run, call) == 0 && !call->done);
}

/* Dispatches for up to ms: until router (when given) holds a message, or call (when given) is
   answered, or the client's links are up and down as wanted (when given). */
static void s_test_pump(sso_client_t *client, zsock_t *router, const s_test_call_t *call,
                        const s_link_t *links, int ms)
{
    int64_t until = sso_now_ms() + ms;
    while (sso_now_ms() < until) {
        sso_client_dispatch(client);
        if (router && (zsock_events(router) & ZMQ_POLLIN))
            return;
        if (call && call->done)
            return;
        if (links && client->brokers[0].link == links[0] && client->brokers[1].link == links[1])
            return;
        struct pollfd items[2 * SSO_BROKERS_MAX + 1];
        size_t n = sso_client_poll_items(client, items, 2 * SSO_BROKERS_MAX);
        if (router)
            items[n++] = (struct pollfd){sso_bus_fd(router), POLLIN, 0};
        sso_bus_wait_any(items, n, sso_now_ms() + 20);
    }
}

/* Reads the request router holds: its sender in *identity_p, its request id in id. false when
   there is none or it is not a request. */
static bool s_test_request(zsock_t *router, zframe_t **identity_p, char *id, size_t size)
{
    if (!router || !(zsock_events(router) & ZMQ_POLLIN))
        return false;
    zmsg_t *msg = zmsg_recv(router);
    zframe_destroy(identity_p);
    *identity_p = msg ? zmsg_pop(msg) : NULL;
    char *header = msg ? zmsg_popstr(msg) : NULL;
    zframe_t *command = msg ? zmsg_pop(msg) : NULL;
    char *service = msg ? zmsg_popstr(msg) : NULL;
    zframe_t *meta_frame = msg ? zmsg_pop(msg) : NULL;
    Sso__Meta *meta = meta_frame ? sso_meta_unpack(meta_frame) : NULL;
    uint8_t code = 0;
    bool ok = header && !strcmp(header, MDPC_CLIENT) && sso_frame_is_command(command, &code)
              && code == MDPC_REQUEST && service && !strcmp(service, "svc") && meta;
    if (ok)
        snprintf(id, size, "%s", meta->request_id);
    if (meta)
        sso__meta__free_unpacked(meta, NULL);
    free(header);
    free(service);
    zframe_destroy(&command);
    zframe_destroy(&meta_frame);
    zmsg_destroy(&msg);
    return ok;
}

/* Answers request id as a broker does: bus_status 0 with body, or a status alone. */
static void s_test_answer(zsock_t *router, zframe_t *identity, const char *id,
                          uint32_t bus_status, const char *body)
{
    Sso__Meta meta = SSO__META__INIT;
    meta.request_id = (char *) id;
    meta.bus_status = bus_status;
    uint8_t command = MDPC_FINAL;
    zmsg_t *msg = zmsg_new();
    zmsg_append(msg, &(zframe_t *){zframe_dup(identity)});
    zmsg_addstr(msg, MDPC_CLIENT);
    zmsg_addmem(msg, &command, 1);
    zmsg_addstr(msg, "svc");
    zmsg_append(msg, &(zframe_t *){sso_frame_pack(&meta.base)});
    zmsg_addstr(msg, body);
    SSO_CHECK(zmsg_send(&msg, router) == 0);
}

/* The request of the call waiting, once it reaches router: its sender in *identity_p, its
   id in id. */
static bool s_test_arrives(sso_client_t *client, zsock_t *router, zframe_t **identity_p,
                           char *id, size_t size)
{
    s_test_pump(client, router, NULL, NULL, 3000);
    return s_test_request(router, identity_p, id, size);
}

/* router answers request id "pong": true when the call has that for its outcome. */
static bool s_test_answered(sso_client_t *client, zsock_t *router, zframe_t *identity,
                            const char *id, const s_test_call_t *call)
{
    s_test_answer(router, identity, id, 0, "pong");
    s_test_pump(client, NULL, call, NULL, 3000);
    return call->done && call->status == SSO_CALL_OK && call->reply
           && zframe_streq(call->reply, "pong");
}

/* A broker at endpoint again (its port may take a moment to be free). */
static zsock_t *s_test_rebind(const char *endpoint)
{
    zsock_t *router = NULL;
    for (int i = 0; i < 100 && !router; i++)
        if (!(router = zsock_new_router(endpoint)))
            zclock_sleep(20);
    return router;
}

static void s_test_brokers(void)
{
    zsock_t *routers[2] = {zsock_new_router("tcp://127.0.0.1:*"),
                           zsock_new_router("tcp://127.0.0.1:*")};
    sso_fiber_t *fiber = sso_fiber_new(SSO_FIBER_STACK_SIZE);
    SSO_CHECK(routers[0] && routers[1] && fiber);
    if (!routers[0] || !routers[1] || !fiber) {
        zsock_destroy(&routers[0]);
        zsock_destroy(&routers[1]);
        sso_fiber_destroy(&fiber);
        return;
    }
    char endpoints[2][64];
    for (int i = 0; i < 2; i++) {
        char *bound = zsock_last_endpoint(routers[i]); /* the caller's to free */
        snprintf(endpoints[i], sizeof endpoints[i], "%s", bound ? bound : "");
        free(bound);
    }
    const char *list[] = {endpoints[0], endpoints[1]};
    SSO_CHECK(!sso_client_new_brokers(list, 0, NULL, "tester", NULL));
    sso_client_t *client = sso_client_new_brokers(list, 2, NULL, "tester", NULL);
    SSO_CHECK(client && sso_client_broker(client) == 0); /* the first listed */
    if (!client) {
        zsock_destroy(&routers[0]);
        zsock_destroy(&routers[1]);
        sso_fiber_destroy(&fiber);
        return;
    }
    sso_client_set_async(client, true);
    const s_link_t both_up[] = {S_LINK_UP, S_LINK_UP};
    s_test_pump(client, NULL, NULL, both_up, 3000);
    SSO_CHECK(client->brokers[0].link == S_LINK_UP && client->brokers[1].link == S_LINK_UP);
    size_t first = sso_client_broker(client), other = 1 - first;
    s_test_call_t call = {0};
    zframe_t *identity = NULL;
    char id[64] = "", again[64] = "";

    /* A call goes through the current broker and is answered from there. */
    s_test_call(fiber, &call, client, false, 5000);
    SSO_CHECK(s_test_arrives(client, routers[first], &identity, id, sizeof id));
    SSO_CHECK(s_test_answered(client, routers[first], identity, id, &call));

    /* The broker goes away while an idempotent call waits on it: the call goes through the
       other one, under the same request id, and new calls follow it there. */
    s_test_call(fiber, &call, client, true, 5000);
    SSO_CHECK(s_test_arrives(client, routers[first], &identity, id, sizeof id));
    zsock_destroy(&routers[first]);
    SSO_CHECK(s_test_arrives(client, routers[other], &identity, again, sizeof again)
              && !strcmp(id, again));
    SSO_CHECK(s_test_answered(client, routers[other], identity, again, &call)
              && sso_client_broker(client) == other);

    /* It comes back: the client sees it up, and stays where it is. */
    routers[first] = s_test_rebind(endpoints[first]);
    SSO_CHECK(routers[first]);
    s_test_pump(client, NULL, NULL, both_up, 3000);
    SSO_CHECK(client->brokers[first].link == S_LINK_UP);
    /* A call that is not idempotent, waiting when its broker goes away, is answered at once
       (the broker took its outcome with it) and never sent to the other. */
    s_test_call(fiber, &call, client, false, 5000);
    SSO_CHECK(s_test_arrives(client, routers[other], &identity, id, sizeof id));
    int64_t lost_at = sso_now_ms();
    zsock_destroy(&routers[other]);
    s_test_pump(client, NULL, &call, NULL, 4000);
    SSO_CHECK(call.done && call.status == SSO_CALL_TIMEOUT && !call.reply
              && sso_now_ms() - lost_at < 3000);
    SSO_CHECK(!s_test_request(routers[first], &identity, id, sizeof id));

    /* "No instance here" (503) for an idempotent call: tried at the other broker, if up. */
    routers[other] = s_test_rebind(endpoints[other]);
    SSO_CHECK(routers[other]);
    s_test_pump(client, NULL, NULL, both_up, 3000);
    SSO_CHECK(client->brokers[other].link == S_LINK_UP);
    s_test_call(fiber, &call, client, true, 5000);
    size_t at = sso_client_broker(client), next = 1 - at;
    SSO_CHECK(s_test_arrives(client, routers[at], &identity, id, sizeof id));
    s_test_answer(routers[at], identity, id, 503, "");
    SSO_CHECK(s_test_arrives(client, routers[next], &identity, again, sizeof again)
              && !strcmp(id, again));
    SSO_CHECK(s_test_answered(client, routers[next], identity, again, &call)
              && sso_client_broker(client) == next);
    /* ... but not one that is not idempotent: its 503 is its answer. */
    s_test_call(fiber, &call, client, false, 5000);
    SSO_CHECK(s_test_arrives(client, routers[next], &identity, id, sizeof id));
    s_test_answer(routers[next], identity, id, 503, "");
    s_test_pump(client, NULL, &call, NULL, 3000);
    SSO_CHECK(call.done && call.status == SSO_CALL_NO_SERVICE);
    SSO_CHECK(!s_test_request(routers[at], &identity, id, sizeof id));

    /* A broker that says nothing at all (not even its 504) past the deadline: an idempotent
       call gets a deadline of its own at the other; one that is not idempotent times out. */
    s_test_call(fiber, &call, client, true, 100);
    SSO_CHECK(s_test_arrives(client, routers[next], &identity, id, sizeof id));
    SSO_CHECK(s_test_arrives(client, routers[at], &identity, again, sizeof again)
              && !strcmp(id, again));
    SSO_CHECK(s_test_answered(client, routers[at], identity, again, &call)
              && sso_client_broker(client) == at);
    s_test_call(fiber, &call, client, false, 100);
    SSO_CHECK(s_test_arrives(client, routers[at], &identity, id, sizeof id));
    s_test_pump(client, NULL, &call, NULL, 3000);
    SSO_CHECK(call.done && call.status == SSO_CALL_TIMEOUT);
    SSO_CHECK(!s_test_request(routers[next], &identity, id, sizeof id));

    zframe_destroy(&call.reply);
    zframe_destroy(&identity);
    sso_client_destroy(&client);
    SSO_CHECK(client == NULL);
    sso_fiber_destroy(&fiber);
    zsock_destroy(&routers[0]);
    zsock_destroy(&routers[1]);
}

void sso_client_test(bool verbose)
{
    (void) verbose;
    s_test_brokers();
}
