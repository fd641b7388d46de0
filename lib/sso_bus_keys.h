/* sso_bus_keys: the CURVE keys that make the bus private. The broker has a keypair, and each
   service role (directory, token, saml, oidc) has its own: the broker admits only those public
   keys and knows every caller by the role of the key it authenticated with.

   The keys are czmq certificates in one directory (SSO_BUS_KEYS_DIR, <data dir>/bus): for the
   broker and for each role, <name>.key (public) and <name>.key_secret (both keys). When the
   directory holds no broker key, the whole set is generated there first (directory 0700,
   files 0600), atomically, so processes that start together agree on one set. A process needs
   only its own part: the broker broker.key_secret and every <role>.key, a service broker.key
   and its <role>.key_secret; a directory holding just that works too. A secret file that
   others than its owner may read is refused. */
#ifndef SSO_BUS_KEYS_H
#define SSO_BUS_KEYS_H
#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sso_bus_keys_t sso_bus_keys_t;

/* The roles of the product's services, NULL-terminated. */
extern const char *const sso_bus_roles[];

/* Opens the keys in dir for roles (NULL-terminated; NULL: sso_bus_roles), generating the set
   first when dir has no broker key. NULL with a reason in why when they cannot be read or
   made. */
sso_bus_keys_t *sso_bus_keys_open(const char *dir, const char *const *roles, char *why,
                                  size_t why_size);
void sso_bus_keys_destroy(sso_bus_keys_t **self_p);
const char *sso_bus_keys_dir(const sso_bus_keys_t *self);

/* The broker's side: makes socket a CURVE server with the broker's secret key (before bind).
   0, or -1 when this directory lacks broker.key_secret. */
int sso_bus_keys_serve(const sso_bus_keys_t *self, zsock_t *socket);
/* The role whose public key (32 bytes) this is, or NULL when it is none of them. */
const char *sso_bus_keys_role(const sso_bus_keys_t *self, const uint8_t *public_key,
                              size_t size);
/* True when the directory holds role's secret key and the broker's public key. */
bool sso_bus_keys_can_connect(const sso_bus_keys_t *self, const char *role);
/* A service's side: makes socket a CURVE client with role's keys that accepts only the
   broker's public key (before connect). 0, or -1 when sso_bus_keys_can_connect is false. */
int sso_bus_keys_connect_as(const sso_bus_keys_t *self, const char *role, zsock_t *socket);

void sso_bus_keys_test(bool verbose);
#endif
