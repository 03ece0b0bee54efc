/* Standard Webhooks signing (include/sign.h): the key rule for secrets and
 * HMAC-SHA256 over id.timestamp.body, base64-encoded. Shared by the intake
 * check and the JSON target so both read a secret the same way. */
#include <ctype.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sign.h"

int sign_hmac(const void *key, size_t keylen, const void *const *parts, const size_t *lens,
	      size_t n, unsigned char out[SIGN_MAC_LEN])
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
	/* An empty key is a configuration mistake; it never signs. */
	if (keylen == 0 || !EVP_MAC_init(ctx, key, keylen, params))
		goto out;
	for (i = 0; i < n; i++)
		if (lens[i] && !EVP_MAC_update(ctx, parts[i], lens[i]))
			goto out;
	if (!EVP_MAC_final(ctx, out, &outlen, SIGN_MAC_LEN) || outlen != SIGN_MAC_LEN)
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

size_t sign_key(const char *secret, unsigned char buf[SIGN_KEY_MAX], const unsigned char **key)
{
	size_t n, pad = 0;
	int dec;

	if (secret == NULL || *secret == '\0')
		return 0;
	if (strncmp(secret, "whsec_", 6) != 0) {
		*key = (const unsigned char *)secret;
		return strlen(secret);
	}
	secret += 6;
	n = strlen(secret);
	/* EVP_DecodeBlock writes 3 bytes per 4 input characters. */
	if (!b64_strict(secret, n) || n / 4 * 3 > SIGN_KEY_MAX)
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

int sign_standard(const char *secret, const char *id, const char *timestamp, const void *body,
		  size_t len, char out[SIGN_B64_LEN + 1])
{
	unsigned char keybuf[SIGN_KEY_MAX], mac[SIGN_MAC_LEN];
	const unsigned char *key = NULL;
	const void *parts[5] = { id, ".", timestamp, ".", body };
	size_t lens[5], keylen;
	int rc = -1;

	if (id == NULL || timestamp == NULL || (body == NULL && len > 0))
		return -1;
	lens[0] = strlen(id);
	lens[1] = 1;
	lens[2] = strlen(timestamp);
	lens[3] = 1;
	lens[4] = len;
	keylen = sign_key(secret, keybuf, &key);
	if (keylen == 0 || sign_hmac(key, keylen, parts, lens, 5, mac) != 0)
		goto out;
	EVP_EncodeBlock((unsigned char *)out, mac, SIGN_MAC_LEN);
	out[SIGN_B64_LEN] = '\0';
	rc = 0;
out:
	/* The decoded key and the MAC stay out of freed stack memory. */
	OPENSSL_cleanse(keybuf, sizeof(keybuf));
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}
