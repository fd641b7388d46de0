/* sso_bus: what clients, workers and the broker share about MDP/0.2 (ZeroMQ RFC 18) and the
   framing of bodies: every body is an sso.Meta frame followed by one payload frame, each one
   protobuf-c message. */
#ifndef SSO_BUS_H
#define SSO_BUS_H
#include "bus.pb-c.h"
#include "sso_bus_keys.h"
#include <czmq.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#define MDPC_CLIENT "MDPC02"
#define MDPW_WORKER "MDPW02"

/* Client commands. */
#define MDPC_REQUEST 0x01
#define MDPC_PARTIAL 0x02
#define MDPC_FINAL 0x03
/* Worker commands. */
#define MDPW_READY 0x01
#define MDPW_REQUEST 0x02
#define MDPW_PARTIAL 0x03
#define MDPW_FINAL 0x04
#define MDPW_HEARTBEAT 0x05
#define MDPW_DISCONNECT 0x06

#define SSO_HEARTBEAT_MS 1000   /* both directions */
#define SSO_HEARTBEAT_LIVENESS 4 /* a peer silent for this many intervals is dead */
#define SSO_BUS_MAX_FRAME (16 * 1024 * 1024)
#define SSO_SERVICE_NAME_MAX 32
#define SSO_WORKER_CREDIT_MAX 64  /* requests one worker may hold at once */

/* Packs any protobuf-c message into a new frame; NULL when out of memory. */
zframe_t *sso_frame_pack(const ProtobufCMessage *message);
/* Unpacks a Meta frame; NULL (and a log line) when the frame is not one. */
Sso__Meta *sso_meta_unpack(zframe_t *frame);
/* Milliseconds since the Unix epoch (deadlines are absolute so they survive hops). */
int64_t sso_now_ms(void);
/* A fresh request id: 16 hex characters. Caller frees. */
char *sso_request_id_new(void);
/* True when the service name is one this bus accepts: [a-z0-9._-], 1..32 bytes. */
bool sso_service_name_valid(const char *name, size_t len);
/* One byte command frame. */
bool sso_frame_is_command(zframe_t *frame, uint8_t *command);
/* (Re)makes *socket_p a DEALER with the bus's socket options (no linger, frames capped at
   SSO_BUS_MAX_FRAME) and connects it to endpoint, the way clients and workers both reach the
   broker: with keys, as a CURVE client with role's keys (see sso_bus_keys); without, in the
   clear, which only an inproc broker answers. With monitor_p, *monitor_p is (re)made too: a
   socket that reports the dealer's connection going up or down (sso_bus_monitor_event),
   attached before the dealer connects so that no event is missed. 0, or -1 when ZeroMQ
   refuses the endpoint or the monitor, or keys has no secret key for role (the dealer exists
   either way). */
int sso_bus_dealer_connect(zsock_t **socket_p, zsock_t **monitor_p, const char *endpoint,
                           const sso_bus_keys_t *keys, const char *role);
/* Destroys a dealer and its monitor (either may be NULL or hold NULL). */
void sso_bus_dealer_close(zsock_t **socket_p, zsock_t **monitor_p);
/* The next event of a dealer's monitor, without waiting: SSO_BUS_LINK_UP (connected, the
   handshake done), SSO_BUS_LINK_DOWN (the connection lost, refused, or its handshake
   failed), or 0 when none is waiting. */
#define SSO_BUS_LINK_UP 1
#define SSO_BUS_LINK_DOWN 2
int sso_bus_monitor_event(zsock_t *monitor);
/* Process-wide bus settings: once, after zsys_init and before the first socket. */
void sso_bus_setup(void);
/* A socket's ZMQ_FD, or -1. It only signals news since libzmq last looked at the socket, and
   any send or receive may look, so wait on it (sso_bus_wait) only right after a receive found
   the socket empty: that read leaves libzmq bound to signal the next message. One poll() per
   wait, where zmq_poll does two polls and asks ZMQ_EVENTS twice. */
int sso_bus_fd(zsock_t *socket);
/* Waits until fd is readable, until_ms (sso_now_ms time) passes or a signal arrives. 0, or -1
   when poll fails otherwise. */
int sso_bus_wait(int fd, int64_t until_ms);
/* The same for several fds (each read empty just before, as above): 0 when one is readable,
   until_ms passed or a signal arrived, -1 when poll fails otherwise. */
int sso_bus_wait_any(struct pollfd *items, size_t n, int64_t until_ms);

void sso_bus_test(bool verbose);
#endif
