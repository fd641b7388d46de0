/* sso_saml_metadata: safe XML reading and IdP metadata extraction. */
#include "sso_saml_metadata.h"
#include "sso_crypto.h"
#include "sso_test.h"
#include "sso_xml.h"
#include "sso_xmldsig.h"
#include <libxml/parser.h>
#include <libxml/xmlIO.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SSO_SAML_PROTOCOL "urn:oasis:names:tc:SAML:2.0:protocol"
#define SSO_SAML_MAX_CERTS 16

/* A DOCTYPE anywhere (any case) is refused before libxml2 sees the bytes: that rules out
   internal entities (billion laughs) and external ones (XXE) whatever the parser options. */
static bool s_has_doctype(const char *data, size_t len)
{
    for (size_t i = 0; i + 9 <= len; i++)
        if (data[i] == '<' && data[i + 1] == '!' && strncasecmp(data + i + 2, "DOCTYPE", 7) == 0)
            return true;
    return false;
}

static bool s_depth_ok(xmlNodePtr node, int depth)
{
    /* Recursion is bounded: it stops at SSO_XML_MAX_DEPTH. */
    if (depth > SSO_XML_MAX_DEPTH)
        return false;
    for (xmlNodePtr child = node->children; child; child = child->next)
        if (child->type == XML_ELEMENT_NODE && !s_depth_ok(child, depth + 1))
            return false;
    return true;
}

static void s_silent(void *ctx, const char *msg, ...)
{
    (void) ctx;
    (void) msg;
}

/* The I/O of libxml2, refused. Every document the broker reads comes from memory; a callback that claims every URI and opens none means that no parser, entity,
   XInclude or xmlsec URI transform can reach a file, HTTP or FTP (libxml2's nanohttp/nanoftp
   are only reached through these callbacks). It is registered rather than leaving the table
   empty because libxml2 registers its defaults again on the next open of an empty table. */
static int s_io_match(const char *uri)
{
    (void) uri;
    return 1;
}

static void *s_io_open(const char *uri)
{
    (void) uri;
    return NULL;
}

static int s_io_read(void *context, char *buffer, int len)
{
    (void) context;
    (void) buffer;
    (void) len;
    return -1;
}

static int s_io_write(void *context, const char *buffer, int len)
{
    (void) context;
    (void) buffer;
    (void) len;
    return -1;
}

static int s_io_close(void *context)
{
    (void) context;
    return -1;
}

static xmlParserInputPtr s_no_entity(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void) url;
    (void) id;
    (void) ctxt;
    return NULL;
}

int sso_xml_forbid_io(void)
{
    xmlInitParser(); /* registers the defaults first, once, so they are not added after */
    xmlCleanupInputCallbacks();
    xmlCleanupOutputCallbacks();
    if (xmlRegisterInputCallbacks(s_io_match, s_io_open, s_io_read, s_io_close) < 0
        || xmlRegisterOutputCallbacks(s_io_match, s_io_open, s_io_write, s_io_close) < 0)
        return -1;
    xmlSetExternalEntityLoader(s_no_entity);
    return 0;
}

xmlDocPtr sso_xml_read_safe(const char *data, size_t len, char *why, size_t why_size)
{
    if (!data || len == 0) {
        snprintf(why, why_size, "the XML document is empty");
        return NULL;
    }
    if (len > SSO_XML_MAX_BYTES) {
        snprintf(why, why_size, "the XML document is larger than %d bytes", SSO_XML_MAX_BYTES);
        return NULL;
    }
    if (s_has_doctype(data, len)) {
        snprintf(why, why_size, "XML documents with a DOCTYPE are refused");
        return NULL;
    }
    xmlInitParser();
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    xmlSetGenericErrorFunc(NULL, s_silent);
    /* Deliberately absent: XML_PARSE_NOENT (substitution), XML_PARSE_DTDLOAD,
       XML_PARSE_DTDATTR, XML_PARSE_XINCLUDE, XML_PARSE_HUGE. */
    int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, data, (int) len, "input.xml", NULL, options);
    if (!doc) {
        const char *message = ctxt->lastError.message;
        snprintf(why, why_size, "the document is not well-formed XML%s%.*s",
                 message ? ": " : "", message ? (int) strcspn(message, "\n") : 0,
                 message ? message : "");
    }
    xmlFreeParserCtxt(ctxt);
    if (!doc)
        return NULL;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (doc->intSubset || doc->extSubset) {
        snprintf(why, why_size, "XML documents with a DOCTYPE are refused");
        xmlFreeDoc(doc);
        return NULL;
    }
    if (!root || !s_depth_ok(root, 1)) {
        snprintf(why, why_size, "the XML document is %s", root ? "nested too deeply" : "empty");
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

static bool s_protocol_saml2(xmlNodePtr idp)
{
    char *protocols = sso_xml_attr(idp, "protocolSupportEnumeration");
    bool ok = protocols && strstr(protocols, SSO_SAML_PROTOCOL);
    free(protocols);
    return ok;
}

/* Collects EntityDescriptors that have a SAML 2.0 IDPSSODescriptor, through nested
   EntitiesDescriptor elements. */
static void s_find_idps(xmlNodePtr node, xmlNodePtr *found, size_t *count, xmlNodePtr *idp_of)
{
    if (sso_xml_is(node, SSO_SAML_MD_NS, "EntitiesDescriptor")) {
        for (xmlNodePtr child = node->children; child; child = child->next)
            s_find_idps(child, found, count, idp_of);
        return;
    }
    if (!sso_xml_is(node, SSO_SAML_MD_NS, "EntityDescriptor"))
        return;
    for (xmlNodePtr child = node->children; child; child = child->next)
        if (sso_xml_is(child, SSO_SAML_MD_NS, "IDPSSODescriptor") && s_protocol_saml2(child)) {
            if (*count < 2) {
                found[*count] = node;
                idp_of[*count] = child;
            }
            (*count)++;
            return;
        }
}

char *sso_saml_metadata_cert_pem(const char *b64)
{
    size_t len = 0;
    uint8_t *der = sso_base64_decode(b64, &len, true);
    if (!der)
        return NULL;
    const unsigned char *p = der;
    X509 *cert = d2i_X509(NULL, &p, (long) len);
    char *out = NULL;
    BIO *bio = cert && p == der + len ? BIO_new(BIO_s_mem()) : NULL;
    if (bio && PEM_write_bio_X509(bio, cert) == 1) {
        char *data = NULL;
        long data_len = BIO_get_mem_data(bio, &data);
        if (data_len > 0)
            out = strndup(data, (size_t) data_len);
    }
    ERR_clear_error();
    BIO_free(bio);
    X509_free(cert);
    free(der);
    return out;
}

static int s_add_certs(sso_saml_metadata_t *self, xmlNodePtr key_info, char *why,
                       size_t why_size)
{
    for (xmlNodePtr data = key_info->children; data; data = data->next) {
        if (!sso_xml_is(data, SSO_SAML_DSIG_NS, "X509Data"))
            continue;
        for (xmlNodePtr cert = data->children; cert; cert = cert->next) {
            if (!sso_xml_is(cert, SSO_SAML_DSIG_NS, "X509Certificate"))
                continue;
            if (self->n_certificates == SSO_SAML_MAX_CERTS) {
                snprintf(why, why_size, "the metadata lists more than %d signing certificates",
                         SSO_SAML_MAX_CERTS);
                return -1;
            }
            xmlChar *text = xmlNodeGetContent(cert);
            char *pem = text ? sso_saml_metadata_cert_pem((const char *) text) : NULL;
            xmlFree(text);
            if (!pem) {
                snprintf(why, why_size, "a signing certificate in the metadata is not a valid "
                                        "X.509 certificate");
                return -1;
            }
            bool duplicate = false;
            for (size_t i = 0; i < self->n_certificates; i++)
                duplicate |= strcmp(self->certificates[i], pem) == 0;
            if (duplicate)
                free(pem);
            else
                self->certificates[self->n_certificates++] = pem;
        }
    }
    return 0;
}

/* xs:dateTime ("2026-01-02T03:04:05Z", an optional fraction, "Z", "+hh:mm" or no zone, which
   SAML reads as UTC) into Unix seconds. 0, or -1 when text is not one. */
static int s_datetime(const char *text, int64_t *out)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? (text[i] < '0' || text[i] > '9') : text[i] != shape[i])
            return -1;
    int field[6] = {0};
    static const int at[6] = {0, 5, 8, 11, 14, 17}, width[6] = {4, 2, 2, 2, 2, 2};
    for (int f = 0; f < 6; f++)
        for (int i = 0; i < width[f]; i++)
            field[f] = field[f] * 10 + (text[at[f] + i] - '0');
    const char *p = text + sizeof shape - 1;
    if (*p == '.') {
        const char *digits = ++p;
        while (*p >= '0' && *p <= '9' && p - digits < 12)
            p++;
        if (p == digits)
            return -1;
    }
    long offset = 0;
    if (*p == 'Z')
        p++;
    else if (*p == '+' || *p == '-') {
        const char *z = p;
        for (int i = 1; i <= 5; i++)
            if (i == 3 ? z[i] != ':' : (z[i] < '0' || z[i] > '9'))
                return -1;
        offset = ((z[1] - '0') * 10 + (z[2] - '0')) * 3600L + ((z[4] - '0') * 10 + (z[5] - '0')) * 60L;
        if (*z == '-')
            offset = -offset;
        p += 6;
    }
    if (*p || field[1] < 1 || field[1] > 12 || field[2] < 1 || field[2] > 31 || field[3] > 23
        || field[4] > 59 || field[5] > 60)
        return -1;
    struct tm tm = {.tm_year = field[0] - 1900, .tm_mon = field[1] - 1, .tm_mday = field[2],
                    .tm_hour = field[3], .tm_min = field[4], .tm_sec = field[5]};
    *out = (int64_t) timegm(&tm) - offset;
    return 0;
}

/* The earliest validUntil from entity up through the EntitiesDescriptors around it. */
static int s_valid_until(sso_saml_metadata_t *self, xmlNodePtr entity, char *why, size_t why_size)
{
    for (xmlNodePtr node = entity; node && node->type == XML_ELEMENT_NODE; node = node->parent) {
        char *text = sso_xml_attr(node, "validUntil");
        int64_t when = 0;
        int rc = text ? s_datetime(text, &when) : 0;
        if (rc != 0)
            snprintf(why, why_size, "the %s's validUntil is not an xs:dateTime", node->name);
        else if (text && (self->valid_until == 0 || when < self->valid_until))
            self->valid_until = when;
        free(text);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int s_extract(sso_saml_metadata_t *self, xmlNodePtr entity, xmlNodePtr idp, char *why,
                     size_t why_size)
{
    self->entity_id = sso_xml_attr(entity, "entityID");
    if (!self->entity_id || !*self->entity_id) {
        snprintf(why, why_size, "the EntityDescriptor has no entityID");
        return -1;
    }
    char *post_url = NULL;
    for (xmlNodePtr child = idp->children; child; child = child->next) {
        if (sso_xml_is(child, SSO_SAML_MD_NS, "SingleSignOnService")) {
            char *binding = sso_xml_attr(child, "Binding");
            char *location = sso_xml_attr(child, "Location");
            if (binding && location && *location) {
                if (!self->sso_url && strcmp(binding, SSO_SAML_BINDING_REDIRECT) == 0) {
                    self->sso_url = location;
                    location = NULL;
                }
                else if (!post_url && strcmp(binding, SSO_SAML_BINDING_POST) == 0) {
                    post_url = location;
                    location = NULL;
                }
            }
            free(binding);
            free(location);
        }
        else if (sso_xml_is(child, SSO_SAML_MD_NS, "KeyDescriptor")) {
            char *use = sso_xml_attr(child, "use");
            bool signing = !use || strcmp(use, "signing") == 0;
            free(use);
            for (xmlNodePtr info = child->children; signing && info; info = info->next)
                if (sso_xml_is(info, SSO_SAML_DSIG_NS, "KeyInfo")
                    && s_add_certs(self, info, why, why_size) != 0) {
                    free(post_url);
                    return -1;
                }
        }
    }
    if (self->sso_url) {
        free(post_url);
        self->sso_binding = strdup(SSO_SAML_BINDING_REDIRECT);
    }
    else if (post_url) {
        self->sso_url = post_url;
        self->sso_binding = strdup(SSO_SAML_BINDING_POST);
    }
    else {
        snprintf(why, why_size, "the IDPSSODescriptor has no SingleSignOnService with the "
                                "HTTP-Redirect or HTTP-POST binding");
        return -1;
    }
    if (self->n_certificates == 0) {
        snprintf(why, why_size, "the IDPSSODescriptor has no signing certificate "
                                "(KeyDescriptor with X509Certificate)");
        return -1;
    }
    return self->sso_binding ? 0 : -1;
}

/* The signature over the document's root, or over entity when the root is an
   EntitiesDescriptor without one, checked with signing_certificate. 0, or -1 with why. */
static int s_check_signature(xmlDocPtr doc, xmlNodePtr entity, const char *signing_certificate,
                             char *why, size_t why_size)
{
    char reason[600] = "";
    xmlNodePtr root = xmlDocGetRootElement(doc), sig = NULL, signed_node = root;
    const char *what = (const char *) root->name;
    sso_xmldsig_t *dsig = sso_xmlsec_init() == 0 ? sso_xmldsig_new(false) : NULL;
    sso_xmldsig_error_t rc = !dsig ? SSO_XMLDSIG_ERR_INTERNAL
                             : sso_xmldsig_signature_of(root, what, &sig, reason, sizeof reason);
    if (rc == SSO_XMLDSIG_OK && !sig && entity != root) {
        signed_node = entity;
        what = "EntityDescriptor";
        rc = sso_xmldsig_signature_of(entity, what, &sig, reason, sizeof reason);
    }
    if (rc == SSO_XMLDSIG_OK && sso_xmldsig_add_certificate(dsig, signing_certificate, reason,
                                                            sizeof reason) != 0)
        rc = SSO_XMLDSIG_ERR_INTERNAL;
    else if (rc == SSO_XMLDSIG_OK && !sig)
        snprintf(why, why_size, "the metadata is not signed, and the connection's metadata "
                                "signing certificate requires it to be");
    else if (rc == SSO_XMLDSIG_OK)
        rc = sso_xmldsig_verify(dsig, doc, signed_node, sig, what, reason, sizeof reason);
    if (rc == SSO_XMLDSIG_ERR_INTERNAL && !reason[0])
        snprintf(reason, sizeof reason, "internal: out of memory");
    if (rc != SSO_XMLDSIG_OK)
        snprintf(why, why_size, "the metadata's %s", reason);
    sso_xmldsig_destroy(&dsig);
    ERR_clear_error();
    return rc == SSO_XMLDSIG_OK && sig ? 0 : -1;
}

sso_saml_metadata_t *sso_saml_metadata_parse(const char *xml, size_t len,
                                             const char *signing_certificate, char *why,
                                             size_t why_size)
{
    xmlDocPtr doc = sso_xml_read_safe(xml, len, why, why_size);
    if (!doc)
        return NULL;
    sso_saml_metadata_t *self = calloc(1, sizeof *self);
    char **certs = calloc(SSO_SAML_MAX_CERTS, sizeof(char *));
    if (!self || !certs) {
        free(self);
        free(certs);
        xmlFreeDoc(doc);
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    self->certificates = certs;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr found[2] = {NULL, NULL}, idps[2] = {NULL, NULL};
    size_t count = 0;
    s_find_idps(root, found, &count, idps);
    int rc = -1;
    if (!sso_xml_is(root, SSO_SAML_MD_NS, "EntityDescriptor")
        && !sso_xml_is(root, SSO_SAML_MD_NS, "EntitiesDescriptor"))
        snprintf(why, why_size, "this is not SAML metadata (the root must be a md:EntityDescriptor "
                                "or md:EntitiesDescriptor)");
    else if (count == 0)
        snprintf(why, why_size, "the metadata describes no SAML 2.0 identity provider "
                                "(IDPSSODescriptor)");
    else if (count > 1)
        snprintf(why, why_size, "the metadata describes several identity providers; give the "
                                "EntityDescriptor of this one");
    else
        rc = s_extract(self, found[0], idps[0], why, why_size) == 0
                     && s_valid_until(self, found[0], why, why_size) == 0
                     && (!signing_certificate
                         || s_check_signature(doc, found[0], signing_certificate, why,
                                              why_size) == 0)
                 ? 0
                 : -1;
    xmlFreeDoc(doc);
    if (rc != 0)
        sso_saml_metadata_destroy(&self);
    return self;
}

void sso_saml_metadata_destroy(sso_saml_metadata_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sso_saml_metadata_t *self = *self_p;
    free(self->entity_id);
    free(self->sso_url);
    free(self->sso_binding);
    for (size_t i = 0; i < self->n_certificates; i++)
        free(self->certificates[i]);
    free(self->certificates);
    free(self);
    *self_p = NULL;
}

static char *s_make_cert_b64(void)
{
    /* Generated at test time: a fixed literal would have to be a real certificate. */
    EVP_PKEY *pkey = EVP_RSA_gen(1024);
    X509 *cert = X509_new();
    char *out = NULL;
    if (pkey && cert && X509_set_version(cert, 2) == 1
        && ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) == 1
        && X509_gmtime_adj(X509_getm_notBefore(cert), 0)
        && X509_gmtime_adj(X509_getm_notAfter(cert), 86400)
        && X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                                      (const unsigned char *) "idp.test", -1, -1, 0) == 1
        && X509_set_issuer_name(cert, X509_get_subject_name(cert)) == 1
        && X509_set_pubkey(cert, pkey) == 1 && X509_sign(cert, pkey, EVP_sha256()) > 0) {
        unsigned char *der = NULL;
        int len = i2d_X509(cert, &der);
        if (len > 0)
            out = sso_base64_encode(der, (size_t) len);
        OPENSSL_free(der);
    }
    X509_free(cert);
    EVP_PKEY_free(pkey);
    return out;
}

/* IdP metadata for cert (base64 DER), with the given ID, wrapped as wrap says ("%s" where the
   EntityDescriptor goes; NULL: none), signed by key/cert_pem (PEM) when given on its
   EntityDescriptor (sign_entity) or on its root. Caller frees. */
static char *s_md(const char *cert, const char *wrap, const char *key, const char *cert_pem,
                  bool sign_entity)
{
    char entity[4096], xml[5120];
    snprintf(entity, sizeof entity,
             "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" ID=\"_e1\" "
             "entityID=\"https://idp.test/e\"><md:IDPSSODescriptor protocolSupportEnumeration="
             "\"urn:oasis:names:tc:SAML:2.0:protocol\"><md:KeyDescriptor><ds:KeyInfo xmlns:ds="
             "\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data><ds:X509Certificate>%s"
             "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
             "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-"
             "Redirect\" Location=\"https://idp.test/sso\"/></md:IDPSSODescriptor>"
             "</md:EntityDescriptor>", cert);
    if (wrap)
        snprintf(xml, sizeof xml, wrap, entity);
    else
        snprintf(xml, sizeof xml, "%s", entity);
    if (!key)
        return strdup(xml);
    xmlDocPtr doc = xmlReadMemory(xml, (int) strlen(xml), "t.xml", NULL, XML_PARSE_NONET);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    xmlNodePtr target = root && sign_entity && wrap ? root->children : root;
    xmlChar *text = NULL;
    int len = 0;
    if (target && sso_xmldsig_sign(doc, target, key, cert_pem) == 0)
        xmlDocDumpMemory(doc, &text, &len);
    xmlFreeDoc(doc);
    char *out = text ? strdup((const char *) text) : NULL;
    xmlFree(text);
    return out;
}

/* Parses xml with signing cert; true when refused with a reason containing expect (NULL: when
   accepted). */
static bool s_signed_case(const char *xml, const char *signing, const char *expect)
{
    char why[600] = "";
    sso_saml_metadata_t *md = xml ? sso_saml_metadata_parse(xml, strlen(xml), signing, why,
                                                            sizeof why)
                                  : NULL;
    bool ok = expect ? !md && strstr(why, expect) : md && !strcmp(md->sso_url,
                                                                  "https://idp.test/sso");
    if (!ok)
        fprintf(stderr, "  expected %s, got %s\n", expect ? expect : "acceptance",
                md ? "acceptance" : why);
    sso_saml_metadata_destroy(&md);
    return ok;
}

/* Signed metadata: checked when the connection names the signing certificate. */
static void s_signed_test(const char *cert_b64)
{
    char *key = NULL, *cert = NULL, *other_key = NULL, *other_cert = NULL;
    SSO_CHECK(sso_xmlsec_init() == 0);
    SSO_CHECK(sso_xmldsig_test_keypair("md-signer.test", &key, &cert) == 0);
    SSO_CHECK(sso_xmldsig_test_keypair("other.test", &other_key, &other_cert) == 0);
    if (!key || !other_key)
        goto done;
    const char *entities = "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:"
                           "metadata\" ID=\"_all\">%s</md:EntitiesDescriptor>";
    char *good = s_md(cert_b64, NULL, key, cert, false);
    char *unsigned_md = s_md(cert_b64, NULL, NULL, NULL, false);
    char *forged = s_md(cert_b64, NULL, other_key, other_cert, false);
    char *root_signed = s_md(cert_b64, entities, key, cert, false);
    char *entity_signed = s_md(cert_b64, entities, key, cert, true);
    SSO_CHECK(s_signed_case(good, cert, NULL));
    SSO_CHECK(s_signed_case(good, NULL, NULL));        /* no certificate named: not checked */
    SSO_CHECK(s_signed_case(unsigned_md, NULL, NULL));
    SSO_CHECK(s_signed_case(root_signed, cert, NULL));
    SSO_CHECK(s_signed_case(entity_signed, cert, NULL));
    SSO_CHECK(s_signed_case(unsigned_md, cert, "the metadata is not signed"));
    SSO_CHECK(s_signed_case(forged, cert, "the metadata's signature: the EntityDescriptor is "
                                          "signed by a certificate with SHA-256 fingerprint"));
    SSO_CHECK(s_signed_case(good, other_cert, "signed by a certificate with SHA-256"));
    /* Changed after signing: another SSO URL. */
    char *changed = good ? strdup(good) : NULL;
    char *at = changed ? strstr(changed, "https://idp.test/sso") : NULL;
    if (at)
        memcpy(at, "https://evl.test/sso", 20);
    SSO_CHECK(at && s_signed_case(changed, cert, "it was changed after signing"));
    /* A signed element elsewhere in the document does not cover the IdP's: an
       EntitiesDescriptor with a signed SP entity and an unsigned IdP one. */
    char wrap[1024];
    char *sp = NULL;
    snprintf(wrap, sizeof wrap, "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:"
             "metadata\"><md:EntityDescriptor ID=\"_sp\" entityID=\"https://sp.test\">"
             "<md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:"
             "protocol\"/></md:EntityDescriptor>%%s</md:EntitiesDescriptor>");
    sp = s_md(cert_b64, wrap, key, cert, true);
    SSO_CHECK(sp && strstr(sp, "SignatureValue") && s_signed_case(sp, cert, "not signed"));
    free(sp);
    free(changed);
    free(good);
    free(unsigned_md);
    free(forged);
    free(root_signed);
    free(entity_signed);
done:
    free(key);
    free(cert);
    free(other_key);
    free(other_cert);
}

void sso_saml_metadata_test(bool verbose)
{
    (void) verbose;
    char why[256];
    char *cert = s_make_cert_b64();
    SSO_CHECK(cert != NULL);
    if (!cert)
        return;
    size_t size = strlen(cert) + 4096;
    char *xml = malloc(size);
    snprintf(xml, size,
             "<?xml version=\"1.0\"?>\n"
             "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
             "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"https://idp.test/e\">"
             "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
             "<md:KeyDescriptor use=\"encryption\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>"
             "bm90IGEgY2VydA==</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
             "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n"
             "  %s\n</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
             "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" "
             "Location=\"https://idp.test/post\"/>"
             "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" "
             "Location=\"https://idp.test/redirect\"/>"
             "</md:IDPSSODescriptor></md:EntityDescriptor>",
             cert);
    sso_saml_metadata_t *md = sso_saml_metadata_parse(xml, strlen(xml), NULL, why, sizeof why);
    SSO_CHECK(md != NULL);
    if (md) {
        SSO_CHECK(strcmp(md->entity_id, "https://idp.test/e") == 0);
        SSO_CHECK(strcmp(md->sso_url, "https://idp.test/redirect") == 0);
        SSO_CHECK(strcmp(md->sso_binding, SSO_SAML_BINDING_REDIRECT) == 0);
        SSO_CHECK(md->n_certificates == 1
                  && strstr(md->certificates[0], "-----BEGIN CERTIFICATE-----"));
    }
    sso_saml_metadata_destroy(&md);
    SSO_CHECK(md == NULL);

    /* Inside EntitiesDescriptor, POST binding only. */
    char *wrapped = malloc(size + 512);
    char *redirect = strstr(xml, "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:"
                                 "bindings:HTTP-Redirect\"");
    if (redirect)
        *redirect = '\0';
    snprintf(wrapped, size + 512,
             "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">"
             "<md:EntityDescriptor entityID=\"https://sp.test\"><md:SPSSODescriptor "
             "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>"
             "</md:EntityDescriptor>%s</md:IDPSSODescriptor></md:EntityDescriptor>"
             "</md:EntitiesDescriptor>",
             strstr(xml, "<md:EntityDescriptor"));
    md = sso_saml_metadata_parse(wrapped, strlen(wrapped), NULL, why, sizeof why);
    SSO_CHECK(md && strcmp(md->sso_url, "https://idp.test/post") == 0
              && strcmp(md->sso_binding, SSO_SAML_BINDING_POST) == 0);
    sso_saml_metadata_destroy(&md);
    free(wrapped);
    free(xml);

    /* Every signing key: use="signing" and no use; a valid encryption-only one is not one.
       validUntil: the earliest of the entity's and its wrapper's, in UTC. */
    char *second = s_make_cert_b64(), *enc = s_make_cert_b64();
    size_t many_size = 3 * strlen(cert) + 4096;
    char *many = malloc(many_size);
    SSO_CHECK(second && enc && many);
    if (second && enc && many) {
        snprintf(many, many_size,
                 "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
                 "validUntil=\"2031-05-06T07:08:09.123+02:00\">"
                 "<md:EntityDescriptor xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" "
                 "entityID=\"https://idp.test/e\" validUntil=\"2031-05-06T07:08:10Z\">"
                 "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:"
                 "protocol\"><md:KeyDescriptor use=\"encryption\"><ds:KeyInfo><ds:X509Data>"
                 "<ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
                 "</md:KeyDescriptor><md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data>"
                 "<ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
                 "</md:KeyDescriptor><md:KeyDescriptor><ds:KeyInfo><ds:X509Data>"
                 "<ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
                 "</md:KeyDescriptor><md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:"
                 "2.0:bindings:HTTP-POST\" Location=\"https://idp.test/post\"/>"
                 "</md:IDPSSODescriptor></md:EntityDescriptor></md:EntitiesDescriptor>",
                 enc, cert, second);
        md = sso_saml_metadata_parse(many, strlen(many), NULL, why, sizeof why);
        char *first_pem = sso_saml_metadata_cert_pem(cert);
        char *second_pem = sso_saml_metadata_cert_pem(second);
        char *enc_pem = sso_saml_metadata_cert_pem(enc);
        SSO_CHECK(md && md->n_certificates == 2 && first_pem && second_pem && enc_pem
                  && !strcmp(md->certificates[0], first_pem)
                  && !strcmp(md->certificates[1], second_pem)
                  && strcmp(md->certificates[0], enc_pem) && strcmp(md->certificates[1], enc_pem));
        /* 2031-05-06T05:08:09Z */
        SSO_CHECK(md && md->valid_until == 1935810489);
        sso_saml_metadata_destroy(&md);
        free(first_pem);
        free(second_pem);
        free(enc_pem);
        /* A validUntil that is not a date is refused, naming it. */
        char *until = strstr(many, "2031-05-06T07:08:10Z");
        if (until)
            memcpy(until, "2031-13-06T07:08:10Z", 20);
        SSO_CHECK(!sso_saml_metadata_parse(many, strlen(many), NULL, why, sizeof why)
                  && strstr(why, "validUntil"));
    }
    free(many);
    free(second);
    free(enc);

    /* Refusals. */
    const char *doctype =
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]>"
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"&b;\"/>";
    SSO_CHECK(!sso_saml_metadata_parse(doctype, strlen(doctype), NULL, why, sizeof why)
              && strstr(why, "DOCTYPE"));
    const char *xxe = "<!doctype x SYSTEM \"file:///etc/passwd\"><x>&xxe;</x>";
    SSO_CHECK(!sso_xml_read_safe(xxe, strlen(xxe), why, sizeof why) && strstr(why, "DOCTYPE"));
    const char *broken = "<md:EntityDescriptor";
    SSO_CHECK(!sso_saml_metadata_parse(broken, strlen(broken), NULL, why, sizeof why)
              && strstr(why, "well-formed"));
    const char *not_md = "<foo/>";
    SSO_CHECK(!sso_saml_metadata_parse(not_md, strlen(not_md), NULL, why, sizeof why)
              && strstr(why, "not SAML metadata"));
    const char *no_idp = "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
                         "entityID=\"x\"/>";
    SSO_CHECK(!sso_saml_metadata_parse(no_idp, strlen(no_idp), NULL, why, sizeof why)
              && strstr(why, "no SAML 2.0"));
    const char *no_cert =
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"x\">"
        "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
        "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" "
        "Location=\"https://idp.test/post\"/></md:IDPSSODescriptor></md:EntityDescriptor>";
    SSO_CHECK(!sso_saml_metadata_parse(no_cert, strlen(no_cert), NULL, why, sizeof why)
              && strstr(why, "certificate"));
    const char *bad_cert =
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
        "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"x\">"
        "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
        "<md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>bm9wZQ=="
        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" "
        "Location=\"https://idp.test/post\"/></md:IDPSSODescriptor></md:EntityDescriptor>";
    SSO_CHECK(!sso_saml_metadata_parse(bad_cert, strlen(bad_cert), NULL, why, sizeof why)
              && strstr(why, "X.509"));
    /* Too deep. */
    size_t deep_size = (SSO_XML_MAX_DEPTH + 2) * 7 + 1;
    char *deep = malloc(deep_size);
    size_t pos = 0;
    for (int i = 0; i < SSO_XML_MAX_DEPTH + 1; i++)
        pos += (size_t) snprintf(deep + pos, deep_size - pos, "<a>");
    for (int i = 0; i < SSO_XML_MAX_DEPTH + 1; i++)
        pos += (size_t) snprintf(deep + pos, deep_size - pos, "</a>");
    SSO_CHECK(!sso_xml_read_safe(deep, pos, why, sizeof why) && strstr(why, "deeply"));
    free(deep);
    /* Too big. */
    SSO_CHECK(!sso_xml_read_safe("<a/>", SSO_XML_MAX_BYTES + 1, why, sizeof why)
              && strstr(why, "larger"));
    free(cert);
    char *signer_cert = s_make_cert_b64();
    SSO_CHECK(signer_cert != NULL);
    if (signer_cert)
        s_signed_test(signer_cert);
    free(signer_cert);
}
