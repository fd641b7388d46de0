/* saml_xml: SAML names, xs:dateTime and certificates for the SAML modules. */
#include "saml_xml.h"
#include "sso_crypto.h"
#include "sso_saml_metadata.h"
#include "sso_test.h"
#include <libxml/parser.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads exactly n digits. */
static int s_digits(const char **p, int n, int *value)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *value = v;
    return 0;
}

static int s_expect(const char **p, char c)
{
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

int saml_time_parse(const char *text, time_t *out)
{
    if (!text)
        return -1;
    const char *p = text;
    int year, month, day, hour, minute, second;
    if (s_digits(&p, 4, &year) || s_expect(&p, '-') || s_digits(&p, 2, &month)
        || s_expect(&p, '-') || s_digits(&p, 2, &day) || s_expect(&p, 'T')
        || s_digits(&p, 2, &hour) || s_expect(&p, ':') || s_digits(&p, 2, &minute)
        || s_expect(&p, ':') || s_digits(&p, 2, &second))
        return -1;
    if (*p == '.') {
        p++;
        int n = 0;
        while (*p >= '0' && *p <= '9' && n < 12) {
            p++;
            n++;
        }
        if (n == 0)
            return -1;
    }
    long offset = 0;
    if (*p == 'Z')
        p++;
    else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (s_digits(&p, 2, &oh) || s_expect(&p, ':') || s_digits(&p, 2, &om) || oh > 14
            || om > 59)
            return -1;
        offset = sign * (oh * 3600L + om * 60L);
    }
    else
        return -1; /* SAML times are UTC; a local time without a zone is ambiguous. */
    if (*p != '\0' || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23
        || minute > 59 || second > 60 || year < 1970)
        return -1;
    struct tm tm = {0};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    time_t t = timegm(&tm);
    if (t == (time_t) -1)
        return -1;
    *out = t - offset;
    return 0;
}

void saml_time_format(time_t when, char *out, size_t size)
{
    struct tm tm;
    if (!gmtime_r(&when, &tm) || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, size, "?");
}

int saml_cert_fingerprint_pem(const char *pem, char out[96])
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    int len = cert ? i2d_X509(cert, &der) : -1;
    int rc = -1;
    if (len > 0) {
        sso_xmldsig_fingerprint_der(der, (size_t) len, out);
        rc = 0;
    }
    OPENSSL_free(der);
    X509_free(cert);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

char *saml_cert_base64_der(const char *pem)
{
    BIO *bio = pem ? BIO_new_mem_buf(pem, -1) : NULL;
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    int len = cert ? i2d_X509(cert, &der) : -1;
    char *out = len > 0 ? sso_base64_encode(der, (size_t) len) : NULL;
    OPENSSL_free(der);
    X509_free(cert);
    BIO_free(bio);
    ERR_clear_error();
    return out;
}

void saml_xml_test(bool verbose)
{
    (void) verbose;
    time_t t = 0;
    SSO_CHECK(saml_time_parse("2026-01-02T03:04:05Z", &t) == 0 && t == 1767323045);
    SSO_CHECK(saml_time_parse("2026-01-02T03:04:05.123Z", &t) == 0 && t == 1767323045);
    SSO_CHECK(saml_time_parse("2026-01-02T04:04:05+01:00", &t) == 0 && t == 1767323045);
    SSO_CHECK(saml_time_parse("2026-01-02T03:04:05", &t) == -1);
    SSO_CHECK(saml_time_parse("2026-01-02 03:04:05Z", &t) == -1);
    SSO_CHECK(saml_time_parse("2026-13-02T03:04:05Z", &t) == -1);
    SSO_CHECK(saml_time_parse("2026-01-02T03:04:05Zjunk", &t) == -1);
    char when[32];
    saml_time_format(1767323045, when, sizeof when);
    SSO_CHECK(strcmp(when, "2026-01-02T03:04:05Z") == 0);

    char *key = NULL, *cert = NULL;
    SSO_CHECK(sso_xmldsig_test_keypair("t.test", &key, &cert) == 0);
    char fp[96];
    SSO_CHECK(cert && saml_cert_fingerprint_pem(cert, fp) == 0 && strlen(fp) == 95 && fp[2] == ':');
    SSO_CHECK(saml_cert_fingerprint_pem("junk", fp) == -1);
    free(key);
    free(cert);
}
