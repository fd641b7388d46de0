#include "sso_service.h"
#include "sso_fiber.h"
#include "sso_log.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

void sso_service_print_env_help(FILE *out)
{
    fprintf(out,
            "Environment:\n"
            "  SSO_PUBLIC_URL          issuer and base of printed URLs (http://localhost:8080)\n"
            "  SSO_HTTP_ADDR           gateway listen address (127.0.0.1:8080)\n"
            "  SSO_BROKER_ENDPOINT     bus broker address (tcp://127.0.0.1:5555; tcp:// or ipc://,\n"
            "                          always with CURVE keys)\n"
            "  SSO_BROKER_ENDPOINTS    a service's brokers when several gateways run: up to 8,\n"
            "                          comma-separated; it serves and calls through all\n"
            "                          (default: SSO_BROKER_ENDPOINT alone)\n"
            "  SSO_DATA_DIR            database, master key, admin credentials (./var)\n"
            "  SSO_DATABASE_URL        postgres://user@host:port/db puts the directory's store on\n"
            "                          PostgreSQL (unset: SQLite in the data dir)\n"
            "  SSO_BUS_KEYS_DIR        the bus's CURVE keys (<data dir>/bus); the gateway or\n"
            "                          make run's supervisor generates them, a service waits\n"
            "                          for its own\n"
            "  SSO_MASTER_KEY          base64 32-byte key for secrets at rest (generated)\n"
            "  SSO_ADMIN_CLIENT_ID / SSO_ADMIN_CLIENT_SECRET   management API client (generated)\n"
            "  SSO_DASHBOARD_ADMIN_EMAIL  the developer dashboard's first account, made at the\n"
            "                          first start with none (setup link printed once and in\n"
            "                          <data dir>/dashboard-setup-link)\n"
            "  SSO_ALLOW_PRIVATE_UPSTREAMS  1 to allow loopback/private upstream URLs (0)\n"
            "  SSO_LOG_FORMAT          text or json (text)\n"
            "  SSO_REQUEST_TIMEOUT_MS  deadline of each bus request (10000)\n"
            "  SSO_WORKER_CREDIT       requests a service instance takes at once (32)\n"
            "  SSO_ENVIRONMENT         development or production (production; make run:\n"
            "                          development)\n"
            "  SSO_SIMULATOR           1 or 0: the IdP simulator and its Test Organization\n"
            "                          (1 in development, 0 in production)\n");
}

static zframe_t *s_ping(sso_service_t *service, const char *name)
{
    return sso_http_json(200, json_pack("{s:s, s:s}", "service", name, "instance",
                                        service->instance));
}

bool sso_service_serves(const sso_service_def_t *def, const Sso__Meta *meta)
{
    const char *caller = meta->caller ? meta->caller : "";
    if (meta->kind == SSO__META__KIND__HTTP)
        return strcmp(caller, "gateway") == 0;
    if (meta->kind != SSO__META__KIND__RPC)
        return false;
    for (const char *const *role = def->rpc_callers; role && *role; role++)
        if (strcmp(caller, *role) == 0)
            return true;
    return false;
}

#define S_REFUSED_LOG_MS 1000 /* at most one log line per this many ms about refused callers */

/* The answer to a request from a caller the service does not serve, logged at most once per
   S_REFUSED_LOG_MS (with how many went unlogged): a role that keeps trying cannot flood the
   log. */
static zframe_t *s_refusal(const sso_service_def_t *def, const Sso__Meta *meta)
{
    static sso_log_limit_t limit; /* the loop is one thread: no lock */
    const char *caller = meta->caller && *meta->caller ? meta->caller : "an unidentified caller";
    bool http = meta->kind == SSO__META__KIND__HTTP;
    char description[200];
    if (http)
        snprintf(description, sizeof description,
                 "the %s service takes HTTP requests only from the gateway, not from %.32s",
                 def->name, caller);
    else
        snprintf(description, sizeof description, "the %s service serves no %s from %.32s",
                 def->name, meta->kind == SSO__META__KIND__RPC ? "RPC" : "request of that kind",
                 caller);
    unsigned long long skipped;
    if (sso_log_limit_due(&limit, sso_now_ms(), S_REFUSED_LOG_MS, &skipped))
        sso_warn("refused request %.64s (rpc %.48s): %s (%llu more refused since the last line)",
                 meta->request_id, meta->rpc, description, skipped);
    if (http)
        return sso_http_error(403, "access_denied", description);
    Sso__RpcRefusal refusal = SSO__RPC_REFUSAL__INIT;
    refusal.error = SSO__RPC_ERROR__ACCESS_DENIED;
    refusal.error_description = description;
    return sso_frame_pack(&refusal.base);
}

static zframe_t *s_handle(sso_service_t *service, const sso_service_def_t *def, sso_job_t *job)
{
    if (!sso_service_serves(def, job->meta))
        return s_refusal(def, job->meta);
    if (job->meta->kind == SSO__META__KIND__RPC) {
        if (!def->rpc) {
            sso_warn("%s: RPC %s sent to a service that has none", def->name, job->meta->rpc);
            return zframe_new(NULL, 0);
        }
        zframe_t *reply = def->rpc(service, job->meta->rpc, job->payload, job->meta);
        return reply ? reply : zframe_new(NULL, 0);
    }
    Sso__HttpRequest *request = sso__http_request__unpack(NULL, zframe_size(job->payload),
                                                           zframe_data(job->payload));
    if (!request) {
        sso_warn("%s: dropped request %s: its HttpRequest body does not unpack", def->name,
                 job->meta->request_id);
        return NULL;
    }
    zframe_t *reply;
    char ping_path[64];
    snprintf(ping_path, sizeof ping_path, "/_ping/%s", def->name);
    if (strcmp(request->path, ping_path) == 0)
        reply = s_ping(service, def->name);
    else if (def->http)
        reply = def->http(service, request, job->meta);
    else
        reply = sso_http_error(404, "not_found", "no such path");
    sso__http_request__free_unpacked(request, NULL);
    return reply;
}

sso_call_status_t sso_service_call(sso_service_t *service, const char *target, const char *rpc,
                                   bool idempotent, const ProtobufCMessage *payload,
                                   zframe_t **reply_p)
{
    if (!service || !service->client)
        return SSO_CALL_NO_SERVICE; /* not connected (a self-test without a bus) */
    zframe_t *frame = sso_frame_pack(payload);
    return sso_client_call(service->client, target, rpc, idempotent,
                           service->config->request_timeout_ms, &frame, reply_p);
}

/* ---- the loop: one request at a time, or several in fibers ------------------------------ */

/* Sends reply for job, or frees the job without one when there is none (a dropped request). */
static void s_reply(sso_service_t *service, sso_job_t *job, zframe_t **reply_p)
{
    if (*reply_p)
        sso_worker_reply(service->worker, job, reply_p);
    else
        sso_job_release(job);
}

static void s_serve_one(sso_service_t *service, const sso_service_def_t *def, sso_job_t *job)
{
    zframe_t *reply = s_handle(service, def, job);
    s_reply(service, job, &reply);
}

/* A request's fiber: in the concurrent loop it runs one request and answers it; in a
   sequential loop with offloads it keeps the reply for the batch (s_serve_batch). */
typedef struct {
    sso_fiber_t *fiber;
    sso_job_t job;
    sso_service_t *service;
    const sso_service_def_t *def;
    zframe_t *reply;
    int waits_on; /* while it waits in sso_service_offload: the fd that tells it is done */
} s_slot_t;

typedef struct {
    s_slot_t *slots;
    size_t n;
    bool closed; /* at a stop: only requests already taken go on, no new one is taken */
} s_pool_t;

/* ---- offloads: slow work on a thread while the sequential loop goes on -------------------- */

static bool s_offloads_served; /* the loop running now resumes requests that offload */
static int s_offload_fd = -1;  /* what the fiber that just yielded waits on */

/* In the concurrent loop a request's fiber that offloads is resumed by the loop itself when
   its work is done: the fibers waiting so, with the fd that says it. */
#define S_OFFLOAD_WAITS_MAX 64
static bool s_concurrent_offloads;
typedef struct {
    int fd;          /* -1 for a sleep */
    int64_t wake_at; /* a sleep's end (sso_now_ms); INT64_MAX for an offload */
    sso_fiber_t *fiber;
} s_offload_wait_t;
static s_offload_wait_t s_offload_waits[S_OFFLOAD_WAITS_MAX];
static size_t s_n_offload_waits;

typedef struct {
    sso_service_offload_fn *fn;
    void *arg;
    int done[2]; /* a pipe: the thread writes one byte when fn has returned */
} s_offload_t;

static void *s_offload_run(void *arg)
{
    s_offload_t *offload = arg;
    offload->fn(offload->arg);
    while (write(offload->done[1], "", 1) == -1 && errno == EINTR)
        ;
    return NULL;
}

void sso_service_offload(sso_service_offload_fn *fn, void *arg)
{
    s_offload_t offload = {.fn = fn, .arg = arg, .done = {-1, -1}};
    pthread_t thread;
    bool started = false;
    bool room = !s_concurrent_offloads || s_n_offload_waits < S_OFFLOAD_WAITS_MAX;
    if (s_offloads_served && room && sso_fiber_current()
        && pipe2(offload.done, O_CLOEXEC) == 0) {
        /* Signals stay with the loop's thread: a stop interrupts its wait, not a fetch. */
        sigset_t all, before;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &before);
        started = pthread_create(&thread, NULL, s_offload_run, &offload) == 0;
        pthread_sigmask(SIG_SETMASK, &before, NULL);
    }
    if (started) {
        if (s_concurrent_offloads)
            s_offload_waits[s_n_offload_waits++] =
                (s_offload_wait_t){offload.done[0], INT64_MAX, sso_fiber_current()};
        else
            s_offload_fd = offload.done[0];
        sso_fiber_yield(); /* the loop resumes this request once the pipe is readable */
        char byte;
        while (read(offload.done[0], &byte, 1) == -1 && errno == EINTR)
            ;
        pthread_join(thread, NULL);
    }
    else
        fn(arg);
    if (offload.done[0] != -1) {
        close(offload.done[0]);
        close(offload.done[1]);
    }
}

void sso_service_sleep(int ms)
{
    ms = ms > 0 ? ms : 0;
    if (s_offloads_served && s_concurrent_offloads && sso_fiber_current()
        && s_n_offload_waits < S_OFFLOAD_WAITS_MAX) {
        s_offload_waits[s_n_offload_waits++] =
            (s_offload_wait_t){-1, sso_now_ms() + ms, sso_fiber_current()};
        sso_fiber_yield(); /* the loop resumes it at wake_at */
        return;
    }
    struct timespec pause = {ms / 1000, (long) (ms % 1000) * 1000000L};
    while (nanosleep(&pause, &pause) == -1 && errno == EINTR)
        ;
}

static void s_slot_hold(void *arg)
{
    s_slot_t *slot = arg;
    slot->reply = s_handle(slot->service, slot->def, &slot->job);
}

/* After a slot's fiber started or resumed: true with its job and reply when the request is
   done, false when it waits in an offload. */
static bool s_slot_done(s_slot_t *slot, sso_job_t *job, zframe_t **reply_p)
{
    if (sso_fiber_running(slot->fiber)) {
        slot->waits_on = s_offload_fd;
        s_offload_fd = -1;
        return false;
    }
    *job = slot->job;
    *reply_p = slot->reply;
    slot->reply = NULL;
    return true;
}

static bool s_readable(int fd)
{
    struct pollfd item = {fd, POLLIN, 0};
    return fd >= 0 && poll(&item, 1, 0) == 1;
}

/* A request that waits in an offload that has finished, or NULL. */
static s_slot_t *s_slot_ready(const s_pool_t *pool)
{
    for (size_t i = 0; pool && i < pool->n; i++)
        if (s_readable(pool->slots[i].waits_on))
            return &pool->slots[i];
    return NULL;
}

/* Handles *job, in a free fiber when there is one (so it may offload): true with its reply
   when it is done, false when it waits in an offload (the slot holds the job then). */
static bool s_run(sso_service_t *service, const sso_service_def_t *def, s_pool_t *pool,
                  sso_job_t *job, zframe_t **reply_p)
{
    for (size_t i = 0; pool && i < pool->n; i++) {
        s_slot_t *slot = &pool->slots[i];
        if (sso_fiber_running(slot->fiber))
            continue;
        slot->job = *job;
        slot->waits_on = -1;
        if (sso_fiber_start(slot->fiber, s_slot_hold, slot) == 0)
            return s_slot_done(slot, job, reply_p);
        break; /* cannot happen; still answered, below */
    }
    *reply_p = s_handle(service, def, job);
    return true;
}

/* The next request that gets done: one whose offload has finished, else the next one waiting
   on the socket (those that start an offload are left waiting). False when none is left. */
static bool s_next(sso_service_t *service, const sso_service_def_t *def, s_pool_t *pool,
                   sso_job_t *job, zframe_t **reply_p)
{
    s_slot_t *slot;
    while ((slot = s_slot_ready(pool)) != NULL) {
        slot->waits_on = -1;
        sso_fiber_resume(slot->fiber);
        if (s_slot_done(slot, job, reply_p))
            return true;
    }
    while (!(pool && pool->closed) && sso_worker_try_recv(service->worker, job) == 1)
        if (s_run(service, def, pool, job, reply_p))
            return true;
    return false;
}

/* One batch: first (when given), the requests whose offloads have finished and those already
   waiting, replies held until the batch ends. Without a batch (none defined, or it could not
   begin), one request is handled and answered alone. */
static void s_serve_batch(sso_service_t *service, const sso_service_def_t *def, s_pool_t *pool,
                          sso_job_t *first)
{
    const sso_batch_def_t *batch = def->batch;
    bool grouped = batch && batch->begin(service) == 0;
    sso_job_t jobs[SSO_SERVICE_BATCH_MAX];
    zframe_t *replies[SSO_SERVICE_BATCH_MAX];
    size_t n = 0;
    if (first) {
        jobs[0] = *first;
        n = s_run(service, def, pool, &jobs[0], &replies[0]) ? 1 : 0;
    }
    while (n < SSO_SERVICE_BATCH_MAX && (grouped ? batch->intact(service) : n == 0)
           && s_next(service, def, pool, &jobs[n], &replies[n]))
        n++;
    bool lost = grouped && batch->end(service, n) != 0;
    if (lost)
        sso_warn("%s: a batch of %zu request(s) was not saved; each is answered with an error",
                 def->name, n);
    for (size_t i = 0; i < n; i++) {
        if (lost) {
            zframe_destroy(&replies[i]);
            replies[i] = batch->failed(service, &jobs[i]);
        }
        s_reply(service, &jobs[i], &replies[i]);
    }
}

static void s_serve_sequential(sso_service_t *service, const sso_service_def_t *def)
{
    sso_job_t job;
    while (sso_worker_recv(service->worker, &job) == 0) {
        if (def->batch)
            s_serve_batch(service, def, NULL, &job);
        else
            s_serve_one(service, def, &job);
    }
}

/* Fibers for a loop's requests, or false (none made) when there is no memory for them. */
static bool s_pool_new(s_pool_t *pool, size_t n, sso_service_t *service,
                       const sso_service_def_t *def)
{
    *pool = (s_pool_t){.n = n, .slots = calloc(n, sizeof *pool->slots)};
    bool ready = pool->slots != NULL;
    for (size_t i = 0; ready && i < n; i++) {
        pool->slots[i] = (s_slot_t){.fiber = sso_fiber_new(SSO_FIBER_STACK_SIZE),
                                    .service = service, .def = def, .waits_on = -1};
        ready = pool->slots[i].fiber != NULL;
    }
    if (!ready) {
        sso_warn("no memory for %zu fibers: serving one request at a time", n);
        for (size_t i = 0; pool->slots && i < n; i++)
            sso_fiber_destroy(&pool->slots[i].fiber);
        free(pool->slots);
        pool->slots = NULL;
    }
    return ready;
}

/* Slots whose fibers were still waiting at stop: kept reachable until the exit. */
static void *s_abandoned;

/* At a stop: requests still in progress get no reply from here (the broker answers their
   callers when this worker disconnects, see sso_broker); their fibers are never resumed and
   their stacks stay mapped, reachable from here, until the exit. */
static void s_pool_destroy(s_pool_t *pool)
{
    bool abandoned = false;
    for (size_t i = 0; i < pool->n; i++) {
        if (sso_fiber_running(pool->slots[i].fiber)) {
            sso_warn("stopping with request %s in progress",
                     pool->slots[i].job.meta ? pool->slots[i].job.meta->request_id : "?");
            sso_job_release(&pool->slots[i].job);
            abandoned = true;
        }
        else
            sso_fiber_destroy(&pool->slots[i].fiber);
    }
    if (abandoned)
        s_abandoned = pool->slots;
    else
        free(pool->slots);
    pool->slots = NULL;
}

static bool s_waiting(const s_pool_t *pool)
{
    for (size_t i = 0; i < pool->n; i++)
        if (pool->slots[i].waits_on >= 0)
            return true;
    return false;
}

/* At a stop: the requests waiting in offloads are finished, in batches, and answered (their
   callers wait for them), and no new one is taken. Their threads must be over before the
   exit, whose cleanup of OpenSSL under a key generation crashes the process; the wait is
   bounded by the offloaded work itself (a fetch's timeout, a key pair). */
static void s_pool_drain(sso_service_t *service, const sso_service_def_t *def, s_pool_t *pool)
{
    pool->closed = true;
    while (s_waiting(pool)) {
        if (s_slot_ready(pool)) {
            s_serve_batch(service, def, pool, NULL);
            continue;
        }
        struct pollfd items[SSO_SERVICE_OFFLOADS_MAX];
        nfds_t n = 0;
        for (size_t i = 0; i < pool->n; i++)
            if (pool->slots[i].waits_on >= 0)
                items[n++] = (struct pollfd){pool->slots[i].waits_on, POLLIN, 0};
        sso_worker_heartbeat_if_due(service->worker);
        long wait = (long) (sso_worker_heartbeat_at(service->worker) - sso_now_ms());
        poll(items, n, wait < 0 ? 0 : (int) (wait > 60000 ? 60000 : wait));
    }
}

/* A sequential loop whose requests may offload: a fiber for each request that may wait (with
   all of them waiting, requests run on the loop's own stack and their slow work with them).
   It waits on the worker's socket and on the offloads' pipes. */
static void s_serve_offloading(sso_service_t *service, const sso_service_def_t *def)
{
    int offloads = def->offloads > SSO_SERVICE_OFFLOADS_MAX ? SSO_SERVICE_OFFLOADS_MAX
                                                            : def->offloads;
    s_pool_t pool;
    if (!s_pool_new(&pool, (size_t) offloads, service, def)) {
        s_serve_sequential(service, def);
        return;
    }
    s_offloads_served = true;
    while (!zsys_interrupted) {
        if (def->tick)
            def->tick(service);
        sso_job_t job;
        int got = sso_worker_try_recv(service->worker, &job);
        if (got == -1)
            break; /* the context is gone */
        if (got == 1 || s_slot_ready(&pool)) {
            s_serve_batch(service, def, &pool, got == 1 ? &job : NULL);
            continue;
        }
        struct pollfd items[SSO_BROKERS_MAX + SSO_SERVICE_OFFLOADS_MAX];
        nfds_t n = (nfds_t) sso_worker_poll_items(service->worker, items, SSO_BROKERS_MAX);
        for (size_t i = 0; i < pool.n; i++)
            if (pool.slots[i].waits_on >= 0)
                items[n++] = (struct pollfd){pool.slots[i].waits_on, POLLIN, 0};
        long wait = (long) (sso_worker_wake_at(service->worker) - sso_now_ms());
        if (poll(items, n, wait < 0 ? 0 : (int) (wait > 60000 ? 60000 : wait)) == -1
            && errno != EINTR)
            break;
    }
    s_pool_drain(service, def, &pool);
    s_offloads_served = false;
    s_pool_destroy(&pool);
}

#define S_DRAIN_MS 2000 /* how long requests in progress may take to finish at a stop */

static void s_slot_run(void *arg)
{
    s_slot_t *slot = arg;
    s_serve_one(slot->service, slot->def, &slot->job);
}

/* A free slot, or NULL when every fiber is busy. */
static s_slot_t *s_free_slot(s_slot_t *slots, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!sso_fiber_running(slots[i].fiber))
            return &slots[i];
    return NULL;
}

static bool s_busy(s_slot_t *slots, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sso_fiber_running(slots[i].fiber))
            return true;
    return false;
}

/* Starts a fiber for each request waiting, while fibers are free. 0, or -1 when the context
   is gone. */
static int s_take_jobs(sso_worker_t *worker, s_slot_t *slots, size_t n)
{
    s_slot_t *slot;
    while ((slot = s_free_slot(slots, n)) != NULL) {
        int got = sso_worker_try_recv(worker, &slot->job);
        if (got != 1)
            return got;
        if (sso_fiber_start(slot->fiber, s_slot_run, slot) != 0)
            s_serve_one(slot->service, slot->def, &slot->job); /* cannot happen; still answered */
    }
    return 0;
}

/* The concurrent loop's part of the offloads: the fds to wait on (up to max into items), and
   resuming the fibers whose work is done (each answers its own request when it ends). */
static size_t s_offload_poll_items(struct pollfd *items, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < s_n_offload_waits && n < max; i++)
        if (s_offload_waits[i].fd >= 0)
            items[n++] = (struct pollfd){s_offload_waits[i].fd, POLLIN, 0};
    return n;
}

/* When the first sleep ends (INT64_MAX: none), for the loop's wait. */
static int64_t s_offload_wake_at(void)
{
    int64_t first = INT64_MAX;
    for (size_t i = 0; i < s_n_offload_waits; i++)
        first = s_offload_waits[i].wake_at < first ? s_offload_waits[i].wake_at : first;
    return first;
}

static void s_offload_resume_done(void)
{
    for (size_t i = 0; i < s_n_offload_waits;) {
        struct pollfd item = {s_offload_waits[i].fd, POLLIN, 0};
        bool done = item.fd >= 0 ? poll(&item, 1, 0) == 1
                                 : sso_now_ms() >= s_offload_waits[i].wake_at;
        if (!done) {
            i++;
            continue;
        }
        sso_fiber_t *fiber = s_offload_waits[i].fiber;
        s_offload_waits[i] = s_offload_waits[--s_n_offload_waits]; /* before: it may offload */
        sso_fiber_resume(fiber);
    }
}

static void s_serve_concurrent(sso_service_t *service, const sso_service_def_t *def)
{
    s_pool_t pool;
    if (!s_pool_new(&pool, (size_t) service->config->worker_credit, service, def)) {
        s_serve_sequential(service, def);
        return;
    }
    s_slot_t *slots = pool.slots;
    size_t n = pool.n;
    sso_client_set_async(service->client, true);
    s_offloads_served = s_concurrent_offloads = true;
    /* At SIGINT/SIGTERM no new request is taken, and those in progress get a moment to
       finish: their callers are waiting for them. */
    int64_t drain_until = 0;
    for (;;) {
        if (zsys_interrupted && !drain_until)
            drain_until = sso_now_ms() + S_DRAIN_MS;
        if (drain_until && (!s_busy(slots, n) || sso_now_ms() >= drain_until))
            break;
        if (!drain_until && s_take_jobs(service->worker, slots, n) != 0)
            break; /* the context is gone */
        sso_worker_heartbeat_if_due(service->worker); /* also while every fiber is busy */
        int64_t until = sso_client_dispatch(service->client);
        s_offload_resume_done();
        /* Dispatching ran fibers, which sent on both sockets, and a send may take a socket's
           fd signal: look at the worker's again before waiting. */
        if (!drain_until && s_take_jobs(service->worker, slots, n) != 0)
            break;
        /* Fibers started just now may have sent on the client socket after dispatch read it,
           taking the fd's signal for an answer that came meanwhile. */
        if (sso_client_readable(service->client))
            continue;
        /* Without a free fiber only answers matter: new requests wait in their socket. The
           broker hands an instance at most its credit of requests, so that is rare (a broker
           that restarted and counts afresh). Not reading it, the loop wakes only to heartbeat:
           the broker's own heartbeats wait unread, so its expiry is not a reason to wake. */
        bool take = !drain_until && s_free_slot(slots, n);
        int64_t wake = drain_until            ? drain_until
                       : take                 ? sso_worker_wake_at(service->worker)
                                              : sso_worker_heartbeat_at(service->worker);
        until = wake < until ? wake : until;
        int64_t sleeper = s_offload_wake_at();
        until = sleeper < until ? sleeper : until;
        long wait = (long) (until - sso_now_ms());
        struct pollfd items[3 * SSO_BROKERS_MAX + S_OFFLOAD_WAITS_MAX];
        size_t n_items = take ? sso_worker_poll_items(service->worker, items, SSO_BROKERS_MAX) : 0;
        n_items += sso_client_poll_items(service->client, items + n_items, 2 * SSO_BROKERS_MAX);
        n_items += s_offload_poll_items(items + n_items, S_OFFLOAD_WAITS_MAX);
        if (poll(items, (nfds_t) n_items, wait < 0 ? 0 : (int) (wait > 60000 ? 60000 : wait)) == -1
            && errno != EINTR)
            break;
    }
    /* Requests still waiting for an answer after the drain. */
    s_pool_destroy(&pool);
}

int sso_service_run_fibers(void (*fn)(void *arg), void *const *args, size_t n)
{
    sso_fiber_t **fibers = calloc(n ? n : 1, sizeof *fibers);
    bool ready = fibers != NULL;
    for (size_t i = 0; ready && i < n; i++)
        ready = (fibers[i] = sso_fiber_new(SSO_FIBER_STACK_SIZE)) != NULL;
    bool served = s_offloads_served, concurrent = s_concurrent_offloads;
    s_offloads_served = s_concurrent_offloads = ready;
    for (size_t i = 0; ready && i < n; i++)
        if (sso_fiber_start(fibers[i], fn, args[i]) != 0)
            fn(args[i]); /* cannot happen (fibers do not nest): still run */
    for (bool running = ready; running;) {
        running = false;
        for (size_t i = 0; i < n; i++)
            running = running || sso_fiber_running(fibers[i]);
        struct pollfd items[S_OFFLOAD_WAITS_MAX];
        nfds_t n_items = (nfds_t) s_offload_poll_items(items, S_OFFLOAD_WAITS_MAX);
        int64_t wait = s_offload_wake_at() - sso_now_ms();
        if (running)
            poll(items, n_items, wait < 0 ? 0 : wait > 100 ? 100 : (int) wait);
        s_offload_resume_done();
    }
    s_offloads_served = served;
    s_concurrent_offloads = concurrent;
    for (size_t i = 0; fibers && i < n; i++)
        sso_fiber_destroy(&fibers[i]);
    free(fibers);
    return ready ? 0 : -1;
}

int sso_service_main(int argc, char **argv, const sso_service_def_t *def)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage: sso-%s [--help]\n\n%s\n\n", def->name, def->summary);
            sso_service_print_env_help(stdout);
            return 0;
        }
        fprintf(stderr, "sso-%s: unknown argument %s (try --help)\n", def->name, argv[i]);
        return 2;
    }
    sso_config_t config;
    if (sso_config_load(&config) != 0)
        return 2;
    sso_log_init(def->name, config.log_format, config.log_level, config.log_debug);
    zsys_init();
    zsys_set_logstream(NULL);
    sso_bus_setup();

    zsys_catch_interrupts();

    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    char instance[96];
    snprintf(instance, sizeof instance, "%s:%d", host, (int) getpid());

    sso_service_t service = {.config = &config, .instance = instance};
    /* Initialize before saying READY on the bus: /readyz must not count an instance that is
       still opening its database (or that fails to start). init may not call the bus. */
    if (def->init && def->init(&service) != 0) {
        sso_error("could not start");
        return 1;
    }
    /* The service's own bus key: the broker admits only the product's keys, and takes this
       one's READY only for this service. Only the gateway makes them (a set of the service's
       own would be one the broker does not know): wait for them. */
    char why[1200] = "out of memory";
    sso_bus_keys_t *keys = sso_bus_keys_wait(config.bus_keys_dir, NULL, def->name, -1, why,
                                             sizeof why);
    if (!keys && zsys_interrupted) {
        sso_info("stopping (%s)", why);
        if (def->fini)
            def->fini(&service);
        return 0;
    }
    /* Every broker listed (several gateways): the worker serves them all, the client calls
       through one of them. */
    const char *brokers[SSO_BROKERS_MAX];
    char via[SSO_BROKERS_MAX * (SSO_ENDPOINT_MAX + 2)] = "";
    for (int i = 0; i < config.n_broker_endpoints; i++) {
        brokers[i] = config.broker_endpoints[i];
        size_t used = strlen(via);
        snprintf(via + used, sizeof via - used, "%s%s", i ? ", " : "", brokers[i]);
    }
    size_t n_brokers = (size_t) config.n_broker_endpoints;
    if (keys) {
        service.worker = sso_worker_new_brokers(brokers, n_brokers, keys, def->name,
                                                config.worker_credit);
        service.client = sso_client_new_brokers(brokers, n_brokers, keys, def->name,
                                                service.worker);
    }
    if (!service.worker || !service.client) {
        sso_error("cannot join the bus: %s", why);
        if (def->fini)
            def->fini(&service);
        sso_client_destroy(&service.client);
        sso_worker_destroy(&service.worker);
        sso_bus_keys_destroy(&keys);
        return 1;
    }
    sso_info("serving as %s via %s", instance, via);
    if (def->concurrent && config.worker_credit > 1)
        s_serve_concurrent(&service, def);
    else if (def->offloads > 0)
        s_serve_offloading(&service, def);
    else
        s_serve_sequential(&service, def);
    sso_info("stopping");
    if (def->fini)
        def->fini(&service);
    sso_client_destroy(&service.client);
    sso_worker_destroy(&service.worker);
    sso_bus_keys_destroy(&keys);
    return 0;
}

/* ---- self-test: the batch loop, with the test as the broker ------------------------------ */
/* The test binds the ROUTER itself and speaks MDP to the worker over inproc, where a send
   lands in the peer's pipe before it returns: what the worker can read and what it has sent
   are known exactly, with no sleeps. */
#include "directory.pb-c.h"
#include "sso_test.h"

#define S_TEST_JOBS 5

typedef struct {
    zsock_t *router;
    int batches, ends;
    size_t ended_with;   /* the requests the last end was told its batch served */
    int begin_result, end_result;
    int intact_for;      /* intact says yes while the batch holds fewer requests */
    int in_batch;        /* requests handled in the batch in progress */
    bool sent_before_end; /* a reply had reached the router when an end ran */
    int release[2];       /* RPC "park" offloads work that waits for a byte on this pipe */
    pthread_t offload_thread; /* where that work ran */
} s_probe_t;

static s_probe_t s_probe;

static void s_probe_slow(void *arg)
{
    (void) arg;
    s_probe.offload_thread = pthread_self();
    char byte;
    struct pollfd item = {s_probe.release[0], POLLIN, 0};
    if (poll(&item, 1, 10000) == 1) /* bounded: a broken test fails, it does not hang */
        SSO_CHECK(read(s_probe.release[0], &byte, 1) == 1);
}

static void s_probe_slow_inline(void *arg)
{
    (void) arg;
    s_probe.offload_thread = pthread_self();
}

static zframe_t *s_probe_rpc(sso_service_t *service, const char *rpc, zframe_t *payload,
                             const Sso__Meta *meta)
{
    (void) service, (void) payload, (void) meta;
    bool park = strcmp(rpc, "park") == 0;
    if (park)
        sso_service_offload(s_probe_slow, NULL);
    s_probe.in_batch++;
    char text[16];
    snprintf(text, sizeof text, "%c%d", park ? 'p' : 'b', s_probe.batches);
    return zframe_from(text);
}

static int s_probe_begin(sso_service_t *service)
{
    (void) service;
    if (s_probe.begin_result == 0) {
        s_probe.batches++;
        s_probe.in_batch = 0;
    }
    return s_probe.begin_result;
}

static bool s_probe_intact(sso_service_t *service)
{
    (void) service;
    return s_probe.in_batch < s_probe.intact_for;
}

static int s_probe_end(sso_service_t *service, size_t requests)
{
    (void) service;
    s_probe.ends++;
    s_probe.ended_with = requests;
    if (zsock_events(s_probe.router) & ZMQ_POLLIN)
        s_probe.sent_before_end = true;
    return s_probe.end_result;
}

static zframe_t *s_probe_failed(sso_service_t *service, const sso_job_t *job)
{
    (void) service, (void) job;
    return zframe_from("lost");
}

static const sso_batch_def_t s_probe_batch = {s_probe_begin, s_probe_intact, s_probe_end,
                                              s_probe_failed};

/* Sends the worker at identity an MDP command; a REQUEST (seq > 0) carries RPC rpc with
   sequence number seq. */
static void s_probe_send(zframe_t *identity, uint8_t command, uint64_t seq, const char *rpc)
{
    zmsg_t *msg = zmsg_new();
    zmsg_append(msg, &(zframe_t *){zframe_dup(identity)});
    zmsg_addstr(msg, MDPW_WORKER);
    zmsg_addmem(msg, &command, 1);
    if (seq) {
        Sso__Meta meta = SSO__META__INIT;
        char id[32];
        snprintf(id, sizeof id, "batch-%llu", (unsigned long long) seq);
        meta.request_id = id;
        meta.kind = SSO__META__KIND__RPC;
        meta.rpc = (char *) rpc;
        meta.caller = "token"; /* as the broker stamps it */
        meta.deadline_ms = sso_now_ms() + 5000;
        zmsg_addmem(msg, &seq, sizeof seq);
        zmsg_addmem(msg, NULL, 0);
        zmsg_append(msg, &(zframe_t *){sso_frame_pack(&meta.base)});
        zmsg_addstr(msg, "x");
    }
    SSO_CHECK(zmsg_send(&msg, s_probe.router) == 0);
}

/* The next message the worker sent: its identity in *identity_p (replaced), its command, and
   for a reply the payload's text in text. -1 when nothing is there. */
static int s_probe_read(zframe_t **identity_p, char *text, size_t size)
{
    return sso_worker_test_read(s_probe.router, identity_p, text, size);
}

/* S_TEST_JOBS requests at once, then the loop's turns until none waits; each of the
   S_TEST_JOBS answers must read expect (NULL: anything). */
static void s_probe_round(sso_service_t *service, const sso_service_def_t *def,
                          zframe_t **identity_p, int begin_result, int end_result,
                          int intact_for, const char *expect)
{
    s_probe.batches = s_probe.ends = 0;
    s_probe.begin_result = begin_result;
    s_probe.end_result = end_result;
    s_probe.intact_for = intact_for;
    s_probe.sent_before_end = false;
    for (uint64_t seq = 1; seq <= S_TEST_JOBS; seq++)
        s_probe_send(*identity_p, MDPW_REQUEST, seq, "probe");
    sso_job_t job;
    while (sso_worker_try_recv(service->worker, &job) == 1)
        s_serve_batch(service, def, NULL, &job);
    int replies = 0;
    char text[32];
    int code;
    while ((code = s_probe_read(identity_p, text, sizeof text)) != -1) {
        SSO_CHECK(code == MDPW_FINAL);
        SSO_CHECK(!expect || strcmp(text, expect) == 0);
        replies++;
    }
    SSO_CHECK(replies == S_TEST_JOBS);
}

/* HTTP only from the gateway, RPCs only from the listed roles; the refusal unpacks as an
   HttpResponse 403 or as any RPC reply (the directory's here) with error access_denied. */
static void s_test_callers(void)
{
    static const char *const callers[] = {"token", "saml", NULL};
    sso_service_def_t def = {.name = "probe", .rpc = s_probe_rpc, .rpc_callers = callers};
    sso_service_def_t closed = {.name = "closed", .rpc = s_probe_rpc};
    struct {
        Sso__Meta__Kind kind;
        const char *caller;
        bool served, served_closed;
    } cases[] = {
        {SSO__META__KIND__HTTP, "gateway", true, true},
        {SSO__META__KIND__HTTP, "saml", false, false},
        {SSO__META__KIND__HTTP, "", false, false},
        {SSO__META__KIND__HTTP, NULL, false, false},
        {SSO__META__KIND__HTTP, "gatewayx", false, false},
        {SSO__META__KIND__RPC, "token", true, false},
        {SSO__META__KIND__RPC, "saml", true, false},
        {SSO__META__KIND__RPC, "oidc", false, false},
        {SSO__META__KIND__RPC, "gateway", false, false},
        {SSO__META__KIND__RPC, "", false, false},
        {SSO__META__KIND__RPC, NULL, false, false},
        {(Sso__Meta__Kind) 7, "gateway", false, false},
        {(Sso__Meta__Kind) 7, "token", false, false},
    };
    sso_service_t service = {.instance = "test"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Sso__Meta meta = SSO__META__INIT;
        meta.request_id = "callers";
        meta.kind = cases[i].kind;
        meta.rpc = "probe";
        meta.caller = (char *) cases[i].caller;
        SSO_CHECK(sso_service_serves(&def, &meta) == cases[i].served);
        SSO_CHECK(sso_service_serves(&closed, &meta) == cases[i].served_closed);
        if (cases[i].served)
            continue;
        s_probe.in_batch = 0;
        sso_job_t job = {.meta = &meta, .payload = zframe_from("x")};
        zframe_t *reply = s_handle(&service, &def, &job);
        SSO_CHECK(reply && s_probe.in_batch == 0); /* answered, never handled */
        if (meta.kind == SSO__META__KIND__HTTP) {
            Sso__HttpResponse *response =
                reply ? sso__http_response__unpack(NULL, zframe_size(reply), zframe_data(reply))
                      : NULL;
            char body[512] = "";
            if (response)
                snprintf(body, sizeof body, "%.*s", (int) response->body.len,
                         (const char *) response->body.data);
            SSO_CHECK(response && response->status == 403 && strstr(body, "access_denied")
                      && strstr(body, "only from the gateway"));
            if (response)
                sso__http_response__free_unpacked(response, NULL);
        }
        else {
            Sso__LoginContextReply *dir =
                reply ? sso__login_context_reply__unpack(NULL, zframe_size(reply),
                                                         zframe_data(reply))
                      : NULL;
            SSO_CHECK(dir && dir->error == SSO__RPC_ERROR__ACCESS_DENIED
                      && strstr(dir->error_description, "the probe service serves no")
                      && !dir->txn && !dir->connection);
            if (dir)
                sso__login_context_reply__free_unpacked(dir, NULL);
        }
        zframe_destroy(&reply);
        zframe_destroy(&job.payload);
    }
}

/* The next reply's text in text; -1 when none is there. */
static int s_probe_reply(zframe_t **identity_p, char *text, size_t size)
{
    int code = s_probe_read(identity_p, text, size);
    SSO_CHECK(code == -1 || code == MDPW_FINAL);
    return code == -1 ? -1 : 0;
}

/* A request that offloads waits, in a fiber, while the loop answers others in batches of
   their own; its work runs on another thread; once that is done the request goes on in the
   next batch, and its reply leaves after that batch's end. Outside such a loop the work runs
   where it is called. */
static void s_test_offload(sso_service_t *service, const sso_service_def_t *def,
                           zframe_t **identity_p)
{
    s_probe.offload_thread = 0;
    sso_service_offload(s_probe_slow_inline, NULL);
    SSO_CHECK(s_probe.offload_thread && pthread_equal(s_probe.offload_thread, pthread_self()));

    s_pool_t pool;
    SSO_CHECK(pipe(s_probe.release) == 0);
    if (!s_pool_new(&pool, 2, service, def))
        return;
    s_offloads_served = true;
    s_probe.batches = s_probe.ends = 0;
    s_probe.begin_result = s_probe.end_result = 0;
    s_probe.intact_for = 64;
    s_probe.sent_before_end = false;
    s_probe.offload_thread = pthread_self();
    char text[32];
    s_probe_send(*identity_p, MDPW_REQUEST, 1, "park");
    s_probe_send(*identity_p, MDPW_REQUEST, 2, "probe");
    s_serve_batch(service, def, &pool, NULL);
    SSO_CHECK(s_probe_reply(identity_p, text, sizeof text) == 0 && !strcmp(text, "b1"));
    SSO_CHECK(s_probe_reply(identity_p, text, sizeof text) == -1); /* park waits */
    SSO_CHECK(pool.slots[0].waits_on >= 0 && !s_slot_ready(&pool));
    /* Still waiting: the next request is answered all the same. */
    s_probe_send(*identity_p, MDPW_REQUEST, 3, "probe");
    s_serve_batch(service, def, &pool, NULL);
    SSO_CHECK(s_probe_reply(identity_p, text, sizeof text) == 0 && !strcmp(text, "b2"));
    SSO_CHECK(s_probe_reply(identity_p, text, sizeof text) == -1);
    SSO_CHECK(write(s_probe.release[1], "x", 1) == 1);
    struct pollfd item = {pool.slots[0].waits_on, POLLIN, 0};
    SSO_CHECK(poll(&item, 1, 10000) == 1);
    s_serve_batch(service, def, &pool, NULL);
    SSO_CHECK(s_probe_reply(identity_p, text, sizeof text) == 0 && !strcmp(text, "p3"));
    SSO_CHECK(s_probe.ends == 3 && !s_probe.sent_before_end);
    SSO_CHECK(!pthread_equal(s_probe.offload_thread, pthread_self()));
    SSO_CHECK(!sso_fiber_running(pool.slots[0].fiber) && pool.slots[0].waits_on == -1);

    /* At a stop, a request waiting in an offload is finished and answered (its thread is over
       before the exit), and a request not taken yet stays untaken. */
    s_probe_send(*identity_p, MDPW_REQUEST, 4, "park");
    s_serve_batch(service, def, &pool, NULL);
    SSO_CHECK(s_probe_reply(identity_p, text, sizeof text) == -1);
    s_probe_send(*identity_p, MDPW_REQUEST, 5, "probe");
    SSO_CHECK(write(s_probe.release[1], "x", 1) == 1);
    s_pool_drain(service, def, &pool);
    SSO_CHECK(s_probe_reply(identity_p, text, sizeof text) == 0 && !strcmp(text, "p5"));
    SSO_CHECK(s_probe_reply(identity_p, text, sizeof text) == -1);
    SSO_CHECK(!sso_fiber_running(pool.slots[0].fiber) && !s_waiting(&pool));
    s_offloads_served = false;
    s_pool_destroy(&pool);
    close(s_probe.release[0]);
    close(s_probe.release[1]);
}

static void s_concurrent_offload_fiber(void *arg)
{
    sso_service_offload(s_probe_slow, arg);
    s_probe.batches++; /* here: the request went on after its work */
}

/* In the concurrent loop: a fiber that offloads yields, its work runs on a thread, and the
   loop's resume step (s_offload_resume_done) runs it on once that work is done, not before;
   the fds to wait on are the loop's to poll. */
static void s_test_concurrent_offload(void)
{
    SSO_CHECK(pipe(s_probe.release) == 0);
    sso_fiber_t *fiber = sso_fiber_new(SSO_FIBER_STACK_SIZE);
    SSO_CHECK(fiber);
    if (!fiber)
        return;
    s_offloads_served = s_concurrent_offloads = true;
    s_probe.batches = 0;
    s_probe.offload_thread = pthread_self();
    SSO_CHECK(sso_fiber_start(fiber, s_concurrent_offload_fiber, NULL) == 0);
    SSO_CHECK(sso_fiber_running(fiber) && s_n_offload_waits == 1 && s_probe.batches == 0);
    struct pollfd items[S_OFFLOAD_WAITS_MAX];
    SSO_CHECK(s_offload_poll_items(items, S_OFFLOAD_WAITS_MAX) == 1);
    s_offload_resume_done(); /* not done yet: stays */
    SSO_CHECK(sso_fiber_running(fiber) && s_n_offload_waits == 1);
    SSO_CHECK(write(s_probe.release[1], "x", 1) == 1);
    SSO_CHECK(poll(items, 1, 10000) == 1);
    s_offload_resume_done();
    SSO_CHECK(!sso_fiber_running(fiber) && s_n_offload_waits == 0 && s_probe.batches == 1);
    SSO_CHECK(!pthread_equal(s_probe.offload_thread, pthread_self()));
    s_offloads_served = s_concurrent_offloads = false;
    sso_fiber_destroy(&fiber);
    close(s_probe.release[0]);
    close(s_probe.release[1]);
}

static int s_sleep_order[2];
static int s_sleepers_done;

static void s_test_sleeper(void *arg)
{
    int *ms = arg;
    sso_service_sleep(*ms);
    s_sleep_order[s_sleepers_done++] = *ms;
}

/* Fibers that sleep yield to one another: the shorter sleep, started second, ends first. */
static void s_test_sleep(void)
{
    int long_ms = 150, short_ms = 10;
    void *args[] = {&long_ms, &short_ms};
    s_sleepers_done = 0;
    int64_t start = sso_now_ms();
    SSO_CHECK(sso_service_run_fibers(s_test_sleeper, args, 2) == 0);
    int64_t took = sso_now_ms() - start;
    SSO_CHECK(s_sleepers_done == 2 && s_sleep_order[0] == 10 && s_sleep_order[1] == 150);
    SSO_CHECK(took >= 150 && !s_offloads_served && s_n_offload_waits == 0); /* slept, at least */
    /* Outside a fiber it sleeps here. */
    start = sso_now_ms();
    sso_service_sleep(20);
    SSO_CHECK(sso_now_ms() - start >= 20);
}

void sso_service_test(bool verbose)
{
    (void) verbose;
    s_test_callers();
    const char *endpoint = "inproc://sso-service-test";
    memset(&s_probe, 0, sizeof s_probe);
    s_probe.router = zsock_new_router(endpoint);
    SSO_CHECK(s_probe.router);
    if (!s_probe.router)
        return;
    static const char *const callers[] = {"token", NULL};
    sso_service_def_t def = {.name = "batcher", .rpc = s_probe_rpc, .rpc_callers = callers,
                             .batch = &s_probe_batch};
    sso_service_t service = {.instance = "test", .worker = sso_worker_new(endpoint, NULL, "batcher", 8)};
    zframe_t *identity = NULL;
    SSO_CHECK(service.worker && s_probe_read(&identity, NULL, 0) == MDPW_READY);

    /* Requests waiting together share one batch, and no answer leaves before its end. */
    s_probe_round(&service, &def, &identity, 0, 0, 64, "b1");
    SSO_CHECK(s_probe.batches == 1 && s_probe.ends == 1 && !s_probe.sent_before_end);
    SSO_CHECK(s_probe.ended_with == S_TEST_JOBS);
    /* A batch that can take no more after one request: one batch each. */
    s_probe_round(&service, &def, &identity, 0, 0, 1, NULL);
    SSO_CHECK(s_probe.batches == S_TEST_JOBS && s_probe.ends == S_TEST_JOBS);
    SSO_CHECK(s_probe.ended_with == 1);
    /* A lost batch: every request of it gets the failure reply, none its own. */
    s_probe_round(&service, &def, &identity, 0, -1, 64, "lost");
    SSO_CHECK(s_probe.batches == 1 && !s_probe.sent_before_end);
    /* No batch could start: each request is still answered, alone, and no end runs. */
    s_probe_round(&service, &def, &identity, -1, 0, 64, "b0");
    SSO_CHECK(s_probe.ends == 0);

    /* A job taken before the worker reconnected (the broker said DISCONNECT) gets no reply on
       the new connection: that broker no longer knows it. */
    s_probe_send(identity, MDPW_REQUEST, 99, "probe");
    sso_job_t job;
    SSO_CHECK(sso_worker_try_recv(service.worker, &job) == 1);
    s_probe_send(identity, MDPW_DISCONNECT, 0, NULL);
    sso_job_t none;
    SSO_CHECK(sso_worker_try_recv(service.worker, &none) == 0);
    SSO_CHECK(sso_worker_connects(service.worker) == 2);
    SSO_CHECK(s_probe_read(&identity, NULL, 0) == MDPW_READY);
    zframe_t *reply = zframe_from("late");
    SSO_CHECK(sso_worker_reply(service.worker, &job, &reply) == -1 && reply == NULL);
    SSO_CHECK(s_probe_read(&identity, NULL, 0) == -1);
    /* A job of the new connection is answered. */
    s_probe_round(&service, &def, &identity, 0, 0, 64, "b1");
    s_test_offload(&service, &def, &identity);
    s_test_concurrent_offload();
    s_test_sleep();

    zframe_destroy(&identity);
    sso_worker_destroy(&service.worker);
    zsock_destroy(&s_probe.router);
}
