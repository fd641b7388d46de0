/* dir_service: the directory's bootstrap and its definition on the bus. */
#include "dir_service.h"
#include "api/dir_api_router.h"
#include "api/dir_conn_refresh.h"
#include "webhooks/dir_webhook_sender.h"
#include "dir_admin.h"
#include "dir_rpc.h"
#include "dir_rpc_router.h"
#include "dir_seed.h"
#include "portal/dir_portal_router.h"
#include "dashboard/dir_dash_admins.h"
#include "dashboard/dir_dash_router.h"
#include "dir_testkit.h"
#include "sso_log.h"
#include "sso_rpc.h"
#include "sso_test.h"
#include <libxml/parser.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long requests wait for a database that went away (a restart takes seconds); under the
   gateway's 10 s request deadline, so that a request that waited can still be served. */
#define S_DATABASE_WAIT_MS 8000

dir_t *dir_service_open(const sso_config_t *config, char *why, size_t why_size)
{
    dir_t *dir = dir_new(config, why, why_size);
    if (dir
        && (dir_admin_bootstrap(dir, config->admin_client_id, config->admin_client_secret, why,
                                why_size) != 0
            || dir_seed_ensure(dir, why, why_size) != 0
            || dir_dash_admins_bootstrap(dir, config->dashboard_admin_email, why, why_size) != 0))
        dir_destroy(&dir);
    return dir;
}

static int s_init(sso_service_t *service)
{
    char why[512] = "";
    dir_t *dir = dir_service_open(service->config, why, sizeof why);
    if (!dir) {
        sso_error("%s", why);
        return -1;
    }
    service->state = dir;
    /* Never the URL: it may hold a password. */
    if (service->config->database_url && *service->config->database_url)
        sso_info("database on PostgreSQL (SSO_DATABASE_URL) ready (schema %d)",
                 dir_db_schema_version());
    else
        sso_info("database %s/sso.db ready (schema %d)", dir->data_dir, dir_db_schema_version());
    return 0;
}

static void s_fini(sso_service_t *service)
{
    dir_t *dir = service->state;
    if (dir) {
        dir_conn_refresh_stop(dir);
        dir_webhook_sender_stop(dir);
    }
    dir_destroy(&dir);
    service->state = NULL;
}

/* Timer work between batches: the IdP metadata refresh and the certificates' expiry, and the
   webhooks' deliveries. */
static void s_tick(sso_service_t *service)
{
    dir_conn_refresh_tick(service->state, false);
    dir_webhook_sender_tick(service->state, false);
}

static zframe_t *s_http(sso_service_t *service, const Sso__HttpRequest *request,
                        const Sso__Meta *meta)
{
    (void) meta;
    const char *path = request->path ? request->path : "";
    if (!strncmp(path, DIR_PORTAL_PREFIX, strlen(DIR_PORTAL_PREFIX)))
        return dir_portal_router_handle(service->state, request);
    if (!strncmp(path, DIR_DASH_PREFIX, strlen(DIR_DASH_PREFIX)))
        return dir_dash_router_handle(service->state, request);
    return dir_api_router_handle(service->state, request);
}

static zframe_t *s_rpc(sso_service_t *service, const char *rpc, zframe_t *payload,
                       const Sso__Meta *meta)
{
    return dir_rpc_router_handle(service->state, meta ? meta->caller : NULL, rpc, payload);
}

/* Group commit (see dir_db_batch_begin): the requests waiting together share one write
   transaction. Under load most commits then carry several requests' rows, so the pages they
   share (a table's last leaf, an index's) go to the log once per batch, not once per request. */
/* The directory's write transactions, for the gateway's /metrics: they ride on its next
   reply (sso_worker_count). Taken at each batch's start and end, so a commit made outside a
   batch (another instance held the write lock) is reported with the batch after it. */
static void s_report_writes(sso_service_t *service, size_t batched_requests)
{
    dir_t *dir = service->state;
    uint64_t writes = dir_db_writes_take(dir->db);
    if ((writes && sso_worker_count(service->worker, "write_transactions", writes) != 0)
        || (batched_requests
            && sso_worker_count(service->worker, "batched_requests", batched_requests) != 0))
        sso_debug("directory: write counts not reported (no worker)");
}

/* A batch starts once the database can be used: while it is away (PostgreSQL restarting,
   failing over) the requests wait here, queued behind the first, for up to
   S_DATABASE_WAIT_MS, rather than each failing at once; a connection found lost at BEGIN is
   made again and the batch begun on it, as nothing of it ran yet. The broker keeps each
   request's deadline meanwhile; the heartbeats go on. */
static int s_batch_begin(sso_service_t *service)
{
    dir_t *dir = service->state;
    s_report_writes(service, 0);
    int64_t until = sso_now_ms() + S_DATABASE_WAIT_MS;
    int pause_ms = 10;
    bool waited = false, begun_again = false;
    for (;;) {
        if (dir_db_batch_begin(dir->db) == 0) {
            if (waited)
                sso_info("directory: the database is back; serving the requests that waited");
            return 0;
        }
        int back = dir_db_reconnect(dir->db); /* blocks about a second at most */
        if (back == 0 || sso_now_ms() + pause_ms > until)
            return -1; /* not a lost connection, or waited enough: served alone, as before */
        if (back > 0 && !begun_again) {
            begun_again = true; /* connected again: begin on it at once, once */
            continue;
        }
        if (!waited)
            sso_warn("directory: the database cannot be reached; requests wait for it (up to "
                     "%d ms)", S_DATABASE_WAIT_MS);
        waited = true;
        if (service->worker)
            sso_worker_heartbeat_if_due(service->worker);
        sso_service_sleep(pause_ms);
        pause_ms = pause_ms * 2 > 500 ? 500 : pause_ms * 2;
    }
}

static bool s_batch_intact(sso_service_t *service)
{
    dir_t *dir = service->state;
    return dir_db_batch_intact(dir->db);
}

static int s_batch_end(sso_service_t *service, size_t requests)
{
    dir_t *dir = service->state;
    int rc = dir_db_batch_end(dir->db);
    s_report_writes(service, rc == 0 && dir_db_last_commit_wrote(dir->db) ? requests : 0);
    return rc;
}

static zframe_t *s_batch_failed(sso_service_t *service, const sso_job_t *job)
{
    (void) service;
    const char *what = "the directory could not save its changes (see its log); try again";
    if (job->meta && job->meta->kind == SSO__META__KIND__RPC) {
        const ProtobufCMethodDescriptor *method = dir_rpc_router_method(job->meta->rpc);
        return sso_rpc_error_frame(method ? method->output : &sso__rpc_refusal__descriptor,
                                   SSO__RPC_ERROR__SERVER_ERROR, what, 0);
    }
    return sso_http_error(503, "temporarily_unavailable", what);
}

static const sso_batch_def_t s_batch = {
    .begin = s_batch_begin,
    .intact = s_batch_intact,
    .end = s_batch_end,
    .failed = s_batch_failed,
};

/* Every service that keeps or reads login state calls the directory; the gateway only sends
   it HTTP (the management API, the portal). Which role may call which RPC: dir_rpc_router. */
const sso_service_def_t directory_service = {
    .name = "directory",
    .summary = "The directory of the SSO broker: the only writer of state (SQLite in\n"
               "SSO_DATA_DIR: organizations, domains, connections, clients, keys, login\n"
               "state and events, secrets sealed with the master key), the management API\n"
               "/api/v1, the admin portal's sessions and API /portal/, the developer\n"
               "dashboard /dashboard/, and the\n"
               "directory RPCs. A bus worker that connects to\n"
               "SSO_BROKER_ENDPOINT.",
    .init = s_init,
    .fini = s_fini,
    .http = s_http,
    .rpc = s_rpc,
    .rpc_callers = dir_rpc_router_callers,
    .batch = &s_batch,
    /* Creating a connection fetches metadata and makes a key pair: admin work that must not
       hold up logins (dir_connections). */
    .offloads = 8,
    .tick = s_tick,
};

static void s_test(dir_testkit_t *kit)
{
    /* The data dir was created 0700, with the key, database and credentials in it. */
    struct stat st;
    SSO_CHECK(stat(kit->data_dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    char path[1100];
    snprintf(path, sizeof path, "%s/master.key", kit->data_dir);
    SSO_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    char key_before[128] = "", key_after[128] = "";
    FILE *file = fopen(path, "r");
    if (file) {
        SSO_CHECK(fgets(key_before, sizeof key_before, file) != NULL);
        fclose(file);
    }
    snprintf(path, sizeof path, "%s/admin-credentials", kit->data_dir);
    SSO_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    /* Once the directory runs, no XML reaches a file (nor, the same way, the network). */
    char xml_path[1100], file_url[1200];
    snprintf(xml_path, sizeof xml_path, "%s/probe.xml", kit->data_dir);
    snprintf(file_url, sizeof file_url, "file://%s", xml_path);
    file = fopen(xml_path, "w");
    SSO_CHECK(file && fputs("<a>on disk</a>", file) >= 0);
    if (file)
        fclose(file);
    xmlDocPtr doc = xmlReadFile(xml_path, NULL, XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    SSO_CHECK(doc == NULL);
    xmlFreeDoc(doc);
    SSO_CHECK((doc = xmlReadFile(file_url, NULL, XML_PARSE_NOERROR | XML_PARSE_NOWARNING))
              == NULL);
    xmlFreeDoc(doc);
    unlink(xml_path);

    /* A restart reuses the key file (and the token issued before it still works). */
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations",
                               "{\"display_name\":\"Persisted\"}", NULL) == 201);
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    snprintf(path, sizeof path, "%s/master.key", kit->data_dir);
    file = fopen(path, "r");
    if (file) {
        SSO_CHECK(fgets(key_after, sizeof key_after, file) != NULL);
        fclose(file);
    }
    SSO_CHECK(*key_before && strcmp(key_before, key_after) == 0);
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations", NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 1);
    json_decref(body);

    /* The service definition. */
    SSO_CHECK(!strcmp(directory_service.name, "directory") && directory_service.http
              && directory_service.rpc && directory_service.init && directory_service.fini
              && directory_service.batch && directory_service.offloads > 0
              && directory_service.tick);
}

/* What each request of a lost batch is told: the operation's reply with SERVER_ERROR on the
   bus (an RpcRefusal for an operation the directory does not have), a 503 over HTTP. */
static void s_batch_failed_test(void)
{
    Sso__Meta meta = SSO__META__INIT;
    sso_job_t job = {.meta = &meta};
    meta.kind = SSO__META__KIND__RPC;
    meta.rpc = "TokenWrites.CodeRedeem";
    zframe_t *frame = s_batch_failed(NULL, &job);
    Sso__CodeRedeemReply *reply =
        frame ? sso__code_redeem_reply__unpack(NULL, zframe_size(frame), zframe_data(frame))
              : NULL;
    SSO_CHECK(reply && reply->error == SSO__RPC_ERROR__SERVER_ERROR && !reply->grant
              && strstr(reply->error_description, "could not save"));
    sso__code_redeem_reply__free_unpacked(reply, NULL);
    zframe_destroy(&frame);
    meta.rpc = "no_such_operation";
    frame = s_batch_failed(NULL, &job);
    Sso__RpcRefusal *refusal =
        frame ? sso__rpc_refusal__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    SSO_CHECK(refusal && refusal->error == SSO__RPC_ERROR__SERVER_ERROR);
    sso__rpc_refusal__free_unpacked(refusal, NULL);
    zframe_destroy(&frame);
    meta.kind = SSO__META__KIND__HTTP;
    frame = s_batch_failed(NULL, &job);
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    SSO_CHECK(response && response->status == 503);
    sso__http_response__free_unpacked(response, NULL);
    zframe_destroy(&frame);
}

void dir_service_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
    s_batch_failed_test();
}
