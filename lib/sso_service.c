#include "sso_service.h"
#include "sso_fiber.h"
#include "sso_log.h"
#include <errno.h>
#include <poll.h>
#include <unistd.h>

void sso_service_print_env_help(FILE *out)
{
    fprintf(out,
            "Environment:\n"
            "  SSO_PUBLIC_URL          issuer and base of printed URLs (http://localhost:8080)\n"
            "  SSO_HTTP_ADDR           gateway listen address (127.0.0.1:8080)\n"
            "  SSO_BROKER_ENDPOINT     bus broker address (tcp://127.0.0.1:5555; tcp:// or ipc://,\n"
            "                          always with CURVE keys)\n"
            "  SSO_DATA_DIR            database, master key, admin credentials (./var)\n"
            "  SSO_BUS_KEYS_DIR        the bus's CURVE keys (<data dir>/bus); the gateway or\n"
            "                          make run's supervisor generates them, a service waits\n"
            "                          for its own\n"
            "  SSO_MASTER_KEY          base64 32-byte key for secrets at rest (generated)\n"
            "  SSO_ADMIN_CLIENT_ID / SSO_ADMIN_CLIENT_SECRET   management API client (generated)\n"
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
    refusal.error = "access_denied";
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

/* One batch: the job in hand and those already waiting, replies held until the batch ends. */
static void s_serve_batch(sso_service_t *service, const sso_service_def_t *def, sso_job_t *first)
{
    const sso_batch_def_t *batch = def->batch;
    if (batch->begin(service) != 0) {
        s_serve_one(service, def, first);
        return;
    }
    sso_job_t jobs[SSO_SERVICE_BATCH_MAX];
    zframe_t *replies[SSO_SERVICE_BATCH_MAX];
    size_t n = 0;
    jobs[n] = *first;
    replies[n] = s_handle(service, def, &jobs[n]);
    n++;
    while (n < SSO_SERVICE_BATCH_MAX && batch->intact(service)
           && sso_worker_try_recv(service->worker, &jobs[n]) == 1) {
        replies[n] = s_handle(service, def, &jobs[n]);
        n++;
    }
    bool lost = batch->end(service) != 0;
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
            s_serve_batch(service, def, &job);
        else
            s_serve_one(service, def, &job);
    }
}

/* Slots whose fibers were still waiting at stop: kept reachable until the exit. */
static void *s_abandoned;

#define S_DRAIN_MS 2000 /* how long requests in progress may take to finish at a stop */

typedef struct {
    sso_fiber_t *fiber;
    sso_job_t job;
    sso_service_t *service;
    const sso_service_def_t *def;
} s_slot_t;

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

static void s_serve_concurrent(sso_service_t *service, const sso_service_def_t *def)
{
    size_t n = (size_t) service->config->worker_credit;
    s_slot_t *slots = calloc(n, sizeof *slots);
    bool ready = slots != NULL;
    for (size_t i = 0; ready && i < n; i++) {
        slots[i] = (s_slot_t){.fiber = sso_fiber_new(SSO_FIBER_STACK_SIZE), .service = service,
                              .def = def};
        ready = slots[i].fiber != NULL;
    }
    if (!ready) {
        sso_warn("no memory for %zu fibers: serving one request at a time", n);
        for (size_t i = 0; slots && i < n; i++)
            sso_fiber_destroy(&slots[i].fiber);
        free(slots);
        s_serve_sequential(service, def);
        return;
    }
    sso_client_set_async(service->client, true);
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
        long wait = (long) (until - sso_now_ms());
        struct pollfd items[2] = {{take ? sso_worker_fd(service->worker) : -1, POLLIN, 0},
                                  {sso_client_fd(service->client), POLLIN, 0}};
        if (poll(items, 2, wait < 0 ? 0 : (int) (wait > 60000 ? 60000 : wait)) == -1
            && errno != EINTR)
            break;
    }
    /* Requests still waiting for an answer after the drain: their fibers are never resumed,
       and the broker answers their callers when this worker disconnects (see sso_broker).
       Their stacks stay mapped, reachable from here, until the exit. */
    bool abandoned = false;
    for (size_t i = 0; i < n; i++) {
        if (sso_fiber_running(slots[i].fiber)) {
            sso_warn("stopping with request %s in progress",
                     slots[i].job.meta ? slots[i].job.meta->request_id : "?");
            sso_job_release(&slots[i].job);
            abandoned = true;
        }
        else
            sso_fiber_destroy(&slots[i].fiber);
    }
    if (abandoned)
        s_abandoned = slots;
    else
        free(slots);
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
    if (keys) {
        service.worker = sso_worker_new(config.broker_endpoint, keys, def->name,
                                        config.worker_credit);
        service.client = sso_client_new(config.broker_endpoint, keys, def->name, service.worker);
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
    sso_info("serving as %s via %s", instance, config.broker_endpoint);
    if (def->concurrent && config.worker_credit > 1)
        s_serve_concurrent(&service, def);
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
    int begin_result, end_result;
    int intact_for;      /* intact says yes while the batch holds fewer requests */
    int in_batch;        /* requests handled in the batch in progress */
    bool sent_before_end; /* a reply had reached the router when an end ran */
} s_probe_t;

static s_probe_t s_probe;

static zframe_t *s_probe_rpc(sso_service_t *service, const char *rpc, zframe_t *payload,
                             const Sso__Meta *meta)
{
    (void) service, (void) rpc, (void) payload, (void) meta;
    s_probe.in_batch++;
    char text[16];
    snprintf(text, sizeof text, "b%d", s_probe.batches);
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

static int s_probe_end(sso_service_t *service)
{
    (void) service;
    s_probe.ends++;
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

/* Sends the worker at identity an MDP command; a REQUEST (seq > 0) carries RPC "probe" with
   sequence number seq. */
static void s_probe_send(zframe_t *identity, uint8_t command, uint64_t seq)
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
        meta.rpc = "probe";
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
    if (!(zsock_events(s_probe.router) & ZMQ_POLLIN))
        return -1;
    zmsg_t *msg = zmsg_recv(s_probe.router);
    if (!msg)
        return -1;
    zframe_destroy(identity_p);
    *identity_p = zmsg_pop(msg);
    free(zmsg_popstr(msg)); /* MDPW02 */
    zframe_t *command = zmsg_pop(msg);
    int code = command && zframe_size(command) == 1 ? zframe_data(command)[0] : -1;
    zframe_destroy(&command);
    zframe_t *payload = zmsg_last(msg);
    if (text)
        snprintf(text, size, "%.*s", payload ? (int) zframe_size(payload) : 0,
                 payload ? (const char *) zframe_data(payload) : "");
    zmsg_destroy(&msg);
    return code;
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
        s_probe_send(*identity_p, MDPW_REQUEST, seq);
    sso_job_t job;
    while (sso_worker_try_recv(service->worker, &job) == 1)
        s_serve_batch(service, def, &job);
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
            Sso__DirReply *dir =
                reply ? sso__dir_reply__unpack(NULL, zframe_size(reply), zframe_data(reply))
                      : NULL;
            SSO_CHECK(dir && !strcmp(dir->error, "access_denied")
                      && strstr(dir->error_description, "the probe service serves no")
                      && dir->result_case == SSO__DIR_REPLY__RESULT__NOT_SET);
            if (dir)
                sso__dir_reply__free_unpacked(dir, NULL);
        }
        zframe_destroy(&reply);
        zframe_destroy(&job.payload);
    }
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
    /* A batch that can take no more after one request: one batch each. */
    s_probe_round(&service, &def, &identity, 0, 0, 1, NULL);
    SSO_CHECK(s_probe.batches == S_TEST_JOBS && s_probe.ends == S_TEST_JOBS);
    /* A lost batch: every request of it gets the failure reply, none its own. */
    s_probe_round(&service, &def, &identity, 0, -1, 64, "lost");
    SSO_CHECK(s_probe.batches == 1 && !s_probe.sent_before_end);
    /* No batch could start: each request is still answered, alone, and no end runs. */
    s_probe_round(&service, &def, &identity, -1, 0, 64, "b0");
    SSO_CHECK(s_probe.ends == 0);

    /* A job taken before the worker reconnected (the broker said DISCONNECT) gets no reply on
       the new connection: that broker no longer knows it. */
    s_probe_send(identity, MDPW_REQUEST, 99);
    sso_job_t job;
    SSO_CHECK(sso_worker_try_recv(service.worker, &job) == 1);
    s_probe_send(identity, MDPW_DISCONNECT, 0);
    sso_job_t none;
    SSO_CHECK(sso_worker_try_recv(service.worker, &none) == 0);
    SSO_CHECK(sso_worker_connects(service.worker) == 2);
    SSO_CHECK(s_probe_read(&identity, NULL, 0) == MDPW_READY);
    zframe_t *reply = zframe_from("late");
    SSO_CHECK(sso_worker_reply(service.worker, &job, &reply) == -1 && reply == NULL);
    SSO_CHECK(s_probe_read(&identity, NULL, 0) == -1);
    /* A job of the new connection is answered. */
    s_probe_round(&service, &def, &identity, 0, 0, 64, "b1");

    zframe_destroy(&identity);
    sso_worker_destroy(&service.worker);
    zsock_destroy(&s_probe.router);
}
