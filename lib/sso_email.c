#include "sso_email.h"
#include "sso_test.h"
#include <ctype.h>
#include <string.h>

int sso_email_domain(const char *email, char *out, size_t size)
{
    const char *at = email ? strchr(email, '@') : NULL;
    if (!at || at == email || strchr(at + 1, '@') || at - email > 64)
        return -1;
    for (const char *p = email; p < at; p++)
        if ((unsigned char) *p <= 0x20 || *p == 0x7f || strchr("\"(),:;<>[\\]", *p))
            return -1;
    const char *domain = at + 1;
    size_t len = strlen(domain);
    if (len < 3 || len > 253 || len >= size || !strchr(domain, '.'))
        return -1;
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = (char) tolower((unsigned char) domain[i]);
        if (c == '.' || c == '\0') {
            /* Labels are 1-63 characters and do not start or end with a hyphen. */
            if (label == 0 || label > 63 || domain[i - 1] == '-' || domain[i - label] == '-')
                return -1;
            label = 0;
        }
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
            label++;
        else
            return -1;
        out[i] = c;
    }
    return 0;
}

void sso_email_test(bool verbose)
{
    (void) verbose;
    char domain[256];
    SSO_CHECK(sso_email_domain("Jane.Doe+x@Mail.Example.COM", domain, sizeof domain) == 0
              && !strcmp(domain, "mail.example.com"));
    SSO_CHECK(sso_email_domain("Jo@Example.COM", domain, sizeof domain) == 0
              && !strcmp(domain, "example.com"));
    const char *bad[] = {"jane", "@example.com", "jane@", "jane@example", "a@b@example.com",
                         "ja ne@example.com", "jane@-example.com", "jane@example-.com",
                         "jane@exa_mple.com", "jane@example..com", "jane@example.com.",
                         "nobody", "jo@", "evil@attacker.com@example.com"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        SSO_CHECK(sso_email_domain(bad[i], domain, sizeof domain) == -1);
    SSO_CHECK(sso_email_domain(NULL, domain, sizeof domain) == -1);
    /* A domain that does not fit is refused, never cut. */
    SSO_CHECK(sso_email_domain("jo@example.com", domain, 11) == -1);
    SSO_CHECK(sso_email_domain("jo@example.com", domain, 12) == 0);
}
