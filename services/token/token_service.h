/* token_service: what sso_service_main needs to run the token service. */
#ifndef TOKEN_SERVICE_H
#define TOKEN_SERVICE_H
#include "sso_service.h"

extern const sso_service_def_t token_service;
#endif
