/* saml_service: the saml service's definition on the bus and its routes. */
#ifndef SAML_SERVICE_H
#define SAML_SERVICE_H
#include "sso_service.h"

extern const sso_service_def_t saml_service;

/* Splits "/sso/saml/{id}/{action}"; 0 with id and action filled, -1 otherwise. */
int saml_service_parse_path(const char *path, char *id, size_t id_size, char *action,
                            size_t action_size);
void saml_service_test(bool verbose);
#endif
