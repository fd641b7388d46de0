/* sso_service: the loop every bus service runs. A service's main.c fills an
   sso_service_def_t and calls sso_service_main; this module does --help, configuration,
   logging, the worker, signals, unpacking (bodies that do not unpack are dropped and logged)
   and the /_ping/<service> probe that tests and benchmarks use. */
#ifndef SSO_SERVICE_H
#define SSO_SERVICE_H
#include "sso_client.h"
#include "sso_config.h"
#include "sso_http.h"
#include "sso_worker.h"

typedef struct {
    const sso_config_t *config;
    sso_worker_t *worker;
    sso_client_t *client;     /* for calls to other services */
    const char *instance;     /* host:pid, for logs and /_ping */
    void *state;              /* the service's own */
} sso_service_t;

/* Returns an HttpResponse frame (see sso_http_json and friends). */
typedef zframe_t *(sso_http_fn)(sso_service_t *service, const Sso__HttpRequest *request,
                                const Sso__Meta *meta);
/* Returns the reply payload frame for an RPC, or NULL to send an empty one. */
typedef zframe_t *(sso_rpc_fn)(sso_service_t *service, const char *rpc, zframe_t *payload,
                               const Sso__Meta *meta);

/* Group commit for a sequential service (the directory): the requests already waiting, up to
   SSO_SERVICE_BATCH_MAX, are handled between begin and end, and their replies are sent after
   end, so one commit serves them all and no reply tells of work not yet durable. */
typedef struct {
    int (*begin)(sso_service_t *service);   /* 0, or -1: the request is handled alone */
    bool (*intact)(sso_service_t *service); /* after each request: may the batch take another */
    /* 0, or -1 when the batch's work was lost; requests: how many it served */
    int (*end)(sso_service_t *service, size_t requests);
    /* The reply for each request of a lost batch, in place of its own. */
    zframe_t *(*failed)(sso_service_t *service, const sso_job_t *job);
} sso_batch_def_t;

#define SSO_SERVICE_BATCH_MAX 64

typedef struct {
    const char *name;         /* service name on the bus */
    const char *summary;      /* one paragraph for --help */
    int (*init)(sso_service_t *service);     /* 0, or -1 to exit; runs before the service
                                                joins the bus, so it may not call the bus */
    void (*fini)(sso_service_t *service);
    /* HTTP-kind requests are served only when the gateway sends them (Meta.caller
       "gateway"); RPCs only from the roles in rpc_callers (NULL-terminated; NULL: none). Any
       other request is answered with a refusal and never reaches http or rpc. */
    sso_http_fn *http;
    sso_rpc_fn *rpc;
    const char *const *rpc_callers;
    /* Requests run in fibers, up to SSO_WORKER_CREDIT at once: while one waits for another
       service's answer the next one runs. For services whose handlers call the bus; their
       handlers keep no pointer into shared state across a bus call (see sso_fiber.h). */
    bool concurrent;
    const sso_batch_def_t *batch; /* sequential services only; NULL: one request at a time */
    /* Sequential services only: how many requests may wait in sso_service_offload at once
       while the loop serves the others (each runs in a fiber of its own); 0: none, the slow
       work runs on the loop. */
    int offloads;
    /* Sequential services with offloads: called by the loop between batches (never inside
       one), with every request's work and the heartbeat, so at least about once a second; for
       timer-driven work. It must not block: slow work goes to a thread of its own, whose
       result a later call takes. NULL: none. */
    void (*tick)(sso_service_t *service);
} sso_service_def_t;

#define SSO_SERVICE_OFFLOADS_MAX 16

typedef void(sso_service_offload_fn)(void *arg);

/* Runs fn(arg), which must touch nothing the loop uses (no database, no bus: a fetch, a key
   generation), and returns when it has returned. From a request of a service with offloads,
   fn runs on a thread of its own while the request waits and the loop serves other requests;
   the request then goes on in whichever batch the loop is in, and its reply waits for that
   batch's commit. From a request of a concurrent service the same, and the request goes on
   as soon as fn is done (up to 64 at once). Anywhere else (no offloads, every one taken, the
   self-tests) fn runs here. */
void sso_service_offload(sso_service_offload_fn *fn, void *arg);

/* Waits about ms: from a request of a concurrent service by yielding (the loop resumes it
   then and serves other requests meanwhile), anywhere else by sleeping here. For a request
   that waits for another's work (one fetch for many logins). */
void sso_service_sleep(int ms);

/* For self-tests of concurrent services: runs fn(args[i]) for each of n in fibers of their
   own, started in order, as the concurrent loop runs requests (offloads on threads, each
   fiber resumed when its offload or sleep ends), and returns when all have returned. 0, or
   -1 (no memory for the fibers: none ran). */
int sso_service_run_fibers(void (*fn)(void *arg), void *const *args, size_t n);

int sso_service_main(int argc, char **argv, const sso_service_def_t *def);

/* Calls another service's RPC and unpacks nothing: a thin wrapper over sso_client_call that
   packs payload and uses the configured deadline. */
sso_call_status_t sso_service_call(sso_service_t *service, const char *target, const char *rpc,
                                   bool idempotent, const ProtobufCMessage *payload,
                                   zframe_t **reply_p);

/* Whether a service of def serves a request of meta's kind from meta's caller (see
   sso_service_def_t). */
bool sso_service_serves(const sso_service_def_t *def, const Sso__Meta *meta);

/* Prints the environment table shared by every binary's --help. */
void sso_service_print_env_help(FILE *out);

void sso_service_test(bool verbose);
#endif
