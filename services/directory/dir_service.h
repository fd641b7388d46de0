/* dir_service: the directory service: opening its state with the bootstrap admin client and
   the seed, and its definition on the bus (the HTTP and RPC routers, group commit). */
#ifndef DIR_SERVICE_H
#define DIR_SERVICE_H
#include "dir.h"
#include "sso_service.h"

/* dir_new, then the admin client from SSO_ADMIN_CLIENT_ID/SECRET (dir_admin) and the Test
   Organization once, or its connection switched off when the simulator is off (dir_seed).
   NULL with a message. Free with dir_destroy. */
dir_t *dir_service_open(const sso_config_t *config, char *why, size_t why_size);

extern const sso_service_def_t directory_service;

void dir_service_test(bool verbose);
#endif
