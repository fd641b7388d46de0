/* sso_email: the domain of an email address, read strictly. Used wherever a domain decides
   something (home realm discovery at /oauth/authorize, the email domain guard at the ACS), so
   both read an address the same way. */
#ifndef SSO_EMAIL_H
#define SSO_EMAIL_H
#include <stdbool.h>
#include <stddef.h>

/* The domain of email, lower-cased, into out. 0, or -1 when email is not one address: exactly
   one '@', a local part of 1 to 64 characters with no space, control or special character
   ("(),:;<>[\]), and a domain of dot-separated labels of [a-z0-9-] (1 to 63 characters, no
   hyphen at either end), at least two labels, at most 253 characters and shorter than size. */
int sso_email_domain(const char *email, char *out, size_t size);

void sso_email_test(bool verbose);
#endif
