/* gateway_proxy: the client's address behind a load balancer. The gateway sees the proxy's
   TCP address; the proxies named in SSO_TRUSTED_PROXIES (addresses or CIDR ranges) may say
   whose request it is in X-Forwarded-For. The client is the right-most address of
   "X-Forwarded-For, peer" that is not a trusted proxy: an address a client wrote itself at
   the left is never believed, since each trusted hop appends what it saw. The services get
   that address (the lockout of failed client secrets counts per address); the gateway's own
   connection limits stay on the TCP peer, which the proxy enforces per client in turn. */
#ifndef GATEWAY_PROXY_H
#define GATEWAY_PROXY_H
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>

#define GATEWAY_PROXY_MAX 16       /* ranges in SSO_TRUSTED_PROXIES */
#define GATEWAY_PROXY_HOPS_MAX 32  /* X-Forwarded-For entries read, from the right */

typedef struct gateway_proxy_t gateway_proxy_t;

/* The trusted ranges of list ("10.0.0.0/8, 192.168.1.7, fd00::/8"; NULL or "": none); NULL
   with why when an item is not an IPv4 or IPv6 address with an optional prefix length in
   range, is empty, or there are more than GATEWAY_PROXY_MAX. */
gateway_proxy_t *gateway_proxy_new(const char *list, char *why, size_t why_size);
void gateway_proxy_destroy(gateway_proxy_t **self_p);

/* The client's address into out (INET6_ADDRSTRLEN): peer when no range is trusted, peer is
   not trusted or xff is absent; else as said above, stopping at an entry that is not an
   address (then the hop that appended it is the client as far as is known). */
void gateway_proxy_client(const gateway_proxy_t *self, const char *peer, const char *xff,
                          char out[INET6_ADDRSTRLEN]);

void gateway_proxy_test(bool verbose);
#endif
