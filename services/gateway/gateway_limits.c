#include "gateway_limits.h"
#include "sso_test.h"
#include <arpa/inet.h>
#include <czmq.h>
#include <pthread.h>

struct gateway_peer_t {
    gateway_peer_t *prev, *next;    /* in the deadline list while a request is read */
    bool listed;
    bool kept_alive;                /* answered a request before */
    bool started;                   /* a request line of the current request was seen */
    bool headers;                   /* its headers are in */
    int64_t deadline_ms;
    int fd;
    char address[INET6_ADDRSTRLEN + 8];     /* the caller's key for its address */
};

struct gateway_limits_t {
    pthread_mutex_t lock;
    size_t max_per_address;
    int64_t read_timeout_ms;
    size_t max_in_flight;
    size_t in_flight;
    size_t max_in_flight_per_address; /* one address's share of max_in_flight */
    zhashx_t *per_address;          /* address → s_address_t */
    /* Connections reading a request, oldest deadline first: every deadline is the same span
       after a time read just before, so appending keeps the order (to a few microseconds
       between threads), and the sweep only looks at the head. */
    gateway_peer_t *head, *tail;
};

/* An address's connections and the body bytes its requests hold; kept while either is not 0. */
typedef struct {
    size_t connections;
    size_t reserved;
} s_address_t;

static void s_free_count(void **item)
{
    free(*item);
    *item = NULL;
}

gateway_limits_t *gateway_limits_new(int max_per_address, int read_timeout_ms,
                                     size_t max_body_bytes_in_flight, size_t max_body_bytes)
{
    gateway_limits_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->per_address = zhashx_new();
    if (!self->per_address) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->per_address, s_free_count);
    pthread_mutex_init(&self->lock, NULL);
    self->max_per_address = (size_t) max_per_address;
    self->read_timeout_ms = read_timeout_ms;
    self->max_in_flight = max_body_bytes_in_flight;
    /* An eighth, so one address with its connections full of declared bodies cannot take the
       whole budget from everyone else; at least one largest body, so it can send one. */
    self->max_in_flight_per_address = max_body_bytes_in_flight / 8 > max_body_bytes
                                          ? max_body_bytes_in_flight / 8
                                          : max_body_bytes;
    return self;
}

void gateway_limits_destroy(gateway_limits_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gateway_limits_t *self = *self_p;
    zhashx_destroy(&self->per_address);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int gateway_limits_admit(gateway_limits_t *self, const char *address)
{
    pthread_mutex_lock(&self->lock);
    const s_address_t *entry = zhashx_lookup(self->per_address, address);
    int rc = entry && entry->connections >= self->max_per_address ? -1 : 0;
    pthread_mutex_unlock(&self->lock);
    return rc;
}

static void s_unlink(gateway_limits_t *self, gateway_peer_t *peer)
{
    if (!peer->listed)
        return;
    if (peer->prev)
        peer->prev->next = peer->next;
    else
        self->head = peer->next;
    if (peer->next)
        peer->next->prev = peer->prev;
    else
        self->tail = peer->prev;
    peer->prev = peer->next = NULL;
    peer->listed = false;
}

static void s_append(gateway_limits_t *self, gateway_peer_t *peer, int64_t now_ms)
{
    s_unlink(self, peer);
    peer->deadline_ms = now_ms + self->read_timeout_ms;
    peer->prev = self->tail;
    if (self->tail)
        self->tail->next = peer;
    else
        self->head = peer;
    self->tail = peer;
    peer->listed = true;
}

gateway_peer_t *gateway_limits_open(gateway_limits_t *self, const char *address, int fd,
                                    int64_t now_ms)
{
    gateway_peer_t *peer = calloc(1, sizeof *peer);
    if (!peer)
        return NULL;
    snprintf(peer->address, sizeof peer->address, "%s", address);
    peer->fd = fd;
    pthread_mutex_lock(&self->lock);
    s_address_t *entry = zhashx_lookup(self->per_address, peer->address);
    if (!entry) {
        entry = calloc(1, sizeof *entry);
        if (!entry || zhashx_insert(self->per_address, peer->address, entry) != 0) {
            pthread_mutex_unlock(&self->lock);
            free(entry);
            free(peer);
            return NULL;
        }
    }
    entry->connections++;
    s_append(self, peer, now_ms);
    pthread_mutex_unlock(&self->lock);
    return peer;
}

void gateway_limits_close(gateway_limits_t *self, gateway_peer_t **peer_p)
{
    if (!peer_p || !*peer_p)
        return;
    gateway_peer_t *peer = *peer_p;
    pthread_mutex_lock(&self->lock);
    s_unlink(self, peer);
    s_address_t *entry = zhashx_lookup(self->per_address, peer->address);
    if (entry && entry->connections > 0 && --entry->connections == 0 && entry->reserved == 0)
        zhashx_delete(self->per_address, peer->address);
    pthread_mutex_unlock(&self->lock);
    free(peer);
    *peer_p = NULL;
}

void gateway_limits_started(gateway_limits_t *self, gateway_peer_t *peer)
{
    if (!peer)
        return;
    pthread_mutex_lock(&self->lock);
    peer->started = true;
    pthread_mutex_unlock(&self->lock);
}

void gateway_limits_headers(gateway_limits_t *self, gateway_peer_t *peer)
{
    if (!peer)
        return;
    pthread_mutex_lock(&self->lock);
    peer->started = peer->headers = true;
    pthread_mutex_unlock(&self->lock);
}

void gateway_limits_received(gateway_limits_t *self, gateway_peer_t *peer)
{
    if (!peer)
        return;
    pthread_mutex_lock(&self->lock);
    s_unlink(self, peer);
    pthread_mutex_unlock(&self->lock);
}

void gateway_limits_next(gateway_limits_t *self, gateway_peer_t *peer, int64_t now_ms)
{
    if (!peer)
        return;
    pthread_mutex_lock(&self->lock);
    peer->kept_alive = true;
    peer->started = peer->headers = false;
    /* A connection the sweep cut (fd -1) is on its way out: no new deadline, no second cut. */
    if (peer->fd >= 0)
        s_append(self, peer, now_ms);
    pthread_mutex_unlock(&self->lock);
}

bool gateway_limits_late(gateway_limits_t *self, gateway_peer_t *peer, int64_t now_ms)
{
    if (!peer)
        return false;
    pthread_mutex_lock(&self->lock);
    bool late = peer->listed && now_ms >= peer->deadline_ms;
    pthread_mutex_unlock(&self->lock);
    return late;
}

size_t gateway_limits_sweep(gateway_limits_t *self, int64_t now_ms, gateway_cut_fn *cut,
                            void *arg, long *wait_ms)
{
    size_t cuts = 0;
    pthread_mutex_lock(&self->lock);
    while (self->head && now_ms >= self->head->deadline_ms) {
        gateway_peer_t *peer = self->head;
        s_unlink(self, peer);
        gateway_cut_phase_t phase = peer->headers ? GATEWAY_CUT_BODY
                                  : peer->started || !peer->kept_alive ? GATEWAY_CUT_HEADERS
                                  : GATEWAY_CUT_IDLE;
        cut(arg, peer->fd, phase);
        peer->fd = -1;
        cuts++;
    }
    *wait_ms = self->head ? (long) (self->head->deadline_ms - now_ms) : -1;
    pthread_mutex_unlock(&self->lock);
    return cuts;
}

const char *gateway_limits_peer_address(const gateway_peer_t *peer)
{
    return peer ? peer->address : NULL;
}

int gateway_limits_reserve(gateway_limits_t *self, const char *address, size_t bytes)
{
    pthread_mutex_lock(&self->lock);
    s_address_t *entry = address ? zhashx_lookup(self->per_address, address) : NULL;
    int rc = bytes > self->max_in_flight - self->in_flight ? -1 : 0;
    if (rc == 0 && entry && bytes > self->max_in_flight_per_address - entry->reserved)
        rc = -1;
    if (rc == 0) {
        self->in_flight += bytes;
        if (entry)
            entry->reserved += bytes;
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

void gateway_limits_release(gateway_limits_t *self, const char *address, size_t bytes)
{
    pthread_mutex_lock(&self->lock);
    self->in_flight -= bytes < self->in_flight ? bytes : self->in_flight;
    s_address_t *entry = address ? zhashx_lookup(self->per_address, address) : NULL;
    if (entry) {
        entry->reserved -= bytes < entry->reserved ? bytes : entry->reserved;
        if (entry->connections == 0 && entry->reserved == 0)
            zhashx_delete(self->per_address, address);
    }
    pthread_mutex_unlock(&self->lock);
}

/* ---- self-test ----------------------------------------------------------------------------- */

typedef struct {
    int fds[8];
    gateway_cut_phase_t phases[8];
    size_t count;
} s_cuts_t;

static void s_record_cut(void *arg, int fd, gateway_cut_phase_t phase)
{
    s_cuts_t *cuts = arg;
    if (cuts->count < 8) {
        cuts->fds[cuts->count] = fd;
        cuts->phases[cuts->count] = phase;
    }
    cuts->count++;
}

void gateway_limits_test(bool verbose)
{
    (void) verbose;
    gateway_limits_t *limits = gateway_limits_new(2, 1000, 100, 10);
    SSO_CHECK(limits != NULL);

    /* Two connections per address; the other addresses are not affected; a closed one frees
       its place. */
    SSO_CHECK(gateway_limits_admit(limits, "192.0.2.1") == 0);
    gateway_peer_t *a = gateway_limits_open(limits, "192.0.2.1", 10, 0);
    SSO_CHECK(gateway_limits_admit(limits, "192.0.2.1") == 0);
    gateway_peer_t *b = gateway_limits_open(limits, "192.0.2.1", 11, 100);
    SSO_CHECK(gateway_limits_admit(limits, "192.0.2.1") == -1);
    SSO_CHECK(gateway_limits_admit(limits, "2001:db8::1") == 0);
    SSO_CHECK(gateway_limits_admit(limits, "") == 0);
    gateway_peer_t *c = gateway_limits_open(limits, "2001:db8::1", 12, 200);
    gateway_limits_close(limits, &b);
    SSO_CHECK(b == NULL);
    SSO_CHECK(gateway_limits_admit(limits, "192.0.2.1") == 0);
    gateway_limits_close(limits, &b); /* twice: nothing */

    /* Deadlines: a (opened at 0) is cut at 1000, reading headers; c is done in time. */
    long wait = 0;
    s_cuts_t cuts = {{0}, {0}, 0};
    SSO_CHECK(gateway_limits_sweep(limits, 999, s_record_cut, &cuts, &wait) == 0 && wait == 1);
    SSO_CHECK(!gateway_limits_late(limits, a, 999) && gateway_limits_late(limits, a, 1000));
    gateway_limits_headers(limits, c);
    gateway_limits_received(limits, c);
    SSO_CHECK(!gateway_limits_late(limits, c, 5000));
    SSO_CHECK(!gateway_limits_late(limits, NULL, 5000)); /* an untracked connection */
    gateway_limits_headers(limits, NULL);
    gateway_limits_received(limits, NULL);
    SSO_CHECK(gateway_limits_sweep(limits, 1000, s_record_cut, &cuts, &wait) == 1 && wait == -1);
    SSO_CHECK(cuts.fds[0] == 10 && cuts.phases[0] == GATEWAY_CUT_HEADERS);
    /* A cut connection gets no new deadline when its request ends, so it is not cut twice. */
    gateway_limits_next(limits, a, 1000);
    SSO_CHECK(gateway_limits_sweep(limits, 9000, s_record_cut, &cuts, &wait) == 0 && wait == -1);

    /* After its answer, c's next request has its own deadline: idle, then reading a request
       line, then a body. */
    gateway_limits_next(limits, c, 2000);
    SSO_CHECK(gateway_limits_sweep(limits, 2500, s_record_cut, &cuts, &wait) == 0 && wait == 500);
    SSO_CHECK(gateway_limits_sweep(limits, 3000, s_record_cut, &cuts, &wait) == 1);
    SSO_CHECK(cuts.fds[1] == 12 && cuts.phases[1] == GATEWAY_CUT_IDLE);
    gateway_peer_t *d = gateway_limits_open(limits, "192.0.2.2", 13, 3000);
    gateway_limits_next(limits, d, 3000);
    gateway_limits_started(limits, d);
    gateway_peer_t *e = gateway_limits_open(limits, "192.0.2.3", 14, 3100);
    gateway_limits_headers(limits, e);
    SSO_CHECK(gateway_limits_sweep(limits, 5000, s_record_cut, &cuts, &wait) == 2);
    SSO_CHECK(cuts.phases[2] == GATEWAY_CUT_HEADERS && cuts.phases[3] == GATEWAY_CUT_BODY);
    gateway_limits_close(limits, &a);
    gateway_limits_close(limits, &c);
    gateway_limits_close(limits, &d);
    gateway_limits_close(limits, &e);
    SSO_CHECK(zhashx_size(limits->per_address) == 0);

    /* The body budget: 100 bytes in all; a refusal takes nothing; releasing more than was
       taken does not wrap. */
    SSO_CHECK(gateway_limits_reserve(limits, NULL, 60) == 0);
    SSO_CHECK(gateway_limits_reserve(limits, NULL, 41) == -1);
    SSO_CHECK(gateway_limits_reserve(limits, NULL, 40) == 0);
    SSO_CHECK(gateway_limits_reserve(limits, NULL, 1) == -1);
    gateway_limits_release(limits, NULL, 60);
    SSO_CHECK(gateway_limits_reserve(limits, NULL, 60) == 0);
    gateway_limits_release(limits, NULL, 1000);
    SSO_CHECK(limits->in_flight == 0);
    SSO_CHECK(gateway_limits_reserve(limits, NULL, (size_t) -1) == -1);
    SSO_CHECK(gateway_limits_reserve(limits, NULL, 0) == 0);

    /* One address holds at most its share (here the largest body, 12 of 100 being under it):
       another address still gets its bytes; the share comes back on release, and the
       address is forgotten once it has neither connections nor bytes. */
    gateway_peer_t *p = gateway_limits_open(limits, "192.0.2.9", 21, 0);
    gateway_peer_t *q = gateway_limits_open(limits, "192.0.2.10", 22, 0);
    const char *pa = gateway_limits_peer_address(p), *qa = gateway_limits_peer_address(q);
    SSO_CHECK(pa && qa && !gateway_limits_peer_address(NULL));
    SSO_CHECK(gateway_limits_reserve(limits, pa, 12) == 0);
    SSO_CHECK(gateway_limits_reserve(limits, pa, 1) == -1 && limits->in_flight == 12);
    SSO_CHECK(gateway_limits_reserve(limits, qa, 12) == 0 && limits->in_flight == 24);
    gateway_limits_close(limits, &q); /* its bytes outlive the connection until released */
    SSO_CHECK(zhashx_size(limits->per_address) == 2);
    gateway_limits_release(limits, "192.0.2.10", 12);
    SSO_CHECK(zhashx_size(limits->per_address) == 1);
    gateway_limits_release(limits, pa, 5);
    SSO_CHECK(gateway_limits_reserve(limits, pa, 5) == 0);
    gateway_limits_release(limits, pa, 12);
    gateway_limits_close(limits, &p);
    SSO_CHECK(zhashx_size(limits->per_address) == 0 && limits->in_flight == 0);

    gateway_limits_destroy(&limits);
    SSO_CHECK(limits == NULL);
    gateway_limits_destroy(&limits);
}
