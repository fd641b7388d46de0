/* Fuzz target: what an OpenID Provider sends that the broker reads without a signature to
   vouch for it: the discovery document (lib/sso_oidc_discovery), the token endpoint's answer
   (oidc_exchange) and, as if verified, the ID token's claims and the profile made of them
   (oidc_claims). The same bytes go to each. */
#include "oidc_claims.h"
#include "oidc_exchange.h"
#include "sso_fetch.h"
#include "sso_oidc_discovery.h"
#include "sso_upstream.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[600];
    sso_oidc_discovery_t discovery;
    if (sso_oidc_discovery_parse((const char *) data, size, "https://idp.test", false,
                                 &discovery, why, sizeof why) == 0) {
        /* Whatever passes (private upstreams not allowed) names endpoints the fetch guard
           takes as https, and at least one accepted algorithm. */
        bool plain = true;
        char guard[200];
        if (!discovery.algs
            || sso_fetch_url_check(discovery.token_endpoint, false, &plain, guard, sizeof guard)
            || plain
            || sso_fetch_url_check(discovery.jwks_uri, false, &plain, guard, sizeof guard)
            || plain)
            abort();
        sso_oidc_discovery_free(&discovery);
    }
    char *id_token = NULL;
    if (oidc_exchange_response(200, (const char *) data, size, &id_token, why, sizeof why) == 0
        && (!id_token || !*id_token))
        abort();
    free(id_token);
    json_t *claims = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
    if (claims) {
        oidc_claims_expect_t expect = {"https://idp.test", "client-1", "nonce-1", 300,
                                       1700000000};
        (void) oidc_claims_check(claims, &expect, why, sizeof why);
        /* With the defaults, and with a mapping of every field (allowing unverified
           emails). */
        Sso__AttributeMapping email = SSO__ATTRIBUTE_MAPPING__INIT, name = email,
                              given = email, family = email, groups = email;
        email.field = "email", email.name = "mail";
        name.field = "name", name.name = "upn";
        given.field = "given_name", given.name = "email";
        family.field = "family_name", family.name = "sub";
        groups.field = "groups", groups.name = "roles";
        Sso__AttributeMapping *mapping[] = {&email, &name, &given, &family, &groups};
        Sso__Connection defaults = SSO__CONNECTION__INIT, mapped = SSO__CONNECTION__INIT;
        defaults.id = "conn_fuzz";
        mapped.id = "conn_fuzz";
        mapped.attribute_mapping = mapping;
        mapped.n_attribute_mapping = 5;
        mapped.allow_unverified_email = true;
        const Sso__Connection *conns[] = {&defaults, &mapped};
        for (size_t i = 0; i < 2; i++) {
            Sso__Profile *profile = oidc_claims_profile(claims, conns[i], why, sizeof why);
            /* Whatever passes makes a sub the token service can mint. */
            if (profile && sso_upstream_subject_check(conns[i]->id, profile->subject, why,
                                                      sizeof why) != 0)
                abort();
            sso__profile__free_unpacked(profile, NULL);
        }
        json_decref(claims);
    }
    return 0;
}
