#include "sso_bus.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* libzmq calls getpid() each time it checks a signaler (to notice a fork): several times per
   message in every thread that touches a socket. glibc no longer caches the pid, so each is a
   system call, and system calls are what costs on a paravirtualised VM. This definition
   replaces glibc's for the whole process (libzmq and OpenSSL included) with a cached one,
   forgotten in the child of a fork() so a child still sees its own pid. If the fork handler
   cannot be registered, every call goes to the kernel as before. */
static atomic_int s_pid;        /* 0: not cached */
static bool s_pid_cacheable;    /* set before main, never changed after */

static void s_pid_forget(void)
{
    atomic_store_explicit(&s_pid, 0, memory_order_relaxed);
}

__attribute__((constructor)) static void s_pid_setup(void)
{
    s_pid_cacheable = pthread_atfork(NULL, NULL, s_pid_forget) == 0;
}

pid_t getpid(void)
{
    pid_t pid = (pid_t) atomic_load_explicit(&s_pid, memory_order_relaxed);
    if (pid)
        return pid;
    pid = (pid_t) syscall(SYS_getpid);
    if (s_pid_cacheable)
        atomic_store_explicit(&s_pid, (int) pid, memory_order_relaxed);
    return pid;
}

zframe_t *sso_frame_pack(const ProtobufCMessage *message)
{
    size_t size = protobuf_c_message_get_packed_size(message);
    zframe_t *frame = zframe_new(NULL, size);
    if (frame)
        protobuf_c_message_pack(message, zframe_data(frame));
    return frame;
}

Sso__Meta *sso_meta_unpack(zframe_t *frame)
{
    if (!frame)
        return NULL;
    Sso__Meta *meta = sso__meta__unpack(NULL, zframe_size(frame), zframe_data(frame));
    if (!meta)
        sso_warn("bus: dropped a body whose meta frame does not unpack (%zu bytes)",
                 zframe_size(frame));
    return meta;
}

int64_t sso_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

char *sso_request_id_new(void)
{
    uint8_t raw[8];
    char *id = malloc(17);
    if (!id || sso_random_bytes(raw, sizeof raw) != 0) {
        free(id);
        return NULL;
    }
    for (int i = 0; i < 8; i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    return id;
}

bool sso_service_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > SSO_SERVICE_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool sso_frame_is_command(zframe_t *frame, uint8_t *command)
{
    if (!frame || zframe_size(frame) != 1)
        return false;
    *command = zframe_data(frame)[0];
    return true;
}

/* The connection events a monitored dealer reports: up, and every way of being down. */
#define S_MONITOR_EVENTS                                                                       \
    (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED         \
     | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL              \
     | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

void sso_bus_dealer_close(zsock_t **socket_p, zsock_t **monitor_p)
{
    if (monitor_p && *monitor_p) {
        if (socket_p && *socket_p)
            zmq_socket_monitor(zsock_resolve(*socket_p), NULL, 0);
        zsock_destroy(monitor_p);
    }
    if (socket_p)
        zsock_destroy(socket_p);
}

int sso_bus_dealer_connect(zsock_t **socket_p, zsock_t **monitor_p, const char *endpoint,
                           const sso_bus_keys_t *keys, const char *role)
{
    sso_bus_dealer_close(socket_p, monitor_p);
    *socket_p = zsock_new(ZMQ_DEALER);
    assert(*socket_p);
    zsock_set_linger(*socket_p, 0);
    zsock_set_maxmsgsize(*socket_p, SSO_BUS_MAX_FRAME);
    if (keys && sso_bus_keys_connect_as(keys, role, *socket_p) != 0)
        return -1;
    if (monitor_p) {
        /* Watched before it connects, so that no event of its first connection is missed. */
        static _Atomic unsigned monitors;
        char address[64];
        snprintf(address, sizeof address, "inproc://sso-bus-monitor-%u", monitors++);
        if (zmq_socket_monitor(zsock_resolve(*socket_p), address, S_MONITOR_EVENTS) != 0)
            return -1;
        if (!(*monitor_p = zsock_new_pair(address))) {
            zmq_socket_monitor(zsock_resolve(*socket_p), NULL, 0);
            return -1;
        }
    }
    return zsock_connect(*socket_p, "%s", endpoint) == 0 ? 0 : -1;
}

int sso_bus_monitor_event(zsock_t *monitor)
{
    zmsg_t *msg;
    while (monitor && (msg = zmsg_recv_nowait(monitor)) != NULL) {
        /* Two frames: the event (16 bits) and its value (32), then the endpoint. */
        zframe_t *first = zmsg_first(msg);
        uint16_t event = 0;
        if (first && zframe_size(first) == 6)
            memcpy(&event, zframe_data(first), sizeof event);
        zmsg_destroy(&msg);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            return SSO_BUS_LINK_UP;
        if (event & S_MONITOR_EVENTS)
            return SSO_BUS_LINK_DOWN;
    }
    return 0;
}

void sso_bus_setup(void)
{
    /* SCHED_BATCH for libzmq's I/O threads: woken for every message, as normal threads they
       preempt the thread that just queued the message (and is about to queue more), which
       costs a context switch per message on a busy machine. As batch threads they wait for a
       free CPU and then take the whole queue in one go. libzmq aborts if it cannot apply the
       policy, so it is only asked for when this thread can take it (and give it back). */
    struct sched_param param = {0};
    int policy = 0;
    if (pthread_getschedparam(pthread_self(), &policy, &param) != 0 || policy != SCHED_OTHER)
        return;
    struct sched_param batch = {0};
    if (pthread_setschedparam(pthread_self(), SCHED_BATCH, &batch) != 0)
        return;
    if (pthread_setschedparam(pthread_self(), policy, &param) != 0)
        sso_warn("bus: could not restore this thread's scheduling policy");
    zsys_set_thread_sched_policy(SCHED_BATCH);
}

int sso_bus_fd(zsock_t *socket)
{
    int fd = -1;
    size_t size = sizeof fd;
    if (!socket || zmq_getsockopt(zsock_resolve(socket), ZMQ_FD, &fd, &size) != 0)
        return -1;
    return fd;
}

int sso_bus_wait_any(struct pollfd *items, size_t n, int64_t until_ms)
{
    long wait = (long) (until_ms - sso_now_ms());
    int rc = poll(items, (nfds_t) n, wait < 0 ? 0 : (int) (wait > 60000 ? 60000 : wait));
    return rc == -1 && errno != EINTR ? -1 : 0;
}

int sso_bus_wait(int fd, int64_t until_ms)
{
    struct pollfd item = {fd, POLLIN, 0};
    return sso_bus_wait_any(&item, 1, until_ms);
}

/* The next event of monitor within ms, or 0. */
static int s_test_next_event(zsock_t *monitor, int ms)
{
    int64_t until = sso_now_ms() + ms;
    int event;
    while ((event = sso_bus_monitor_event(monitor)) == 0 && sso_now_ms() < until)
        sso_bus_wait(sso_bus_fd(monitor), sso_now_ms() + 20 < until ? sso_now_ms() + 20 : until);
    return event;
}

/* A monitored dealer says up when it reaches a listener, down when the listener goes away,
   and down again while nothing listens (refused, retried); a dealer made again gets a
   monitor of its own. */
static void s_test_monitor(void)
{
    zsock_t *router = zsock_new_router("tcp://127.0.0.1:*");
    SSO_CHECK(router);
    if (!router)
        return;
    char endpoint[64];
    char *bound = zsock_last_endpoint(router); /* the caller's to free */
    snprintf(endpoint, sizeof endpoint, "%s", bound ? bound : "");
    free(bound);
    zsock_t *dealer = NULL, *monitor = NULL;
    SSO_CHECK(sso_bus_dealer_connect(&dealer, &monitor, endpoint, NULL, NULL) == 0 && monitor);
    SSO_CHECK(s_test_next_event(monitor, 3000) == SSO_BUS_LINK_UP);
    SSO_CHECK(sso_bus_dealer_connect(&dealer, &monitor, endpoint, NULL, NULL) == 0 && monitor);
    SSO_CHECK(s_test_next_event(monitor, 3000) == SSO_BUS_LINK_UP);
    zsock_destroy(&router);
    SSO_CHECK(s_test_next_event(monitor, 3000) == SSO_BUS_LINK_DOWN);
    SSO_CHECK(s_test_next_event(monitor, 3000) == SSO_BUS_LINK_DOWN); /* retried, refused */
    SSO_CHECK(sso_bus_monitor_event(NULL) == 0);
    sso_bus_dealer_close(&dealer, &monitor);
    SSO_CHECK(!dealer && !monitor);
    sso_bus_dealer_close(&dealer, &monitor); /* twice: nothing left to close */
}

void sso_bus_test(bool verbose)
{
    (void) verbose;
    Sso__Meta meta = SSO__META__INIT;
    meta.request_id = "abc";
    meta.deadline_ms = 1234;
    meta.idempotent = true;
    zframe_t *frame = sso_frame_pack(&meta.base);
    SSO_CHECK(frame);
    Sso__Meta *back = sso_meta_unpack(frame);
    SSO_CHECK(back && strcmp(back->request_id, "abc") == 0 && back->deadline_ms == 1234
              && back->idempotent);
    sso__meta__free_unpacked(back, NULL);
    zframe_destroy(&frame);
    zframe_t *junk = zframe_new("\xff\xff\xff\xff\xff", 5);
    SSO_CHECK(sso_meta_unpack(junk) == NULL);
    zframe_destroy(&junk);
    SSO_CHECK(sso_service_name_valid("token", 5));
    SSO_CHECK(!sso_service_name_valid("To ken", 6));
    SSO_CHECK(!sso_service_name_valid("", 0));
    char *id = sso_request_id_new();
    SSO_CHECK(id && strlen(id) == 16);
    free(id);
    SSO_CHECK(sso_now_ms() > 1600000000000LL);
    /* The cached pid is the kernel's, and a child of fork() sees its own. */
    SSO_CHECK(getpid() == (pid_t) syscall(SYS_getpid) && getpid() == getpid());
    int pipe_fds[2];
    SSO_CHECK(pipe(pipe_fds) == 0);
    pid_t child = fork();
    if (child == 0) {
        pid_t seen[2] = {getpid(), (pid_t) syscall(SYS_getpid)};
        ssize_t written = write(pipe_fds[1], seen, sizeof seen);
        _exit(written == (ssize_t) sizeof seen ? 0 : 1);
    }
    pid_t seen[2] = {0, 1};
    SSO_CHECK(child > 0 && read(pipe_fds[0], seen, sizeof seen) == (ssize_t) sizeof seen);
    SSO_CHECK(seen[0] == seen[1] && seen[0] == child && seen[0] != getpid());
    if (child > 0)
        waitpid(child, NULL, 0);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    /* A reconnect replaces the socket; a malformed endpoint is refused but leaves one. */
    zsock_t *dealer = NULL;
    SSO_CHECK(sso_bus_dealer_connect(&dealer, NULL, "inproc://sso-bus-test", NULL, NULL) == 0
              && dealer);
    SSO_CHECK(sso_bus_dealer_connect(&dealer, NULL, "no-such-transport", NULL, NULL) == -1
              && dealer);
    zsock_destroy(&dealer);
    s_test_monitor();
}
