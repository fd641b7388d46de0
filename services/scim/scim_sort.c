/* scim_sort: sortBy over a list's resources. */
#include "scim_sort.h"
#include "scim_filter.h"
#include "sso_test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    json_t *resource;
    const json_t *value; /* NULL: none (last) */
    size_t index;        /* the original place, so that equal values keep their order */
    bool case_exact;
    bool descending;
} s_entry_t;

/* The value of attr in resource that it sorts by. */
static const json_t *s_value(const scim_attr_t *attr, const json_t *resource)
{
    const json_t *value = scim_json_get(scim_attr_container(attr, resource), attr->name, NULL);
    if (json_is_array(value)) {
        const json_t *chosen = json_array_get(value, 0);
        size_t i;
        json_t *element;
        json_array_foreach(value, i, element)
            if (json_is_true(scim_json_get(element, "primary", NULL))) {
                chosen = element;
                break;
            }
        value = chosen;
    }
    if (json_is_object(value))
        value = scim_json_get(value, attr->sub ? attr->sub : "value", NULL);
    else if (attr->sub)
        value = NULL;
    return json_is_null(value) ? NULL : value;
}

static int s_compare_values(const json_t *a, const json_t *b, bool case_exact)
{
    if (json_is_string(a) && json_is_string(b))
        return case_exact ? strcmp(json_string_value(a), json_string_value(b))
                          : strcasecmp(json_string_value(a), json_string_value(b));
    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        return x < y ? -1 : x > y;
    }
    if (json_is_boolean(a) && json_is_boolean(b))
        return json_is_true(a) - json_is_true(b);
    return json_typeof(a) - json_typeof(b); /* mixed types: grouped by type */
}

static int s_compare(const void *x, const void *y)
{
    const s_entry_t *a = x, *b = y;
    int order = 0;
    if (!a->value || !b->value)
        order = !a->value - !b->value; /* none last, whatever the order */
    else {
        order = s_compare_values(a->value, b->value, a->case_exact);
        order = a->descending ? -order : order;
    }
    return order ? order : a->index < b->index ? -1 : a->index > b->index;
}

int scim_sort_order(const char *sort_order, bool *descending)
{
    *descending = sort_order && !strcasecmp(sort_order, "descending");
    return !sort_order || *descending || !strcasecmp(sort_order, "ascending") ? 0 : -1;
}

int scim_sort(json_t *resources, const char *sort_by, bool descending, char *why,
              size_t why_size)
{
    scim_attr_t attr;
    if (scim_attr_parse(sort_by, 0, strlen(sort_by), "sortBy", &attr, why, why_size) != 0)
        return -1;
    bool case_exact = !attr.urn && ((!strcasecmp(attr.name, "id") && !attr.sub)
                                    || (!strcasecmp(attr.name, "externalId") && !attr.sub)
                                    || (!strcasecmp(attr.name, "meta") && attr.sub
                                        && !strcasecmp(attr.sub, "version")));
    size_t n = json_array_size(resources);
    s_entry_t *entries = calloc(n ? n : 1, sizeof *entries);
    if (!entries) {
        scim_attr_free(&attr);
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *resource = json_array_get(resources, i);
        entries[i] = (s_entry_t) {json_incref(resource), s_value(&attr, resource), i,
                                  case_exact, descending};
    }
    qsort(entries, n, sizeof *entries, s_compare);
    json_array_clear(resources);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(resources, entries[i].resource);
    free(entries);
    scim_attr_free(&attr);
    return 0;
}

/* ---- self-test --------------------------------------------------------------------------- */

/* The ids of resources after sorting by sort_by, joined, into out ("" when refused). */
static void s_sorted(const char *sort_by, bool descending, char *out, size_t size)
{
    json_t *resources = json_loads(
        "[{\"id\":\"a\",\"userName\":\"bob\",\"emails\":[{\"value\":\"z@x\"},{\"value\":"
        "\"a@x\",\"primary\":true}],\"n\":3},"
        "{\"id\":\"B\",\"userName\":\"Alice\",\"emails\":[{\"value\":\"m@x\"}],\"n\":10},"
        "{\"id\":\"c\",\"n\":1},"
        "{\"id\":\"d\",\"userName\":\"alice\",\"name\":{\"familyName\":\"Z\"}}]",
        0, NULL);
    char why[256];
    out[0] = '\0';
    if (resources && scim_sort(resources, sort_by, descending, why, sizeof why) == 0) {
        size_t i, used = 0;
        json_t *r;
        json_array_foreach(resources, i, r)
            if (used < size)
                used += (size_t) snprintf(out + used, size - used, "%s",
                                          json_string_value(json_object_get(r, "id")));
    }
    json_decref(resources);
}

void scim_sort_test(bool verbose)
{
    (void) verbose;
    char out[32];
    s_sorted("userName", false, out, sizeof out);
    SSO_CHECK(!strcmp(out, "Bdac")); /* case-insensitive, ties in order, none last */
    s_sorted("userName", true, out, sizeof out);
    SSO_CHECK(!strcmp(out, "aBdc"));
    s_sorted("emails", false, out, sizeof out); /* the primary email, else the first */
    SSO_CHECK(!strcmp(out, "aBcd"));
    s_sorted("emails.value", true, out, sizeof out);
    SSO_CHECK(!strcmp(out, "Bacd"));
    s_sorted("n", false, out, sizeof out); /* numbers as numbers */
    SSO_CHECK(!strcmp(out, "caBd"));
    s_sorted("id", false, out, sizeof out); /* caseExact: "B" before "a" */
    SSO_CHECK(!strcmp(out, "Bacd"));
    s_sorted("name.familyName", false, out, sizeof out);
    SSO_CHECK(!strcmp(out, "daBc"));
    s_sorted("urn:ietf:params:scim:schemas:core:2.0:User:userName", false, out, sizeof out);
    SSO_CHECK(!strcmp(out, "Bdac"));
    s_sorted("a b", false, out, sizeof out);
    SSO_CHECK(!strcmp(out, ""));
    s_sorted("", false, out, sizeof out);
    SSO_CHECK(!strcmp(out, ""));
    bool descending = true;
    SSO_CHECK(scim_sort_order(NULL, &descending) == 0 && !descending);
    SSO_CHECK(scim_sort_order("Descending", &descending) == 0 && descending);
    SSO_CHECK(scim_sort_order("ascending", &descending) == 0 && !descending);
    SSO_CHECK(scim_sort_order("up", &descending) == -1 && scim_sort_order("", &descending) == -1);
}
