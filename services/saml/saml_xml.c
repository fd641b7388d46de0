/* saml_xml: helpers shared by the SAML modules. */
#include "saml_xml.h"
#include "sso_crypto.h"
#include "sso_test.h"
#include <libxml/parser.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/xmlsec.h>

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static int s_init_rc = -1;
/* Per thread so concurrent validations do not mix their reasons. */
static _Thread_local char s_last_error[256];

/* xmlsec reports errors through a callback; keeping the first one of an operation gives the
   reason a precise cause ("transform is not allowed") instead of a bare failure. */
static void s_xmlsec_error(const char *file, int line, const char *func, const char *object,
                           const char *subject, int reason, const char *msg)
{
    (void) file;
    (void) line;
    (void) func;
    if (s_last_error[0])
        return;
    const char *what = "error";
    for (xmlSecSize i = 0; xmlSecErrorsGetMsg(i); i++)
        if (xmlSecErrorsGetCode(i) == reason) {
            what = xmlSecErrorsGetMsg(i);
            break;
        }
    snprintf(s_last_error, sizeof s_last_error, "%s%s%s%s%s%s", what, object ? " in " : "",
             object ? object : "", subject ? " (" : "", subject ? subject : "", subject ? ")" : "");
    size_t used = strlen(s_last_error);
    if (msg && *msg && used + 3 < sizeof s_last_error)
        snprintf(s_last_error + used, sizeof s_last_error - used, ": %s", msg);
}

static void s_init(void)
{
    xmlInitParser();
    if (xmlSecInit() < 0)
        return;
    if (xmlSecCheckVersion() != 1)
        return;
    if (xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0)
        return;
    xmlSecErrorsSetCallback(s_xmlsec_error);
    s_init_rc = 0;
}

int saml_xmlsec_init(void)
{
    pthread_once(&s_once, s_init);
    return s_init_rc;
}

const char *saml_xmlsec_last_error(void)
{
    return s_last_error;
}

void saml_xmlsec_reset_error(void)
{
    s_last_error[0] = '\0';
}

bool saml_xml_is(xmlNodePtr node, const char *ns, const char *name)
{
    return node && node->type == XML_ELEMENT_NODE && node->ns && node->ns->href
           && strcmp((const char *) node->ns->href, ns) == 0
           && strcmp((const char *) node->name, name) == 0;
}

xmlNodePtr saml_xml_child(xmlNodePtr node, const char *ns, const char *name)
{
    for (xmlNodePtr child = node ? node->children : NULL; child; child = child->next)
        if (saml_xml_is(child, ns, name))
            return child;
    return NULL;
}

size_t saml_xml_count_children(xmlNodePtr node, const char *ns, const char *name)
{
    size_t count = 0;
    for (xmlNodePtr child = node ? node->children : NULL; child; child = child->next)
        count += saml_xml_is(child, ns, name);
    return count;
}

char *saml_xml_attr(xmlNodePtr node, const char *name)
{
    xmlChar *value = xmlGetNoNsProp(node, (const xmlChar *) name);
    char *out = value ? strdup((const char *) value) : NULL;
    xmlFree(value);
    return out;
}

static bool s_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int saml_xml_text(xmlNodePtr node, char **out)
{
    *out = NULL;
    size_t len = 0;
    /* First pass: refuse structure and measure, so a hostile document cannot make us copy
       more than SAML_MAX_VALUE. */
    for (xmlNodePtr child = node->children; child; child = child->next) {
        if (child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) {
            len += child->content ? strlen((const char *) child->content) : 0;
            if (len > SAML_MAX_VALUE)
                return -1;
        }
        else if (child->type != XML_COMMENT_NODE && child->type != XML_PI_NODE)
            return -1;
    }
    char *text = malloc(len + 1);
    if (!text)
        return -1;
    size_t pos = 0;
    for (xmlNodePtr child = node->children; child; child = child->next)
        if ((child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE)
            && child->content) {
            size_t part = strlen((const char *) child->content);
            memcpy(text + pos, child->content, part);
            pos += part;
        }
    text[pos] = '\0';
    size_t start = 0;
    while (start < pos && s_space(text[start]))
        start++;
    while (pos > start && s_space(text[pos - 1]))
        pos--;
    memmove(text, text + start, pos - start);
    text[pos - start] = '\0';
    *out = text;
    return 0;
}

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

int saml_cert_fingerprint_der(const unsigned char *der, size_t len, char out[96])
{
    uint8_t digest[32];
    sso_sha256(der, len, digest);
    for (int i = 0; i < 32; i++)
        snprintf(out + 3 * i, 4, "%02X%s", digest[i], i < 31 ? ":" : "");
    return 0;
}

int saml_cert_fingerprint_pem(const char *pem, char out[96])
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    int len = cert ? i2d_X509(cert, &der) : -1;
    int rc = len > 0 ? saml_cert_fingerprint_der(der, (size_t) len, out) : -1;
    OPENSSL_free(der);
    X509_free(cert);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

static char *s_bio_string(BIO *bio)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    return len > 0 ? strndup(data, (size_t) len) : NULL;
}

int saml_test_keypair(const char *cn, char **key_pem, char **cert_pem)
{
    *key_pem = *cert_pem = NULL;
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    X509 *cert = X509_new();
    BIO *kbio = BIO_new(BIO_s_mem()), *cbio = BIO_new(BIO_s_mem());
    int rc = -1;
    if (pkey && cert && kbio && cbio && X509_set_version(cert, 2) == 1
        && ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) == 1
        && X509_gmtime_adj(X509_getm_notBefore(cert), 0)
        && X509_gmtime_adj(X509_getm_notAfter(cert), 86400)
        && X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                                      (const unsigned char *) cn, -1, -1, 0) == 1
        && X509_set_issuer_name(cert, X509_get_subject_name(cert)) == 1
        && X509_set_pubkey(cert, pkey) == 1 && X509_sign(cert, pkey, EVP_sha256()) > 0
        && PEM_write_bio_PrivateKey(kbio, pkey, NULL, NULL, 0, NULL, NULL) == 1
        && PEM_write_bio_X509(cbio, cert) == 1) {
        *key_pem = s_bio_string(kbio);
        *cert_pem = s_bio_string(cbio);
        rc = *key_pem && *cert_pem ? 0 : -1;
    }
    if (rc != 0) {
        free(*key_pem);
        free(*cert_pem);
        *key_pem = *cert_pem = NULL;
    }
    BIO_free(kbio);
    BIO_free(cbio);
    X509_free(cert);
    EVP_PKEY_free(pkey);
    return rc;
}

void saml_xml_test(bool verbose)
{
    (void) verbose;
    SSO_CHECK(saml_xmlsec_init() == 0);
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

    /* Text with a comment and CDATA in the middle reads as the whole signed value. */
    const char *xml = "<a><b> user@evil.com<!---->.example.com </b><c>x<d/></c>"
                      "<e><![CDATA[left]]>right</e></a>";
    xmlDocPtr doc = xmlReadMemory(xml, (int) strlen(xml), "t.xml", NULL, XML_PARSE_NONET);
    SSO_CHECK(doc != NULL);
    if (doc) {
        xmlNodePtr a = xmlDocGetRootElement(doc);
        xmlNodePtr b = a->children, c = b->next, e = c->next;
        char *text = NULL;
        SSO_CHECK(saml_xml_text(b, &text) == 0 && strcmp(text, "user@evil.com.example.com") == 0);
        free(text);
        SSO_CHECK(saml_xml_text(c, &text) == -1 && text == NULL);
        SSO_CHECK(saml_xml_text(e, &text) == 0 && strcmp(text, "leftright") == 0);
        free(text);
        xmlFreeDoc(doc);
    }
    char *key = NULL, *cert = NULL;
    SSO_CHECK(saml_test_keypair("t.test", &key, &cert) == 0);
    char fp[96];
    SSO_CHECK(cert && saml_cert_fingerprint_pem(cert, fp) == 0 && strlen(fp) == 95 && fp[2] == ':');
    SSO_CHECK(saml_cert_fingerprint_pem("junk", fp) == -1);
    free(key);
    free(cert);
}
