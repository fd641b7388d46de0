/* sso_xml: strict element, attribute and text access. */
#include "sso_xml.h"
#include "sso_test.h"
#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>

bool sso_xml_is(xmlNodePtr node, const char *ns, const char *name)
{
    return node && node->type == XML_ELEMENT_NODE && node->ns && node->ns->href
           && strcmp((const char *) node->ns->href, ns) == 0
           && strcmp((const char *) node->name, name) == 0;
}

xmlNodePtr sso_xml_child(xmlNodePtr node, const char *ns, const char *name)
{
    for (xmlNodePtr child = node ? node->children : NULL; child; child = child->next)
        if (sso_xml_is(child, ns, name))
            return child;
    return NULL;
}

size_t sso_xml_count_children(xmlNodePtr node, const char *ns, const char *name)
{
    size_t count = 0;
    for (xmlNodePtr child = node ? node->children : NULL; child; child = child->next)
        count += sso_xml_is(child, ns, name);
    return count;
}

bool sso_xml_in_list(const char *value, const char *const *list)
{
    for (size_t i = 0; value && list[i]; i++)
        if (strcmp(value, list[i]) == 0)
            return true;
    return false;
}

char *sso_xml_attr(xmlNodePtr node, const char *name)
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

int sso_xml_text(xmlNodePtr node, char **out)
{
    *out = NULL;
    size_t len = 0;
    /* First pass: refuse structure and measure, so a hostile document cannot make us copy
       more than SSO_XML_MAX_VALUE. */
    for (xmlNodePtr child = node->children; child; child = child->next) {
        if (child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) {
            len += child->content ? strlen((const char *) child->content) : 0;
            if (len > SSO_XML_MAX_VALUE)
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

void sso_xml_test(bool verbose)
{
    (void) verbose;
    const char *const algs[] = {"a", "b", NULL};
    SSO_CHECK(sso_xml_in_list("b", algs) && !sso_xml_in_list("c", algs)
              && !sso_xml_in_list(NULL, algs) && !sso_xml_in_list("", algs));
    /* Text with a comment and CDATA in the middle reads as the whole signed value. */
    const char *xml = "<a><b> user@evil.com<!---->.example.com </b><c>x<d/></c>"
                      "<e><![CDATA[left]]>right</e></a>";
    xmlDocPtr doc = xmlReadMemory(xml, (int) strlen(xml), "t.xml", NULL, XML_PARSE_NONET);
    SSO_CHECK(doc != NULL);
    if (doc) {
        xmlNodePtr a = xmlDocGetRootElement(doc);
        xmlNodePtr b = a->children, c = b->next, e = c->next;
        char *text = NULL;
        SSO_CHECK(sso_xml_text(b, &text) == 0 && strcmp(text, "user@evil.com.example.com") == 0);
        free(text);
        SSO_CHECK(sso_xml_text(c, &text) == -1 && text == NULL);
        SSO_CHECK(sso_xml_text(e, &text) == 0 && strcmp(text, "leftright") == 0);
        free(text);
        xmlFreeDoc(doc);
    }
}
