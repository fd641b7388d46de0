/* dir_valid: domain, URL and redirect URI rules. */
#include "api/dir_valid.h"
#include "sso_test.h"
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DIR_URL_MAX 2048

/* Consumer mailbox providers: their users are not one organization's employees, so owning
   the domain would let one tenant capture strangers' logins. */
static const char *s_public_domains[] = {
    "gmail.com", "googlemail.com", "outlook.com", "outlook.fr", "outlook.de", "hotmail.com",
    "hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.it", "live.com", "live.co.uk",
    "live.fr", "msn.com", "passport.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de",
    "yahoo.co.jp", "yahoo.com.br", "ymail.com", "rocketmail.com", "icloud.com", "me.com",
    "mac.com", "aol.com", "aim.com", "proton.me", "protonmail.com", "protonmail.ch", "pm.me",
    "gmx.com", "gmx.net", "gmx.de", "gmx.at", "gmx.ch", "web.de", "mail.com", "email.com",
    "zoho.com", "zohomail.com", "yandex.com", "yandex.ru", "ya.ru", "mail.ru", "inbox.ru",
    "list.ru", "bk.ru", "rambler.ru", "qq.com", "163.com", "126.com", "yeah.net", "sina.com",
    "sohu.com", "naver.com", "daum.net", "hanmail.net", "fastmail.com", "fastmail.fm",
    "hey.com", "tutanota.com", "tutanota.de", "tuta.io", "tuta.com", "comcast.net",
    "att.net", "verizon.net", "sbcglobal.net", "bellsouth.net", "cox.net", "charter.net",
    "earthlink.net", "optonline.net", "orange.fr", "wanadoo.fr", "free.fr", "laposte.net",
    "sfr.fr", "t-online.de", "freenet.de", "libero.it", "virgilio.it", "tiscali.it",
    "btinternet.com", "sky.com", "virginmedia.com", "rediffmail.com", "seznam.cz", "wp.pl",
    "o2.pl", "interia.pl", "onet.pl", "mail.bg", "abv.bg", "bol.com.br", "uol.com.br",
    "terra.com.br", "yahoo.es", "hotmail.es", "telefonica.net", "shaw.ca", "rogers.com",
    "sympatico.ca", "bigpond.com", "optusnet.com.au", "xtra.co.nz", "duck.com",
    "mailinator.com", "guerrillamail.com", "hushmail.com", "posteo.de", "mailbox.org",
    "runbox.com", "disroot.org", "riseup.net", "skiff.com", "startmail.com",
};

bool dir_domain_is_public(const char *domain)
{
    size_t len = strlen(domain);
    for (size_t i = 0; i < sizeof s_public_domains / sizeof s_public_domains[0]; i++) {
        const char *entry = s_public_domains[i];
        size_t entry_len = strlen(entry);
        if (len == entry_len && strcmp(domain, entry) == 0)
            return true;
        /* mail.gmail.com is no more an organization's than gmail.com is. */
        if (len > entry_len && domain[len - entry_len - 1] == '.'
            && strcmp(domain + len - entry_len, entry) == 0)
            return true;
    }
    return false;
}

int dir_domain_normalize(const char *input, char out[254], char *why, size_t why_size)
{
    while (*input && isspace((unsigned char) *input))
        input++;
    size_t len = strlen(input);
    while (len && isspace((unsigned char) input[len - 1]))
        len--;
    if (len == 0) {
        snprintf(why, why_size, "domain must not be empty");
        return -1;
    }
    if (len > 253) {
        snprintf(why, why_size, "domain is longer than 253 characters");
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) input[i];
        if (c >= 0x80) {
            snprintf(why, why_size, "domain must be ASCII; use the punycode (xn--) form");
            return -1;
        }
        if (!(isalnum(c) || c == '-' || c == '.')) {
            snprintf(why, why_size, "domain may contain only letters, digits, '-' and '.' "
                                    "(no wildcards, '@', ports or paths)");
            return -1;
        }
        out[i] = (char) tolower(c);
    }
    out[len] = '\0';
    if (out[0] == '.' || out[len - 1] == '.') {
        snprintf(why, why_size, "domain must not start or end with a dot");
        return -1;
    }
    const char *label = out;
    size_t labels = 0;
    const char *last = out;
    for (;;) {
        const char *dot = strchr(label, '.');
        size_t label_len = dot ? (size_t) (dot - label) : strlen(label);
        if (label_len == 0 || label_len > 63) {
            snprintf(why, why_size, "domain labels must be 1 to 63 characters");
            return -1;
        }
        if (label[0] == '-' || label[label_len - 1] == '-') {
            snprintf(why, why_size, "domain labels must not start or end with '-'");
            return -1;
        }
        labels++;
        last = label;
        if (!dot)
            break;
        label = dot + 1;
    }
    if (labels < 2) {
        snprintf(why, why_size, "domain must have at least one dot (like example.com)");
        return -1;
    }
    /* A TLD is alphabetic (or punycode): this also refuses IPv4 addresses. */
    bool alpha = strncmp(last, "xn--", 4) == 0;
    if (!alpha) {
        alpha = true;
        for (const char *p = last; *p; p++)
            if (!isalpha((unsigned char) *p))
                alpha = false;
    }
    if (!alpha) {
        snprintf(why, why_size, "domain must end in an alphabetic top-level domain");
        return -1;
    }
    return 0;
}

/* Parses url with libcurl's URL parser (the same one that fetches) and hands back its scheme
   and host; 0 or -1 with why. */
static int s_parse(const char *url, char **scheme, char **host, char *why, size_t why_size)
{
    *scheme = *host = NULL;
    size_t len = strlen(url);
    if (len == 0 || len > DIR_URL_MAX) {
        snprintf(why, why_size, "must be a URL of 1 to %d characters", DIR_URL_MAX);
        return -1;
    }
    for (const unsigned char *p = (const unsigned char *) url; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f) {
            snprintf(why, why_size, "must not contain spaces or control characters");
            return -1;
        }
        /* RFC 3986 has no place for these (nor for raw non-ASCII bytes) outside
           percent-encoding; a page that shows the URL need not guess what they meant. */
        if (*p >= 0x80 || strchr("<>\"{}|\\^`", *p)) {
            snprintf(why, why_size, "must contain only characters a URL allows (RFC 3986); "
                                    "percent-encode the others");
            return -1;
        }
    }
    if (strncasecmp(url, "https://", 8) != 0 && strncasecmp(url, "http://", 7) != 0) {
        snprintf(why, why_size, "must be an absolute http or https URL");
        return -1;
    }
    if (strchr(url, '#')) {
        snprintf(why, why_size, "must not contain a fragment (#)");
        return -1;
    }
    CURLU *parsed = curl_url();
    char *user = NULL;
    int rc = -1;
    if (!parsed || curl_url_set(parsed, CURLUPART_URL, url, 0) != CURLUE_OK
        || curl_url_get(parsed, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK
        || curl_url_get(parsed, CURLUPART_HOST, host, 0) != CURLUE_OK || !**host)
        snprintf(why, why_size, "is not a valid absolute URL");
    else if (curl_url_get(parsed, CURLUPART_USER, &user, 0) == CURLUE_OK)
        snprintf(why, why_size, "must not contain user information (user@host)");
    else
        rc = 0;
    curl_free(user);
    curl_url_cleanup(parsed);
    if (rc != 0) {
        curl_free(*scheme);
        curl_free(*host);
        *scheme = *host = NULL;
    }
    return rc;
}

int dir_url_check(const char *url, char *why, size_t why_size)
{
    char *scheme, *host;
    if (s_parse(url, &scheme, &host, why, why_size) != 0)
        return -1;
    curl_free(scheme);
    curl_free(host);
    return 0;
}

int dir_redirect_uri_check(const char *uri, char *why, size_t why_size)
{
    char *scheme, *host;
    if (s_parse(uri, &scheme, &host, why, why_size) != 0)
        return -1;
    int rc = 0;
    if (strcasecmp(scheme, "https") != 0 && strcasecmp(host, "localhost") != 0
        && strcmp(host, "127.0.0.1") != 0 && strcmp(host, "[::1]") != 0) {
        snprintf(why, why_size, "must use https (http only for localhost, 127.0.0.1, [::1])");
        rc = -1;
    }
    curl_free(scheme);
    curl_free(host);
    return rc;
}

void dir_valid_test(bool verbose)
{
    (void) verbose;
    char out[254], why[128];
    SSO_CHECK(dir_domain_normalize("  Example.COM \t", out, why, sizeof why) == 0
              && strcmp(out, "example.com") == 0);
    SSO_CHECK(dir_domain_normalize("xn--bcher-kva.example", out, why, sizeof why) == 0);
    SSO_CHECK(dir_domain_normalize("a-b.co.uk", out, why, sizeof why) == 0);
    const char *bad[] = {"", "   ", "localhost", "example.com.", ".example.com", "*.example.com",
                         "a..b.com", "-a.com", "a-.com", "user@example.com", "example.com/x",
                         "example.com:443", "10.0.0.1", "exa mple.com", "bücher.de",
                         "example.123"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = dir_domain_normalize(bad[i], out, why, sizeof why);
        SSO_CHECK(rc == -1);
        if (rc != -1)
            fprintf(stderr, "accepted bad domain '%s'\n", bad[i]);
    }
    char label[80];
    memset(label, 'a', 64);
    snprintf(label + 64, sizeof label - 64, ".com");
    SSO_CHECK(dir_domain_normalize(label, out, why, sizeof why) == -1);

    SSO_CHECK(dir_domain_is_public("gmail.com"));
    SSO_CHECK(dir_domain_is_public("proton.me"));
    SSO_CHECK(dir_domain_is_public("mail.yahoo.com"));
    SSO_CHECK(!dir_domain_is_public("example.com"));
    SSO_CHECK(!dir_domain_is_public("notgmail.com"));

    SSO_CHECK(dir_redirect_uri_check("https://app.example.com/callback?x=1", why, sizeof why) == 0);
    SSO_CHECK(dir_redirect_uri_check("http://localhost:3000/cb", why, sizeof why) == 0);
    SSO_CHECK(dir_redirect_uri_check("http://127.0.0.1/cb", why, sizeof why) == 0);
    SSO_CHECK(dir_redirect_uri_check("http://[::1]:8080/cb", why, sizeof why) == 0);
    SSO_CHECK(dir_redirect_uri_check("http://app.example.com/cb", why, sizeof why) == -1
              && strstr(why, "https"));
    SSO_CHECK(dir_redirect_uri_check("http://localhost.evil.com/cb", why, sizeof why) == -1);
    SSO_CHECK(dir_redirect_uri_check("https://app.example.com/cb#frag", why, sizeof why) == -1);
    SSO_CHECK(dir_redirect_uri_check("/relative", why, sizeof why) == -1);
    SSO_CHECK(dir_redirect_uri_check("javascript:alert(1)", why, sizeof why) == -1);
    SSO_CHECK(dir_redirect_uri_check("https://user:pw@app.example.com/", why, sizeof why) == -1);
    SSO_CHECK(dir_redirect_uri_check("https://app.example.com/a b", why, sizeof why) == -1);
    SSO_CHECK(dir_redirect_uri_check("https://", why, sizeof why) == -1);
    const char *unquoted[] = {"https://app.example.com/<script>", "https://app.example.com/\"x",
                              "https://app.example.com/a{b}", "https://app.example.com/a|b",
                              "https://app.example.com/a\\b", "https://app.example.com/a^b",
                              "https://app.example.com/a`b", "https://app.example.com/caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof unquoted / sizeof *unquoted; i++)
        SSO_CHECK(dir_redirect_uri_check(unquoted[i], why, sizeof why) == -1
                  && strstr(why, "RFC 3986"));
    SSO_CHECK(dir_redirect_uri_check("https://app.example.com/caf%C3%A9?a=%3Cb%3E&c=[1]", why,
                                     sizeof why) == 0);
    SSO_CHECK(dir_url_check("http://idp.example.com/sso", why, sizeof why) == 0);
    SSO_CHECK(dir_url_check("ftp://idp.example.com/sso", why, sizeof why) == -1);
}
