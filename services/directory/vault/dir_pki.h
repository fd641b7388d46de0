/* dir_pki: X.509 for connections: checking the IdP certificates an admin pastes, and making
   the per-connection SP key pair and self-signed certificate. */
#ifndef DIR_PKI_H
#define DIR_PKI_H
#include <stdbool.h>
#include <stddef.h>

/* Parses one PEM certificate (exactly one, nothing else but whitespace around it) and returns
   its canonical PEM (caller frees), or NULL. */
char *dir_pki_cert_normalize(const char *pem);
/* Certificates as metadata carries them (base64 DER): sso_saml_metadata_cert_pem. */

/* A fresh RSA-2048 key (PKCS#8 PEM) and a self-signed SHA-256 certificate for subject
   CN=common_name valid for ten years. 0, or -1. Caller frees both. */
int dir_pki_sp_keypair(const char *common_name, char **key_pem, char **cert_pem);

void dir_pki_test(bool verbose);
#endif
