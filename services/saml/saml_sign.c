/* saml_sign: enveloped XML signatures, for the IdP simulator and the tests' own responses. */
#include "saml_sign.h"
#include "saml_xml.h"
#include <stdio.h>
#include <stdlib.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

int saml_sign_enveloped(xmlDocPtr doc, xmlNodePtr node, const char *key_pem, const char *cert_pem)
{
    char *id = saml_xml_attr(node, "ID");
    char uri[300];
    snprintf(uri, sizeof uri, "#%s", id ? id : "");
    xmlNodePtr sig = xmlSecTmplSignatureCreate(doc, xmlSecTransformExclC14NId,
                                               xmlSecTransformRsaSha256Id, NULL);
    xmlNodePtr issuer = saml_xml_child(node, SAML_NS_ASSERTION, "Issuer");
    int rc = -1;
    if (sig && issuer && xmlAddNextSibling(issuer, sig)) {
        xmlNodePtr ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL,
                                                         BAD_CAST uri, NULL);
        xmlNodePtr info = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL);
        xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
        if (!xmlGetID(doc, BAD_CAST id))
            xmlAddID(NULL, doc, BAD_CAST id, xmlHasNsProp(node, BAD_CAST "ID", NULL));
        if (ref && info && ctx && xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId)
            && xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId)
            && xmlSecTmplKeyInfoAddX509Data(info)) {
            ctx->signKey = xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *) key_pem,
                                                        (xmlSecSize) strlen(key_pem),
                                                        xmlSecKeyDataFormatPem, NULL, NULL, NULL);
            if (ctx->signKey
                && xmlSecCryptoAppKeyCertLoadMemory(ctx->signKey, (const xmlSecByte *) cert_pem,
                                                    (xmlSecSize) strlen(cert_pem),
                                                    xmlSecKeyDataFormatPem) == 0
                && xmlSecDSigCtxSign(ctx, sig) == 0)
                rc = 0;
        }
        if (ctx)
            xmlSecDSigCtxDestroy(ctx);
    }
    else if (sig)
        xmlFreeNode(sig);
    free(id);
    return rc;
}

