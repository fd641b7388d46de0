/* saml_authn_request: AuthnRequest for the HTTP-Redirect and HTTP-POST bindings. */
#include "saml_authn_request.h"
#include "saml_codec.h"
#include "saml_keycache.h"
#include "saml_response_signature.h"
#include "sso_xmldsig.h"
#include "sso_http.h"
#include "saml_xml.h"
#include "sso_crypto.h"
#include "sso_test.h"
#include "sso_upstream.h"
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SIG_ALG "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"

struct saml_authn_request_t {
    char id[66];
    char *xml;
    char *url;
    char *post_value; /* HTTP-POST: base64 of xml */
};

/* ------------------------------------------------------------------------- encoding */

/* Builds the request with libxml2 so no configured value can change its structure; with
   the POST binding and a key, signed inside (enveloped, after the Issuer as the schema
   wants). The XML as sent, or NULL. */
static char *s_build_xml(const saml_authn_request_config_t *c, const char *id)
{
    char instant[32];
    saml_time_format(c->now, instant, sizeof instant);
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr req = doc ? xmlNewNode(NULL, BAD_CAST "AuthnRequest") : NULL;
    char *out = NULL;
    if (!req) {
        xmlFreeDoc(doc);
        return NULL;
    }
    xmlDocSetRootElement(doc, req);
    xmlNsPtr samlp = xmlNewNs(req, BAD_CAST SAML_NS_PROTOCOL, BAD_CAST "samlp");
    xmlNsPtr saml = xmlNewNs(req, BAD_CAST SAML_NS_ASSERTION, BAD_CAST "saml");
    xmlSetNs(req, samlp);
    xmlNodePtr issuer = NULL, policy = NULL;
    const char *format = c->nameid_format && *c->nameid_format ? c->nameid_format
                                                               : SAML_NAMEID_UNSPECIFIED;
    bool ok = samlp && saml && xmlNewProp(req, BAD_CAST "ID", BAD_CAST id)
              && xmlNewProp(req, BAD_CAST "Version", BAD_CAST "2.0")
              && xmlNewProp(req, BAD_CAST "IssueInstant", BAD_CAST instant)
              && xmlNewProp(req, BAD_CAST "Destination", BAD_CAST c->idp_sso_url)
              && xmlNewProp(req, BAD_CAST "AssertionConsumerServiceURL", BAD_CAST c->acs_url)
              && xmlNewProp(req, BAD_CAST "ProtocolBinding", BAD_CAST SAML_BINDING_POST)
              /* prompt=login or max_age at /oauth/authorize: the IdP must authenticate anew. */
              && (!c->force_authn || xmlNewProp(req, BAD_CAST "ForceAuthn", BAD_CAST "true"))
              && (issuer = xmlNewChild(req, saml, BAD_CAST "Issuer", NULL))
              && xmlAddChild(issuer, xmlNewText(BAD_CAST c->sp_entity_id))
              && (policy = xmlNewChild(req, samlp, BAD_CAST "NameIDPolicy", NULL))
              && xmlNewProp(policy, BAD_CAST "Format", BAD_CAST format)
              && xmlNewProp(policy, BAD_CAST "AllowCreate", BAD_CAST "true");
    if (ok && c->post_binding && c->sp_private_key_pem)
        ok = sso_xmlsec_init() == 0 && c->sp_certificate_pem
             && sso_xmldsig_sign(doc, req, c->sp_private_key_pem, c->sp_certificate_pem) == 0;
    xmlBufferPtr buf = ok ? xmlBufferCreate() : NULL;
    if (buf && xmlNodeDump(buf, doc, req, 0, 0) > 0)
        out = strdup((const char *) xmlBufferContent(buf));
    xmlBufferFree(buf);
    xmlFreeDoc(doc);
    return out;
}

/* Base64 of an RSA-SHA256 signature over text with the PEM private key. Caller frees. */
static char *s_sign(const char *key_pem, const char *text)
{
    /* Parsed once per key text, not once per request (saml_keycache). */
    EVP_PKEY *key = saml_keycache_sp_pkey(key_pem);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    char *out = NULL;
    if (key && md && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA
        && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1
        && EVP_DigestSign(md, NULL, &sig_len, (const unsigned char *) text, strlen(text)) == 1
        && (sig = malloc(sig_len))
        && EVP_DigestSign(md, sig, &sig_len, (const unsigned char *) text, strlen(text)) == 1)
        out = sso_base64_encode(sig, sig_len);
    free(sig);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return out;
}

/* Joins NULL-terminated parts into one malloc'd string. */
static char *s_join(const char *const *parts)
{
    size_t len = 1;
    for (size_t i = 0; parts[i]; i++)
        len += strlen(parts[i]);
    char *out = malloc(len);
    if (!out)
        return NULL;
    size_t pos = 0;
    for (size_t i = 0; parts[i]; i++) {
        size_t n = strlen(parts[i]);
        memcpy(out + pos, parts[i], n);
        pos += n;
    }
    out[pos] = '\0';
    return out;
}

static int s_encode(saml_authn_request_t *self, const saml_authn_request_config_t *c)
{
    if (c->post_binding) {
        /* Bindings 3.5.4: base64 of the XML, no DEFLATE; the signature, if any, is inside. */
        self->post_value = sso_base64_encode((const uint8_t *) self->xml, strlen(self->xml));
        self->url = strdup(c->idp_sso_url);
        return self->post_value && self->url ? 0 : -1;
    }
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    if (saml_deflate((const uint8_t *) self->xml, strlen(self->xml), &raw, &raw_len) != 0)
        return -1;
    char *b64 = sso_base64_encode(raw, raw_len);
    free(raw);
    char *request = b64 ? sso_url_encode(b64) : NULL;
    char *relay = c->relay_state && *c->relay_state ? sso_url_encode(c->relay_state) : NULL;
    char *alg = sso_url_encode(S_SIG_ALG);
    free(b64);
    int rc = -1;
    char *query = NULL, *signature = NULL, *sig_enc = NULL;
    bool has_relay = c->relay_state && *c->relay_state;
    if (request && alg && (relay || !has_relay)) {
        /* Bindings 3.4.4.1: the signed octets are exactly the query as sent, in this order. */
        const char *parts[] = {"SAMLRequest=", request, has_relay ? "&RelayState=" : "",
                               has_relay ? relay : "", c->sp_private_key_pem ? "&SigAlg=" : "",
                               c->sp_private_key_pem ? alg : "", NULL};
        query = s_join(parts);
    }
    if (query && c->sp_private_key_pem) {
        signature = s_sign(c->sp_private_key_pem, query);
        sig_enc = signature ? sso_url_encode(signature) : NULL;
    }
    if (query && (!c->sp_private_key_pem || sig_enc)) {
        size_t n = strlen(c->idp_sso_url);
        const char *sep = !strchr(c->idp_sso_url, '?') ? "?"
                          : (c->idp_sso_url[n - 1] == '?' || c->idp_sso_url[n - 1] == '&') ? ""
                                                                                           : "&";
        const char *parts[] = {c->idp_sso_url, sep, query, sig_enc ? "&Signature=" : "",
                               sig_enc ? sig_enc : "", NULL};
        self->url = s_join(parts);
        rc = self->url ? 0 : -1;
    }
    free(request);
    free(relay);
    free(alg);
    free(query);
    free(signature);
    free(sig_enc);
    return rc;
}

static bool s_url_ok(const char *url)
{
    if (!url || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0))
        return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char) *p <= ' ' || *p == '#' || (unsigned char) *p >= 0x7f)
            return false;
    return strlen(url) < 2048;
}

saml_authn_request_t *saml_authn_request_new(const saml_authn_request_config_t *config,
                                             char *why, size_t why_size)
{
    if (!config->sp_entity_id || !*config->sp_entity_id || !s_url_ok(config->acs_url)
        || !s_url_ok(config->idp_sso_url)) {
        snprintf(why, why_size, "authn request: the SP entity id, an http(s) ACS URL and an "
                 "http(s) IdP SSO URL (no fragment, no spaces) are required");
        return NULL;
    }
    if (config->relay_state && strlen(config->relay_state) > 80) {
        snprintf(why, why_size, "authn request: RelayState must be at most 80 bytes");
        return NULL;
    }
    size_t id_len = config->id ? strlen(config->id) : 0;
    if (config->id && (id_len < 17 || id_len > 65 || config->id[0] != '_'
                       || strspn(config->id + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                 "0123456789_.-") != id_len - 1)) {
        /* An NCName (xs:ID) of ours: '_' then name characters; '.' for a test login's
           "test." transaction (lib/sso_upstream). */
        snprintf(why, why_size, "authn request: the request ID must be \"_\" and 16 to 64 "
                 "characters of [A-Za-z0-9._-]");
        return NULL;
    }
    saml_authn_request_t *self = calloc(1, sizeof *self);
    uint8_t random[16];
    if (!self || (!config->id && sso_random_bytes(random, sizeof random) != 0)) {
        free(self);
        snprintf(why, why_size, "authn request: out of memory or randomness");
        return NULL;
    }
    static const char hex[] = "0123456789abcdef";
    /* IDs are xs:ID (an NCName), so they may not start with a digit: hence "_". */
    self->id[0] = '_';
    for (size_t i = 0; !config->id && i < sizeof random; i++) {
        self->id[1 + 2 * i] = hex[random[i] >> 4];
        self->id[2 + 2 * i] = hex[random[i] & 15];
    }
    self->id[1 + 2 * sizeof random] = '\0';
    if (config->id)
        snprintf(self->id, sizeof self->id, "%s", config->id);
    self->xml = s_build_xml(config, self->id);
    if (!self->xml || s_encode(self, config) != 0) {
        snprintf(why, why_size, "authn request: could not encode%s",
                 config->sp_private_key_pem ? " or sign (are the SP key and certificate RSA "
                                              "PEM?)"
                                            : "");
        saml_authn_request_destroy(&self);
    }
    return self;
}

void saml_authn_request_destroy(saml_authn_request_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->xml);
    free((*self_p)->url);
    free((*self_p)->post_value);
    free(*self_p);
    *self_p = NULL;
}

const char *saml_authn_request_id(const saml_authn_request_t *self)
{
    return self->id;
}

const char *saml_authn_request_url(const saml_authn_request_t *self)
{
    return self->url;
}

const char *saml_authn_request_post_value(const saml_authn_request_t *self)
{
    return self->post_value;
}

const char *saml_authn_request_xml(const saml_authn_request_t *self)
{
    return self->xml;
}

/* ------------------------------------------------------------------------- self-test */

static char *s_query_param(const char *url, const char *name)
{
    const char *q = strchr(url, '?');
    size_t n = strlen(name);
    for (const char *p = q; p && *p; p = strchr(p + 1, '&'))
        if (strncmp(p + 1, name, n) == 0 && p[1 + n] == '=') {
            const char *v = p + 2 + n;
            size_t len = strcspn(v, "&");
            char *out = malloc(len + 1);
            size_t j = 0;
            for (size_t i = 0; out && i < len; i++) {
                if (v[i] == '%' && i + 2 < len + 1) {
                    char hex[3] = {v[i + 1], v[i + 2], 0};
                    out[j++] = (char) strtol(hex, NULL, 16);
                    i += 2;
                }
                else
                    out[j++] = v[i];
            }
            if (out)
                out[j] = '\0';
            return out;
        }
    return NULL;
}

/* Whether the enveloped signature of the HTTP-POST request xml verifies with cert_pem alone
   (KeyInfo unused), with the shape the ACS demands of IdPs: one Reference to "#" + the
   request's ID, exclusive c14n, RSA-SHA256, SHA-256 digest. */
static bool s_post_signature_verifies(const char *xml, const char *cert_pem)
{
    char why[256];
    saml_result_t result = {0};
    xmlDocPtr doc = xmlReadMemory(xml, (int) strlen(xml), "r.xml", NULL, XML_PARSE_NONET);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL, sig = NULL;
    saml_response_signature_t *verifier = saml_response_signature_new(false);
    bool ok = root && verifier
              && saml_response_signature_add_certificate(verifier, cert_pem, why, sizeof why) == 0
              && saml_response_signature_of(&result, root, "AuthnRequest", &sig) == SAML_OK && sig
              && saml_response_signature_verify(verifier, &result, doc, root, sig,
                                                "AuthnRequest")
                     == SAML_OK;
    saml_response_signature_destroy(&verifier);
    xmlFreeDoc(doc);
    return ok;
}

/* The HTTP-POST binding: the SAMLRequest value is base64 of the XML as built, posted to the
   SSO URL as it is; signed, an enveloped signature that verifies with the SP certificate
   only and breaks with any change; NameIDPolicy asks for the connection's format. */
static void s_post_test(const saml_authn_request_config_t *base, const char *cert)
{
    char *other_key = NULL, *other_cert = NULL;
    SSO_CHECK(sso_xmldsig_test_keypair("other.test", &other_key, &other_cert) == 0);
    saml_authn_request_config_t c = *base;
    c.sp_certificate_pem = cert;
    c.post_binding = true;
    c.nameid_format = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
    c.id = "_0123456789abcdef0123";
    const char *key = c.sp_private_key_pem;
    char why[256];
    saml_authn_request_t *r = saml_authn_request_new(&c, why, sizeof why);
    SSO_CHECK(r && !strcmp(saml_authn_request_url(r), c.idp_sso_url));
    size_t len = 0;
    char *xml = r ? (char *) sso_base64_decode(saml_authn_request_post_value(r), &len, false)
                  : NULL;
    char *text = xml ? strndup(xml, len) : NULL;
    SSO_CHECK(text && !strcmp(text, saml_authn_request_xml(r)));
    SSO_CHECK(text && strstr(text, "<samlp:NameIDPolicy Format=\"urn:oasis:names:tc:SAML:2.0:"
                                   "nameid-format:persistent\" AllowCreate=\"true\"/>"));
    /* Signature right after the Issuer, RSA-SHA256 over exclusive c14n, SHA-256 digest, its
       one Reference the request's ID. */
    SSO_CHECK(text && strstr(text, "</saml:Issuer><Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\">")
              && strstr(text, "Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"")
              && strstr(text, "Algorithm=\"" S_SIG_ALG "\"")
              && strstr(text, "Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"")
              && strstr(text, "<Reference URI=\"#_0123456789abcdef0123\">"));
    SSO_CHECK(text && s_post_signature_verifies(text, cert));
    SSO_CHECK(text && !s_post_signature_verifies(text, other_cert));
    char *at = text ? strstr(text, "conn_1/acs") : NULL;
    if (at)
        at[5] = '2'; /* another ACS: the digest no longer matches */
    SSO_CHECK(at && !s_post_signature_verifies(text, cert));
    free(text);
    free(xml);
    saml_authn_request_destroy(&r);
    /* Unsigned: no signature; signed without the certificate for KeyInfo: refused. */
    c.sp_private_key_pem = NULL;
    r = saml_authn_request_new(&c, why, sizeof why);
    SSO_CHECK(r && !strstr(saml_authn_request_xml(r), "Signature")
              && !strstr(saml_authn_request_url(r), "SAMLRequest"));
    saml_authn_request_destroy(&r);
    c.sp_private_key_pem = key;
    c.sp_certificate_pem = NULL;
    SSO_CHECK(!saml_authn_request_new(&c, why, sizeof why) && strstr(why, "sign"));
    free(other_key);
    free(other_cert);
}

void saml_authn_request_test(bool verbose)
{
    /* DEFLATE round trip on repetitive and on incompressible data. */
    const char *text = "abcabcabcabcabcabc urn:oasis:names:tc:SAML:2.0:protocol "
                       "urn:oasis:names:tc:SAML:2.0:assertion";
    uint8_t *z = NULL, back[512];
    size_t z_len = 0;
    SSO_CHECK(saml_deflate((const uint8_t *) text, strlen(text), &z, &z_len) == 0
              && z_len < strlen(text));
    SSO_CHECK(z && saml_inflate_into(z, z_len, back, sizeof back) == strlen(text)
              && memcmp(back, text, strlen(text)) == 0);
    free(z);
    uint8_t noise[300];
    SSO_CHECK(sso_random_bytes(noise, sizeof noise) == 0);
    SSO_CHECK(saml_deflate(noise, sizeof noise, &z, &z_len) == 0);
    SSO_CHECK(saml_inflate_into(z, z_len, back, sizeof back) == sizeof noise
              && memcmp(back, noise, sizeof noise) == 0);
    free(z);

    char *key = NULL, *cert = NULL;
    SSO_CHECK(sso_xmldsig_test_keypair("sp.test", &key, &cert) == 0);
    saml_authn_request_config_t c = {
        .sp_entity_id = "https://sso.test/sso/saml/conn_1",
        .acs_url = "https://sso.test/sso/saml/conn_1/acs",
        .idp_sso_url = "https://idp.test/sso?tenant=a&x=1",
        .relay_state = "tx_123 &=",
        .sp_private_key_pem = key,
        .now = 1767323045,
    };
    s_post_test(&c, cert);
    char why[256];
    saml_authn_request_t *r = saml_authn_request_new(&c, why, sizeof why);
    SSO_CHECK(r != NULL);
    if (r) {
        const char *url = saml_authn_request_url(r);
        if (verbose)
            printf("  %s\n  %s\n", saml_authn_request_xml(r), url);
        SSO_CHECK(strlen(saml_authn_request_id(r)) == 33 && saml_authn_request_id(r)[0] == '_');
        SSO_CHECK(strncmp(url, "https://idp.test/sso?tenant=a&x=1&SAMLRequest=", 46) == 0);
        SSO_CHECK(strstr(url, "&RelayState=tx_123%20%26%3D&SigAlg=http%3A%2F%2Fwww.w3.org"));
        SSO_CHECK(strstr(url, "&Signature="));
        char *request = s_query_param(url, "SAMLRequest");
        size_t raw_len = 0, n = 0;
        uint8_t *raw = request ? sso_base64_decode(request, &raw_len, false) : NULL;
        uint8_t xml[4096];
        n = raw ? saml_inflate_into(raw, raw_len, xml, sizeof xml - 1) : 0;
        xml[n] = '\0';
        SSO_CHECK(n > 0 && strcmp((char *) xml, saml_authn_request_xml(r)) == 0);
        SSO_CHECK(strstr((char *) xml, "ProtocolBinding=\"" SAML_BINDING_POST "\"")
                  && strstr((char *) xml, "AssertionConsumerServiceURL=\"https://sso.test/sso/"
                                          "saml/conn_1/acs\"")
                  && strstr((char *) xml, "Destination=\"https://idp.test/sso?tenant=a&amp;x=1\"")
                  && strstr((char *) xml, "IssueInstant=\"2026-01-02T03:04:05Z\"")
                  && strstr((char *) xml, "<saml:Issuer>https://sso.test/sso/saml/conn_1</saml:Issuer>")
                  && strstr((char *) xml, "AllowCreate=\"true\""));
        SSO_CHECK(!strstr((char *) xml, "ForceAuthn")
                  && strstr((char *) xml, "<samlp:NameIDPolicy Format=\"" SAML_NAMEID_UNSPECIFIED));
        SSO_CHECK(!saml_authn_request_post_value(r) && !strstr((char *) xml, "Signature"));
        /* The signature verifies over the query exactly as sent. */
        const char *q = strstr(url, "SAMLRequest=");
        const char *s = strstr(url, "&Signature=");
        char *signature = s_query_param(url, "Signature");
        size_t sig_len = 0;
        uint8_t *sig = signature ? sso_base64_decode(signature, &sig_len, false) : NULL;
        BIO *bio = BIO_new_mem_buf(cert, -1);
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        EVP_PKEY *pub = x ? X509_get_pubkey(x) : NULL;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        SSO_CHECK(q && s && sig && pub && md
                  && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1
                  && EVP_DigestVerify(md, sig, sig_len, (const unsigned char *) q,
                                      (size_t) (s - q)) == 1);
        EVP_MD_CTX_free(md);
        EVP_PKEY_free(pub);
        X509_free(x);
        BIO_free(bio);
        free(sig);
        free(signature);
        free(raw);
        free(request);
    }
    saml_authn_request_destroy(&r);
    SSO_CHECK(r == NULL);
    /* Unsigned, plain SSO URL, hostile entity id stays text. */
    c.sp_private_key_pem = NULL;
    c.relay_state = NULL;
    c.idp_sso_url = "https://idp.test/sso";
    c.sp_entity_id = "x\"><evil/>";
    c.force_authn = true;
    r = saml_authn_request_new(&c, why, sizeof why);
    SSO_CHECK(r && strstr(saml_authn_request_xml(r), "ForceAuthn=\"true\""));
    saml_authn_request_destroy(&r);
    c.force_authn = false;
    r = saml_authn_request_new(&c, why, sizeof why);
    SSO_CHECK(r && strncmp(saml_authn_request_url(r), "https://idp.test/sso?SAMLRequest=", 33) == 0
              && !strstr(saml_authn_request_url(r), "Signature")
              && strstr(saml_authn_request_xml(r), "x\"&gt;&lt;evil/&gt;"));
    saml_authn_request_destroy(&r);
    /* The transaction's own ID is used as given; one that is no xs:ID of ours is refused. */
    c.id = "_Abc-def_0123456789xyz";
    r = saml_authn_request_new(&c, why, sizeof why);
    SSO_CHECK(r && !strcmp(saml_authn_request_id(r), c.id)
              && strstr(saml_authn_request_xml(r), "ID=\"_Abc-def_0123456789xyz\""));
    saml_authn_request_destroy(&r);
    /* A test login's: "_" and its "test." transaction id. */
    c.id = "_" SSO_UPSTREAM_TEST_PREFIX "AAAAbbbbCCCCddddEEEEffffGGGGhhhh";
    r = saml_authn_request_new(&c, why, sizeof why);
    SSO_CHECK(r && !strcmp(saml_authn_request_id(r), c.id));
    saml_authn_request_destroy(&r);
    const char *bad_ids[] = {"", "_", "_short", "0123456789abcdefghij", "_abc\"def0123456789",
                             "_abc def0123456789xx", "_abc<def0123456789xx",
                             "_0123456789012345678901234567890123456789012345678901234567890123X"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++) {
        c.id = bad_ids[i];
        SSO_CHECK(saml_authn_request_new(&c, why, sizeof why) == NULL
                  && strstr(why, "request ID"));
    }
    c.id = NULL;
    c.idp_sso_url = "javascript:alert(1)";
    SSO_CHECK(saml_authn_request_new(&c, why, sizeof why) == NULL && strstr(why, "SSO URL"));
    /* Another NameID format, and a hostile one (the directory allows only four) stays an
       attribute's text. */
    c.idp_sso_url = "https://idp.test/sso";
    c.nameid_format = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
    r = saml_authn_request_new(&c, why, sizeof why);
    SSO_CHECK(r && strstr(saml_authn_request_xml(r), "Format=\"urn:oasis:names:tc:SAML:1.1:"
                                                     "nameid-format:emailAddress\""));
    saml_authn_request_destroy(&r);
    c.nameid_format = "x\"/><evil";
    r = saml_authn_request_new(&c, why, sizeof why);
    SSO_CHECK(r && strstr(saml_authn_request_xml(r), "Format=\"x&quot;/&gt;&lt;evil\""));
    saml_authn_request_destroy(&r);
    free(key);
    free(cert);
}
