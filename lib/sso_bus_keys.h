/* sso_bus_keys: the CURVE keys that make the bus private. The broker has a keypair, and each
   service role (directory, token, saml, oidc, scim) has its own: the broker admits only those public
   keys and knows every caller by the role of the key it authenticated with.

   The keys are czmq certificates in one directory (SSO_BUS_KEYS_DIR, <data dir>/bus): for the
   broker and for each role, <name>.key (public) and <name>.key_secret (both keys). Only their
   owners make them: the gateway (it holds the broker's secret) and `make run`'s supervisor
   generate the whole set when the directory holds none of it (directory 0700, files 0600),
   atomically, so processes that start together agree on one set; a service never does, it
   waits for its files. A process needs only its own part: the broker broker.key_secret and
   every <role>.key, a service broker.key and its <role>.key_secret; a directory holding just
   that works too. A secret file that others than its owner may read is refused. */
#ifndef SSO_BUS_KEYS_H
#define SSO_BUS_KEYS_H
#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sso_bus_keys_t sso_bus_keys_t;

/* The roles of the product's services, NULL-terminated. */
extern const char *const sso_bus_roles[];
/* The roles added after the first sets were made (scim): a set whole for its other roles
   that lacks one of these wholly is upgraded by sso_bus_keys_make, which adds the role's
   keypair (linked in, secret first, so concurrent owners agree), never a set short of
   anything else. */
extern const char *const sso_bus_roles_added[];

/* Opens the keys in dir for roles (NULL-terminated; NULL: sso_bus_roles); never generates.
   NULL with a reason in why when they cannot be read. */
sso_bus_keys_t *sso_bus_keys_open(const char *dir, const char *const *roles, char *why,
                                  size_t why_size);
/* The owners' open (the gateway; with every_secret, make run's supervisor, which starts every
   process on this directory): generates the set first when dir holds none of its files, and
   refuses, naming the files, a directory that lacks broker.key_secret, a role's public key
   or (every_secret) a role's secret key, rather than make a new set over it (except the
   upgrade by an added role, sso_bus_roles_added). */
sso_bus_keys_t *sso_bus_keys_make(const char *dir, const char *const *roles, bool every_secret,
                                  char *why, size_t why_size);
/* A service's open, as role: while dir lacks broker.key or <role>.key_secret, waits for them
   (an info line at once, then every 10 s, naming the missing file) until deadline (zclock_mono
   ms; negative: forever) or an interrupt (zsys_interrupted), then NULL with why. Keys that are
   there but broken (modes, mismatched pairs) are refused at once, as by sso_bus_keys_open. */
sso_bus_keys_t *sso_bus_keys_wait(const char *dir, const char *const *roles, const char *role,
                                  int64_t deadline, char *why, size_t why_size);
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
