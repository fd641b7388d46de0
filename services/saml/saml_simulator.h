/* saml_simulator: the built-in IdP simulator (DESIGN.md section 5). A real SAML IdP with its
   own key: it reads the broker's AuthnRequest, shows a plain HTML page with the named fields
   email, given_name, family_name, groups and scenario, and answers with a signed Response that
   goes through the same ACS validation as any customer IdP. It signs only for a login the
   broker started and that is still open, of its own seeded connection, for the AuthnRequest
   the broker recorded on it; its form is CSRF-protected (double submit). Off (404) unless
   the configuration's simulator switch is on (SSO_ENVIRONMENT, SSO_SIMULATOR). */
#ifndef SAML_SIMULATOR_H
#define SAML_SIMULATOR_H
#include "sso_service.h"
#include <time.h>

/* GET and POST /simulator/sso */
zframe_t *saml_simulator_http(sso_service_t *service, const Sso__HttpRequest *request);

typedef enum {
    SIM_SUCCESS,
    SIM_IDP_ERROR,
    SIM_EXPIRED,
    SIM_WRONG_AUDIENCE,
    SIM_BAD_SIGNATURE,
} sim_scenario_t;

typedef struct {
    const char *idp_entity_id;
    const char *sp_entity_id;
    const char *acs_url;
    const char *in_response_to;
    const char *email;
    const char *given_name;
    const char *family_name;
    const char *groups;          /* comma-separated */
    sim_scenario_t scenario;
    time_t now;
    const char *key_pem;
    const char *cert_pem;
} sim_response_t;

/* Builds the (signed) Response XML; caller frees. NULL on failure. */
char *saml_simulator_response(const sim_response_t *spec);
/* "success", "idp_error", ... -> scenario; -1 when unknown. */
int saml_simulator_scenario(const char *name);

void saml_simulator_test(bool verbose);
#endif
