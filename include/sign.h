/* HMAC-SHA256 signatures in the Standard Webhooks form, for both sides of
 * dpc-notify: intake checks what a sender signed (auth.c), the JSON target
 * signs what it posts (src/render/json.c). One key rule and one signer, so
 * a secret that opens the front door also signs the same way outbound.
 * Pure; uses libcrypto. */
#ifndef DPC_SIGN_H
#define DPC_SIGN_H

#include <stddef.h>

#define SIGN_MAC_LEN 32  /* bytes of an HMAC-SHA256 */
#define SIGN_B64_LEN 44  /* base64 of SIGN_MAC_LEN bytes, without the NUL */
#define SIGN_KEY_MAX 256 /* bytes a whsec_ secret may decode to, plus one */

/* The key bytes of secret: "whsec_<base64>" is decoded (strict standard
 * base64: A-Z a-z 0-9 + /, '=' padding only at the end, at most
 * SIGN_KEY_MAX - 1 bytes), anything else is used as its own bytes. *key
 * points into buf (decoded) or into secret (borrowed, both). Returns the
 * key's length; 0 when the secret cannot sign (NULL, empty, a bad whsec_). */
size_t sign_key(const char *secret, unsigned char buf[SIGN_KEY_MAX], const unsigned char **key);

/* HMAC-SHA256 with key over the concatenation of the n parts (parts[i]
 * of lens[i] bytes) into out. An empty key never signs. Returns 0, or -1
 * when libcrypto fails or keylen is 0. */
int sign_hmac(const void *key, size_t keylen, const void *const *parts, const size_t *lens,
	      size_t n, unsigned char out[SIGN_MAC_LEN]);

/* The Standard Webhooks signature of body (len bytes) sent with id and
 * timestamp (decimal unix seconds): base64(HMAC-SHA256(key, id "."
 * timestamp "." body)), NUL-terminated in out, with key from sign_key().
 * Returns 0, or -1 when the secret cannot sign or libcrypto fails. */
int sign_standard(const char *secret, const char *id, const char *timestamp, const void *body,
		  size_t len, char out[SIGN_B64_LEN + 1]);

#endif
