/* saml_sp_metadata: SP metadata with libxml2. */
#include "saml_sp_metadata.h"
#include "saml_xml.h"
#include "sso_crypto.h"
#include "sso_saml_metadata.h"
#include "sso_test.h"
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool s_key_descriptor(xmlNodePtr sp, xmlNsPtr md, xmlNsPtr ds, const char *use,
                             const char *cert_b64)
{
    xmlNodePtr kd = xmlNewChild(sp, md, BAD_CAST "KeyDescriptor", NULL);
    xmlNodePtr info = kd ? xmlNewChild(kd, ds, BAD_CAST "KeyInfo", NULL) : NULL;
    xmlNodePtr data = info ? xmlNewChild(info, ds, BAD_CAST "X509Data", NULL) : NULL;
    xmlNodePtr cert = data ? xmlNewChild(data, ds, BAD_CAST "X509Certificate", NULL) : NULL;
    return cert && xmlNewProp(kd, BAD_CAST "use", BAD_CAST use)
           && xmlAddChild(cert, xmlNewText(BAD_CAST cert_b64));
}

int saml_sp_metadata_build(const saml_sp_metadata_config_t *config, char **xml, char *why,
                           size_t why_size)
{
    *xml = NULL;
    if (!config->entity_id || !*config->entity_id || !config->acs_url || !*config->acs_url) {
        snprintf(why, why_size, "metadata: the entity id and ACS URL are required");
        return -1;
    }
    char *signing = saml_cert_base64_der(config->signing_cert_pem);
    char *encryption = saml_cert_base64_der(config->encryption_cert_pem
                                                ? config->encryption_cert_pem
                                                : config->signing_cert_pem);
    const char *previous_pem = config->previous_encryption_cert_pem;
    char *previous = previous_pem ? saml_cert_base64_der(previous_pem) : NULL;
    if (!signing || !encryption || (previous_pem && !previous)) {
        free(signing);
        free(encryption);
        free(previous);
        snprintf(why, why_size, "metadata: the SP certificate is not a PEM X.509 certificate");
        return -1;
    }
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = doc ? xmlNewNode(NULL, BAD_CAST "EntityDescriptor") : NULL;
    if (root)
        xmlDocSetRootElement(doc, root);
    xmlNsPtr md = root ? xmlNewNs(root, BAD_CAST SAML_NS_METADATA, BAD_CAST "md") : NULL;
    xmlNsPtr ds = root ? xmlNewNs(root, BAD_CAST SAML_NS_DSIG, BAD_CAST "ds") : NULL;
    if (root && md)
        xmlSetNs(root, md);
    xmlNodePtr sp = md ? xmlNewChild(root, md, BAD_CAST "SPSSODescriptor", NULL) : NULL;
    xmlNodePtr format = NULL, acs = NULL;
    bool ok = sp && ds && xmlNewProp(root, BAD_CAST "entityID", BAD_CAST config->entity_id)
              && xmlNewProp(sp, BAD_CAST "AuthnRequestsSigned",
                            BAD_CAST(config->authn_requests_signed ? "true" : "false"))
              && xmlNewProp(sp, BAD_CAST "WantAssertionsSigned",
                            BAD_CAST(config->want_assertions_signed ? "true" : "false"))
              && xmlNewProp(sp, BAD_CAST "protocolSupportEnumeration", BAD_CAST SAML_NS_PROTOCOL)
              && s_key_descriptor(sp, md, ds, "signing", signing)
              && s_key_descriptor(sp, md, ds, "encryption", encryption)
              && (!previous || s_key_descriptor(sp, md, ds, "encryption", previous))
              && (format = xmlNewChild(sp, md, BAD_CAST "NameIDFormat", NULL))
              && xmlAddChild(format, xmlNewText(BAD_CAST SAML_NAMEID_UNSPECIFIED))
              && (format = xmlNewChild(sp, md, BAD_CAST "NameIDFormat", NULL))
              && xmlAddChild(format, xmlNewText(BAD_CAST SAML_NAMEID_EMAIL))
              && (acs = xmlNewChild(sp, md, BAD_CAST "AssertionConsumerService", NULL))
              && xmlNewProp(acs, BAD_CAST "Binding", BAD_CAST SAML_BINDING_POST)
              && xmlNewProp(acs, BAD_CAST "Location", BAD_CAST config->acs_url)
              && xmlNewProp(acs, BAD_CAST "index", BAD_CAST "0")
              && xmlNewProp(acs, BAD_CAST "isDefault", BAD_CAST "true");
    xmlChar *text = NULL;
    int len = 0;
    if (ok)
        xmlDocDumpFormatMemoryEnc(doc, &text, &len, "UTF-8", 1);
    if (text && len > 0)
        *xml = strndup((const char *) text, (size_t) len);
    xmlFree(text);
    xmlFreeDoc(doc);
    free(signing);
    free(encryption);
    free(previous);
    if (!*xml) {
        snprintf(why, why_size, "metadata: out of memory");
        return -1;
    }
    return 0;
}

void saml_sp_metadata_test(bool verbose)
{
    char *key = NULL, *cert = NULL, why[256], *xml = NULL;
    SSO_CHECK(sso_xmldsig_test_keypair("sp.test", &key, &cert) == 0);
    saml_sp_metadata_config_t c = {
        .entity_id = "https://sso.test/sso/saml/conn_1&<x>",
        .acs_url = "https://sso.test/sso/saml/conn_1/acs",
        .signing_cert_pem = cert,
        .authn_requests_signed = true,
        .want_assertions_signed = true,
    };
    SSO_CHECK(saml_sp_metadata_build(&c, &xml, why, sizeof why) == 0 && xml);
    if (xml) {
        if (verbose)
            printf("%s", xml);
        SSO_CHECK(strstr(xml, "entityID=\"https://sso.test/sso/saml/conn_1&amp;&lt;x&gt;\"")
                  && strstr(xml, "AuthnRequestsSigned=\"true\"")
                  && strstr(xml, "WantAssertionsSigned=\"true\"")
                  && strstr(xml, "use=\"signing\"") && strstr(xml, "use=\"encryption\"")
                  && strstr(xml, "Binding=\"" SAML_BINDING_POST "\" "
                                 "Location=\"https://sso.test/sso/saml/conn_1/acs\""));
        /* It reads back through the hardened reader and carries the certificate. */
        char fp[96], *b64 = saml_cert_base64_der(cert);
        xmlDocPtr doc = sso_xml_read_safe(xml, strlen(xml), why, sizeof why);
        SSO_CHECK(doc && b64 && strstr(xml, b64) && saml_cert_fingerprint_pem(cert, fp) == 0);
        xmlFreeDoc(doc);
        free(b64);
    }
    free(xml);
    /* A key rollover: the new certificate signs and encrypts, the previous one encrypts too. */
    char *old_key = NULL, *old_cert = NULL;
    SSO_CHECK(sso_xmldsig_test_keypair("sp-old.test", &old_key, &old_cert) == 0);
    c.previous_encryption_cert_pem = old_cert;
    SSO_CHECK(saml_sp_metadata_build(&c, &xml, why, sizeof why) == 0 && xml);
    char *b64 = saml_cert_base64_der(cert), *old_b64 = saml_cert_base64_der(old_cert);
    const char *first = xml && b64 ? strstr(xml, b64) : NULL;
    const char *second = first ? strstr(first + 1, b64) : NULL;
    const char *encryption = xml ? strstr(xml, "use=\"encryption\"") : NULL;
    /* The new one twice (signing, encryption), the old one once, after the new one's. */
    SSO_CHECK(first && second && !strstr(second + 1, b64) && old_b64 && encryption
              && strstr(encryption + 1, "use=\"encryption\"")
              && strstr(second, old_b64) && strstr(xml, old_b64) == strstr(second, old_b64));
    free(b64);
    free(old_b64);
    free(xml);
    c.previous_encryption_cert_pem = "nope";
    SSO_CHECK(saml_sp_metadata_build(&c, &xml, why, sizeof why) == -1 && strstr(why, "X.509"));
    c.previous_encryption_cert_pem = NULL;
    free(old_key);
    free(old_cert);
    c.signing_cert_pem = "nope";
    SSO_CHECK(saml_sp_metadata_build(&c, &xml, why, sizeof why) == -1 && strstr(why, "X.509"));
    free(key);
    free(cert);
}
