/* sso_webhook: signatures of the webhooks the broker sends to the app, as the Standard Webhooks
   specification lays them out: HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>" with
   the endpoint's secret ("whsec_" + base64 of its key), sent as "webhook-signature: v1,<base64>"
   beside the webhook-id and webhook-timestamp headers, so receivers can verify with any of the
   specification's libraries. */
#ifndef SSO_WEBHOOK_H
#define SSO_WEBHOOK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSO_WEBHOOK_SECRET_PREFIX "whsec_"
/* The key sizes the specification allows: 24 to 64 bytes; new secrets carry 32. */
#define SSO_WEBHOOK_KEY_MIN 24
#define SSO_WEBHOOK_KEY_MAX 64

/* A fresh endpoint secret, "whsec_" + base64 of 32 random bytes; NULL when the random source
   fails. Caller frees (after cleansing it). */
char *sso_webhook_secret_new(void);
/* The webhook-signature header value, "v1," + base64 of the HMAC, for one delivery; NULL when
   secret is not "whsec_" + base64 of 24..64 bytes, msg_id is empty or holds a '.', or memory
   runs out. Caller frees. */
char *sso_webhook_sign(const char *secret, const char *msg_id, int64_t timestamp,
                       const char *body, size_t body_len);

void sso_webhook_test(bool verbose);
#endif
