/* gateway_http: the libmicrohttpd edge. Requests are read in full (with limits), turned into
   an HttpRequest and handed to the broker; the connection is suspended until the broker
   answers, so no thread ever blocks waiting on the bus. By default MHD has no thread of its
   own: the broker's thread runs it (sso_broker_attach), so requests and answers never change
   thread; SSO_GATEWAY_THREADS (2 with TLS) gives it a pool that hands off to the broker.
   gateway_limits bounds what anonymous clients hold (connections, time, body bytes). */
#ifndef GATEWAY_HTTP_H
#define GATEWAY_HTTP_H
#include "gateway_metrics.h"
#include "sso_broker.h"
#include "sso_config.h"

typedef struct gateway_http_t gateway_http_t;

/* Starts listening on config->http_addr (and config->ops_addr when set) and attaches to
   broker, which must not be started yet (its thread serves HTTP and sweeps the read deadlines
   from then on); NULL (and a log line) on failure. Destroy it only after the broker, whose
   stop answers what is pending. */
gateway_http_t *gateway_http_new(const sso_config_t *config, sso_broker_t *broker,
                                 gateway_metrics_t *metrics, const char *web_dir);
void gateway_http_destroy(gateway_http_t **self_p);

/* Splits "host:port" (or "[v6]:port"); -1 when malformed. */
int gateway_parse_addr(const char *addr, char *host, size_t host_size, unsigned *port);

void gateway_http_test(bool verbose);
#endif
