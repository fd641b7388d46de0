#include "sso_client.h"
#include "sso_log.h"
#include <errno.h>

struct sso_client_t {
    char *endpoint;
    zsock_t *socket;
    void *handle;               /* the socket's libzmq handle */
    int fd;                     /* its ZMQ_FD (see sso_bus_wait) */
    sso_worker_t *heartbeat_for;
};

static void s_connect(sso_client_t *self)
{
    /* Not reported here: the endpoint is the broker's, which the service's worker (or the
       broker itself) has already checked and logged. */
    (void) sso_bus_dealer_connect(&self->socket, self->endpoint);
    self->handle = zsock_resolve(self->socket);
    self->fd = sso_bus_fd(self->socket);
}

sso_client_t *sso_client_new(const char *endpoint, sso_worker_t *heartbeat_for)
{
    sso_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->endpoint = strdup(endpoint);
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
    free(self);
    *self_p = NULL;
}

/* Parses a reply; returns 1 when it answers request_id (filling status and reply), 0 when it is
   stale or malformed (dropped). */
static int s_take_reply(zmsg_t *msg, const char *request_id, sso_call_status_t *status,
                        zframe_t **reply_p)
{
    int rc = 0;
    char *header = zmsg_popstr(msg);
    zframe_t *command_frame = zmsg_pop(msg);
    char *service = zmsg_popstr(msg);
    zframe_t *meta_frame = zmsg_pop(msg);
    zframe_t *payload = zmsg_pop(msg);
    uint8_t command = 0;
    Sso__Meta *meta = NULL;
    if (!header || strcmp(header, MDPC_CLIENT) || !sso_frame_is_command(command_frame, &command)
        || command != MDPC_FINAL || !service)
        sso_warn("client: dropped a malformed reply");
    else if ((meta = sso_meta_unpack(meta_frame)) != NULL && strcmp(meta->request_id, request_id) == 0) {
        rc = 1;
        if (meta->bus_status == 0 && payload) {
            *status = SSO_CALL_OK;
            *reply_p = payload;
            payload = NULL;
        }
        else
            *status = meta->bus_status == 503 ? SSO_CALL_NO_SERVICE
                    : meta->bus_status == 400 ? SSO_CALL_BAD : SSO_CALL_TIMEOUT;
    }
    if (meta)
        sso__meta__free_unpacked(meta, NULL);
    free(header);
    free(service);
    zframe_destroy(&command_frame);
    zframe_destroy(&meta_frame);
    zframe_destroy(&payload);
    return rc;
}

sso_call_status_t sso_client_call(sso_client_t *self, const char *service, const char *rpc,
                                  bool idempotent, int timeout_ms, zframe_t **payload_p,
                                  zframe_t **reply_p)
{
    *reply_p = NULL;
    char *request_id = sso_request_id_new();
    int64_t deadline = sso_now_ms() + timeout_ms;
    Sso__Meta meta = SSO__META__INIT;
    meta.request_id = request_id;
    meta.deadline_ms = deadline;
    meta.idempotent = idempotent;
    meta.kind = SSO__META__KIND__RPC;
    meta.rpc = (char *) rpc;
    uint8_t command = MDPC_REQUEST;
    zframe_t *meta_frame = sso_frame_pack(&meta.base);
    sso_call_status_t status = SSO_CALL_TIMEOUT;
    /* Frame by frame, no zmsg: meta and payload go to libzmq as they are. */
    bool sent = request_id && meta_frame && *payload_p
                && zmq_send(self->handle, MDPC_CLIENT, strlen(MDPC_CLIENT), ZMQ_SNDMORE) != -1
                && zmq_send(self->handle, &command, 1, ZMQ_SNDMORE) != -1
                && zmq_send(self->handle, service, strlen(service), ZMQ_SNDMORE) != -1
                && zframe_send(&meta_frame, self->socket, ZFRAME_MORE) == 0
                && zframe_send(payload_p, self->socket, 0) == 0;
    zframe_destroy(&meta_frame);
    zframe_destroy(payload_p);
    if (!sent) {
        free(request_id);
        return SSO_CALL_NO_SERVICE;
    }
    /* The broker answers by the deadline; wait a little longer for its 504 before giving up
       ourselves. */
    int64_t give_up = deadline + 500;
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
