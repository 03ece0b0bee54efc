/* libFuzzer target for auth_check() and auth_equal(). Input layout: byte 0
 * is a mask (bits 0-5 make the matching header NULL, bit 6 drops the
 * configured tokens, bit 7 drops the secrets); then six '\n'-terminated
 * header values (Authorization, ?token=, webhook-id, webhook-timestamp,
 * webhook-signature, X-Hub-Signature-256); the rest is the body. The seeds
 * carry signatures that are valid for the fixed secrets and clock below. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "fuzz_util.h"

#define NOW 1700000000
#define TOLERANCE 300
#define N_HEADERS 6

/* whsec_ form of the bytes "standard-webhooks-secret-32bytes", and a raw
 * GitHub-style secret. */
static char *const secrets[] = {
	"whsec_c3RhbmRhcmQtd2ViaG9va3Mtc2VjcmV0LTMyYnl0ZXM=",
	"github-raw-secret",
};
static char *const tokens[] = { "tok-A1b2C3d4E5f6", "rotated-token-2" };

/* Splits the input; each header value is a new NUL-terminated string or
 * NULL. Returns the body start. */
static const char *split(const uint8_t *data, size_t size, char *hdr[N_HEADERS],
			 size_t *body_len)
{
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	int i;

	for (i = 0; i < N_HEADERS; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		hdr[i] = malloc(n + 1);
		if (hdr[i] == NULL)
			abort();
		memcpy(hdr[i], p, n);
		hdr[i][n] = '\0';
		p += n + (nl != NULL);
	}
	*body_len = (size_t)(end - p);
	return p;
}

static void check_equal(const uint8_t *data, size_t size)
{
	size_t half = size / 2;
	int want = memcmp(data, data + half, half) == 0;

	FUZZ_CHECK(auth_equal(data, half, data + half, half) == want, "auth_equal(%zu) wrong", half);
	FUZZ_CHECK(auth_equal(data, size, data, size) == 1, "auth_equal(x, x) != 1");
	if (size > 0)
		FUZZ_CHECK(auth_equal(data, size, data, size - 1) == 0,
			   "auth_equal ignores length");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_request r;
	char *hdr[N_HEADERS];
	const char *fields[N_HEADERS];
	uint8_t mask;
	size_t n_tok, n_sec, body_len;
	enum auth_result res;
	int i;

	check_equal(data, size);
	if (size == 0)
		return 0;
	mask = data[0];
	r.body = split(data, size, hdr, &body_len);
	r.body_len = body_len;
	for (i = 0; i < N_HEADERS; i++)
		fields[i] = (mask & (1u << i)) ? NULL : hdr[i];
	r.authorization = fields[0];
	r.query_token = fields[1];
	r.wh_id = fields[2];
	r.wh_timestamp = fields[3];
	r.wh_signature = fields[4];
	r.hub_signature = fields[5];
	n_tok = (mask & 0x40) ? 0 : 2;
	n_sec = (mask & 0x80) ? 0 : 2;

	res = auth_check(&r, n_tok ? tokens : NULL, n_tok, n_sec ? secrets : NULL, n_sec, NOW,
			 TOLERANCE);
	FUZZ_CHECK((unsigned)res < AUTH__MAX, "auth_check result %d out of range", (int)res);
	FUZZ_CHECK(auth_result_names[res] != NULL, "no name for result %d", (int)res);
	if (n_tok == 0 && n_sec == 0)
		FUZZ_CHECK(res == AUTH_MISSING, "nothing configured but result %s",
			   auth_result_names[res]);
	/* No credential at all can never authenticate. */
	if (mask == 0xff || (mask & 0x3f) == 0x3f)
		FUZZ_CHECK(res != AUTH_OK, "authenticated a request without credentials");
	/* With only tokens configured, signatures cannot help, and the other
	 * way round. */
	if (res == AUTH_OK && n_sec == 0)
		FUZZ_CHECK(r.authorization || r.query_token, "token OK without a token");
	if (res == AUTH_OK && n_tok == 0)
		FUZZ_CHECK(r.wh_signature || r.hub_signature, "signature OK without a signature");

	for (i = 0; i < N_HEADERS; i++)
		free(hdr[i]);
	return 0;
}
