/* saml_response_decode: base64, the hardened parse and the document's shape, before any
   signature is looked at. */
#include "saml_response_decode.h"
#include "saml_response_testkit.h"
#include "saml_xml.h"
#include "sso_crypto.h"
#include "sso_saml_metadata.h"
#include "sso_test.h"
#include <libxml/hash.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NS_XML "http://www.w3.org/XML/1998/namespace"
#define S_NS_XLINK "http://www.w3.org/1999/xlink"
#define S_NS_XINCLUDE "http://www.w3.org/2001/XInclude"
#define S_NS_XINCLUDE_2003 "http://www.w3.org/2003/XInclude"

/* Base64 classes by byte: 1 + the value for the standard alphabet, S_B64_PAD for '=',
   S_B64_SPACE for the blanks IdPs wrap lines with, 0 for anything else. A lookup per byte
   instead of a chain of comparisons: decoding was a tenth of the validation's CPU. */
#define S_B64_PAD 65
#define S_B64_SPACE 66
static unsigned char s_b64[256];
static pthread_once_t s_b64_once = PTHREAD_ONCE_INIT;

static void s_b64_init(void)
{
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; i++)
        s_b64[(unsigned char) alphabet[i]] = (unsigned char) (i + 1);
    s_b64['='] = S_B64_PAD;
    s_b64[' '] = s_b64['\t'] = s_b64['\r'] = s_b64['\n'] = S_B64_SPACE;
}

saml_error_t saml_response_decode_base64(saml_result_t *result, const char *b64, uint8_t **out,
                                         size_t *len)
{
    if (!b64 || !*b64)
        return saml_fail(result, SAML_ERR_INPUT, "input: the SAMLResponse parameter is empty");
    pthread_once(&s_b64_once, s_b64_init);
    /* Line breaks are allowed (some IdPs wrap at 76 columns); anything else outside the
       standard alphabet is refused rather than skipped. Four alphabet characters at a time
       while they last (the && stops at the NUL); a step never spans an error, so the first
       error found is the one a character-by-character scan finds. */
    const unsigned char *p = (const unsigned char *) b64;
    size_t n = 0, significant = 0;
    for (;;) {
        if (s_b64[p[n]] - 1u < 65 && s_b64[p[n + 1]] - 1u < 65 && s_b64[p[n + 2]] - 1u < 65
            && s_b64[p[n + 3]] - 1u < 65) {
            n += 4;
            significant += 4;
        }
        else if (!p[n])
            break;
        else if (!s_b64[p[n]])
            return saml_fail(result, SAML_ERR_INPUT, "input: the SAMLResponse is not base64 "
                          "(unexpected character 0x%02x at offset %zu)", p[n], n);
        else
            significant += s_b64[p[n++]] != S_B64_SPACE;
        /* n counts the characters read: "index > 2 MB" as the check has always been. */
        if (significant > (SAML_RESPONSE_MAX_BYTES / 3 + 1) * 4
            || n > 2 * SAML_RESPONSE_MAX_BYTES + 1)
            return saml_fail(result, SAML_ERR_INPUT,
                             "input: the SAMLResponse is larger than %d bytes",
                             SAML_RESPONSE_MAX_BYTES);
    }
    if (significant % 4 != 0)
        return saml_fail(result, SAML_ERR_INPUT,
                         "input: the SAMLResponse is not base64 (length %zu "
                         "is not a multiple of 4)",
                         significant);
    /* The rules of sso_base64_decode (the self-test compares the two): blanks skipped, at most
       two '=' and nothing after them, no leftover bits. */
    uint8_t *buf = malloc(significant / 4 * 3 + 1);
    if (!buf)
        return saml_fail(result, SAML_ERR_INTERNAL, "internal: out of memory");
    uint32_t acc = 0;
    int bits = 0;
    size_t pos = 0, padding = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < n;) {
        /* A whole quantum of four values on a quantum boundary: three bytes at once. */
        if (bits == 0 && padding == 0 && n - i >= 4) {
            unsigned a = s_b64[p[i]] - 1u, b = s_b64[p[i + 1]] - 1u, c = s_b64[p[i + 2]] - 1u,
                     d = s_b64[p[i + 3]] - 1u;
            if ((a | b | c | d) < 64) {
                buf[pos++] = (uint8_t) (a << 2 | b >> 4);
                buf[pos++] = (uint8_t) (b << 4 | c >> 2);
                buf[pos++] = (uint8_t) (c << 6 | d);
                i += 4;
                continue;
            }
        }
        unsigned char c = s_b64[p[i++]];
        if (c == S_B64_SPACE)
            continue;
        if (c == S_B64_PAD) {
            padding++;
            continue;
        }
        ok = padding == 0;
        acc = acc << 6 | (uint32_t) (c - 1);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[pos++] = (uint8_t) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (!ok || bits >= 6 || acc != 0 || padding > 2) {
        free(buf);
        return saml_fail(result, SAML_ERR_INPUT, "input: the SAMLResponse is not valid base64");
    }
    buf[pos] = '\0';
    *out = buf;
    *len = pos;
    if (*len > SAML_RESPONSE_MAX_BYTES) {
        free(*out);
        *out = NULL;
        return saml_fail(result, SAML_ERR_INPUT, "input: the SAMLResponse is larger than %d bytes",
                      SAML_RESPONSE_MAX_BYTES);
    }
    return SAML_OK;
}

saml_error_t saml_response_decode(saml_result_t *result, const char *b64, xmlDocPtr *doc)
{
    uint8_t *xml = NULL;
    size_t len = 0;
    *doc = NULL;
    saml_error_t rc = saml_response_decode_base64(result, b64, &xml, &len);
    if (rc)
        return rc;
    char why[256];
    *doc = sso_xml_read_safe((const char *) xml, len, why, sizeof why);
    free(xml);
    if (!*doc)
        return saml_fail(result, SAML_ERR_XML, "xml: %s", why);
    return SAML_OK;
}

saml_error_t saml_response_decode_check_root(saml_result_t *result, xmlNodePtr root)
{
    if (!sso_xml_is(root, SAML_NS_PROTOCOL, "Response"))
        return saml_fail(result, SAML_ERR_STRUCTURE, "structure: expected a samlp:Response, "
                         "got %.100s", root ? (const char *) root->name : "nothing");
    char *version = sso_xml_attr(root, "Version");
    bool v2 = version && strcmp(version, "2.0") == 0;
    free(version);
    if (!v2)
        return saml_fail(result, SAML_ERR_STRUCTURE, "structure: the Response Version must be "
                         "2.0");
    return SAML_OK;
}

typedef struct {
    xmlHashTablePtr ids;
    bool has_duplicate;
    char duplicate[201];
    size_t assertions;       /* saml:Assertion anywhere */
    size_t encrypted;        /* saml:EncryptedAssertion anywhere */
} s_scan_t;

/* Walks the whole tree (depth already bounded by the reader): counts assertions wherever they
   hide (Advice, Extensions, ds:Object...) and finds any ID value used twice. */
static void s_scan(xmlNodePtr node, s_scan_t *scan)
{
    for (; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        scan->assertions += sso_xml_is(node, SAML_NS_ASSERTION, "Assertion");
        scan->encrypted += sso_xml_is(node, SAML_NS_ASSERTION, "EncryptedAssertion");
        for (xmlAttrPtr attr = node->properties; attr; attr = attr->next) {
            const char *name = (const char *) attr->name;
            bool id_like = (!attr->ns && (strcmp(name, "ID") == 0 || strcmp(name, "Id") == 0
                                          || strcmp(name, "id") == 0))
                           || (attr->ns && attr->ns->prefix
                               && strcmp((const char *) attr->ns->prefix, "xml") == 0
                               && strcmp(name, "id") == 0);
            if (!id_like || scan->has_duplicate)
                continue;
            xmlChar *value = xmlNodeListGetString(node->doc, attr->children, 1);
            if (value && xmlHashAddEntry(scan->ids, value, (void *) 1) != 0) {
                scan->has_duplicate = true;
                snprintf(scan->duplicate, sizeof scan->duplicate, "%s", (const char *) value);
            }
            xmlFree(value);
        }
        s_scan(node->children, scan);
    }
}

saml_error_t saml_response_decode_check_structure(saml_result_t *result, xmlNodePtr root)
{
    s_scan_t scan = {.ids = xmlHashCreate(64)};
    if (!scan.ids)
        return saml_fail(result, SAML_ERR_INTERNAL, "internal: out of memory");
    s_scan(root, &scan);
    saml_error_t rc = SAML_OK;
    if (scan.has_duplicate)
        rc = saml_fail(result, SAML_ERR_STRUCTURE,
                       "structure: duplicate ID \"%.200s\": every ID in "
                       "the document must be unique",
                       scan.duplicate);
    else if (scan.assertions + scan.encrypted != 1)
        rc = saml_fail(result, SAML_ERR_STRUCTURE,
                       "assertion: expected exactly one Assertion or "
                       "EncryptedAssertion in the document, found %zu",
                       scan.assertions + scan.encrypted);
    else if (sso_xml_count_children(root, SAML_NS_ASSERTION, "Assertion")
                 + sso_xml_count_children(root, SAML_NS_ASSERTION, "EncryptedAssertion") != 1)
        rc = saml_fail(result, SAML_ERR_STRUCTURE,
                       "assertion: the assertion must be a direct child "
                       "of the Response, found one nested deeper");
    xmlHashFree(scan.ids, NULL);
    return rc;
}

static bool s_is_xinclude(xmlNodePtr node)
{
    const char *ns = node->ns && node->ns->href ? (const char *) node->ns->href : "";
    return !strcmp(ns, S_NS_XINCLUDE) || !strcmp(ns, S_NS_XINCLUDE_2003);
}

/* "xenc:CipherReference": node's name with the prefix its namespace is known by here. */
static void s_qname(xmlNodePtr node, char *out, size_t size)
{
    const char *ns = node->ns && node->ns->href ? (const char *) node->ns->href : "";
    const char *prefix = !strcmp(ns, SAML_NS_XENC) ? "xenc:" : !strcmp(ns, SAML_NS_DSIG) ? "ds:"
                         : !strcmp(ns, SAML_NS_ASSERTION) ? "saml:"
                         : s_is_xinclude(node)            ? "xi:"
                                                          : "";
    snprintf(out, size, "%s%.100s", prefix, (const char *) node->name);
}

/* "the EncryptedKey's KeyInfo": the encrypted part node sits in, for the reason. */
static void s_encrypted_part(xmlNodePtr node, char *out, size_t size)
{
    bool in_key_info = false;
    const char *owner = "Response";
    for (xmlNodePtr p = node->parent; p && p->type == XML_ELEMENT_NODE; p = p->parent) {
        if (sso_xml_is(p, SAML_NS_XENC, "EncryptedKey")
            || sso_xml_is(p, SAML_NS_XENC, "EncryptedData")
            || sso_xml_is(p, SAML_NS_ASSERTION, "EncryptedAssertion")) {
            owner = (const char *) p->name;
            break;
        }
        in_key_info |= sso_xml_is(p, SAML_NS_DSIG, "KeyInfo");
    }
    snprintf(out, size, "the %s%s", owner, in_key_info ? "'s KeyInfo" : "");
}

/* Refuses, before any decryption, whatever under the EncryptedAssertion (EncryptedData,
   EncryptedKey, their KeyInfo) would have a URI dereferenced: CipherReference and
   RetrievalMethod whatever they point at, XInclude, xml:base, xlink:href, and any other URI
   that is not "#id" in this document. The SP's encryption certificate is public, so anyone can
   send these; the service fetches nothing, and its I/O handlers are gone as well
   (sso_xmlsec_init). */
saml_error_t saml_response_decode_refuse_fetches(saml_result_t *result, xmlNodePtr node)
{
    if (node->type != XML_ELEMENT_NODE)
        return SAML_OK;
    const char *why = NULL, *attr_name = "URI";
    char *value = NULL;
    if (sso_xml_is(node, SAML_NS_XENC, "CipherReference"))
        why = "the cipher text must be inline";
    else if (sso_xml_is(node, SAML_NS_DSIG, "RetrievalMethod"))
        why = "key material must be inline";
    else if (s_is_xinclude(node)) {
        why = "XInclude is never processed";
        attr_name = "href";
    }
    if (why)
        value = sso_xml_attr(node, attr_name);
    for (xmlAttrPtr attr = node->properties; !why && attr; attr = attr->next) {
        const char *name = (const char *) attr->name;
        const char *ns = attr->ns && attr->ns->href ? (const char *) attr->ns->href : NULL;
        bool base = ns && ((!strcmp(ns, S_NS_XML) && !strcmp(name, "base"))
                           || (!strcmp(ns, S_NS_XLINK) && !strcmp(name, "href")));
        if (!base && (ns || strcmp(name, "URI") != 0))
            continue;
        xmlChar *text = xmlNodeListGetString(node->doc, attr->children, 1);
        value = strdup(text ? (const char *) text : "");
        xmlFree(text);
        if (!value)
            return saml_fail(result, SAML_ERR_INTERNAL, "internal: out of memory");
        if (base || value[0] != '#') {
            why = "only same-document references (\"#id\") are allowed";
            attr_name = base ? (!strcmp(name, "base") ? "xml:base" : "xlink:href") : "URI";
        }
        else {
            free(value);
            value = NULL;
        }
    }
    if (why) {
        char what[128], where[64];
        s_qname(node, what, sizeof what);
        s_encrypted_part(node, where, sizeof where);
        saml_fail(result, SAML_ERR_DECRYPTION, "decryption: %s %s=\"%.200s\" in %s: refused before "
               "decryption; %s, and nothing is fetched", what, attr_name, value ? value : "",
               where, why);
        free(value);
        return SAML_ERR_DECRYPTION;
    }
    for (xmlNodePtr child = node->children; child; child = child->next) {
        saml_error_t rc = saml_response_decode_refuse_fetches(result, child);
        if (rc)
            return rc;
    }
    return SAML_OK;
}

/* ------------------------------------------------------------------ self-test */

/* The decoding saml_response_decode_base64 replaced (its checks, then sso_base64_decode), as the
   reference the table-driven decoder must agree with byte for byte and refusal for refusal. */
static saml_error_t s_decode_reference(const char *b64, uint8_t **out, size_t *len)
{
    if (!*b64)
        return SAML_ERR_INPUT;
    size_t significant = 0;
    for (size_t n = 0; b64[n]; n++) {
        char c = b64[n];
        bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                     || c == '+' || c == '/' || c == '=';
        if (alpha)
            significant++;
        else if (c != '\r' && c != '\n' && c != ' ' && c != '\t')
            return SAML_ERR_INPUT;
    }
    if (significant % 4 != 0)
        return SAML_ERR_INPUT;
    *out = sso_base64_decode(b64, len, true);
    return *out ? SAML_OK : SAML_ERR_INPUT;
}

static void s_base64_test(void)
{
    /* Inputs from an alphabet rich in the edge cases: padding, blanks, junk ('-', '!'). */
    const char pool[] = "AQgw/+9=  =\n\t-!Z";
    uint32_t seed = 12345;
    size_t mismatches = 0, accepted = 0;
    for (int i = 0; i < 200000 && mismatches < 5; i++) {
        char text[48];
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 16) % 45;
        /* Half the strings only rarely leave the alphabet, so long valid runs are common. */
        unsigned odd = i % 2 ? 1 : 8;
        for (size_t k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = seed >> 16;
            text[k] = r % odd == 0 ? pool[(r / 8) % (sizeof pool - 1)] : "AQgw/+9Z"[(r / 8) % 8];
        }
        text[n] = '\0';
        uint8_t *a = NULL, *b = NULL;
        size_t a_len = 0, b_len = 0;
        saml_result_t result = {0};
        saml_error_t ra = saml_response_decode_base64(&result, text, &a, &a_len);
        saml_error_t rb = s_decode_reference(text, &b, &b_len);
        bool same = ra == rb && (ra != SAML_OK || (a_len == b_len && memcmp(a, b, a_len) == 0));
        if (!same && ++mismatches)
            fprintf(stderr,
                    "  saml_response_decode_base64(\"%s\") disagrees with sso_base64_decode\n",
                    text);
        accepted += ra == SAML_OK;
        free(a);
        free(b);
    }
    SSO_CHECK(mismatches == 0 && accepted > 1000);
    /* And on a whole signed response's worth of text, wrapped at 76 columns. */
    uint8_t raw[3000];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (uint8_t) (i * 7 + i / 13);
    char *flat = sso_base64_encode(raw, sizeof raw);
    char *wrapped = flat ? malloc(strlen(flat) + strlen(flat) / 76 + 1) : NULL;
    if (wrapped) {
        size_t w = 0;
        for (size_t i = 0; flat[i]; i++) {
            wrapped[w++] = flat[i];
            if (i % 76 == 75)
                wrapped[w++] = '\n';
        }
        wrapped[w] = '\0';
    }
    uint8_t *back = NULL;
    size_t back_len = 0;
    saml_result_t result = {0};
    SSO_CHECK(wrapped && saml_response_decode_base64(&result, wrapped, &back, &back_len) == SAML_OK
              && back_len == sizeof raw && memcmp(back, raw, sizeof raw) == 0);
    free(back);
    free(flat);
    free(wrapped);
}

/* Decodes b64 and runs the shape checks as saml_response does; the first refusal. */
static saml_error_t s_shape(const char *b64, saml_result_t *result)
{
    xmlDocPtr doc = NULL;
    saml_error_t rc = saml_response_decode(result, b64, &doc);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (rc == SAML_OK)
        rc = saml_response_decode_check_root(result, root);
    if (rc == SAML_OK)
        rc = saml_response_decode_check_structure(result, root);
    xmlNodePtr encrypted = sso_xml_child(root, SAML_NS_ASSERTION, "EncryptedAssertion");
    if (rc == SAML_OK && encrypted)
        rc = saml_response_decode_refuse_fetches(result, encrypted);
    xmlFreeDoc(doc);
    return rc;
}

static bool s_refused(const char *b64, saml_error_t code, const char *text)
{
    saml_result_t result = {0};
    saml_error_t rc = s_shape(b64, &result);
    bool ok = rc == code && result.error == code && strstr(result.reason, text) != NULL;
    if (!ok)
        fprintf(stderr, "  expected %s/%s, got %s: %s\n", saml_error_name(code), text,
                saml_error_name(rc), result.reason);
    return ok;
}

static bool s_xml_refused(const char *xml, saml_error_t code, const char *text)
{
    char *b64 = sso_base64_encode((const uint8_t *) xml, strlen(xml));
    bool ok = b64 && s_refused(b64, code, text);
    free(b64);
    return ok;
}

void saml_response_decode_test(bool verbose)
{
    (void) verbose;
    SSO_CHECK(sso_xmlsec_init() == 0);
    s_base64_test();
    SSO_CHECK(s_refused("", SAML_ERR_INPUT, "empty"));
    SSO_CHECK(s_refused("PD94b-Ww", SAML_ERR_INPUT, "not base64"));
    SSO_CHECK(s_refused("PGE+", SAML_ERR_XML, "xml: "));
    SSO_CHECK(s_xml_refused("<!DOCTYPE x><x/>", SAML_ERR_XML, "DOCTYPE"));
    SSO_CHECK(s_xml_refused("<x/>", SAML_ERR_STRUCTURE, "expected a samlp:Response, got x"));
    SSO_CHECK(s_xml_refused("<samlp:Response xmlns:samlp=\"" SAML_NS_PROTOCOL
                            "\" Version=\"1.1\"/>",
                            SAML_ERR_STRUCTURE, "Version must be 2.0"));

    /* The test Response as is has the shape; with a second assertion hidden in Extensions,
       or an ID used twice, it has not. */
    saml_test_case_t c = {.not_on_or_after = 300};
    char *good = saml_test_response(&c, NULL, NULL);
    saml_result_t result = {0};
    SSO_CHECK(good && s_shape(good, &result) == SAML_OK);
    free(good);
    c.extra_response = "<samlp:Extensions><saml:Assertion ID=\"_x\"/></samlp:Extensions>";
    char *two = saml_test_response(&c, NULL, NULL);
    SSO_CHECK(two && s_refused(two, SAML_ERR_STRUCTURE, "found 2"));
    free(two);
    c.extra_response = "<samlp:Extensions><x ID=\"_assert1\"/></samlp:Extensions>";
    char *duplicate = saml_test_response(&c, NULL, NULL);
    SSO_CHECK(duplicate && s_refused(duplicate, SAML_ERR_STRUCTURE, "duplicate ID \"_assert1\""));
    free(duplicate);

    /* Under an EncryptedAssertion nothing may point outside the document. */
    const char *fetch = "<samlp:Response xmlns:samlp=\"" SAML_NS_PROTOCOL "\" Version=\"2.0\">"
                        "<saml:EncryptedAssertion xmlns:saml=\"" SAML_NS_ASSERTION "\">"
                        "<xenc:EncryptedData xmlns:xenc=\"" SAML_NS_XENC "\"><xenc:CipherData>"
                        "<xenc:CipherReference URI=\"http://127.0.0.1:1/x\"/></xenc:CipherData>"
                        "</xenc:EncryptedData></saml:EncryptedAssertion></samlp:Response>";
    SSO_CHECK(s_xml_refused(fetch, SAML_ERR_DECRYPTION,
                            "xenc:CipherReference URI=\"http://127.0.0.1:1/x\" in "
                            "the EncryptedData: refused before decryption"));
}
