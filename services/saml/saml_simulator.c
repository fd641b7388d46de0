#include "saml_simulator.h"
#include "saml_codec.h"
#include "saml_response.h"
#include "sso_xmldsig.h"
#include "saml_xml.h"
#include "sso_cookie.h"
#include "sso_crypto.h"
#include "sso_clients.h"
#include "sso_html.h"
#include "sso_log.h"
#include "sso_saml_metadata.h"
#include "sso_test.h"
#include <libxml/tree.h>

#define AUTHN_REQUEST_MAX (64 * 1024)
#define FIELD_MAX 256
#define CSRF_COOKIE "sso_sim_csrf"
#define CSRF_FIELD "sso_csrf"
/* The simulator's app tile: signs an unsolicited Response for its connection. */
#define S_IDP_INITIATED_PATH "/simulator/idp-initiated"

static const char *const s_scenarios[] = {"success", "idp_error", "expired", "wrong_audience",
                                          "bad_signature"};
static const char *const s_scenario_labels[] = {
    "Successful login", "IdP error status", "Expired assertion", "Wrong audience",
    "Bad signature"};

int saml_simulator_scenario(const char *name)
{
    for (size_t i = 0; name && i < sizeof s_scenarios / sizeof *s_scenarios; i++)
        if (!strcmp(name, s_scenarios[i]))
            return (int) i;
    return -1;
}

static char *s_random_id(void)
{
    char *hex = sso_random_id("_", 16);
    return hex;
}

static xmlNodePtr s_text_child(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
    /* xmlNewTextChild escapes the content, unlike xmlNewChild. */
    return xmlNewTextChild(parent, ns, BAD_CAST name, BAD_CAST text);
}

static void s_attribute(xmlNodePtr statement, xmlNsPtr saml, const char *name, const char *value)
{
    if (!value || !*value)
        return;
    xmlNodePtr attribute = xmlNewChild(statement, saml, BAD_CAST "Attribute", NULL);
    xmlNewProp(attribute, BAD_CAST "Name", BAD_CAST name);
    xmlNewProp(attribute, BAD_CAST "NameFormat",
               BAD_CAST "urn:oasis:names:tc:SAML:2.0:attrname-format:basic");
    s_text_child(attribute, saml, "AttributeValue", value);
}

char *saml_simulator_response(const sim_response_t *spec)
{
    char now[32], before[32], after[32];
    time_t expiry = spec->scenario == SIM_EXPIRED ? spec->now - 3600 : spec->now + 300;
    saml_time_format(spec->now, now, sizeof now);
    saml_time_format(spec->now - 30, before, sizeof before);
    saml_time_format(expiry, after, sizeof after);
    char *response_id = s_random_id(), *assertion_id = s_random_id(), *session = s_random_id();
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "Response");
    xmlDocSetRootElement(doc, root);
    xmlNsPtr samlp = xmlNewNs(root, BAD_CAST SAML_NS_PROTOCOL, BAD_CAST "samlp");
    xmlNsPtr saml = xmlNewNs(root, BAD_CAST SAML_NS_ASSERTION, BAD_CAST "saml");
    xmlSetNs(root, samlp);
    xmlNewProp(root, BAD_CAST "ID", BAD_CAST response_id);
    xmlNewProp(root, BAD_CAST "Version", BAD_CAST "2.0");
    xmlNewProp(root, BAD_CAST "IssueInstant", BAD_CAST now);
    xmlNewProp(root, BAD_CAST "Destination", BAD_CAST spec->acs_url);
    /* None on an unsolicited (IdP-initiated) Response. */
    if (*spec->in_response_to)
        xmlNewProp(root, BAD_CAST "InResponseTo", BAD_CAST spec->in_response_to);
    s_text_child(root, saml, "Issuer", spec->idp_entity_id);
    xmlNodePtr status = xmlNewChild(root, samlp, BAD_CAST "Status", NULL);
    xmlNodePtr code = xmlNewChild(status, samlp, BAD_CAST "StatusCode", NULL);
    char *out = NULL;
    if (spec->scenario == SIM_IDP_ERROR) {
        xmlNewProp(code, BAD_CAST "Value", BAD_CAST "urn:oasis:names:tc:SAML:2.0:status:Responder");
        s_text_child(status, samlp, "StatusMessage", "The simulator was asked to fail this login");
    }
    else {
        xmlNewProp(code, BAD_CAST "Value", BAD_CAST "urn:oasis:names:tc:SAML:2.0:status:Success");
        xmlNodePtr assertion = xmlNewChild(root, saml, BAD_CAST "Assertion", NULL);
        xmlNewProp(assertion, BAD_CAST "ID", BAD_CAST assertion_id);
        xmlNewProp(assertion, BAD_CAST "Version", BAD_CAST "2.0");
        xmlNewProp(assertion, BAD_CAST "IssueInstant", BAD_CAST now);
        s_text_child(assertion, saml, "Issuer", spec->idp_entity_id);
        xmlNodePtr subject = xmlNewChild(assertion, saml, BAD_CAST "Subject", NULL);
        xmlNodePtr name_id = s_text_child(subject, saml, "NameID", spec->email);
        xmlNewProp(name_id, BAD_CAST "Format",
                   BAD_CAST "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress");
        xmlNodePtr confirmation = xmlNewChild(subject, saml, BAD_CAST "SubjectConfirmation", NULL);
        xmlNewProp(confirmation, BAD_CAST "Method", BAD_CAST "urn:oasis:names:tc:SAML:2.0:cm:bearer");
        xmlNodePtr data = xmlNewChild(confirmation, saml, BAD_CAST "SubjectConfirmationData", NULL);
        if (*spec->in_response_to)
            xmlNewProp(data, BAD_CAST "InResponseTo", BAD_CAST spec->in_response_to);
        xmlNewProp(data, BAD_CAST "NotOnOrAfter", BAD_CAST after);
        xmlNewProp(data, BAD_CAST "Recipient", BAD_CAST spec->acs_url);
        xmlNodePtr conditions = xmlNewChild(assertion, saml, BAD_CAST "Conditions", NULL);
        xmlNewProp(conditions, BAD_CAST "NotBefore", BAD_CAST before);
        xmlNewProp(conditions, BAD_CAST "NotOnOrAfter", BAD_CAST after);
        xmlNodePtr restriction = xmlNewChild(conditions, saml, BAD_CAST "AudienceRestriction", NULL);
        s_text_child(restriction, saml, "Audience",
                     spec->scenario == SIM_WRONG_AUDIENCE ? "urn:simulator:wrong-audience"
                                                          : spec->sp_entity_id);
        xmlNodePtr authn = xmlNewChild(assertion, saml, BAD_CAST "AuthnStatement", NULL);
        xmlNewProp(authn, BAD_CAST "AuthnInstant", BAD_CAST now);
        xmlNewProp(authn, BAD_CAST "SessionIndex", BAD_CAST session);
        xmlNodePtr context = xmlNewChild(authn, saml, BAD_CAST "AuthnContext", NULL);
        s_text_child(context, saml, "AuthnContextClassRef",
                     "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport");
        xmlNodePtr statement = xmlNewChild(assertion, saml, BAD_CAST "AttributeStatement", NULL);
        s_attribute(statement, saml, "email", spec->email);
        s_attribute(statement, saml, "firstName", spec->given_name);
        s_attribute(statement, saml, "lastName", spec->family_name);
        if (spec->groups && *spec->groups) {
            xmlNodePtr groups = xmlNewChild(statement, saml, BAD_CAST "Attribute", NULL);
            xmlNewProp(groups, BAD_CAST "Name", BAD_CAST "groups");
            char *copy = strdup(spec->groups), *save = NULL;
            for (char *group = strtok_r(copy, ",", &save); group; group = strtok_r(NULL, ",", &save)) {
                while (*group == ' ')
                    group++;
                size_t len = strlen(group);
                while (len && group[len - 1] == ' ')
                    group[--len] = '\0';
                if (len)
                    s_text_child(groups, saml, "AttributeValue", group);
            }
            free(copy);
        }
        if (sso_xmldsig_sign(doc, assertion, spec->key_pem, spec->cert_pem) != 0) {
            sso_warn("simulator: could not sign the assertion: %s", sso_xmlsec_last_error());
            goto done;
        }
        if (spec->scenario == SIM_BAD_SIGNATURE)
            /* Changed after signing: the digest no longer matches. */
            xmlNodeSetContent(name_id, BAD_CAST "someone.else@example.com");
    }
    xmlChar *text = NULL;
    int len = 0;
    xmlDocDumpMemoryEnc(doc, &text, &len, "UTF-8");
    if (text)
        out = strndup((const char *) text, (size_t) len);
    xmlFree(text);
done:
    xmlFreeDoc(doc);
    free(response_id);
    free(assertion_id);
    free(session);
    return out;
}

/* The AuthnRequest from the HTTP-Redirect binding: its ID and ACS URL. */
static int s_read_request(const char *encoded, char **id, char **acs, char *why, size_t why_size)
{
    size_t raw_len = 0;
    uint8_t *raw = sso_base64_decode(encoded, &raw_len, true);
    uint8_t *xml = malloc(AUTHN_REQUEST_MAX);
    size_t xml_len = raw && xml ? saml_inflate_into(raw, raw_len, xml, AUTHN_REQUEST_MAX) : 0;
    free(raw);
    xmlDocPtr doc = xml_len ? sso_xml_read_safe((const char *) xml, xml_len, why, why_size) : NULL;
    free(xml);
    if (!doc) {
        if (!xml_len)
            snprintf(why, why_size, "SAMLRequest is not base64 of raw DEFLATE data");
        return -1;
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    int rc = -1;
    if (!sso_xml_is(root, SAML_NS_PROTOCOL, "AuthnRequest"))
        snprintf(why, why_size, "SAMLRequest is not an AuthnRequest");
    else {
        *id = sso_xml_attr(root, "ID");
        *acs = sso_xml_attr(root, "AssertionConsumerServiceURL");
        if (*id && *acs)
            rc = 0;
        else
            snprintf(why, why_size, "the AuthnRequest lacks an ID or an AssertionConsumerServiceURL");
    }
    xmlFreeDoc(doc);
    return rc;
}

/* What the simulator may sign for: its key and the open login transaction it was asked about,
   with that transaction's connection (its own). */
typedef struct {
    Sso__SimulatorKeyReply *key;     /* SimulatorKey */
    Sso__LoginContextReply *context; /* LoginContext of the RelayState's transaction */
} sim_login_t;

static void s_login_free(sim_login_t *login)
{
    sso__simulator_key_reply__free_unpacked(login->key, NULL);
    sso__login_context_reply__free_unpacked(login->context, NULL);
}

/* Signs only for a login the broker itself started, that is still open and is its own
   connection's, and only for the AuthnRequest the broker sent for it: the RelayState names an
   open transaction of the simulator's connection, whose recorded request ID is the
   AuthnRequest's and whose ACS is the AuthnRequest's. 0, or the HTTP status to refuse with and
   why. */
static int s_login(sso_service_t *service, const char *relay_state, const char *request_id,
                   const char *acs, sim_login_t *login, char *why, size_t why_size)
{
    memset(login, 0, sizeof *login);
    Sso__SimulatorKeyRequest key = SSO__SIMULATOR_KEY_REQUEST__INIT;
    if (sso_dir_simulator_key(service, &key, &login->key) != 0 || login->key->error) {
        snprintf(why, why_size, "The simulator's connection is not available.");
        return 503;
    }
    Sso__LoginContextRequest get = SSO__LOGIN_CONTEXT_REQUEST__INIT;
    get.txn_id = (char *) relay_state;
    if (sso_dir_login_context(service, &get, &login->context) != 0) {
        snprintf(why, why_size, "The sign-in service is busy; try again in a moment.");
        return 503;
    }
    const Sso__LoginContextReply *reply = login->context;
    if (reply->error || !reply->txn || !reply->connection) {
        snprintf(why, why_size, "The simulator signs only for a sign-in the broker started and "
                                "that is still open: %.200s",
                 *reply->error_description ? reply->error_description : "no such sign-in");
        return 400;
    }
    const Sso__Transaction *txn = reply->txn;
    const Sso__Connection *connection = reply->connection;
    if (strcmp(txn->connection_id, login->key->connection_id) != 0
        || strcmp(connection->id, login->key->connection_id) != 0)
        snprintf(why, why_size, "The simulator signs only for its own connection's sign-ins.");
    else if (strcmp(acs, connection->sp_acs_url) != 0)
        /* Never sign for anyone but the simulator's own connection. */
        snprintf(why, why_size, "The simulator only answers its own connection's ACS.");
    else if (!*txn->saml_request_id || strcmp(request_id, txn->saml_request_id) != 0)
        snprintf(why, why_size, "The SAMLRequest is not the one the broker sent for this "
                                "sign-in.");
    else
        return 0;
    return 400;
}

/* The login_hint of the transaction when it is an email; else NULL. It only fills the form in:
   whoever holds the RelayState already holds that login. */
static const char *s_login_hint(const Sso__Transaction *txn)
{
    const char *hint = txn->login_hint;
    return strchr(hint, '@') && strlen(hint) <= FIELD_MAX ? hint : NULL;
}

/* Ends a simulator page and answers it with its CSRF cookie. */
static zframe_t *s_page_end(sso_html_t **html, uint32_t status, const char *cookie)
{
    sso_html_end(*html);
    sso_response_t *response = sso_html_response(html, status);
    if (!response)
        return sso_http_error(500, "server_error", "could not render the page");
    sso_response_header(response, "Set-Cookie", cookie);
    return sso_response_pack(&response);
}

static zframe_t *s_page(sso_service_t *service, const Sso__HttpRequest *request, uint32_t status,
                        const char *saml_request, const char *relay_state, const char *message,
                        const char *email)
{
    /* The form's CSRF token: a double submit, the cookie scoped to this page. */
    char *token = sso_cookie_csrf_token(request, CSRF_COOKIE);
    char cookie[1024];
    if (!token
        || sso_cookie_header(cookie, sizeof cookie, service->config->public_url,
                             "/simulator/sso", CSRF_COOKIE, token, 3600) != 0) {
        free(token);
        return sso_html_error_page(500, "IdP simulator", "Could not make the form's token.");
    }
    sso_html_t *html = sso_html_new();
    sso_html_begin(html, "IdP simulator");
    sso_html_add(html, "<h1>IdP simulator</h1><p>This is the broker's built-in test identity "
                       "provider. Choose who signs in and how the login should go.</p>");
    if (message)
        sso_html_add(html, "<p class=\"error\">{}</p>", message);
    sso_html_add(html, "<form method=\"post\" action=\"/simulator/sso\">");
    sso_html_hidden(html, "SAMLRequest", saml_request);
    sso_html_hidden(html, "RelayState", relay_state);
    sso_html_hidden(html, CSRF_FIELD, token);
    free(token);
    sso_html_add(html,
                 "<label>Email <input name=\"email\" type=\"email\" required "
                 "value=\"{}\"></label>"
                 "<label>First name <input name=\"given_name\" value=\"{}\"></label>"
                 "<label>Last name <input name=\"family_name\" value=\"{}\"></label>"
                 "<label>Groups (comma-separated) <input name=\"groups\" value=\"{}\"></label>"
                 "<label>Scenario <select name=\"scenario\">",
                 email ? email : "someone@example.com", "Test", "User", "");
    for (size_t i = 0; i < sizeof s_scenarios / sizeof *s_scenarios; i++)
        sso_html_add(html, "<option value=\"{}\">{}</option>", s_scenarios[i], s_scenario_labels[i]);
    sso_html_add(html, "</select></label><button type=\"submit\">Sign in</button></form>"
                       "<p><a href=\"" S_IDP_INITIATED_PATH "\">IdP-initiated sign-in</a> (as "
                       "from the IdP's app tile)</p>");
    return s_page_end(&html, status, cookie);
}

/* The HTTP-POST binding's page: a form that carries the Response to the ACS and submits
   itself (/static/autopost.js), as a real IdP's does; Continue without scripts. relay_state
   NULL: none (an IdP-initiated Response). */
static zframe_t *s_post_page(const char *acs, const char *response_b64, const char *relay_state)
{
    const char *names[] = {"SAMLResponse", "RelayState"};
    const char *values[] = {response_b64, relay_state};
    sso_response_t *response = sso_html_autopost(acs, names, values, relay_state ? 2 : 1);
    return response ? sso_response_pack(&response)
                    : sso_http_error(500, "server_error", "could not render the page");
}

static const char *s_field(zhashx_t *params, const char *name, const char *fallback)
{
    const char *value = params ? zhashx_lookup(params, name) : NULL;
    return value && *value ? value : fallback;
}

/* The form's POST, for a login s_login accepted: a signed Response, or the form again. */
static zframe_t *s_sign(sso_service_t *service, const Sso__HttpRequest *request,
                        zhashx_t *params, const sim_login_t *login)
{
    const Sso__Connection *connection = login->context->connection;
    const Sso__Transaction *txn = login->context->txn;
    const char *email = s_field(params, "email", NULL);
    int scenario = saml_simulator_scenario(s_field(params, "scenario", "success"));
    bool too_long = false;
    const char *fields[] = {"email", "given_name", "family_name", "groups"};
    for (size_t i = 0; i < 4; i++)
        too_long |= strlen(s_field(params, fields[i], "")) > FIELD_MAX;
    if (!email || !strchr(email, '@') || scenario < 0 || too_long)
        return s_page(service, request, 400, s_field(params, "SAMLRequest", ""), txn->id,
                      "Give an email address, a known scenario, and values of at most 256 "
                      "characters.",
                      NULL);
    sim_response_t spec = {
        .idp_entity_id = connection->idp_entity_id,
        .sp_entity_id = connection->sp_entity_id,
        .acs_url = connection->sp_acs_url,
        .in_response_to = txn->saml_request_id, /* the broker's own, never the form's */
        .email = email,
        .given_name = s_field(params, "given_name", ""),
        .family_name = s_field(params, "family_name", ""),
        .groups = s_field(params, "groups", ""),
        .scenario = (sim_scenario_t) scenario,
        .now = time(NULL),
        .key_pem = login->key->private_key_pem,
        .cert_pem = login->key->certificate_pem,
    };
    char *xml = saml_simulator_response(&spec);
    char *b64 = xml ? sso_base64_encode((const uint8_t *) xml, strlen(xml)) : NULL;
    zframe_t *frame = b64 ? s_post_page(connection->sp_acs_url, b64, txn->id)
                          : sso_html_error_page(500, "IdP simulator", "Could not sign.");
    free(xml);
    free(b64);
    return frame;
}

static zframe_t *s_refuse(const Sso__HttpRequest *request, const char *relay_state,
                          uint32_t status, const char *message)
{
    /* The RelayState goes to the log only when it is shaped like a transaction id. */
    bool loggable = relay_state && *relay_state
                    && strspn(relay_state, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                           "0123456789-._~") == strlen(relay_state);
    sso_info("simulator: %s for sign-in %.8s… refused (%u): %s",
             !strcmp(request->method, "POST") ? "POST" : "GET",
             loggable ? relay_state : "(none or malformed)", status, message);
    return sso_html_error_page(status, "IdP simulator", message);
}

/* The IdP-initiated page: who signs in, and the button (CSRF-protected as the sign-in form). */
static zframe_t *s_idp_initiated_page(sso_service_t *service, const Sso__HttpRequest *request,
                                      uint32_t status, const char *message)
{
    char *token = sso_cookie_csrf_token(request, CSRF_COOKIE);
    char cookie[1024];
    if (!token
        || sso_cookie_header(cookie, sizeof cookie, service->config->public_url,
                             S_IDP_INITIATED_PATH, CSRF_COOKIE, token, 3600) != 0) {
        free(token);
        return sso_html_error_page(500, "IdP simulator", "Could not make the form's token.");
    }
    sso_html_t *html = sso_html_new();
    sso_html_begin(html, "IdP simulator");
    sso_html_add(html, "<h1>IdP simulator</h1><p>Start a sign-in here, as from an IdP's app "
                       "tile: the broker gets an unsolicited Response and, when the simulator's "
                       "connection allows IdP-initiated logins, sends you to its client's "
                       "initiate_login_uri.</p>");
    if (message)
        sso_html_add(html, "<p class=\"error\">{}</p>", message);
    sso_html_add(html, "<form method=\"post\" action=\"" S_IDP_INITIATED_PATH "\">");
    sso_html_hidden(html, CSRF_FIELD, token);
    free(token);
    sso_html_add(html, "<label>Email <input name=\"email\" type=\"email\" required "
                       "value=\"someone@example.com\"></label>"
                       "<label>RelayState (optional) <input name=\"RelayState\" "
                       "maxlength=\"80\"></label>"
                       "<button type=\"submit\">IdP-initiated</button></form>");
    return s_page_end(&html, status, cookie);
}

/* The button's POST: an unsolicited Response for the simulator's own connection (its SP and
   ACS), signed with its key, posted to that ACS. */
static zframe_t *s_idp_initiated_sign(sso_service_t *service, zhashx_t *params)
{
    const char *email = s_field(params, "email", NULL);
    const char *relay_state = s_field(params, "RelayState", NULL);
    Sso__SimulatorKeyRequest key_request = SSO__SIMULATOR_KEY_REQUEST__INIT;
    Sso__SimulatorKeyReply *key = NULL;
    if (sso_dir_simulator_key(service, &key_request, &key) != 0 || key->error) {
        if (key)
            sso__simulator_key_reply__free_unpacked(key, NULL);
        return sso_html_error_page(503, "IdP simulator",
                                   "The simulator's connection is not available.");
    }
    Sso__ConnectionGetRequest get = SSO__CONNECTION_GET_REQUEST__INIT;
    get.connection_id = key->connection_id;
    Sso__ConnectionReply *reply = NULL;
    zframe_t *frame = NULL;
    if (sso_dir_connection_get(service, &get, &reply) != 0 || reply->error || !reply->connection)
        frame = sso_html_error_page(503, "IdP simulator",
                                    "The simulator's connection is not available.");
    else {
        const Sso__Connection *connection = reply->connection;
        sim_response_t spec = {
            .idp_entity_id = connection->idp_entity_id,
            .sp_entity_id = connection->sp_entity_id,
            .acs_url = connection->sp_acs_url,
            .in_response_to = "", /* unsolicited */
            .email = email,
            .given_name = "",
            .family_name = "",
            .groups = "",
            .scenario = SIM_SUCCESS,
            .now = time(NULL),
            .key_pem = key->private_key_pem,
            .cert_pem = key->certificate_pem,
        };
        char *xml = saml_simulator_response(&spec);
        char *b64 = xml ? sso_base64_encode((const uint8_t *) xml, strlen(xml)) : NULL;
        frame = b64 ? s_post_page(connection->sp_acs_url, b64, relay_state)
                    : sso_html_error_page(500, "IdP simulator", "Could not sign.");
        sso_info("simulator: IdP-initiated Response for %s at %s", email, connection->id);
        free(xml);
        free(b64);
    }
    if (reply)
        sso__connection_reply__free_unpacked(reply, NULL);
    sso__simulator_key_reply__free_unpacked(key, NULL);
    return frame;
}

static zframe_t *s_idp_initiated(sso_service_t *service, const Sso__HttpRequest *request)
{
    if (!strcmp(request->method, "GET"))
        return s_idp_initiated_page(service, request, 200, NULL);
    if (strcmp(request->method, "POST") != 0)
        return sso_http_method_not_allowed("GET, POST");
    zhashx_t *params = sso_http_params(request);
    const char *email = s_field(params, "email", NULL);
    const char *relay_state = s_field(params, "RelayState", "");
    zframe_t *frame;
    if (!params || !sso_cookie_csrf_matches(request, CSRF_COOKIE, s_field(params, CSRF_FIELD,
                                                                          NULL)))
        frame = s_refuse(request, NULL, 403, "This form expired or did not come from this "
                                             "page. Open it again.");
    else if (!email || !strchr(email, '@') || strlen(email) > FIELD_MAX
             || strlen(relay_state) > 80)
        frame = s_idp_initiated_page(service, request, 400, "Give an email address, and a "
                                     "RelayState of at most 80 characters.");
    else
        frame = s_idp_initiated_sign(service, params);
    zhashx_destroy(&params);
    return frame;
}

zframe_t *saml_simulator_http(sso_service_t *service, const Sso__HttpRequest *request)
{
    if (service->config->simulator && !strcmp(request->path, S_IDP_INITIATED_PATH))
        return s_idp_initiated(service, request);
    /* Off (production without SSO_SIMULATOR=1): as if there were no simulator at all. */
    if (!service->config->simulator || strcmp(request->path, "/simulator/sso") != 0)
        return sso_http_error(404, "not_found", "no such path");
    bool post = !strcmp(request->method, "POST");
    if (!post && strcmp(request->method, "GET"))
        return sso_http_method_not_allowed("GET, POST");
    zhashx_t *params = sso_http_params(request);
    const char *saml_request = s_field(params, "SAMLRequest", NULL);
    const char *relay_state = s_field(params, "RelayState", NULL);
    zframe_t *frame = NULL;
    char why[400] = "";
    char *request_id = NULL, *acs = NULL;
    sim_login_t login = {0};
    int status = 0;
    if (!params || !saml_request || !relay_state || strlen(relay_state) > 80)
        frame = s_refuse(request, relay_state, 400,
                         "Open this page through a sign-in: it needs the broker's SAMLRequest "
                         "and RelayState.");
    else if (post && !sso_cookie_csrf_matches(request, CSRF_COOKIE,
                                              s_field(params, CSRF_FIELD, NULL)))
        frame = s_refuse(request, relay_state, 403,
                         "This form expired or did not come from this page. Start the sign-in "
                         "again from the application.");
    else if (s_read_request(saml_request, &request_id, &acs, why, sizeof why) != 0)
        frame = s_refuse(request, relay_state, 400, why);
    else if ((status = s_login(service, relay_state, request_id, acs, &login, why, sizeof why))
             != 0)
        frame = s_refuse(request, relay_state, (uint32_t) status, why);
    else if (!post)
        frame = s_page(service, request, 200, saml_request, relay_state, NULL,
                       s_login_hint(login.context->txn));
    else
        frame = s_sign(service, request, params, &login);
    s_login_free(&login);
    free(request_id);
    free(acs);
    zhashx_destroy(&params);
    return frame;
}

void saml_simulator_test(bool verbose)
{
    (void) verbose;
    SSO_CHECK(saml_simulator_scenario("success") == SIM_SUCCESS);
    SSO_CHECK(saml_simulator_scenario("bad_signature") == SIM_BAD_SIGNATURE);
    SSO_CHECK(saml_simulator_scenario("nope") == -1);
    SSO_CHECK(saml_simulator_scenario(NULL) == -1);
    SSO_CHECK(sso_xmlsec_init() == 0);
    char *key = NULL, *cert = NULL;
    SSO_CHECK(sso_xmldsig_test_keypair("simulator", &key, &cert) == 0);
    sim_response_t spec = {
        .idp_entity_id = "https://sso.test/simulator",
        .sp_entity_id = "https://sso.test/sso/saml/conn_simulator",
        .acs_url = "https://sso.test/sso/saml/conn_simulator/acs",
        .in_response_to = "_req1",
        .email = "jo@example.com",
        .given_name = "Jo <b>",
        .family_name = "Doe",
        .groups = "admins, devs",
        .now = time(NULL),
        .key_pem = key,
        .cert_pem = cert,
    };
    /* The simulator's connection as the directory seeds it, through the ACS's own mapping. */
    char *certs[] = {cert};
    Sso__Connection connection = SSO__CONNECTION__INIT;
    connection.idp_entity_id = (char *) spec.idp_entity_id;
    connection.idp_certificates = certs;
    connection.n_idp_certificates = 1;
    connection.sp_entity_id = (char *) spec.sp_entity_id;
    connection.sp_acs_url = (char *) spec.acs_url;
    /* As the directory fills it when the option is not set. */
    connection.saml_clock_skew_s = SAML_DEFAULT_CLOCK_SKEW;
    saml_response_config_t config;
    saml_response_config_from_connection(&config, &connection, "_req1");
    /* Each scenario through the real validator: only success passes, each failure for its
       own reason. */
    saml_error_t expected[] = {SAML_OK, SAML_ERR_STATUS, SAML_ERR_EXPIRED, SAML_ERR_AUDIENCE,
                               SAML_ERR_SIGNATURE};
    for (int scenario = SIM_SUCCESS; scenario <= SIM_BAD_SIGNATURE; scenario++) {
        spec.scenario = (sim_scenario_t) scenario;
        char *xml = saml_simulator_response(&spec);
        char *b64 = xml ? sso_base64_encode((const uint8_t *) xml, strlen(xml)) : NULL;
        saml_response_t *validator = saml_response_new(&config);
        saml_error_t got = b64 ? saml_response_validate(validator, b64) : SAML_ERR_INTERNAL;
        SSO_CHECK(got == expected[scenario]);
        if (got != expected[scenario])
            fprintf(stderr, "scenario %s: %s\n", s_scenarios[scenario],
                    saml_response_reason(validator));
        if (scenario == SIM_SUCCESS && got == SAML_OK) {
            const saml_profile_t *profile = saml_response_profile(validator);
            SSO_CHECK(!strcmp(profile->subject, "jo@example.com"));
            SSO_CHECK(profile->given_name && !strcmp(profile->given_name, "Jo <b>"));
            SSO_CHECK(profile->n_groups == 2 && !strcmp(profile->groups[1], "devs"));
        }
        saml_response_destroy(&validator);
        free(xml);
        free(b64);
    }
    free(key);
    free(cert);
}
