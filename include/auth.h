/* Webhook authentication: shared tokens and HMAC-SHA256 signatures, all
 * compared in constant time. Pure apart from reading the clock passed in. */
#ifndef DPC_AUTH_H
#define DPC_AUTH_H

#include <stddef.h>
#include <stdint.h>

/* What the request carried; any field may be NULL. */
struct auth_request {
	const char *authorization; /* Authorization header */
	const char *query_token;   /* ?token= */
	const char *wh_id;         /* webhook-id */
	const char *wh_timestamp;  /* webhook-timestamp (unix seconds) */
	const char *wh_signature;  /* webhook-signature: "v1,<b64> v1,<b64>" */
	const char *hub_signature; /* X-Hub-Signature-256: sha256=<hex> */
	const char *body;          /* raw body */
	size_t body_len;
};

enum auth_result {
	AUTH_OK,
	AUTH_MISSING, /* no credential of any kind */
	AUTH_BAD_TOKEN,
	AUTH_BAD_SIGNATURE,
	AUTH_STALE, /* timestamp outside tolerance */
	AUTH__MAX
};
extern const char *const auth_result_names[AUTH__MAX];

/* Checks r against tokens and HMAC secrets (Standard Webhooks secrets may be
 * given as "whsec_<base64>"; others are used as raw bytes). now is unix
 * seconds; tolerance is seconds. With no tokens and no secrets configured
 * the caller decides (allow_unauthenticated); this returns AUTH_MISSING. */
enum auth_result auth_check(const struct auth_request *r, char *const *tokens, size_t n_tokens,
			    char *const *secrets, size_t n_secrets, int64_t now, int tolerance);

/* 1 when secret can sign: a "whsec_" secret must be strict standard base64
 * (A-Z a-z 0-9 + /, '=' padding only at the end) of 1..255 bytes after the
 * prefix; any other non-empty secret is used as raw bytes. Config
 * validation applies the same rule, so a secret that would never match is
 * refused at load instead of failing every signature. */
int auth_secret_ok(const char *secret);

/* Constant-time equality of two byte strings (length leaks, content not). */
int auth_equal(const void *a, size_t alen, const void *b, size_t blen);

#endif
