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

#include <openssl/crypto.h>

#include "auth.h"
#include "sign.h"

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

int auth_secret_ok(const char *secret)
{
	unsigned char buf[SIGN_KEY_MAX];
	const unsigned char *key = NULL;
	size_t n = sign_key(secret, buf, &key);

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
		if (n == 3 + SIGN_B64_LEN && strncmp(sig, "v1,", 3) == 0)
			ok |= auth_equal(sig + 3, SIGN_B64_LEN, expected, SIGN_B64_LEN);
		sig += n;
	}
	return ok;
}

/* Standard Webhooks: signs id.timestamp.body. */
static enum auth_result check_standard(const struct auth_request *r, char *const *secrets,
				       size_t n_secrets, int64_t now, int tolerance)
{
	char expected[SIGN_B64_LEN + 1];
	long long ts;
	size_t i;
	char *end;
	int ok = 0;

	if (r->wh_id == NULL || r->wh_timestamp == NULL)
		return AUTH_BAD_SIGNATURE;
	for (i = 0; i < n_secrets; i++) {
		if (secrets[i] == NULL ||
		    sign_standard(secrets[i], r->wh_id, r->wh_timestamp, r->body,
				  r->body ? r->body_len : 0, expected) != 0)
			continue;
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
	unsigned char mac[SIGN_MAC_LEN];
	char got[2 * SIGN_MAC_LEN], want[2 * SIGN_MAC_LEN];
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
		    sign_hmac(secrets[i], strlen(secrets[i]), parts, lens, 1, mac))
			continue;
		for (j = 0; j < SIGN_MAC_LEN; j++) {
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
