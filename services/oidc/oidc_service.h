/* oidc_service: the oidc service's definition: UpstreamStart.Start from the token service,
   the callback /sso/oidc/callback from the gateway, and its state (the providers' documents,
   oidc_calls). */
#ifndef OIDC_SERVICE_H
#define OIDC_SERVICE_H
#include "sso_service.h"

extern const sso_service_def_t oidc_service;

void oidc_service_test(bool verbose);
#endif
