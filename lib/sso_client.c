#include "sso_client.h"
#include "sso_fiber.h"
#include "sso_log.h"
#include <errno.h>

/* A call waiting in a fiber for its answer; lives on that fiber's stack. */
typedef struct s_pending_t {
    struct s_pending_t *next, *prev;
    const char *request_id;
    int64_t give_up;
    sso_fiber_t *fiber;
    bool answered;
    sso_call_status_t status;
    zframe_t *reply;
} s_pending_t;

struct sso_client_t {
    char *endpoint;
    const sso_bus_keys_t *keys;
    char *role;
    zsock_t *socket;
    void *handle;               /* the socket's libzmq handle */
    int fd;                     /* its ZMQ_FD (see sso_bus_wait) */
    sso_worker_t *heartbeat_for;
    bool async;                 /* calls from fibers yield (sso_client_set_async) */
    s_pending_t *pending;       /* those calls, waiting */
};

static void s_connect(sso_client_t *self)
{
    /* Not reported here: the endpoint is the broker's, which the service's worker (or the
       broker itself) has already checked and logged. */
    (void) sso_bus_dealer_connect(&self->socket, self->endpoint, self->keys, self->role);
    self->handle = zsock_resolve(self->socket);
    self->fd = sso_bus_fd(self->socket);
}

sso_client_t *sso_client_new(const char *endpoint, const sso_bus_keys_t *keys, const char *role,
                             sso_worker_t *heartbeat_for)
{
    sso_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->endpoint = strdup(endpoint);
    self->keys = keys;
    self->role = strdup(role ? role : "");
    self->heartbeat_for = heartbeat_for;
    s_connect(self);
    return self;
}

void sso_client_destroy(sso_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sso_client_t *self = *self_p;
    zsock_destroy(&self->socket);
    free(self->endpoint);
    free(self->role);
    free(self);
    *self_p = NULL;
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

/* Parses a reply; returns 1 when it answers request_id (filling status and reply), 0 when it is
   stale or malformed (dropped). */
static int s_take_reply(zmsg_t *msg, const char *request_id, sso_call_status_t *status,
                        zframe_t **reply_p)
{
    Sso__Meta *meta = NULL;
    zframe_t *payload = NULL;
    int rc = 0;
    if (s_parse_reply(msg, &meta, &payload) == 0 && strcmp(meta->request_id, request_id) == 0) {
        *status = s_outcome(meta, &payload, reply_p);
        rc = 1;
    }
    if (meta)
        sso__meta__free_unpacked(meta, NULL);
    zframe_destroy(&payload);
    return rc;
}

/* Sends the request frames; takes *payload_p. 0, or -1 when libzmq refused. */
static int s_send(sso_client_t *self, const char *service, const char *rpc, bool idempotent,
                  const char *request_id, int64_t deadline, zframe_t **payload_p)
{
    Sso__Meta meta = SSO__META__INIT;
    meta.request_id = (char *) request_id;
    meta.deadline_ms = deadline;
    meta.idempotent = idempotent;
    meta.kind = SSO__META__KIND__RPC;
    meta.rpc = (char *) rpc;
    uint8_t command = MDPC_REQUEST;
    zframe_t *meta_frame = sso_frame_pack(&meta.base);
    /* Frame by frame, no zmsg: meta and payload go to libzmq as they are. */
    bool sent = meta_frame && *payload_p
                && zmq_send(self->handle, MDPC_CLIENT, strlen(MDPC_CLIENT), ZMQ_SNDMORE) != -1
                && zmq_send(self->handle, &command, 1, ZMQ_SNDMORE) != -1
                && zmq_send(self->handle, service, strlen(service), ZMQ_SNDMORE) != -1
                && zframe_send(&meta_frame, self->socket, ZFRAME_MORE) == 0
                && zframe_send(payload_p, self->socket, 0) == 0;
    zframe_destroy(&meta_frame);
    zframe_destroy(payload_p);
    return sent ? 0 : -1;
}

/* The async path: the call waits in its fiber while the loop runs the others. */
static sso_call_status_t s_call_in_fiber(sso_client_t *self, const char *request_id,
                                         int64_t give_up, zframe_t **reply_p)
{
    s_pending_t entry = {.request_id = request_id, .give_up = give_up,
                         .fiber = sso_fiber_current(), .status = SSO_CALL_TIMEOUT};
    entry.next = self->pending;
    if (self->pending)
        self->pending->prev = &entry;
    self->pending = &entry;
    while (!entry.answered)
        sso_fiber_yield();
    if (entry.prev)
        entry.prev->next = entry.next;
    else
        self->pending = entry.next;
    if (entry.next)
        entry.next->prev = entry.prev;
    *reply_p = entry.reply;
    return entry.status;
}

sso_call_status_t sso_client_call(sso_client_t *self, const char *service, const char *rpc,
                                  bool idempotent, int timeout_ms, zframe_t **payload_p,
                                  zframe_t **reply_p)
{
    *reply_p = NULL;
    char *request_id = sso_request_id_new();
    int64_t deadline = sso_now_ms() + timeout_ms;
    if (!request_id || s_send(self, service, rpc, idempotent, request_id, deadline, payload_p)) {
        zframe_destroy(payload_p);
        free(request_id);
        return SSO_CALL_NO_SERVICE;
    }
    /* The broker answers by the deadline; wait a little longer for its 504 before giving up
       ourselves. */
    int64_t give_up = deadline + 500;
    sso_call_status_t status = SSO_CALL_TIMEOUT;
    if (self->async && sso_fiber_current()) {
        status = s_call_in_fiber(self, request_id, give_up, reply_p);
        free(request_id);
        return status;
    }
    while (!zsys_interrupted) {
        if (self->heartbeat_for)
            sso_worker_heartbeat_if_due(self->heartbeat_for);
        zmsg_t *reply = zmsg_recv_nowait(self->socket);
        if (reply) {
            int done = s_take_reply(reply, request_id, &status, reply_p);
            zmsg_destroy(&reply);
            if (done) {
                free(request_id);
                return status;
            }
            continue;
        }
        if (zmq_errno() != EAGAIN && zmq_errno() != EINTR)
            break; /* the context is gone */
        int64_t now = sso_now_ms(), until = give_up;
        if (now >= give_up)
            break;
        if (self->heartbeat_for && until > now + SSO_HEARTBEAT_MS / 2)
            until = now + SSO_HEARTBEAT_MS / 2;
        if (sso_bus_wait(self->fd, until) != 0)
            break;
    }
    /* No answer at all: the broker itself is gone. A fresh socket drops any late reply. */
    sso_warn("client: no answer from the broker for %s.%s", service, rpc);
    s_connect(self);
    free(request_id);
    return SSO_CALL_TIMEOUT;
}

void sso_client_set_async(sso_client_t *self, bool async) { self->async = async; }

int sso_client_fd(const sso_client_t *self) { return self->fd; }

size_t sso_client_pending(const sso_client_t *self)
{
    size_t count = 0;
    for (const s_pending_t *entry = self->pending; entry; entry = entry->next)
        count++;
    return count;
}

bool sso_client_readable(const sso_client_t *self)
{
    return self->socket && (zsock_events(self->socket) & ZMQ_POLLIN) != 0;
}

/* Hands entry its outcome and lets its fiber run on. The list may change while it runs, so
   callers look it up again afterwards. */
static void s_answer(s_pending_t *entry, sso_call_status_t status, zframe_t *reply)
{
    entry->answered = true;
    entry->status = status;
    entry->reply = reply;
    sso_fiber_resume(entry->fiber);
}

int64_t sso_client_dispatch(sso_client_t *self)
{
    zmsg_t *msg;
    while ((msg = zmsg_recv_nowait(self->socket)) != NULL) {
        Sso__Meta *meta = NULL;
        zframe_t *payload = NULL;
        s_pending_t *entry = NULL;
        if (s_parse_reply(msg, &meta, &payload) == 0) {
            entry = self->pending;
            while (entry && strcmp(entry->request_id, meta->request_id) != 0)
                entry = entry->next;
        }
        zmsg_destroy(&msg);
        zframe_t *reply = NULL;
        sso_call_status_t status = entry ? s_outcome(meta, &payload, &reply) : SSO_CALL_TIMEOUT;
        if (meta)
            sso__meta__free_unpacked(meta, NULL);
        zframe_destroy(&payload);
        if (entry)
            s_answer(entry, status, reply); /* else stale: its caller gave up */
    }
    /* Calls the broker never answered, not even with its 504: it is gone. */
    int64_t now = sso_now_ms(), next = INT64_MAX;
    bool gave_up = false;
    for (s_pending_t *entry = self->pending; entry;) {
        if (entry->give_up > now) {
            next = entry->give_up < next ? entry->give_up : next;
            entry = entry->next;
            continue;
        }
        sso_warn("client: no answer from the broker for request %s", entry->request_id);
        gave_up = true;
        s_answer(entry, SSO_CALL_TIMEOUT, NULL);
        entry = self->pending; /* from the top: the list changed */
        next = INT64_MAX;
    }
    /* A fresh socket drops any late reply, once no call waits on the old one. */
    if (gave_up && !self->pending)
        s_connect(self);
    return next;
}
