/* saml_xml: helpers shared by the SAML modules. */
#include "saml_xml.h"
#include "sso_crypto.h"
#include "sso_saml_metadata.h"
#include "sso_test.h"
#include <libxml/parser.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/io.h>
#include <xmlsec/keyinfo.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/transforms.h>
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

/* Last in s_init, after xmlInitParser and xmlSecInit, which register the default handlers
   (once: s_init runs under s_once, and a second xmlInitParser is a no-op). */
static int s_lock_io(void)
{
    if (sso_xml_forbid_io() != 0)
        return -1;
    /* xmlsec keeps its own list (file, HTTP, FTP) for URI transforms; an empty one opens
       nothing. */
    xmlSecIOCleanupCallbacks();
    return 0;
}

static void s_init(void)
{
    xmlInitParser();
    if (xmlSecInit() < 0)
        return;
    if (xmlSecCheckVersion() != 1)
        return;
    if (xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0 || s_lock_io() != 0)
        return;
    xmlSecErrorsSetCallback(s_xmlsec_error);
    s_init_rc = 0;
}

int saml_xmlsec_init(void)
{
    pthread_once(&s_once, s_init);
    return s_init_rc;
}

/* Key material is inline or configured: RetrievalMethod is never followed, and any
   transform it would run may only read the document itself. */
static void s_restrict_key_info(xmlSecKeyInfoCtxPtr info)
{
    info->retrievalMethodCtx.enabledUris = xmlSecTransformUriTypeSameDocument;
    info->maxRetrievalMethodLevel = 0;
}

void saml_xmlsec_restrict_dsig(xmlSecDSigCtxPtr ctx)
{
    ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
    ctx->transformCtx.enabledUris = xmlSecTransformUriTypeSameDocument;
    ctx->flags |= XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
    s_restrict_key_info(&ctx->keyInfoReadCtx);
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

bool saml_xml_in_list(const char *value, const char *const *list)
{
    for (size_t i = 0; value && list[i]; i++)
        if (strcmp(value, list[i]) == 0)
            return true;
    return false;
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

/* ---- self-test: nothing reaches the disk or the network ---------------------------------- */

/* A loopback TCP listener that counts the connections made to it and closes each at once
   (so a client that got through fails fast instead of waiting for an answer). */
typedef struct {
    int fd, port;
    _Atomic int connections;
    _Atomic bool stop;
    pthread_t thread;
} s_listener_t;

static void *s_listener_run(void *arg)
{
    s_listener_t *self = arg;
    while (!self->stop) {
        struct pollfd p = {.fd = self->fd, .events = POLLIN};
        if (poll(&p, 1, 20) > 0) {
            int conn = accept(self->fd, NULL, NULL);
            if (conn >= 0) {
                self->connections++;
                close(conn);
            }
        }
    }
    return NULL;
}

static int s_listener_start(s_listener_t *self)
{
    *self = (s_listener_t) {.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (self->fd < 0 || bind(self->fd, (struct sockaddr *) &addr, sizeof addr) != 0
        || listen(self->fd, 8) != 0 || getsockname(self->fd, (struct sockaddr *) &addr, &len) != 0
        || pthread_create(&self->thread, NULL, s_listener_run, self) != 0) {
        if (self->fd >= 0)
            close(self->fd);
        self->fd = -1;
        return -1;
    }
    self->port = ntohs(addr.sin_port);
    return 0;
}

/* Stops the listener; the number of connections it saw. */
static int s_listener_stop(s_listener_t *self)
{
    if (self->fd < 0)
        return -1;
    usleep(50 * 1000); /* a connection still in flight */
    self->stop = true;
    pthread_join(self->thread, NULL);
    close(self->fd);
    return self->connections;
}

static void s_no_io_test(void)
{
    char path[] = "/tmp/saml-xml-test-XXXXXX", url[128], file_url[64], xml[2048];
    int fd = mkstemp(path);
    SSO_CHECK(fd >= 0 && write(fd, "<a>on disk</a>", 14) == 14);
    if (fd >= 0)
        close(fd);
    s_listener_t listener;
    SSO_CHECK(s_listener_start(&listener) == 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/fetched", listener.port);
    snprintf(file_url, sizeof file_url, "file://%s", path);

    /* libxml2: no file, no HTTP, no external entity (xmlSecInit installs a refusing entity
       loader of its own as well); initializing again changes nothing. */
    xmlInitParser();
    xmlDocPtr doc = xmlReadFile(path, NULL, 0);
    SSO_CHECK(doc == NULL);
    xmlFreeDoc(doc);
    SSO_CHECK((doc = xmlReadFile(file_url, NULL, 0)) == NULL);
    xmlFreeDoc(doc);
    SSO_CHECK((doc = xmlReadFile(url, NULL, 0)) == NULL);
    xmlFreeDoc(doc);
    snprintf(xml, sizeof xml, "<!DOCTYPE a [<!ENTITY e SYSTEM \"%s\">]><a>&e;</a>", file_url);
    doc = xmlReadMemory(xml, (int) strlen(xml), "t.xml", NULL,
                        XML_PARSE_NOENT | XML_PARSE_DTDLOAD | XML_PARSE_NOERROR
                        | XML_PARSE_NOWARNING);
    xmlChar *text = doc ? xmlNodeGetContent(xmlDocGetRootElement(doc)) : NULL;
    SSO_CHECK(!text || !strstr((const char *) text, "on disk"));
    xmlFree(text);
    xmlFreeDoc(doc);

    /* xmlsec's URI transforms, even in a context that allows every URI type. */
    xmlSecTransformCtxPtr transforms = xmlSecTransformCtxCreate();
    SSO_CHECK(transforms && transforms->enabledUris == xmlSecTransformUriTypeAny);
    SSO_CHECK(transforms && xmlSecTransformCtxUriExecute(transforms, BAD_CAST file_url) < 0);
    if (transforms)
        xmlSecTransformCtxReset(transforms);
    SSO_CHECK(transforms && xmlSecTransformCtxUriExecute(transforms, BAD_CAST url) < 0);
    if (transforms)
        xmlSecTransformCtxDestroy(transforms);

    /* The restricted signature context refuses the URI itself (a layer of its own,
       independent of the handlers above). */
    char *key_pem = NULL, *cert_pem = NULL;
    SSO_CHECK(saml_test_keypair("sp.test", &key_pem, &cert_pem) == 0);
    xmlSecKeysMngrPtr mngr = xmlSecKeysMngrCreate();
    SSO_CHECK(mngr && cert_pem && xmlSecCryptoAppDefaultKeysMngrInit(mngr) == 0);
    /* A signature whose Reference points outside the document. */
    snprintf(xml, sizeof xml, "<ds:Signature xmlns:ds=\"" SAML_NS_DSIG "\"><ds:SignedInfo>"
             "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"
             "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>"
             "<ds:Reference URI=\"%s\"><ds:DigestMethod Algorithm=\""
             "http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue>AAAA</ds:DigestValue>"
             "</ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue>"
             "</ds:Signature>", url);
    doc = xmlReadMemory(xml, (int) strlen(xml), "t.xml", NULL, XML_PARSE_NONET);
    xmlSecDSigCtxPtr dsig = mngr && cert_pem ? xmlSecDSigCtxCreate(mngr) : NULL;
    if (dsig) {
        saml_xmlsec_restrict_dsig(dsig);
        dsig->signKey = xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *) cert_pem,
                                                     (xmlSecSize) strlen(cert_pem),
                                                     xmlSecKeyDataFormatCertPem, NULL, NULL, NULL);
    }
    saml_xmlsec_reset_error();
    SSO_CHECK(doc && dsig && dsig->signKey
              && xmlSecDSigCtxVerify(dsig, xmlDocGetRootElement(doc)) < 0
              && strstr(saml_xmlsec_last_error(), "invalid URI type"));
    if (dsig)
        xmlSecDSigCtxDestroy(dsig);
    xmlFreeDoc(doc);
    if (mngr)
        xmlSecKeysMngrDestroy(mngr);
    free(key_pem);
    free(cert_pem);

    SSO_CHECK(s_listener_stop(&listener) == 0);
    unlink(path);
    saml_xmlsec_reset_error();
}

void saml_xml_test(bool verbose)
{
    (void) verbose;
    SSO_CHECK(saml_xmlsec_init() == 0);
    s_no_io_test();
    const char *const algs[] = {"a", "b", NULL};
    SSO_CHECK(saml_xml_in_list("b", algs) && !saml_xml_in_list("c", algs)
              && !saml_xml_in_list(NULL, algs) && !saml_xml_in_list("", algs));
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
