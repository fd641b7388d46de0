/* sso-gateway: the HTTP edge and the embedded MDP broker. Configuration, start, wait, stop. */
#include "gateway_http.h"
#include "gateway_metrics.h"
#include "sso_broker.h"
#include "sso_config.h"
#include "sso_log.h"
#include "sso_service.h"
#include <signal.h>
#include <sys/stat.h>

/* --make-bus-keys DIR: a cluster's one set of bus keys, made once on one machine and then
   given to every host (or mounted as a secret), instead of each gateway making its own. The
   same make as the gateway's start, but with every service's secret required, as a set to
   hand out must hold them all. */
static int s_make_bus_keys(const char *dir)
{
    char secret[1100];
    snprintf(secret, sizeof secret, "%s/broker.key_secret", dir);
    struct stat st;
    bool had = stat(secret, &st) == 0;
    char why[1200];
    sso_bus_keys_t *keys = sso_bus_keys_make(dir, NULL, true, why, sizeof why);
    if (!keys) {
        fprintf(stderr, "sso-gateway: bus keys: %s\n", why);
        return 1;
    }
    sso_bus_keys_destroy(&keys);
    printf("%s the bus keys in %s: give the gateways broker.key_secret and every <service>.key,\n"
           "each service broker.key and its own <service>.key_secret (see docs/SCALING.md)\n",
           had ? "kept" : "made", dir);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "--make-bus-keys")) {
        if (argc != 3) {
            fprintf(stderr, "sso-gateway: usage: sso-gateway --make-bus-keys DIR\n");
            return 2;
        }
        sso_log_init("gateway", "text", NULL, false);
        return s_make_bus_keys(argv[2]);
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("Usage: sso-gateway [--help | --make-bus-keys DIR]\n\n"
                   "The HTTP edge of the SSO broker. Binds SSO_HTTP_ADDR for HTTP(S) and\n"
                   "SSO_BROKER_ENDPOINT for the bus broker that the token, saml, oidc and\n"
                   "directory services connect to; forwards each request to the service that\n"
                   "owns its path and answers /healthz, /readyz and /metrics itself. The bus\n"
                   "admits only the services' CURVE keys from SSO_BUS_KEYS_DIR: the gateway\n"
                   "generates the whole set there when the directory holds none of it, and\n"
                   "refuses one that lacks a file it needs.\n\n"
                   "  sso-gateway --make-bus-keys DIR   makes a whole set of bus keys in DIR\n"
                   "  (every service's secret too; keeps a whole set already there) and exits:\n"
                   "  one set for a cluster, to copy to every host.\n\n");
            sso_service_print_env_help(stdout);
            printf("  SSO_TLS_CERT / SSO_TLS_KEY   PEM files to serve HTTPS (both or neither)\n"
                   "  SSO_MAX_BODY_BYTES      request body limit (1048576)\n"
                   "  SSO_GATEWAY_THREADS     HTTP threads; 0 serves HTTP on the bus broker's\n"
                   "                          own thread (0 without TLS, 2 with TLS)\n"
                   "  SSO_WEB_DIR             static files for /static/ (./web/static)\n"
                   "  SSO_OPS_ADDR            host:port for /metrics, /healthz, /readyz apart;\n"
                   "                          /metrics then leaves SSO_HTTP_ADDR (unset)\n"
                   "  SSO_MAX_CONNECTIONS_PER_IP    connections per client address (64)\n"
                   "  SSO_TRUSTED_PROXIES     load balancers whose X-Forwarded-For names the\n"
                   "                          client: addresses or CIDR ranges (unset)\n"
                   "  SSO_REQUEST_READ_TIMEOUT_MS   time to receive a whole request (10000)\n"
                   "  SSO_MAX_BODY_BYTES_IN_FLIGHT  request body bytes held at once (67108864)\n");
            return 0;
        }
        fprintf(stderr, "sso-gateway: unknown argument %s (try --help)\n", argv[i]);
        return 2;
    }
    sso_config_t config;
    if (sso_config_load(&config) != 0)
        return 2;
    sso_log_init("gateway", config.log_format, config.log_level, config.log_debug);
    zsys_init();
    zsys_set_logstream(NULL);
    sso_bus_setup();
    signal(SIGPIPE, SIG_IGN);
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    /* Block before any thread starts so only sigwait below sees them. */
    pthread_sigmask(SIG_BLOCK, &signals, NULL);

    char why[1200];
    sso_bus_keys_t *keys = sso_bus_keys_make(config.bus_keys_dir, NULL, false, why, sizeof why);
    if (!keys)
        sso_error("bus keys: %s", why);
    sso_broker_t *broker = keys ? sso_broker_new(config.broker_endpoint, keys) : NULL;
    if (!broker) {
        sso_bus_keys_destroy(&keys);
        return 1;
    }
    gateway_metrics_t *metrics = gateway_metrics_new();
    const char *web_dir = config.web_dir ? config.web_dir : "web/static";
    /* Before the broker starts: its thread runs the HTTP server too, and hands the metrics
       what the services count with their replies. */
    gateway_http_t *http =
        metrics && sso_broker_on_counters(broker, gateway_metrics_reported, metrics) == 0
            ? gateway_http_new(&config, broker, metrics, web_dir) : NULL;
    if (!http || sso_broker_start(broker) != 0) {
        sso_broker_destroy(&broker);
        gateway_http_destroy(&http);
        gateway_metrics_destroy(&metrics);
        sso_bus_keys_destroy(&keys);
        return 1;
    }
    sso_info("broker on %s (CURVE keys in %s), public URL %s", config.broker_endpoint,
             config.bus_keys_dir, config.public_url);
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    sso_info("stopping (%s)", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    /* The broker answers what is pending first and lets the HTTP server deliver it, so no
       connection stays suspended; then its thread is gone and MHD can stop. */
    sso_broker_destroy(&broker);
    gateway_http_destroy(&http);
    gateway_metrics_destroy(&metrics);
    sso_bus_keys_destroy(&keys);
    return 0;
}
