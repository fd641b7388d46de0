/* gateway_routes: which service owns a path. The table is the only place that knows. */
#ifndef GATEWAY_ROUTES_H
#define GATEWAY_ROUTES_H
#include <stdbool.h>

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
/* The services that must have a live instance for /readyz. NULL-terminated. */
extern const char *const gateway_services[];

void gateway_routes_test(bool verbose);
#endif
