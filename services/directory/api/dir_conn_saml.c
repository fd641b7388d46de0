/* dir_conn_saml: a SAML connection's settings from the API's "saml" object. */
#include "api/dir_conn_saml.h"
#include "api/dir_valid.h"
#include "vault/dir_pki.h"
#include "sso_saml_metadata.h"

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

/* The metadata at url, from slow once fetched; -1 with err set, or -1 with slow->want set
   when it is still to be fetched. */
static int s_fetch_metadata(const char *url, dir_conn_conf_t *conf, dir_conn_slow_t *slow,
                            dir_error_t *err)
{
    char why[300];
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
        sso_saml_metadata_t *md = sso_saml_metadata_parse(response->body, response->len, why,
                                                          sizeof why);
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
    if (xml) {
        char why[300];
        sso_saml_metadata_t *md = sso_saml_metadata_parse(xml, strlen(xml), why, sizeof why);
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
        json_decref(conf->saml_certs);
        conf->saml_certs = clean;
    }
    return 0;
}
