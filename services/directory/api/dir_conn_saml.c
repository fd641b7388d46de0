/* dir_conn_saml: a SAML connection's settings from the API's "saml" object. */
#include "api/dir_conn_saml.h"
#include "api/dir_valid.h"
#include "vault/dir_pki.h"
#include "dir_testkit.h"
#include "sso_saml_metadata.h"
#include "sso_test.h"
#include "sso_xmldsig.h"
#include <libxml/parser.h>

#define DIR_ENTITY_ID_MAX 1024
#define DIR_CERTS_MAX 10
#define DIR_CERT_PEM_MAX 16384

/* Applies parsed metadata to conf. */
static void s_apply_metadata(dir_conn_conf_t *conf, const sso_saml_metadata_t *md)
{
    dir_conn_conf_set(&conf->saml_entity_id, md->entity_id);
    dir_conn_conf_set(&conf->saml_sso_url, md->sso_url);
    json_decref(conf->saml_certs);
    conf->saml_certs = json_array();
    for (size_t i = 0; i < md->n_certificates; i++)
        json_array_append_new(conf->saml_certs, json_string(md->certificates[i]));
}

sso_saml_metadata_t *dir_conn_saml_metadata(const char *xml, size_t len, int64_t now,
                                           const char *signing_certificate, char *why,
                                           size_t why_size)
{
    sso_saml_metadata_t *md = sso_saml_metadata_parse(xml, len, signing_certificate, why,
                                                      why_size);
    if (md && md->valid_until && md->valid_until < now) {
        char when[32];
        dir_time_format(md->valid_until, when);
        snprintf(why, why_size, "the metadata expired at %s (validUntil)", when);
        sso_saml_metadata_destroy(&md);
    }
    return md;
}

/* The metadata at url, from slow once fetched; -1 with err set, or -1 with slow->want set
   when it is still to be fetched. */
static int s_fetch_metadata(const char *url, dir_conn_conf_t *conf, dir_conn_slow_t *slow,
                            dir_error_t *err)
{
    char why[700];
    if (dir_url_check(url, why, sizeof why) != 0) {
        dir_bad_request(err, "saml.idp_metadata_url %s", why);
        return -1;
    }
    if (!dir_conn_slow_has(slow, DIR_CONN_SLOW_FETCH, url, err))
        return -1;
    const sso_fetch_response_t *response = &slow->response;
    if (slow->fetch_rc != 0)
        dir_bad_request(err, "saml.idp_metadata_url could not be fetched: %s", slow->fetch_why);
    else if (response->status != 200)
        dir_bad_request(err, "saml.idp_metadata_url answered HTTP %ld", response->status);
    else {
        sso_saml_metadata_t *md = dir_conn_saml_metadata(response->body, response->len,
                                                         dir_now(), conf->saml_md_signing_cert,
                                                         why, sizeof why);
        if (!md)
            dir_bad_request(err, "saml.idp_metadata_url: %s", why);
        else {
            s_apply_metadata(conf, md);
            dir_conn_conf_set(&conf->saml_metadata_url, url);
            sso_saml_metadata_destroy(&md);
            return 0;
        }
    }
    return -1;
}

void dir_conn_saml_signing_cert_json(dir_db_stmt_t *stmt, int column, json_t *saml)
{
    const char *pem = dir_db_is_null(stmt, column) ? NULL : dir_db_text(stmt, column);
    json_t *one = pem ? json_pack("[s]", pem) : NULL;
    json_t *details = one ? dir_conn_saml_cert_details(one) : NULL;
    json_object_set_new(saml, "idp_metadata_signing_certificate", pem ? json_string(pem)
                                                                      : json_null());
    json_object_set(saml, "idp_metadata_signing_certificate_details",
                    json_array_size(details) == 1 ? json_array_get(details, 0) : json_null());
    json_decref(details);
    json_decref(one);
}

json_t *dir_conn_saml_cert_details(const json_t *certs)
{
    json_t *list = json_array();
    size_t index;
    json_t *item;
    int64_t now = dir_now();
    json_array_foreach(certs, index, item) {
        dir_pki_cert_info_t info;
        if (dir_pki_cert_info(json_string_value(item), &info) != 0)
            json_array_append_new(list, json_pack("{s:n, s:n, s:n, s:n, s:b, s:n}", "subject",
                                                  "issuer", "not_before", "not_after",
                                                  "expired", false, "sha256_fingerprint"));
        else
            json_array_append_new(list, json_pack("{s:s, s:s, s:o, s:o, s:b, s:s}", "subject",
                                                  info.subject, "issuer", info.issuer,
                                                  "not_before", dir_json_time(info.not_before),
                                                  "not_after", dir_json_time(info.not_after),
                                                  "expired", info.not_after < now,
                                                  "sha256_fingerprint", info.sha256));
    }
    return list;
}

/* An expired certificate among those this request gave (named by field: the explicit list,
   or the metadata's) is refused: the IdP's signatures would fail at every login. 0, or -1
   with err. */
static int s_check_expiry(const json_t *certs, const char *field, dir_error_t *err)
{
    size_t index;
    json_t *item;
    int64_t now = dir_now();
    json_array_foreach(certs, index, item) {
        dir_pki_cert_info_t info;
        if (dir_pki_cert_info(json_string_value(item), &info) != 0) {
            dir_bad_request(err, "%s[%zu] is not an X.509 certificate in PEM form", field, index);
            return -1;
        }
        if (info.not_after < now) {
            char day[32];
            dir_time_format(info.not_after, day);
            day[10] = '\0'; /* the date of RFC 3339's date-time */
            dir_bad_request(err, "%s[%zu] expired on %s (%s)", field, index, day, info.subject);
            return -1;
        }
    }
    return 0;
}

/* saml.idp_metadata_signing_certificate into conf when given (null: none any more). 0, or -1
   with err. */
static int s_read_signing_cert(json_t *saml, dir_conn_conf_t *conf, dir_error_t *err)
{
    const char *field = "saml.idp_metadata_signing_certificate", *pem = NULL;
    int given = dir_json_string(saml, "idp_metadata_signing_certificate", field,
                                DIR_NULLABLE | DIR_MULTILINE | DIR_NONEMPTY, DIR_CERT_PEM_MAX,
                                &pem, err);
    if (given < 0)
        return -1;
    if (given == 0) {
        if (json_is_null(json_object_get(saml, "idp_metadata_signing_certificate")))
            dir_conn_conf_set(&conf->saml_md_signing_cert, NULL);
        return 0;
    }
    char *clean = dir_pki_cert_normalize(pem);
    json_t *one = clean ? json_pack("[s]", clean) : NULL;
    int rc = -1;
    if (!clean)
        dir_bad_request(err, "%s is not an X.509 certificate in PEM form", field);
    else if (one && s_check_expiry(one, field, err) == 0) {
        dir_conn_conf_set(&conf->saml_md_signing_cert, clean);
        rc = 0;
    }
    json_decref(one);
    free(clean);
    return rc;
}

int dir_conn_saml_read(json_t *saml, dir_conn_conf_t *conf, dir_conn_slow_t *slow, dir_error_t *err)
{
    const char *xml = NULL, *url = NULL, *entity = NULL, *sso_url = NULL;
    json_t *certs = NULL;
    if (dir_json_string(saml, "idp_metadata_xml", "saml.idp_metadata_xml",
                        DIR_NULLABLE | DIR_MULTILINE | DIR_NONEMPTY, SSO_XML_MAX_BYTES, &xml,
                        err) < 0
        || dir_json_string(saml, "idp_metadata_url", "saml.idp_metadata_url",
                           DIR_NULLABLE | DIR_NONEMPTY, DIR_CONN_URL_MAX, &url, err) < 0
        || dir_json_string(saml, "idp_entity_id", "saml.idp_entity_id", DIR_NONEMPTY,
                           DIR_ENTITY_ID_MAX, &entity, err) < 0
        || dir_json_string(saml, "idp_sso_url", "saml.idp_sso_url", DIR_NONEMPTY, DIR_CONN_URL_MAX,
                           &sso_url, err) < 0
        || dir_json_strings(saml, "idp_certificates", "saml.idp_certificates",
                            DIR_MULTILINE | DIR_NONEMPTY, DIR_CERTS_MAX, DIR_CERT_PEM_MAX, &certs,
                            err) < 0)
        return -1;
    if (xml && url) {
        dir_bad_request(err, "give saml.idp_metadata_xml or saml.idp_metadata_url, not both");
        return -1;
    }
    /* First: the metadata given with it is checked against it. */
    if (s_read_signing_cert(saml, conf, err) != 0)
        return -1;
    if (xml) {
        char why[700];
        sso_saml_metadata_t *md = dir_conn_saml_metadata(xml, strlen(xml), dir_now(),
                                                         conf->saml_md_signing_cert, why,
                                                         sizeof why);
        if (!md) {
            dir_bad_request(err, "saml.idp_metadata_xml: %s", why);
            return -1;
        }
        s_apply_metadata(conf, md);
        dir_conn_conf_set(&conf->saml_metadata_url, NULL);
        sso_saml_metadata_destroy(&md);
    }
    else if (url && s_fetch_metadata(url, conf, slow, err) != 0)
        return -1;
    /* The metadata's certificates, unless explicit ones replace them below. */
    if (!certs && (xml || url)
        && s_check_expiry(conf->saml_certs, xml ? "saml.idp_metadata_xml: certificate "
                                                : "saml.idp_metadata_url: certificate ",
                          err) != 0)
        return -1;
    /* Explicit fields win over metadata: an admin may correct one value. */
    if (entity)
        dir_conn_conf_set(&conf->saml_entity_id, entity);
    if (sso_url) {
        char why[160];
        if (dir_url_check(sso_url, why, sizeof why) != 0) {
            dir_bad_request(err, "saml.idp_sso_url %s", why);
            return -1;
        }
        dir_conn_conf_set(&conf->saml_sso_url, sso_url);
    }
    if (certs) {
        json_t *clean = json_array();
        size_t index;
        json_t *item;
        json_array_foreach(certs, index, item) {
            char *pem = dir_pki_cert_normalize(json_string_value(item));
            if (!pem) {
                json_decref(clean);
                dir_bad_request(err, "saml.idp_certificates[%zu] is not an X.509 certificate in "
                                     "PEM form", index);
                return -1;
            }
            json_array_append_new(clean, json_string(pem));
            free(pem);
        }
        if (s_check_expiry(clean, "saml.idp_certificates", err) != 0) {
            json_decref(clean);
            return -1;
        }
        json_decref(conf->saml_certs);
        conf->saml_certs = clean;
    }
    return 0;
}

/* ---- self-test ------------------------------------------------------------------------- */

/* Reads saml (JSON text) into a fresh conf; 0, or -1 with err. */
static int s_read_text(const char *text, dir_conn_conf_t *conf, dir_error_t *err)
{
    json_t *saml = json_loads(text, 0, NULL);
    dir_conn_slow_t slow = {0};
    memset(conf, 0, sizeof *conf);
    int rc = saml ? dir_conn_saml_read(saml, conf, &slow, err) : -1;
    json_decref(saml);
    return rc;
}

/* md (metadata text) with an ID on its root, signed by key/cert; NULL on failure. */
static char *s_signed(const char *md, const char *key, const char *cert)
{
    xmlDocPtr doc = xmlReadMemory(md, (int) strlen(md), "md.xml", NULL, XML_PARSE_NONET);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    xmlChar *text = NULL;
    int len = 0;
    if (root && xmlSetProp(root, BAD_CAST "ID", BAD_CAST "_md1")
        && sso_xmldsig_sign(doc, root, key, cert) == 0)
        xmlDocDumpMemory(doc, &text, &len);
    xmlFreeDoc(doc);
    char *out = text ? strdup((const char *) text) : NULL;
    xmlFree(text);
    return out;
}

/* saml.idp_metadata_signing_certificate: metadata given with it must be signed by it. */
static void s_signing_test(const char *key, const char *cert, const char *md)
{
    char *other_key = NULL, *other = NULL;
    SSO_CHECK(sso_xmlsec_init() == 0);
    SSO_CHECK(dir_pki_sp_keypair("other.example.com", &other_key, &other) == 0);
    char *good = s_signed(md, key, cert), *forged = other_key ? s_signed(md, other_key, other)
                                                               : NULL;
    SSO_CHECK(good && forged);
    const struct {
        const char *cert, *xml, *expect;
    } cases[] = {
        {cert, good, NULL},
        {NULL, good, NULL},  /* none named: not checked */
        {NULL, md, NULL},
        {cert, md, "saml.idp_metadata_xml: the metadata is not signed, and the connection's "
                   "metadata signing certificate requires it to be"},
        {cert, forged, "saml.idp_metadata_xml: the metadata's signature: the EntityDescriptor is "
                       "signed by a certificate with SHA-256 fingerprint"},
        {other, good, "signed by a certificate with SHA-256 fingerprint"},
        {"MIIB", good, "saml.idp_metadata_signing_certificate is not an X.509 certificate in "
                       "PEM form"},
        {"", good, "saml.idp_metadata_signing_certificate"},
    };
    for (size_t i = 0; good && forged && i < sizeof cases / sizeof *cases; i++) {
        json_t *request = json_pack("{s:s}", "idp_metadata_xml", cases[i].xml);
        if (cases[i].cert)
            json_object_set_new(request, "idp_metadata_signing_certificate",
                                json_string(cases[i].cert));
        char *text = json_dumps(request, 0);
        dir_conn_conf_t conf;
        dir_error_t err = {0};
        int rc = s_read_text(text, &conf, &err);
        bool ok = cases[i].expect ? rc == -1 && err.status == 400
                                        && strstr(err.description, cases[i].expect)
                                  : rc == 0 && !strcmp(conf.saml_entity_id, "https://idp.test/e")
                                        && (!cases[i].cert || (conf.saml_md_signing_cert
                                            && strstr(conf.saml_md_signing_cert, "BEGIN")));
        if (!ok)
            fprintf(stderr, "  case %zu: %d %s\n", i, rc, err.description);
        SSO_CHECK(ok);
        dir_conn_conf_free(&conf);
        free(text);
        json_decref(request);
    }
    /* null takes it away; absent keeps it. */
    json_t *saml = json_loads("{\"idp_metadata_signing_certificate\":null}", 0, NULL);
    dir_conn_conf_t conf = {0};
    dir_conn_slow_t slow = {0};
    dir_error_t err = {0};
    dir_conn_conf_set(&conf.saml_md_signing_cert, cert);
    SSO_CHECK(saml && dir_conn_saml_read(saml, &conf, &slow, &err) == 0
              && conf.saml_md_signing_cert == NULL);
    json_object_clear(saml);
    dir_conn_conf_set(&conf.saml_md_signing_cert, cert);
    SSO_CHECK(saml && dir_conn_saml_read(saml, &conf, &slow, &err) == 0
              && conf.saml_md_signing_cert && !strcmp(conf.saml_md_signing_cert, cert));
    dir_conn_conf_free(&conf);
    json_decref(saml);
    free(good);
    free(forged);
    free(other_key);
    free(other);
}

/* The one reading of "saml": a fresh certificate passes, an expired or unreadable one is
   refused with the field and index, the metadata's too; details say what each is. */
void dir_conn_saml_test(bool verbose)
{
    (void) verbose;
    char *key = NULL, *fresh = NULL, *old_key = NULL, *old = NULL;
    SSO_CHECK(dir_pki_sp_keypair("idp.example.com", &key, &fresh) == 0);
    /* Valid through January 2024 only. */
    SSO_CHECK(dir_pki_self_signed("Old IdP", 1704067200, 1706659200, &old_key, &old) == 0);
    if (!fresh || !old)
        goto done;
    json_t *pair = json_pack("[s, s]", fresh, old);
    char *pair_text = json_dumps(pair, 0);
    char text[20000], md[8192], old_md[8192];
    dir_conn_conf_t conf;
    dir_error_t err = {0};

    snprintf(text, sizeof text, "{\"idp_certificates\":%s}", pair_text);
    SSO_CHECK(s_read_text(text, &conf, &err) == -1 && err.status == 400
              && !strcmp(err.description,
                         "saml.idp_certificates[1] expired on 2024-01-31 (CN=Old IdP)"));
    dir_conn_conf_free(&conf);
    json_array_remove(pair, 1);
    free(pair_text);
    pair_text = json_dumps(pair, 0);
    snprintf(text, sizeof text, "{\"idp_entity_id\":\"e\",\"idp_certificates\":%s}", pair_text);
    SSO_CHECK(s_read_text(text, &conf, &err) == 0
              && json_array_size(conf.saml_certs) == 1 && !strcmp(conf.saml_entity_id, "e"));
    dir_conn_conf_free(&conf);
    SSO_CHECK(s_read_text("{\"idp_certificates\":[\"MIIB\"]}", &conf, &err) == -1
              && !strcmp(err.description, "saml.idp_certificates[0] is not an X.509 "
                                          "certificate in PEM form"));
    dir_conn_conf_free(&conf);

    /* From metadata: its expired certificate is refused, unless explicit ones replace it. */
    SSO_CHECK(dir_testkit_saml_metadata("https://idp.test/e", "https://idp.test/sso", fresh, md,
                                        sizeof md) == 0);
    SSO_CHECK(dir_testkit_saml_metadata("https://idp.test/e", "https://idp.test/sso", old,
                                        old_md, sizeof old_md) == 0);
    json_t *request = json_pack("{s:s}", "idp_metadata_xml", old_md);
    char *request_text = json_dumps(request, 0);
    SSO_CHECK(s_read_text(request_text, &conf, &err) == -1
              && !strcmp(err.description, "saml.idp_metadata_xml: certificate [0] expired on "
                                          "2024-01-31 (CN=Old IdP)"));
    dir_conn_conf_free(&conf);
    json_object_set_new(request, "idp_certificates", json_incref(pair));
    free(request_text);
    request_text = json_dumps(request, 0);
    SSO_CHECK(s_read_text(request_text, &conf, &err) == 0
              && !strcmp(conf.saml_sso_url, "https://idp.test/sso"));
    dir_conn_conf_free(&conf);
    json_object_set_new(request, "idp_metadata_xml", json_string(md));
    json_object_del(request, "idp_certificates");
    free(request_text);
    request_text = json_dumps(request, 0);
    SSO_CHECK(s_read_text(request_text, &conf, &err) == 0
              && !strcmp(conf.saml_entity_id, "https://idp.test/e"));
    dir_conn_conf_free(&conf);
    /* Metadata past its validUntil is refused; one still valid is taken. */
    char *until = strstr(md, "entityID=");
    char expired_md[8300], valid_md[8300];
    SSO_CHECK(until != NULL);
    if (until) {
        snprintf(expired_md, sizeof expired_md, "%.*svalidUntil=\"2024-01-31T00:00:00Z\" %s",
                 (int) (until - md), md, until);
        snprintf(valid_md, sizeof valid_md, "%.*svalidUntil=\"2999-01-31T00:00:00Z\" %s",
                 (int) (until - md), md, until);
        json_object_set_new(request, "idp_metadata_xml", json_string(expired_md));
        free(request_text);
        request_text = json_dumps(request, 0);
        SSO_CHECK(s_read_text(request_text, &conf, &err) == -1
                  && !strcmp(err.description, "saml.idp_metadata_xml: the metadata expired at "
                                              "2024-01-31T00:00:00Z (validUntil)"));
        dir_conn_conf_free(&conf);
        json_object_set_new(request, "idp_metadata_xml", json_string(valid_md));
        free(request_text);
        request_text = json_dumps(request, 0);
        SSO_CHECK(s_read_text(request_text, &conf, &err) == 0);
        dir_conn_conf_free(&conf);
    }
    s_signing_test(key, fresh, md);
    /* Not XML, not metadata: the reason says which. */
    SSO_CHECK(s_read_text("{\"idp_metadata_xml\":\"<a\"}", &conf, &err) == -1
              && strstr(err.description, "saml.idp_metadata_xml: ")
              && strstr(err.description, "not well-formed XML"));
    dir_conn_conf_free(&conf);
    SSO_CHECK(s_read_text("{\"idp_metadata_xml\":\"<a/>\"}", &conf, &err) == -1
              && strstr(err.description, "not SAML metadata"));
    dir_conn_conf_free(&conf);

    /* Details: the fresh one, the expired one, one that does not read. */
    json_t *certs = json_pack("[s, s, s]", fresh, old, "junk");
    json_t *details = dir_conn_saml_cert_details(certs);
    json_t *first = json_array_get(details, 0), *second = json_array_get(details, 1);
    json_t *third = json_array_get(details, 2);
    SSO_CHECK(json_array_size(details) == 3
              && !strcmp(dir_testkit_str(first, "subject"), "CN=idp.example.com")
              && !strcmp(dir_testkit_str(first, "issuer"), "CN=idp.example.com")
              && strlen(dir_testkit_str(first, "not_after")) == 20
              && json_is_false(json_object_get(first, "expired"))
              && strlen(dir_testkit_str(first, "sha256_fingerprint")) == 95);
    SSO_CHECK(!strcmp(dir_testkit_str(second, "not_before"), "2024-01-01T00:00:00Z")
              && !strcmp(dir_testkit_str(second, "not_after"), "2024-01-31T00:00:00Z")
              && json_is_true(json_object_get(second, "expired")));
    SSO_CHECK(json_is_null(json_object_get(third, "subject"))
              && json_is_null(json_object_get(third, "sha256_fingerprint"))
              && json_is_false(json_object_get(third, "expired")));
    json_decref(details);
    json_decref(certs);
    free(request_text);
    json_decref(request);
    free(pair_text);
    json_decref(pair);
done:
    free(key);
    free(fresh);
    free(old_key);
    free(old);
}
