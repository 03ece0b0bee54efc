/* Webhook authentication: shared bearer/query tokens, Standard Webhooks
 * signatures and GitHub-style X-Hub-Signature-256, all compared in constant
 * time against every configured credential.
 *
 * Precedence: a valid token OR a valid signature is enough. When nothing
 * matches, the reported failure is the signature's (AUTH_STALE or
 * AUTH_BAD_SIGNATURE) if a signature header was sent, else AUTH_BAD_TOKEN if
 * a token was sent, else AUTH_MISSING. A sender that signs and also carries
 * a stale token is therefore still let in by its signature, and vice versa. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "auth.h"

#define SHA256_LEN 32
/* base64 of 32 bytes is 44 characters. */
#define SIG_B64_LEN 44
/* Longest secret we decode; longer whsec_ secrets are rejected. */
#define SECRET_MAX 256

const char *const auth_result_names[AUTH__MAX] = {
	[AUTH_OK] = "ok",
	[AUTH_MISSING] = "missing",
	[AUTH_BAD_TOKEN] = "bad_token",
	[AUTH_BAD_SIGNATURE] = "bad_signature",
	[AUTH_STALE] = "stale",
};

int auth_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const unsigned char *x = a, *y = b;
	volatile unsigned char diff = 0;
	size_t i;

	if (alen != blen || (alen && (a == NULL || b == NULL)))
		return 0;
	for (i = 0; i < alen; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

/* The token carried by "Authorization: Bearer X" (scheme case-insensitive),
 * as a pointer into the header and a length; NULL if none. */
static const char *bearer(const char *h, size_t *len)
{
	size_t n;

	if (h == NULL)
		return NULL;
	while (*h == ' ' || *h == '\t')
		h++;
	if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
		return NULL;
	h += 6;
	while (*h == ' ' || *h == '\t')
		h++;
	n = strlen(h);
	while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	if (n == 0)
		return NULL;
	*len = n;
	return h;
}

/* 1 when tok matches any configured token. Every token is compared, so the
 * time taken does not say which one (or whether any) matched. */
static int token_ok(const char *tok, size_t len, char *const *tokens, size_t n)
{
	int ok = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (tokens[i] && tokens[i][0])
			ok |= auth_equal(tok, len, tokens[i], strlen(tokens[i]));
	return ok;
}

/* HMAC-SHA256 over the concatenation of parts, with key. 0 on success. */
static int hmac_parts(const void *key, size_t keylen, const void *const *parts, const size_t *lens,
		      size_t nparts, unsigned char out[SHA256_LEN])
{
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t outlen = 0, i;
	int rc = -1;

	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		goto out;
	ctx = EVP_MAC_CTX_new(mac);
	if (ctx == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	/* An empty key is a configuration mistake; it never matches. */
	if (keylen == 0 || !EVP_MAC_init(ctx, key, keylen, params))
		goto out;
	for (i = 0; i < nparts; i++)
		if (lens[i] && !EVP_MAC_update(ctx, parts[i], lens[i]))
			goto out;
	if (!EVP_MAC_final(ctx, out, &outlen, SHA256_LEN) || outlen != SHA256_LEN)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

/* 1 when s (n characters) is standard base64 as Standard Webhooks writes
 * it: groups of four from A-Z a-z 0-9 + /, with '=' padding only in the
 * last one. EVP_DecodeBlock alone would also take leading and trailing
 * blanks, so a typo could decode to some other key without a word. */
static int b64_strict(const char *s, size_t n)
{
	size_t i, pad = 0;

	if (n == 0 || n % 4 != 0)
		return 0;
	while (pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	for (i = 0; i < n - pad; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '/')
			return 0;
	return 1;
}

/* The key bytes for a Standard Webhooks secret: "whsec_<base64>" is
 * decoded, anything else is used as is. Returns the length, 0 if unusable. */
static size_t sw_key(const char *secret, unsigned char *buf, size_t cap, const unsigned char **key)
{
	size_t n, pad = 0;
	int dec;

	if (strncmp(secret, "whsec_", 6) != 0) {
		*key = (const unsigned char *)secret;
		return strlen(secret);
	}
	secret += 6;
	n = strlen(secret);
	/* EVP_DecodeBlock writes 3 bytes per 4 input characters. */
	if (!b64_strict(secret, n) || n / 4 * 3 > cap)
		return 0;
	dec = EVP_DecodeBlock(buf, (const unsigned char *)secret, (int)n);
	if (dec < 0)
		return 0;
	/* It counts '=' padding as zero bytes; take them off. */
	if (secret[n - 1] == '=')
		pad++;
	if (secret[n - 2] == '=')
		pad++;
	if ((size_t)dec < pad)
		return 0;
	*key = buf;
	return (size_t)dec - pad;
}

int auth_secret_ok(const char *secret)
{
	unsigned char buf[SECRET_MAX];
	const unsigned char *key = NULL;
	size_t n;

	if (secret == NULL)
		return 0;
	n = sw_key(secret, buf, sizeof(buf), &key);
	OPENSSL_cleanse(buf, sizeof(buf));
	return n > 0;
}

/* 1 when one "v1,<b64>" entry of the space-separated list sig equals
 * expected (44 base64 characters). Other versions are skipped. */
static int sig_list_has(const char *sig, const char *expected)
{
	int ok = 0;
	size_t n;

	while (*sig) {
		while (*sig == ' ')
			sig++;
		n = strcspn(sig, " ");
		if (n == 3 + SIG_B64_LEN && strncmp(sig, "v1,", 3) == 0)
			ok |= auth_equal(sig + 3, SIG_B64_LEN, expected, SIG_B64_LEN);
		sig += n;
	}
	return ok;
}

/* Standard Webhooks: signs id.timestamp.body. */
static enum auth_result check_standard(const struct auth_request *r, char *const *secrets,
				       size_t n_secrets, int64_t now, int tolerance)
{
	unsigned char keybuf[SECRET_MAX], mac[SHA256_LEN];
	char expected[SIG_B64_LEN + 1];
	const unsigned char *key;
	const void *parts[5];
	size_t lens[5], keylen, i;
	long long ts;
	char *end;
	int ok = 0;

	if (r->wh_id == NULL || r->wh_timestamp == NULL)
		return AUTH_BAD_SIGNATURE;
	parts[0] = r->wh_id;
	lens[0] = strlen(r->wh_id);
	parts[1] = ".";
	lens[1] = 1;
	parts[2] = r->wh_timestamp;
	lens[2] = strlen(r->wh_timestamp);
	parts[3] = ".";
	lens[3] = 1;
	parts[4] = r->body;
	lens[4] = r->body ? r->body_len : 0;
	for (i = 0; i < n_secrets; i++) {
		if (secrets[i] == NULL)
			continue;
		keylen = sw_key(secrets[i], keybuf, sizeof(keybuf), &key);
		if (keylen == 0 || hmac_parts(key, keylen, parts, lens, 5, mac))
			continue;
		EVP_EncodeBlock((unsigned char *)expected, mac, SHA256_LEN);
		ok |= sig_list_has(r->wh_signature, expected);
	}
	if (!ok)
		return AUTH_BAD_SIGNATURE;
	/* Checked after the signature so a forged request is reported as
	 * forged, while a replayed genuine one is reported as stale. */
	errno = 0;
	ts = strtoll(r->wh_timestamp, &end, 10);
	if (errno || end == r->wh_timestamp || *end != '\0')
		return AUTH_BAD_SIGNATURE;
	if (tolerance < 0)
		tolerance = 0;
	if (ts < now - tolerance || ts > now + tolerance)
		return AUTH_STALE;
	return AUTH_OK;
}

/* GitHub: "sha256=" + lowercase hex of HMAC(secret, body). Uppercase hex
 * from the sender is accepted too. */
static enum auth_result check_github(const struct auth_request *r, char *const *secrets,
				     size_t n_secrets)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[SHA256_LEN];
	char got[2 * SHA256_LEN], want[2 * SHA256_LEN];
	const void *parts[1] = { r->body };
	size_t lens[1] = { r->body ? r->body_len : 0 };
	const char *h = r->hub_signature;
	size_t i, j;
	int ok = 0;

	if (strncmp(h, "sha256=", 7) != 0 || strlen(h + 7) != sizeof(got))
		return AUTH_BAD_SIGNATURE;
	for (i = 0; i < sizeof(got); i++)
		got[i] = (char)tolower((unsigned char)h[7 + i]);
	for (i = 0; i < n_secrets; i++) {
		if (secrets[i] == NULL ||
		    hmac_parts(secrets[i], strlen(secrets[i]), parts, lens, 1, mac))
			continue;
		for (j = 0; j < SHA256_LEN; j++) {
			want[2 * j] = hex[mac[j] >> 4];
			want[2 * j + 1] = hex[mac[j] & 15];
		}
		ok |= auth_equal(got, sizeof(got), want, sizeof(want));
	}
	return ok ? AUTH_OK : AUTH_BAD_SIGNATURE;
}

/* The signature verdict, or AUTH_MISSING when no signature header came. */
static enum auth_result check_signatures(const struct auth_request *r, char *const *secrets,
					 size_t n_secrets, int64_t now, int tolerance)
{
	enum auth_result sw = AUTH_MISSING, gh = AUTH_MISSING;

	if (r->wh_signature)
		sw = check_standard(r, secrets, n_secrets, now, tolerance);
	if (r->hub_signature)
		gh = check_github(r, secrets, n_secrets);
	if (sw == AUTH_OK || gh == AUTH_OK)
		return AUTH_OK;
	if (sw == AUTH_STALE)
		return AUTH_STALE;
	if (sw != AUTH_MISSING || gh != AUTH_MISSING)
		return AUTH_BAD_SIGNATURE;
	return AUTH_MISSING;
}

enum auth_result auth_check(const struct auth_request *r, char *const *tokens, size_t n_tokens,
			    char *const *secrets, size_t n_secrets, int64_t now, int tolerance)
{
	enum auth_result sig;
	const char *tok;
	size_t len = 0;
	int tok_sent = 0, tok_ok = 0;

	if (n_tokens == 0 && n_secrets == 0)
		return AUTH_MISSING;
	/* An Authorization header that is not a bearer token counts as a
	 * wrong token rather than none. */
	if (r->authorization)
		tok_sent = 1;
	tok = bearer(r->authorization, &len);
	if (tok)
		tok_ok |= token_ok(tok, len, tokens, n_tokens);
	if (r->query_token && r->query_token[0]) {
		tok_sent = 1;
		tok_ok |= token_ok(r->query_token, strlen(r->query_token), tokens, n_tokens);
	}
	sig = check_signatures(r, secrets, n_secrets, now, tolerance);
	if (tok_ok || sig == AUTH_OK)
		return AUTH_OK;
	if (sig != AUTH_MISSING)
		return sig;
	return tok_sent ? AUTH_BAD_TOKEN : AUTH_MISSING;
}
