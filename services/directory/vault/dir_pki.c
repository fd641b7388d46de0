/* dir_pki: certificate parsing and SP key pairs on OpenSSL. */
#include "vault/dir_pki.h"
#include "sso_crypto.h"
#include "sso_saml_metadata.h"
#include "sso_test.h"
#include <ctype.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DIR_SP_CERT_DAYS 3650

static char *s_bio_string(BIO *bio)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    return len > 0 ? strndup(data, (size_t) len) : NULL;
}

static char *s_cert_pem(X509 *cert)
{
    BIO *out = BIO_new(BIO_s_mem());
    char *pem = out && PEM_write_bio_X509(out, cert) == 1 ? s_bio_string(out) : NULL;
    BIO_free(out);
    return pem;
}

char *dir_pki_cert_normalize(const char *pem)
{
    BIO *in = BIO_new_mem_buf(pem, -1);
    X509 *cert = in ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
    char *out = NULL;
    if (cert) {
        /* Exactly one certificate: anything after it other than whitespace is refused. */
        char rest[64];
        int n;
        bool trailing = false;
        while ((n = BIO_read(in, rest, sizeof rest)) > 0)
            for (int i = 0; i < n; i++)
                if (!strchr(" \t\r\n", rest[i]))
                    trailing = true;
        if (!trailing)
            out = s_cert_pem(cert);
    }
    ERR_clear_error();
    X509_free(cert);
    BIO_free(in);
    return out;
}

/* A name in RFC 2253 form into out (cut to fit); 0 or -1. */
static int s_name_text(const X509_NAME *name, char *out, size_t size)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len = bio && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0
                   ? BIO_get_mem_data(bio, &data)
                   : -1;
    if (len >= 0)
        snprintf(out, size, "%.*s", (int) len, data ? data : "");
    BIO_free(bio);
    return len >= 0 ? 0 : -1;
}

static int s_time(const ASN1_TIME *time, int64_t *out)
{
    struct tm tm;
    if (!time || ASN1_TIME_to_tm(time, &tm) != 1)
        return -1;
    *out = (int64_t) timegm(&tm);
    return 0;
}

static int s_fingerprint(const X509 *cert, char out[96])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, EVP_sha256(), digest, &len) != 1 || len != 32)
        return -1;
    static const char hex[] = "0123456789ABCDEF";
    for (unsigned int i = 0; i < len; i++) {
        out[3 * i] = hex[digest[i] >> 4];
        out[3 * i + 1] = hex[digest[i] & 15];
        out[3 * i + 2] = i + 1 < len ? ':' : '\0';
    }
    return 0;
}

int dir_pki_cert_info(const char *pem, dir_pki_cert_info_t *info)
{
    memset(info, 0, sizeof *info);
    char *canonical = dir_pki_cert_normalize(pem);
    BIO *in = canonical ? BIO_new_mem_buf(canonical, -1) : NULL;
    X509 *cert = in ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
    int rc = cert && s_name_text(X509_get_subject_name(cert), info->subject,
                                 sizeof info->subject) == 0
                     && s_name_text(X509_get_issuer_name(cert), info->issuer,
                                    sizeof info->issuer) == 0
                     && s_time(X509_get0_notBefore(cert), &info->not_before) == 0
                     && s_time(X509_get0_notAfter(cert), &info->not_after) == 0
                     && s_fingerprint(cert, info->sha256) == 0
                 ? 0
                 : -1;
    ERR_clear_error();
    X509_free(cert);
    BIO_free(in);
    free(canonical);
    return rc;
}

int dir_pki_sp_keypair(const char *common_name, char **key_pem, char **cert_pem)
{
    int64_t now = (int64_t) time(NULL);
    return dir_pki_self_signed(common_name, now - 3600, now + (int64_t) DIR_SP_CERT_DAYS * 86400,
                               key_pem, cert_pem);
}

int dir_pki_self_signed(const char *common_name, int64_t not_before, int64_t not_after,
                        char **key_pem, char **cert_pem)
{
    *key_pem = *cert_pem = NULL;
    int rc = -1;
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    X509 *cert = X509_new();
    BIO *key_out = BIO_new(BIO_s_mem());
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    if (!pkey || !cert || !key_out || sso_random_bytes(serial, sizeof serial) != 0)
        goto done;
    serial[0] &= 0x7f; /* a positive serial */
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    X509_NAME *name = X509_get_subject_name(cert);
    if (!bn || X509_set_version(cert, 2) != 1
        || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert))
        || !ASN1_TIME_set(X509_getm_notBefore(cert), (time_t) not_before)
        || !ASN1_TIME_set(X509_getm_notAfter(cert), (time_t) not_after)
        || X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                      (const unsigned char *) common_name, -1, -1, 0) != 1
        || X509_set_issuer_name(cert, name) != 1 || X509_set_pubkey(cert, pkey) != 1
        || X509_sign(cert, pkey, EVP_sha256()) <= 0)
        goto done;
    if (PEM_write_bio_PrivateKey(key_out, pkey, NULL, NULL, 0, NULL, NULL) != 1)
        goto done;
    *key_pem = s_bio_string(key_out);
    *cert_pem = s_cert_pem(cert);
    rc = *key_pem && *cert_pem ? 0 : -1;
done:
    if (rc != 0) {
        free(*key_pem);
        free(*cert_pem);
        *key_pem = *cert_pem = NULL;
    }
    ERR_clear_error();
    BN_free(bn);
    BIO_free(key_out);
    X509_free(cert);
    EVP_PKEY_free(pkey);
    return rc;
}

void dir_pki_test(bool verbose)
{
    (void) verbose;
    char *key = NULL, *cert = NULL;
    SSO_CHECK(dir_pki_sp_keypair("conn_test", &key, &cert) == 0);
    SSO_CHECK(key && strstr(key, "BEGIN PRIVATE KEY"));
    SSO_CHECK(cert && strstr(cert, "BEGIN CERTIFICATE"));
    char *again = cert ? dir_pki_cert_normalize(cert) : NULL;
    SSO_CHECK(again && strcmp(again, cert) == 0);
    free(again);

    /* Strip the armour to get the base64 DER, the metadata form. */
    if (cert) {
        const char *begin = strchr(cert, '\n') + 1;
        const char *end = strstr(cert, "-----END");
        char *b64 = strndup(begin, (size_t) (end - begin));
        char *from_der = sso_saml_metadata_cert_pem(b64);
        SSO_CHECK(from_der && strcmp(from_der, cert) == 0);
        free(from_der);
        free(b64);
        /* Two certificates in one string are refused. */
        size_t len = strlen(cert);
        char *two = malloc(2 * len + 1);
        memcpy(two, cert, len);
        memcpy(two + len, cert, len + 1);
        SSO_CHECK(dir_pki_cert_normalize(two) == NULL);
        free(two);
        /* Tampered bytes do not parse. */
        char *bad = strdup(cert);
        bad[40] = bad[40] == 'A' ? 'B' : 'A';
        bad[41] = '!';
        SSO_CHECK(dir_pki_cert_normalize(bad) == NULL);
        free(bad);
    }
    /* What an admin is shown of it. */
    dir_pki_cert_info_t info;
    SSO_CHECK(cert && dir_pki_cert_info(cert, &info) == 0);
    SSO_CHECK(!strcmp(info.subject, "CN=conn_test") && !strcmp(info.issuer, "CN=conn_test")
              && info.not_before < (int64_t) time(NULL)
              && info.not_after > (int64_t) time(NULL) + 3649LL * 86400);
    /* Its fingerprint: the SHA-256 of the DER the PEM carries, in pairs. */
    if (cert) {
        const char *begin = strchr(cert, '\n'), *end = strstr(cert, "-----END");
        char *body = begin && end ? strndup(begin + 1, (size_t) (end - begin - 1)) : NULL;
        size_t der_len = 0;
        uint8_t *der = body ? sso_base64_decode(body, &der_len, true) : NULL;
        char hex[65] = "", expect[96] = "";
        if (der)
            sso_sha256_hex(der, der_len, hex);
        for (size_t i = 0; i < 32 && *hex; i++)
            snprintf(expect + 3 * i, sizeof expect - 3 * i, "%c%c%s", toupper(hex[2 * i]),
                     toupper(hex[2 * i + 1]), i < 31 ? ":" : "");
        SSO_CHECK(der && strlen(info.sha256) == 95 && !strcmp(info.sha256, expect));
        free(der);
        free(body);
    }
    /* Validity as asked, in the past too (2024-01-01 to 2024-01-31), and a name with a
       comma escaped as RFC 2253 writes it. */
    char *old_key = NULL, *old_cert = NULL;
    SSO_CHECK(dir_pki_self_signed("Old, IdP", 1704067200, 1706659200, &old_key, &old_cert) == 0);
    SSO_CHECK(old_cert && dir_pki_cert_info(old_cert, &info) == 0
              && info.not_before == 1704067200 && info.not_after == 1706659200
              && !strcmp(info.subject, "CN=Old\\, IdP"));
    free(old_key);
    free(old_cert);
    SSO_CHECK(dir_pki_cert_info("not a certificate", &info) == -1 && !*info.subject);
    SSO_CHECK(dir_pki_cert_info("", &info) == -1);
    SSO_CHECK(dir_pki_cert_normalize("not a certificate") == NULL);
    SSO_CHECK(dir_pki_cert_normalize("") == NULL);
    SSO_CHECK(sso_saml_metadata_cert_pem("AAAA") == NULL);
    free(key);
    free(cert);
}
