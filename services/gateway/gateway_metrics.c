#include "gateway_metrics.h"
#include "sso_http.h"
#include "sso_test.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 256
#define METRICS_TEXT_MAX (256 * 1024)

static const double s_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                   0.5, 1, 2.5, 5, 10};
#define BUCKETS (sizeof s_buckets / sizeof s_buckets[0])

typedef struct {
    char label[32];
    unsigned status;
    unsigned long long count;
} series_t;

/* A counter a service reported (HttpResponse.counters). */
typedef struct {
    char service[32];
    char name[SSO_COUNTER_NAME_MAX + 1];
    unsigned long long count;
} service_counter_t;

typedef struct {
    char label[32];
    unsigned long long buckets[BUCKETS];
    unsigned long long count;
    double sum;
} histogram_t;

struct gateway_metrics_t {
    pthread_mutex_t lock;
    series_t series[MAX_SERIES];
    size_t n_series;
    histogram_t histograms[64];
    size_t n_histograms;
    unsigned long long refused[GATEWAY_REFUSED_REASONS];
    /* Bounded: a service that reports ever new names cannot grow the gateway. */
    service_counter_t counters[GATEWAY_METRICS_MAX_COUNTERS];
    size_t n_counters;
    unsigned long long counters_refused;
    unsigned long long directory[2]; /* s_directory_counters */
};

/* The directory's counts that have metrics of their own (gateway_metrics_reported). */
static const struct {
    const char *name, *metric, *help;
} s_directory_counters[2] = {
    {"write_transactions", "sso_directory_write_transactions_total",
     "Write transactions the directory committed that changed rows (a group-commit batch is "
     "one; reported with the directory's replies, so current once the last reply is in)."},
    {"batched_requests", "sso_directory_batched_requests_total",
     "Requests served inside the directory's group-commit batches whose commit changed rows."},
};

static const char *const s_refused_labels[GATEWAY_REFUSED_REASONS] = {
    "per_ip_limit", "read_timeout", "body_bytes_in_flight"};

gateway_metrics_t *gateway_metrics_new(void)
{
    gateway_metrics_t *self = calloc(1, sizeof *self);
    if (self)
        pthread_mutex_init(&self->lock, NULL);
    return self;
}

void gateway_metrics_destroy(gateway_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pthread_mutex_destroy(&(*self_p)->lock);
    free(*self_p);
    *self_p = NULL;
}

void gateway_metrics_observe(gateway_metrics_t *self, const char *label, unsigned status,
                             double seconds)
{
    pthread_mutex_lock(&self->lock);
    size_t i;
    for (i = 0; i < self->n_series; i++)
        if (self->series[i].status == status && strcmp(self->series[i].label, label) == 0)
            break;
    if (i == self->n_series && i < MAX_SERIES) {
        snprintf(self->series[i].label, sizeof self->series[i].label, "%s", label);
        self->series[i].status = status;
        self->n_series++;
    }
    if (i < MAX_SERIES)
        self->series[i].count++;
    size_t h;
    for (h = 0; h < self->n_histograms; h++)
        if (strcmp(self->histograms[h].label, label) == 0)
            break;
    if (h == self->n_histograms && h < sizeof self->histograms / sizeof self->histograms[0]) {
        snprintf(self->histograms[h].label, sizeof self->histograms[h].label, "%s", label);
        self->n_histograms++;
    }
    if (h < self->n_histograms) {
        histogram_t *histogram = &self->histograms[h];
        for (size_t b = 0; b < BUCKETS; b++)
            if (seconds <= s_buckets[b])
                histogram->buckets[b]++;
        histogram->count++;
        histogram->sum += seconds;
    }
    pthread_mutex_unlock(&self->lock);
}

void gateway_metrics_refused(gateway_metrics_t *self, gateway_refused_t reason)
{
    if (reason >= GATEWAY_REFUSED_REASONS)
        return;
    pthread_mutex_lock(&self->lock);
    self->refused[reason]++;
    pthread_mutex_unlock(&self->lock);
}

static void s_count(gateway_metrics_t *self, const char *service, const char *name,
                    unsigned long long increment)
{
    bool ok = sso_http_counter_name_ok(service) && strlen(service) < sizeof self->counters[0].service
              && sso_http_counter_name_ok(name);
    pthread_mutex_lock(&self->lock);
    size_t i = 0;
    for (; ok && i < self->n_counters; i++)
        if (!strcmp(self->counters[i].name, name) && !strcmp(self->counters[i].service, service))
            break;
    if (ok && i == self->n_counters && i < GATEWAY_METRICS_MAX_COUNTERS) {
        snprintf(self->counters[i].service, sizeof self->counters[i].service, "%s", service);
        snprintf(self->counters[i].name, sizeof self->counters[i].name, "%s", name);
        self->n_counters++;
    }
    if (ok && i < self->n_counters)
        self->counters[i].count += increment;
    else
        self->counters_refused += increment;
    pthread_mutex_unlock(&self->lock);
}

void gateway_metrics_count(gateway_metrics_t *self, const char *service, const char *name)
{
    s_count(self, service, name, 1);
}

void gateway_metrics_reported(void *arg, const char *service, const char *name,
                              uint64_t increment)
{
    gateway_metrics_t *self = arg;
    for (size_t i = 0; service && name && !strcmp(service, "directory") && i < 2; i++)
        if (!strcmp(name, s_directory_counters[i].name)) {
            pthread_mutex_lock(&self->lock);
            self->directory[i] += increment;
            pthread_mutex_unlock(&self->lock);
            return;
        }
    s_count(self, service, name, increment);
}

typedef struct {
    char *text;
    size_t len;
} text_t;

static void s_append(text_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_append(text_t *out, const char *fmt, ...)
{
    if (out->len >= METRICS_TEXT_MAX - 1)
        return;
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(out->text + out->len, METRICS_TEXT_MAX - out->len, fmt, args);
    va_end(args);
    if (n > 0)
        out->len += (size_t) n < METRICS_TEXT_MAX - out->len ? (size_t) n : METRICS_TEXT_MAX - out->len - 1;
}

static void s_bus_requests(void *arg, const char *service, const char *caller, const char *rpc,
                           uint64_t count)
{
    s_append(arg, "sso_bus_requests_total{service=\"%s\",caller=\"%s\",rpc=\"%s\"} %llu\n",
             service, caller, rpc, (unsigned long long) count);
}

static void s_instances(void *arg, const char *service, int instances, int queued)
{
    text_t *out = arg;
    s_append(out, "sso_bus_instances{service=\"%s\"} %d\n", service, instances);
    s_append(out, "sso_bus_queued_requests{service=\"%s\"} %d\n", service, queued);
}

char *gateway_metrics_render(gateway_metrics_t *self, sso_broker_t *broker)
{
    text_t out = {malloc(METRICS_TEXT_MAX), 0};
    if (!out.text)
        return NULL;
    out.text[0] = '\0';
    pthread_mutex_lock(&self->lock);
    s_append(&out, "# HELP sso_http_requests_total HTTP requests by route and status.\n");
    s_append(&out, "# TYPE sso_http_requests_total counter\n");
    for (size_t i = 0; i < self->n_series; i++)
        s_append(&out, "sso_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n",
                 self->series[i].label, self->series[i].status, self->series[i].count);
    s_append(&out, "# HELP sso_http_request_duration_seconds Time from request to response.\n");
    s_append(&out, "# TYPE sso_http_request_duration_seconds histogram\n");
    for (size_t h = 0; h < self->n_histograms; h++) {
        histogram_t *histogram = &self->histograms[h];
        for (size_t b = 0; b < BUCKETS; b++)
            s_append(&out, "sso_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                     histogram->label, s_buckets[b], histogram->buckets[b]);
        s_append(&out, "sso_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                 histogram->label, histogram->count);
        s_append(&out, "sso_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
                 histogram->label, histogram->sum);
        s_append(&out, "sso_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                 histogram->label, histogram->count);
    }
    s_append(&out, "# HELP sso_gateway_refused_total Connections and requests the gateway "
                   "refused or cut by its own limits.\n");
    s_append(&out, "# TYPE sso_gateway_refused_total counter\n");
    for (size_t r = 0; r < GATEWAY_REFUSED_REASONS; r++)
        s_append(&out, "sso_gateway_refused_total{reason=\"%s\"} %llu\n", s_refused_labels[r],
                 self->refused[r]);
    s_append(&out, "# HELP sso_service_events_total Events the services counted (refusals that "
                   "store nothing, say), by service and name.\n");
    s_append(&out, "# TYPE sso_service_events_total counter\n");
    for (size_t i = 0; i < self->n_counters; i++)
        s_append(&out, "sso_service_events_total{service=\"%s\",name=\"%s\"} %llu\n",
                 self->counters[i].service, self->counters[i].name, self->counters[i].count);
    s_append(&out, "# HELP sso_service_events_refused_total Service counter increments not "
                   "counted: a malformed name, or more than %d names.\n",
             GATEWAY_METRICS_MAX_COUNTERS);
    s_append(&out, "# TYPE sso_service_events_refused_total counter\n");
    s_append(&out, "sso_service_events_refused_total %llu\n", self->counters_refused);
    for (size_t i = 0; i < 2; i++) {
        s_append(&out, "# HELP %s %s\n", s_directory_counters[i].metric,
                 s_directory_counters[i].help);
        s_append(&out, "# TYPE %s counter\n", s_directory_counters[i].metric);
        s_append(&out, "%s %llu\n", s_directory_counters[i].metric, self->directory[i]);
    }
    pthread_mutex_unlock(&self->lock);
    s_append(&out, "# HELP sso_bus_requests_total Requests the broker sent to a service "
                   "instance: by service, caller (its key's role; gateway for HTTP) and rpc "
                   "(http for HTTP; other past %d names per caller or when not a name). An "
                   "idempotent request re-sent after its instance died counts again; one "
                   "answered 503 or 504 before reaching an instance does not.\n",
             SSO_BROKER_RPCS_PER_CALLER);
    s_append(&out, "# TYPE sso_bus_requests_total counter\n");
    if (broker)
        sso_broker_requests(broker, s_bus_requests, &out);
    s_append(&out, "# HELP sso_bus_instances Live instances per service on the bus.\n");
    s_append(&out, "# TYPE sso_bus_instances gauge\n");
    s_append(&out, "# HELP sso_bus_queued_requests Requests waiting for an instance.\n");
    s_append(&out, "# TYPE sso_bus_queued_requests gauge\n");
    if (broker)
        sso_broker_stats(broker, s_instances, &out);
    return out.text;
}

void gateway_metrics_test(bool verbose)
{
    (void) verbose;
    gateway_metrics_t *metrics = gateway_metrics_new();
    gateway_metrics_observe(metrics, "token", 200, 0.0007);
    gateway_metrics_observe(metrics, "token", 200, 0.2);
    gateway_metrics_observe(metrics, "token", 503, 0.001);
    gateway_metrics_refused(metrics, GATEWAY_REFUSED_READ_TIMEOUT);
    gateway_metrics_refused(metrics, GATEWAY_REFUSED_READ_TIMEOUT);
    gateway_metrics_refused(metrics, GATEWAY_REFUSED_REASONS); /* not a reason: ignored */
    char *text = gateway_metrics_render(metrics, NULL);
    SSO_CHECK(text && strstr(text, "sso_http_requests_total{route=\"token\",status=\"200\"} 2\n"));
    SSO_CHECK(text && strstr(text, "sso_http_requests_total{route=\"token\",status=\"503\"} 1\n"));
    SSO_CHECK(text && strstr(text, "le=\"0.001\"} 2\n"));
    SSO_CHECK(text && strstr(text, "le=\"+Inf\"} 3\n"));
    SSO_CHECK(text && strstr(text, "# TYPE sso_bus_instances gauge"));
    SSO_CHECK(text && strstr(text, "sso_gateway_refused_total{reason=\"read_timeout\"} 2\n"));
    SSO_CHECK(text && strstr(text, "sso_gateway_refused_total{reason=\"per_ip_limit\"} 0\n"));
    SSO_CHECK(text && strstr(text, "sso_gateway_refused_total{reason=\"body_bytes_in_flight\"} 0\n"));
    SSO_CHECK(text && strstr(text, "sso_service_events_refused_total 0\n")
              && !strstr(text, "sso_service_events_total{"));
    free(text);
    /* Service counters: counted by (service, name); malformed names and names past the cap
       are refused and counted as such. */
    gateway_metrics_count(metrics, "saml", "acs_anonymous");
    gateway_metrics_count(metrics, "saml", "acs_anonymous");
    gateway_metrics_count(metrics, "token", "acs_anonymous");
    gateway_metrics_count(metrics, "saml", "bad\"} 1\nx{a=\"");
    gateway_metrics_count(metrics, "saml", NULL);
    gateway_metrics_count(metrics, NULL, "x");
    gateway_metrics_count(metrics, "saml", "");
    for (int i = 0; i < GATEWAY_METRICS_MAX_COUNTERS + 10; i++) {
        char name[32];
        snprintf(name, sizeof name, "n%d", i);
        gateway_metrics_count(metrics, "oidc", name);
    }
    text = gateway_metrics_render(metrics, NULL);
    SSO_CHECK(text && strstr(text, "sso_service_events_total{service=\"saml\",name=\"acs_anonymous\"} 2\n"));
    SSO_CHECK(text && strstr(text, "sso_service_events_total{service=\"token\",name=\"acs_anonymous\"} 1\n"));
    SSO_CHECK(text && strstr(text, "sso_service_events_refused_total 16\n") && !strstr(text, "bad"));
    SSO_CHECK(text && strstr(text, "name=\"n61\"") && !strstr(text, "name=\"n62\""));
    free(text);
    /* What the directory reported with its replies: its two counts have metrics of their
       own, from 0; anything else lands with the service events, bounded as they are. */
    gateway_metrics_t *fresh = gateway_metrics_new();
    text = gateway_metrics_render(fresh, NULL);
    SSO_CHECK(text && strstr(text, "\nsso_directory_write_transactions_total 0\n")
              && strstr(text, "\nsso_directory_batched_requests_total 0\n")
              && strstr(text, "# TYPE sso_directory_write_transactions_total counter\n")
              && strstr(text, "# TYPE sso_bus_requests_total counter\n")
              && !strstr(text, "sso_bus_requests_total{"));
    free(text);
    gateway_metrics_reported(fresh, "directory", "write_transactions", 3);
    gateway_metrics_reported(fresh, "directory", "write_transactions", 1);
    gateway_metrics_reported(fresh, "directory", "batched_requests", 7);
    gateway_metrics_reported(fresh, "saml", "write_transactions", 2); /* not the directory's */
    gateway_metrics_reported(fresh, "directory", "cache_misses", 5);
    gateway_metrics_reported(fresh, "directory", "Bad Name", 4);
    gateway_metrics_reported(fresh, NULL, "write_transactions", 6);
    text = gateway_metrics_render(fresh, NULL);
    SSO_CHECK(text && strstr(text, "\nsso_directory_write_transactions_total 4\n")
              && strstr(text, "\nsso_directory_batched_requests_total 7\n"));
    SSO_CHECK(text && strstr(text, "sso_service_events_total{service=\"saml\",name=\"write_transactions\"} 2\n")
              && strstr(text, "sso_service_events_total{service=\"directory\",name=\"cache_misses\"} 5\n")
              && strstr(text, "sso_service_events_refused_total 10\n"));
    free(text);
    gateway_metrics_destroy(&fresh);
    /* The requests the broker routed, from the broker. */
    sso_broker_t *broker = sso_broker_new("inproc://gateway-metrics-test", NULL);
    SSO_CHECK(broker != NULL);
    text = broker ? gateway_metrics_render(metrics, broker) : NULL;
    SSO_CHECK(text && strstr(text, "# TYPE sso_bus_requests_total counter\n"));
    free(text);
    sso_broker_destroy(&broker);
    gateway_metrics_destroy(&metrics);
    SSO_CHECK(metrics == NULL);
}
