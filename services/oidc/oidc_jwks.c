#include "oidc_jwks.h"
#include "oidc_exchange.h"
#include "sso_clients.h"
#include "sso_http.h"
#include "sso_jose.h"
#include "sso_test.h"
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

json_t *oidc_jwks_of_certificate(const char *cert_pem)
{
    EVP_PKEY *key = sso_jose_certificate_key_pem(cert_pem);
    char *kid = key && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? sso_jose_thumbprint(key)
                                                                  : NULL;
    json_t *jwk = kid ? sso_jose_public_jwk(key, kid, "RS256") : NULL;
    json_t *jwks = jwk ? json_pack("{s:[o]}", "keys", jwk) : NULL;
    free(kid);
    EVP_PKEY_free(key);
    return jwks;
}

zframe_t *oidc_jwks_response(const Sso__Connection *conn)
{
    json_t *jwks = conn && conn->type && !strcmp(conn->type, "oidc")
                       ? oidc_jwks_of_certificate(conn->oidc_client_certificate_pem)
                       : NULL;
    char *text = jwks ? json_dumps(jwks, JSON_COMPACT) : NULL;
    json_decref(jwks);
    if (!text)
        return sso_http_error(404, "not_found", "no such OIDC connection with a client key");
    sso_response_t *response = sso_response_new(200);
    if (!response) {
        free(text);
        return sso_http_error(500, "server_error", "out of memory");
    }
    char cache[64];
    snprintf(cache, sizeof cache, "public, max-age=%d", OIDC_JWKS_MAX_AGE_S);
    sso_response_header(response, "Cache-Control", cache);
    sso_response_body(response, text, strlen(text), "application/json");
    free(text);
    return sso_response_pack(&response);
}

zframe_t *oidc_jwks_http(sso_service_t *service, const char *connection_id)
{
    Sso__ConnectionGetRequest get = SSO__CONNECTION_GET_REQUEST__INIT;
    get.connection_id = (char *) connection_id;
    Sso__ConnectionReply *reply = NULL;
    if (sso_dir_connection_get(service, &get, &reply) != 0)
        return sso_http_error(503, "temporarily_unavailable", "the directory is not available");
    zframe_t *frame = oidc_jwks_response(reply->error ? NULL : reply->connection);
    sso__connection_reply__free_unpacked(reply, NULL);
    return frame;
}

/* ---- self-test ------------------------------------------------------------------------- */

/* A self-signed certificate of key, PEM (caller frees), as the directory makes them. */
static char *s_test_certificate(EVP_PKEY *key)
{
    X509 *cert = X509_new();
    BIO *out = BIO_new(BIO_s_mem());
    char *pem = NULL, *data = NULL;
    if (cert && out && ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) == 1
        && X509_gmtime_adj(X509_getm_notBefore(cert), 0)
        && X509_gmtime_adj(X509_getm_notAfter(cert), 3600)
        && X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_UTF8,
                                      (const unsigned char *) "conn_k", -1, -1, 0) == 1
        && X509_set_issuer_name(cert, X509_get_subject_name(cert)) == 1
        && X509_set_pubkey(cert, key) == 1 && X509_sign(cert, key, EVP_sha256()) > 0
        && PEM_write_bio_X509(out, cert) == 1) {
        long len = BIO_get_mem_data(out, &data);
        pem = len > 0 ? strndup(data, (size_t) len) : NULL;
    }
    BIO_free(out);
    X509_free(cert);
    return pem;
}

void oidc_jwks_test(bool verbose)
{
    (void) verbose;
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256");
    char *cert = rsa ? s_test_certificate(rsa) : NULL, *ec_cert = ec ? s_test_certificate(ec) : NULL;
    SSO_CHECK(cert && ec_cert);
    Sso__Connection conn = SSO__CONNECTION__INIT;
    conn.id = "conn_k";
    conn.type = "oidc";
    conn.oidc_client_certificate_pem = cert;
    Sso__HttpResponse *response = sso_test_http_unpack(oidc_jwks_response(&conn));
    SSO_CHECK(response && response->status == 200
              && !strcmp(sso_test_http_header(response, "Cache-Control"), "public, max-age=300")
              && strstr(sso_test_http_header(response, "Content-Type"), "json"));
    /* The served set verifies the assertions the exchange signs with the key, by kid. */
    sso_jose_keys_t *keys = NULL;
    char why[300] = "";
    char *served = response ? strndup((const char *) response->body.data, response->body.len)
                            : NULL;
    SSO_CHECK(served && sso_jose_keys_parse(served, strlen(served), &keys, why, sizeof why) == 0
              && sso_jose_keys_count(keys) == 1 && !strstr(served, "\"d\""));
    char *assertion = oidc_exchange_assertion(rsa, "client-k", "https://idp.test/token",
                                              1700000000, why, sizeof why);
    const char *const rs256[] = {"RS256", NULL};
    json_t *header = NULL, *claims = NULL;
    SSO_CHECK(assertion && keys
              && sso_jose_verify(assertion, keys, rs256, &header, &claims, why, sizeof why)
                     == SSO_JOSE_OK
              && json_string_value(json_object_get(header, "kid"))
              && strstr(served, json_string_value(json_object_get(header, "kid"))));
    json_decref(header);
    json_decref(claims);
    free(assertion);
    free(served);
    sso_jose_keys_destroy(&keys);
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    /* No such connection, a SAML one, one without a key, one whose certificate is junk or not
       RSA: 404. */
    const char *certs[] = {NULL, "", "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n",
                           ec_cert, cert};
    const char *types[] = {"oidc", "oidc", "oidc", "oidc", "saml"};
    SSO_CHECK((response = sso_test_http_unpack(oidc_jwks_response(NULL))) && response->status == 404);
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    for (size_t i = 0; i < sizeof certs / sizeof *certs; i++) {
        conn.type = (char *) types[i];
        conn.oidc_client_certificate_pem = (char *) certs[i];
        response = sso_test_http_unpack(oidc_jwks_response(&conn));
        SSO_CHECK(response && response->status == 404);
        if (response)
            sso__http_response__free_unpacked(response, NULL);
    }
    free(cert);
    free(ec_cert);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}
