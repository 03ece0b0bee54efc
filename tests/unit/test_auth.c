/* Unit tests for auth_check and auth_equal. The signature vectors were
 * computed once outside this code, with Python's hmac module and
 * `openssl dgst -sha256 -hmac`, and are written here as constants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "auth.h"

/* Vector 1 (python3: hmac.new(base64.b64decode(S), ID + b"." + TS + b"." + BODY,
 * hashlib.sha256), base64-encoded). */
#define V1_SECRET "whsec_TWZLUTlyOEdLWXFyVHdqVVBEOElMUFpJbzJMYUxhU3c="
#define V1_ID "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
#define V1_TS "1700000000"
#define V1_NOW 1700000000
#define V1_BODY "{\"executionId\":\"e-1\",\"projectId\":\"p1\"}"
#define V1_SIG "v1,z6Pc/h1f2akIA36IQpqxLe1unfH8ajbcRDaNcYEWfs0="
/* The same content signed with the raw (not whsec_) secret "plain-secret". */
#define V1_SIG_PLAIN "v1,eYpy3Bp/xxhoyj+snLr3ad7e8xCzZI94KZixootfj+Y="

/* Vector 2: an unpadded whsec_ secret. */
#define V2_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define V2_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define V2_TS "1614265330"
#define V2_BODY "{\"test\": 2432232314}"
#define V2_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

/* GitHub: echo -n 'Hello, World!' | openssl dgst -sha256 -hmac "It's a Secret to Everybody" */
#define GH_SECRET "It's a Secret to Everybody"
#define GH_BODY "Hello, World!"
#define GH_SIG "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
/* hmac("second-secret", V1_BODY) */
#define GH2_SECRET "second-secret"
#define GH2_SIG "sha256=ef0fb53dcafbd9dceca427ec7a590f46fb597a2b8f56f5968bb4ff18e3e42b99"

static char *const no_list[1] = { NULL };

static struct auth_request sw_req(const char *id, const char *ts, const char *sig, const char *body)
{
	struct auth_request r;

	memset(&r, 0, sizeof(r));
	r.wh_id = id;
	r.wh_timestamp = ts;
	r.wh_signature = sig;
	r.body = body;
	r.body_len = strlen(body);
	return r;
}

static enum auth_result check_secrets(const struct auth_request *r, char *const *secrets, size_t n,
				      int64_t now)
{
	return auth_check(r, no_list, 0, secrets, n, now, 300);
}

static void test_standard_vectors(void **state)
{
	char *s1[] = { (char *)V1_SECRET };
	char *s2[] = { (char *)V2_SECRET };
	char *plain[] = { (char *)"plain-secret" };
	struct auth_request r;

	(void)state;
	r = sw_req(V1_ID, V1_TS, V1_SIG, V1_BODY);
	assert_int_equal(check_secrets(&r, s1, 1, V1_NOW), AUTH_OK);
	r = sw_req(V2_ID, V2_TS, V2_SIG, V2_BODY);
	assert_int_equal(check_secrets(&r, s2, 1, 1614265330), AUTH_OK);
	/* A secret without the whsec_ prefix is used as raw bytes. */
	r = sw_req(V1_ID, V1_TS, V1_SIG_PLAIN, V1_BODY);
	assert_int_equal(check_secrets(&r, plain, 1, V1_NOW), AUTH_OK);
	assert_int_equal(check_secrets(&r, s1, 1, V1_NOW), AUTH_BAD_SIGNATURE);
}

static void test_standard_tamper(void **state)
{
	char *s1[] = { (char *)V1_SECRET };
	struct auth_request r;

	(void)state;
	r = sw_req(V1_ID, V1_TS, V1_SIG, "{\"executionId\":\"e-2\",\"projectId\":\"p1\"}");
	assert_int_equal(check_secrets(&r, s1, 1, V1_NOW), AUTH_BAD_SIGNATURE);
	r = sw_req("msg_other", V1_TS, V1_SIG, V1_BODY);
	assert_int_equal(check_secrets(&r, s1, 1, V1_NOW), AUTH_BAD_SIGNATURE);
	r = sw_req(V1_ID, "1700000001", V1_SIG, V1_BODY);
	assert_int_equal(check_secrets(&r, s1, 1, V1_NOW), AUTH_BAD_SIGNATURE);
	/* Signature present but id or timestamp missing. */
	r = sw_req(V1_ID, V1_TS, V1_SIG, V1_BODY);
	r.wh_id = NULL;
	assert_int_equal(check_secrets(&r, s1, 1, V1_NOW), AUTH_BAD_SIGNATURE);
	/* Wrong version tag, truncated signature. */
	r = sw_req(V1_ID, V1_TS, "v2,z6Pc/h1f2akIA36IQpqxLe1unfH8ajbcRDaNcYEWfs0=", V1_BODY);
	assert_int_equal(check_secrets(&r, s1, 1, V1_NOW), AUTH_BAD_SIGNATURE);
	r = sw_req(V1_ID, V1_TS, "v1,z6Pc/h1f2akIA36IQpqxLe1unfH8ajbcRDaNcYEWfs0", V1_BODY);
	assert_int_equal(check_secrets(&r, s1, 1, V1_NOW), AUTH_BAD_SIGNATURE);
	/* A body with the same prefix but a different length. */
	r = sw_req(V1_ID, V1_TS, V1_SIG, V1_BODY);
	r.body_len--;
	assert_int_equal(check_secrets(&r, s1, 1, V1_NOW), AUTH_BAD_SIGNATURE);
}

static void test_standard_list_and_rotation(void **state)
{
	char *rot[] = { (char *)"whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
			(char *)V1_SECRET };
	char *s1[] = { (char *)V1_SECRET };
	struct auth_request r;

	(void)state;
	/* The second configured secret matches. */
	r = sw_req(V1_ID, V1_TS, V1_SIG, V1_BODY);
	assert_int_equal(check_secrets(&r, rot, 2, V1_NOW), AUTH_OK);
	/* The sender lists several signatures; any one is enough. */
	r = sw_req(V1_ID, V1_TS, "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v1a,xyz " V1_SIG,
		   V1_BODY);
	assert_int_equal(check_secrets(&r, s1, 1, V1_NOW), AUTH_OK);
	r = sw_req(V1_ID, V1_TS, "  " V1_SIG "  v1,AAAA", V1_BODY);
	assert_int_equal(check_secrets(&r, s1, 1, V1_NOW), AUTH_OK);
}

static void test_standard_timestamps(void **state)
{
	char *s1[] = { (char *)V1_SECRET };
	struct auth_request r = sw_req(V1_ID, V1_TS, V1_SIG, V1_BODY);

	(void)state;
	assert_int_equal(check_secrets(&r, s1, 1, V1_NOW + 300), AUTH_OK);
	assert_int_equal(check_secrets(&r, s1, 1, V1_NOW - 300), AUTH_OK);
	/* Too old (replay) and too far in the future. */
	assert_int_equal(check_secrets(&r, s1, 1, V1_NOW + 301), AUTH_STALE);
	assert_int_equal(check_secrets(&r, s1, 1, V1_NOW - 301), AUTH_STALE);
	assert_int_equal(auth_check(&r, no_list, 0, s1, 1, V1_NOW + 10, 5), AUTH_STALE);
}

static void test_bad_whsec(void **state)
{
	char *bad[] = { (char *)"whsec_", (char *)"whsec_abc", (char *)"whsec_!!!!", (char *)"" };
	struct auth_request r = sw_req(V1_ID, V1_TS, V1_SIG, V1_BODY);

	(void)state;
	assert_int_equal(check_secrets(&r, bad, 4, V1_NOW), AUTH_BAD_SIGNATURE);
}

/* The rule config validation applies to hmac_secret: a whsec_ secret is
 * the prefix and strict standard base64 of 1..255 bytes; anything else is
 * used as raw bytes and only has to be non-empty. */
static void test_secret_ok(void **state)
{
	static const char *const good[] = {
		V1_SECRET, V2_SECRET, "plain-secret", "whsec_QQ==", "whsec_QUI=", "whsec_QUJD",
	};
	static const char *const bad[] = {
		"",           "whsec_",      "whsec_abc",       "whsec_!!!!",  "whsec_QQ=A",
		"whsec_Q===", "whsec_====",  "whsec_QUJD QUJD", "whsec_QU\nJ", "whsec_QUJD\n",
		"whsec_QU-_", "whsec_QUJD=",
	};
	char big[6 + 344 + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!auth_secret_ok(good[i]))
			fail_msg("rejected good secret %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (auth_secret_ok(bad[i]))
			fail_msg("accepted bad secret \"%s\"", bad[i]);
	assert_false(auth_secret_ok(NULL));
	/* 255 bytes (340 characters) decode; 258 do not fit the key buffer. */
	memcpy(big, "whsec_", 6);
	memset(big + 6, 'A', 340);
	big[6 + 340] = '\0';
	assert_true(auth_secret_ok(big));
	memset(big + 6, 'A', 344);
	big[6 + 344] = '\0';
	assert_false(auth_secret_ok(big));
}

static void test_github(void **state)
{
	char *gh[] = { (char *)GH_SECRET };
	char *rot[] = { (char *)GH_SECRET, (char *)GH2_SECRET };
	struct auth_request r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.body = GH_BODY;
	r.body_len = strlen(GH_BODY);
	r.hub_signature = GH_SIG;
	assert_int_equal(check_secrets(&r, gh, 1, 0), AUTH_OK);
	/* Upper-case hex is accepted. */
	r.hub_signature = "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17";
	assert_int_equal(check_secrets(&r, gh, 1, 0), AUTH_OK);
	r.hub_signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18";
	assert_int_equal(check_secrets(&r, gh, 1, 0), AUTH_BAD_SIGNATURE);
	r.hub_signature = "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
	assert_int_equal(check_secrets(&r, gh, 1, 0), AUTH_BAD_SIGNATURE);
	r.hub_signature = "sha256=757107";
	assert_int_equal(check_secrets(&r, gh, 1, 0), AUTH_BAD_SIGNATURE);
	/* Rotation: the second secret signs V1_BODY. */
	r.body = V1_BODY;
	r.body_len = strlen(V1_BODY);
	r.hub_signature = GH2_SIG;
	assert_int_equal(check_secrets(&r, rot, 2, 0), AUTH_OK);
	assert_int_equal(check_secrets(&r, gh, 1, 0), AUTH_BAD_SIGNATURE);
}

static void test_tokens(void **state)
{
	char *toks[] = { (char *)"old-token", (char *)"new-token" };
	struct auth_request r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(auth_check(&r, toks, 2, no_list, 0, 0, 300), AUTH_MISSING);
	r.authorization = "Bearer new-token";
	assert_int_equal(auth_check(&r, toks, 2, no_list, 0, 0, 300), AUTH_OK);
	r.authorization = "bearer   old-token  ";
	assert_int_equal(auth_check(&r, toks, 2, no_list, 0, 0, 300), AUTH_OK);
	r.authorization = "Bearer new-toke";
	assert_int_equal(auth_check(&r, toks, 2, no_list, 0, 0, 300), AUTH_BAD_TOKEN);
	r.authorization = "Bearer new-tokenX";
	assert_int_equal(auth_check(&r, toks, 2, no_list, 0, 0, 300), AUTH_BAD_TOKEN);
	r.authorization = "Basic bmV3LXRva2Vu";
	assert_int_equal(auth_check(&r, toks, 2, no_list, 0, 0, 300), AUTH_BAD_TOKEN);
	r.authorization = "Bearernew-token";
	assert_int_equal(auth_check(&r, toks, 2, no_list, 0, 0, 300), AUTH_BAD_TOKEN);
	r.authorization = NULL;
	r.query_token = "old-token";
	assert_int_equal(auth_check(&r, toks, 2, no_list, 0, 0, 300), AUTH_OK);
	r.query_token = "nope";
	assert_int_equal(auth_check(&r, toks, 2, no_list, 0, 0, 300), AUTH_BAD_TOKEN);
	/* One good credential is enough. */
	r.authorization = "Bearer new-token";
	assert_int_equal(auth_check(&r, toks, 2, no_list, 0, 0, 300), AUTH_OK);
}

static void test_precedence(void **state)
{
	char *toks[] = { (char *)"tok" };
	char *s1[] = { (char *)V1_SECRET };
	struct auth_request r = sw_req(V1_ID, V1_TS, V1_SIG, V1_BODY);

	(void)state;
	/* Valid signature, wrong token: the signature lets it in. */
	r.authorization = "Bearer wrong";
	assert_int_equal(auth_check(&r, toks, 1, s1, 1, V1_NOW, 300), AUTH_OK);
	/* Valid token, bad signature: the token lets it in. */
	r.authorization = "Bearer tok";
	r.wh_signature = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	assert_int_equal(auth_check(&r, toks, 1, s1, 1, V1_NOW, 300), AUTH_OK);
	/* Both bad: the signature's verdict is reported. */
	r.authorization = "Bearer wrong";
	assert_int_equal(auth_check(&r, toks, 1, s1, 1, V1_NOW, 300), AUTH_BAD_SIGNATURE);
	r.wh_signature = V1_SIG;
	assert_int_equal(auth_check(&r, toks, 1, s1, 1, V1_NOW + 1000, 300), AUTH_STALE);
	/* Nothing configured: the caller decides. */
	assert_int_equal(auth_check(&r, no_list, 0, no_list, 0, V1_NOW, 300), AUTH_MISSING);
}

static void test_equal(void **state)
{
	(void)state;
	assert_true(auth_equal("abc", 3, "abc", 3));
	assert_false(auth_equal("abc", 3, "abd", 3));
	assert_false(auth_equal("abc", 3, "abc", 2));
	assert_false(auth_equal("abc", 3, "abcd", 4));
	assert_true(auth_equal("", 0, "", 0));
	assert_true(auth_equal("a\0b", 3, "a\0b", 3));
	assert_false(auth_equal("a\0b", 3, "a\0c", 3));
	assert_string_equal(auth_result_names[AUTH_STALE], "stale");
	assert_string_equal(auth_result_names[AUTH_OK], "ok");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_standard_vectors),
		cmocka_unit_test(test_standard_tamper),
		cmocka_unit_test(test_standard_list_and_rotation),
		cmocka_unit_test(test_standard_timestamps),
		cmocka_unit_test(test_bad_whsec),
		cmocka_unit_test(test_secret_ok),
		cmocka_unit_test(test_github),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
