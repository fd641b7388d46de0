#include "sso_service.h"
#include "sso_log.h"
#include <unistd.h>

void sso_service_print_env_help(FILE *out)
{
    fprintf(out,
            "Environment:\n"
            "  SSO_PUBLIC_URL          issuer and base of printed URLs (http://localhost:8080)\n"
            "  SSO_HTTP_ADDR           gateway listen address (127.0.0.1:8080)\n"
            "  SSO_BROKER_ENDPOINT     bus broker address (tcp://127.0.0.1:5555)\n"
            "  SSO_DATA_DIR            database, master key, admin credentials (./var)\n"
            "  SSO_MASTER_KEY          base64 32-byte key for secrets at rest (generated)\n"
            "  SSO_ADMIN_CLIENT_ID / SSO_ADMIN_CLIENT_SECRET   management API client (generated)\n"
            "  SSO_ALLOW_PRIVATE_UPSTREAMS  1 to allow loopback/private upstream URLs (0)\n"
            "  SSO_LOG_FORMAT          text or json (text)\n"
            "  SSO_REQUEST_TIMEOUT_MS  deadline of each bus request (10000)\n"
            "  SSO_WORKER_CREDIT       requests a service instance takes at once (8)\n");
}

static zframe_t *s_ping(sso_service_t *service, const char *name)
{
    return sso_http_json(200, json_pack("{s:s, s:s}", "service", name, "instance",
                                        service->instance));
}

static zframe_t *s_handle(sso_service_t *service, const sso_service_def_t *def, sso_job_t *job)
{
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
    sso_log_init(def->name, config.log_format);
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
    service.worker = sso_worker_new(config.broker_endpoint, def->name, config.worker_credit);
    service.client = sso_client_new(config.broker_endpoint, service.worker);
    if (!service.worker || !service.client) {
        if (def->fini)
            def->fini(&service);
        sso_client_destroy(&service.client);
        sso_worker_destroy(&service.worker);
        return 1;
    }
    sso_info("serving as %s via %s", instance, config.broker_endpoint);
    sso_job_t job;
    while (sso_worker_recv(service.worker, &job) == 0) {
        zframe_t *reply = s_handle(&service, def, &job);
        if (reply)
            sso_worker_reply(service.worker, &job, &reply);
        else
            sso_job_release(&job);
    }
    sso_info("stopping");
    if (def->fini)
        def->fini(&service);
    sso_client_destroy(&service.client);
    sso_worker_destroy(&service.worker);
    return 0;
}
