/* saml_conncache: the connections (with their secrets) this saml instance validated responses
   for, by id, so that the ACS needs no read of the directory before it validates: the
   directory checks the version when the login completes (LoginComplete answers STALE for a
   connection that changed), and a stale one is read again. Bounded: past SAML_CONNCACHE_MAX
   connections the oldest kept goes. Copies in and out, so a request that waits on the bus
   while another replaces an entry keeps its own. */
#ifndef SAML_CONNCACHE_H
#define SAML_CONNCACHE_H
#include "directory.pb-c.h"
#include <stdbool.h>

#define SAML_CONNCACHE_MAX 256

typedef struct saml_conncache_t saml_conncache_t;

saml_conncache_t *saml_conncache_new(void);
void saml_conncache_destroy(saml_conncache_t **self_p);
/* A copy of the connection kept for id (free with sso__connection__free_unpacked), or NULL. */
Sso__Connection *saml_conncache_get(saml_conncache_t *self, const char *id);
/* Keeps a copy of conn under its id (replacing the one kept); one without an id or a version
   is not kept. 0, or -1 when out of memory (nothing kept). */
int saml_conncache_put(saml_conncache_t *self, const Sso__Connection *conn);
/* Forgets id (nothing happens when it is not kept). */
void saml_conncache_drop(saml_conncache_t *self, const char *id);
size_t saml_conncache_size(const saml_conncache_t *self);

void saml_conncache_test(bool verbose);
#endif
