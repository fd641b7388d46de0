/* gateway_routes: which service owns a path. The table is the only place that knows. */
#ifndef GATEWAY_ROUTES_H
#define GATEWAY_ROUTES_H
#include <stdbool.h>
#include <stddef.h>

typedef enum {
    ROUTE_NONE,      /* no owner: 404 */
    ROUTE_OPS,       /* /healthz, /readyz, /metrics: the gateway answers */
    ROUTE_STATIC,    /* /static/...: files from the web directory */
    ROUTE_PING,      /* /_ping/gateway: the gateway answers without the bus (benchmarks) */
    ROUTE_SERVICE,   /* forwarded over the bus to .service */
} route_kind_t;

typedef struct {
    route_kind_t kind;
    const char *service;   /* for ROUTE_SERVICE */
    const char *label;     /* for metrics: a bounded set of names */
} route_t;

/* Resolves a decoded request path. Never fails: unknown paths give ROUTE_NONE. */
route_t gateway_route(const char *path);
/* The path as the access log may show it: as is, except under a prefix whose paths may carry
   a secret (/portal/, /dashboard/: a link's token pasted into a path), where every segment
   that is not a plain name becomes "~" (sso_http_masked_path). Always writes a
   NUL-terminated out. */
void gateway_route_log_path(const char *path, char *out, size_t size);
/* The services that must have a live instance for /readyz. NULL-terminated. */
extern const char *const gateway_services[];

void gateway_routes_test(bool verbose);
#endif
