/* dir_valid: input rules shared by several resources: email domains, upstream URLs and OAuth
   redirect URIs. Each returns 0, or -1 with a reason in why that is safe to show the caller. */
#ifndef DIR_VALID_H
#define DIR_VALID_H
#include <stdbool.h>
#include <stddef.h>

/* Normalizes a domain in place-free fashion: trims surrounding whitespace, lower-cases, and
   checks DNS name syntax (LDH labels of 1..63, at least one dot, 253 bytes at most, an
   alphabetic TLD, no wildcards, no leading or trailing dot). out has room for 254 bytes. */
int dir_domain_normalize(const char *input, char out[254], char *why, size_t why_size);
/* True for a consumer mailbox provider (gmail.com, outlook.com, ...) or a subdomain of one. */
bool dir_domain_is_public(const char *domain);

/* An absolute http or https URL with a host, no user info, no fragment, no whitespace. */
int dir_url_check(const char *url, char *why, size_t why_size);
/* An OAuth redirect URI: as dir_url_check, and https unless the host is localhost,
   127.0.0.1 or [::1]. */
int dir_redirect_uri_check(const char *uri, char *why, size_t why_size);

void dir_valid_test(bool verbose);
#endif
