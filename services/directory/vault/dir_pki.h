/* dir_pki: X.509 for connections: checking the IdP certificates an admin pastes, and making
   the per-connection SP key pair and self-signed certificate. */
#ifndef DIR_PKI_H
#define DIR_PKI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses one PEM certificate (exactly one, nothing else but whitespace around it) and returns
   its canonical PEM (caller frees), or NULL. */
char *dir_pki_cert_normalize(const char *pem);
/* Certificates as metadata carries them (base64 DER): sso_saml_metadata_cert_pem. */

/* What an admin is shown of a certificate: its names (RFC 2253, "CN=idp,O=Example"; cut at
   the buffer's end) and its validity (Unix seconds). */
typedef struct {
    char subject[256];
    char issuer[256];
    int64_t not_before;
    int64_t not_after;
    char sha256[96]; /* the SHA-256 fingerprint of its DER, "AB:CD:...", as the saml service's
                        reasons name certificates */
} dir_pki_cert_info_t;
/* Reads one PEM certificate (as dir_pki_cert_normalize accepts) into info. 0, or -1. */
int dir_pki_cert_info(const char *pem, dir_pki_cert_info_t *info);

/* A fresh RSA-2048 key (PKCS#8 PEM) and a self-signed SHA-256 certificate for subject
   CN=common_name valid for ten years. 0, or -1. Caller frees both. */
int dir_pki_sp_keypair(const char *common_name, char **key_pem, char **cert_pem);
/* The same, valid from not_before to not_after (Unix seconds): for an IdP's certificates in
   tests, an expired one included. */
int dir_pki_self_signed(const char *common_name, int64_t not_before, int64_t not_after,
                        char **key_pem, char **cert_pem);

void dir_pki_test(bool verbose);
#endif
