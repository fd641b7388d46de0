/* dir_seed: the pre-seeded "Test Organization" (DESIGN 5): domains example.com and
   example.org and an active SAML connection whose IdP is the built-in simulator of the saml
   service. Created once per database (recorded in meta), with the simulator's own RSA key
   (sealed) and self-signed certificate; its IdP URLs follow SSO_PUBLIC_URL at every start.
   With the simulator off (SSO_ENVIRONMENT=production without SSO_SIMULATOR=1) nothing is
   seeded, the key is not handed out, and an existing seeded connection is made inactive
   (active again at the first start with the simulator on, unless an admin disabled it). */
#ifndef DIR_SEED_H
#define DIR_SEED_H
#include "dir_rpc.h"

#define DIR_SEED_ORG_ID "org_test"
#define DIR_SEED_ORG_NAME "Test Organization"
#define DIR_SEED_CONN_ID "conn_simulator"
/* The developer dashboard's "Try it" client (dashboard/dir_dash_try), made with the simulator
   on and deleted with it off: its one redirect URI <public url>DIR_SEED_TRY_CALLBACK (kept at
   every start), and no secret (its stored hash has no sso_secret_hash form, so none
   verifies): its codes are redeemed only by TokenWrites.TryRedeem, never at /oauth/token. */
#define DIR_SEED_TRY_CLIENT_ID "cli_dashboard_try"
#define DIR_SEED_TRY_CLIENT_NAME "Dashboard Try it"
#define DIR_SEED_TRY_CALLBACK "/dashboard/try/callback"

/* With the simulator on: seeds once, then points the simulator connection at
   <public_url>/simulator; off: switches that connection off. 0, or -1 with a message. Safe with
   several instances starting at once. */
int dir_seed_ensure(dir_t *dir, char *why, size_t why_size);

/* The simulator_key RPC: SimulatorKeyReply with the key, certificate and connection id. */
DIR_RPC_FN(dir_seed_simulator_key, Sso__SimulatorKeyRequest, Sso__SimulatorKeyReply);

void dir_seed_test(bool verbose);
#endif
