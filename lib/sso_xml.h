/* sso_xml: strict access to elements of a parsed document, shared by the saml service's
   validation and the directory's metadata checks: namespace-qualified element tests, attribute
   and text reading where a comment cannot truncate a value, algorithm allow-lists. */
#ifndef SSO_XML_H
#define SSO_XML_H
#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>

#define SSO_XML_NS_DSIG "http://www.w3.org/2000/09/xmldsig#"

/* Values longer than this (NameID, attribute values, ids) are refused: nothing legitimate is
   that long and it keeps every later copy bounded. */
#define SSO_XML_MAX_VALUE 4096

/* True when node is an element named name in namespace ns. */
bool sso_xml_is(xmlNodePtr node, const char *ns, const char *name);
/* First element child of node named ns:name, or NULL. */
xmlNodePtr sso_xml_child(xmlNodePtr node, const char *ns, const char *name);
/* Number of element children of node named ns:name. */
size_t sso_xml_count_children(xmlNodePtr node, const char *ns, const char *name);
/* True when value (may be NULL) is one of the NULL-terminated list (algorithm allow-lists). */
bool sso_xml_in_list(const char *value, const char *const *list);
/* Attribute without namespace as a malloc'd string, NULL when absent. */
char *sso_xml_attr(xmlNodePtr node, const char *name);
/* Text of an element: every text and CDATA child concatenated (comments are skipped, as
   exclusive c14n without comments does, so the value is exactly what was signed), XML
   whitespace trimmed at both ends. Refuses (-1) an element with element children or a value
   longer than SSO_XML_MAX_VALUE. *out is malloc'd. */
int sso_xml_text(xmlNodePtr node, char **out);

void sso_xml_test(bool verbose);
#endif
