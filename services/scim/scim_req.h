/* scim_req: one SCIM request as the service's handlers take it: the directory its URL names
   (/scim/v2/{directory_id}/...), the directory's base URL for locations, and the rest of the
   path below it. */
#ifndef SCIM_REQ_H
#define SCIM_REQ_H
#include "sso_service.h"

#define SCIM_PATH_PREFIX "/scim/v2/"
#define SCIM_ID_MAX 64 /* bytes of a directory's or a resource's id */

typedef struct {
    sso_service_t *service;
    const Sso__HttpRequest *http;
    char directory_id[SCIM_ID_MAX + 1];
    char base_url[sizeof ((sso_config_t *) 0)->public_url + SCIM_ID_MAX + 16];
    const char *rest; /* the path below the base, without its '/': "Users/scu_1", "" */
    bool stale;       /* a write met a change made since its read (the directory's STALE) */
} scim_req_t;

/* Reads path into req (directory_id, rest; base_url from public_url). 0, or -1 when the path
   does not name a directory (no or an empty segment, or one that is not an id: letters,
   digits, '_' and '-', at most SCIM_ID_MAX). */
int scim_req_parse(scim_req_t *req, const char *path, const char *public_url);
/* Whether id could be a resource's id (as a directory's, above). */
bool scim_req_id_valid(const char *id, size_t len);

void scim_req_test(bool verbose);
#endif
