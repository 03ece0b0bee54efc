/* Unit tests for the pure part of Slack interactivity (interact.h): the
 * request signature, reading a click's payload with hostile values, who
 * may re-run and the re-run's execution tag. The signature vector was
 * computed once outside this code with Python's hmac module. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "errors.h"
#include "interact.h"

/* python3: hmac.new(SECRET, b"v0:" + TS + b":" + BODY, sha256).hexdigest() */
#define SECRET "slack-signing-secret-0123456789abcdef"
#define TS "1700000000"
#define NOW 1700000000
#define BODY "payload=%7B%22type%22%3A%22block_actions%22%7D"
#define SIG "v0=a0fca3ae9b04e7e67d8fcd18edcf42f915866c31ac73451830b99fb98003db7a"

static enum interact_verdict verify(const char *secret, const char *ts, const char *sig,
				    const char *body, int64_t now)
{
	return interact_verify(secret, ts, sig, body, body ? strlen(body) : 0, now);
}

static void test_verify_good(void **state)
{
	(void)state;
	assert_int_equal(verify(SECRET, TS, SIG, BODY, NOW), IV_OK);
	/* The edges of the window, either way, are inside it. */
	assert_int_equal(verify(SECRET, TS, SIG, BODY, NOW + 300), IV_OK);
	assert_int_equal(verify(SECRET, TS, SIG, BODY, NOW - 300), IV_OK);
}

static void test_verify_wrong(void **state)
{
	char sig[sizeof(SIG)];

	(void)state;
	assert_int_equal(verify("another-secret-0123456789abcdef", TS, SIG, BODY, NOW),
			 IV_SIGNATURE);
	assert_int_equal(verify(SECRET, TS, SIG, BODY "&x=1", NOW), IV_SIGNATURE);
	assert_int_equal(
		verify(SECRET, TS, SIG, "payload=%7B%22type%22%3A%22block_actionz%22%7D", NOW),
		IV_SIGNATURE);
	/* The timestamp is signed too: another one in the window fails. */
	assert_int_equal(verify(SECRET, "1700000001", SIG, BODY, NOW), IV_SIGNATURE);
	/* v1= (the webhook's scheme), upper-case hex, one digit short or long. */
	memcpy(sig, SIG, sizeof(sig));
	sig[1] = '1';
	assert_int_equal(verify(SECRET, TS, sig, BODY, NOW), IV_SIGNATURE);
	memcpy(sig, SIG, sizeof(sig));
	sig[3] = 'A';
	assert_int_equal(verify(SECRET, TS, sig, BODY, NOW), IV_SIGNATURE);
	sig[3] = 'a';
	sig[sizeof(sig) - 2] = '\0';
	assert_int_equal(verify(SECRET, TS, sig, BODY, NOW), IV_SIGNATURE);
	assert_int_equal(verify(SECRET, TS, SIG "a", BODY, NOW), IV_SIGNATURE);
	assert_int_equal(verify(SECRET, TS, "v0=", BODY, NOW), IV_SIGNATURE);
	assert_int_equal(verify(SECRET, TS,
				"a0fca3ae9b04e7e67d8fcd18edcf42f915866c31ac73451830b99fb98003db7a",
				BODY, NOW),
			 IV_SIGNATURE);
	/* No secret never verifies. */
	assert_int_equal(verify("", TS, SIG, BODY, NOW), IV_SIGNATURE);
	assert_int_equal(verify(NULL, TS, SIG, BODY, NOW), IV_SIGNATURE);
}

static void test_verify_time(void **state)
{
	(void)state;
	assert_int_equal(verify(SECRET, TS, SIG, BODY, NOW + 301), IV_STALE);
	assert_int_equal(verify(SECRET, TS, SIG, BODY, NOW - 301), IV_STALE);
	assert_int_equal(verify(SECRET, "abc", SIG, BODY, NOW), IV_STALE);
	assert_int_equal(verify(SECRET, "-1700000000", SIG, BODY, NOW), IV_STALE);
	assert_int_equal(verify(SECRET, "+1700000000", SIG, BODY, NOW), IV_STALE);
	assert_int_equal(verify(SECRET, " 1700000000", SIG, BODY, NOW), IV_STALE);
	assert_int_equal(verify(SECRET, "1700000000 ", SIG, BODY, NOW), IV_STALE);
	assert_int_equal(verify(SECRET, "1700000000.5", SIG, BODY, NOW), IV_STALE);
	assert_int_equal(verify(SECRET, "99999999999999999999999999", SIG, BODY, NOW), IV_STALE);
	assert_int_equal(verify(SECRET, "18446744073709551616", SIG, BODY, NOW), IV_STALE);
	assert_int_equal(verify(SECRET, "9223372036854775807", SIG, BODY, NOW), IV_STALE);
	assert_int_equal(verify(SECRET, TS, SIG, BODY, INT64_MAX), IV_STALE);
	assert_int_equal(verify(SECRET, TS, SIG, BODY, INT64_MIN), IV_STALE);
	assert_int_equal(verify(SECRET, "0", SIG, BODY, NOW), IV_STALE);
}

static void test_verify_missing(void **state)
{
	(void)state;
	assert_int_equal(verify(SECRET, NULL, SIG, BODY, NOW), IV_MISSING);
	assert_int_equal(verify(SECRET, TS, NULL, BODY, NOW), IV_MISSING);
	assert_int_equal(verify(SECRET, "", SIG, BODY, NOW), IV_MISSING);
	assert_int_equal(verify(SECRET, TS, "", BODY, NOW), IV_MISSING);
	assert_int_equal(interact_verify(SECRET, TS, SIG, NULL, 5, NOW), IV_SIGNATURE);
}

/* A form body "payload=<json url-encoded>" built from json. */
static char *form(const char *json)
{
	size_t n = strlen(json), i, o = 0;
	char *out = malloc(8 + 3 * n + 1);

	assert_non_null(out);
	memcpy(out, "payload=", 8);
	o = 8;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)json[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9'))
			out[o++] = (char)ch;
		else if (ch == ' ')
			out[o++] = '+';
		else
			o += (size_t)snprintf(out + o, 4, "%%%02X", ch);
	}
	out[o] = '\0';
	return out;
}

#define CLICK(action, extra)                                                                       \
	"{\"type\":\"block_actions\",\"user\":{\"id\":\"U0123ABC\",\"username\":\"jane.doe\","     \
	"\"name\":\"jane\"},\"container\":{\"type\":\"message\",\"channel_id\":\"C0ALERTS\","      \
	"\"message_ts\":\"1700000000.000100\"},\"response_url\":"                                  \
	"\"https://hooks.slack.com/actions/T1/2/abc\",\"actions\":[{\"action_id\":\"" action "\"," \
	"\"block_id\":\"dpc_actions\",\"action_ts\":\"1700000001.000200\"" extra "}]}"

static int parse_json(const char *json, struct action *a)
{
	char *body = form(json);
	const char *why = NULL;
	int rc = interact_parse(body, strlen(body), a, &why);

	free(body);
	if (rc != 0)
		assert_non_null(why);
	return rc;
}

static void test_parse_good(void **state)
{
	struct action a;

	(void)state;
	assert_int_equal(parse_json(CLICK("dpc_ack", ",\"value\":\"ack\""), &a), 0);
	assert_int_equal(a.kind, ACT_ACK);
	assert_string_equal(a.user_id, "U0123ABC");
	assert_string_equal(a.user_name, "jane.doe");
	assert_string_equal(a.channel, "C0ALERTS");
	assert_string_equal(a.message_ts, "1700000000.000100");
	assert_string_equal(a.response_url, "https://hooks.slack.com/actions/T1/2/abc");
	assert_string_equal(a.action_ts, "1700000001.000200");
	assert_int_equal(
		parse_json(CLICK("dpc_mute", ",\"selected_option\":{\"value\":\"24h\"}"), &a), 0);
	assert_int_equal(a.kind, ACT_MUTE);
	assert_string_equal(a.value, "24h");
	assert_int_equal(parse_json(CLICK("dpc_unmute", ",\"value\":\"42\""), &a), 0);
	assert_int_equal(a.kind, ACT_UNMUTE);
	assert_string_equal(a.value, "42");
	assert_int_equal(parse_json(CLICK("dpc_rerun", ",\"value\":\"rerun\""), &a), 0);
	assert_int_equal(a.kind, ACT_RERUN);
	/* The channel and message given outside container, as older payloads do. */
	assert_int_equal(
		parse_json(
			"{\"type\":\"block_actions\",\"user\":{\"id\":\"W0123ABC\",\"name\":\"j\"},"
			"\"channel\":{\"id\":\"G0PRIV\"},\"message\":{\"ts\":\"1.2\"},"
			"\"response_url\":\"https://hooks.slack.com/x\",\"actions\":[{"
			"\"action_id\":\"dpc_ack\",\"action_ts\":\"3.4\"}]}",
			&a),
		0);
	assert_string_equal(a.user_name, "j");
	assert_string_equal(a.channel, "G0PRIV");
	assert_string_equal(a.message_ts, "1.2");
}

static void test_parse_hostile(void **state)
{
	struct action a;
	char big[2048], *json;
	const char *why = NULL;

	(void)state;
	/* A button that is not ours (a link such as "Open run": Slack makes
	 * up an action_id, or sends none): a click to answer and ignore. */
	assert_int_equal(parse_json(CLICK("dpc_launch", ""), &a), ERR_NOTFOUND);
	assert_int_equal(a.kind, 0);
	assert_string_equal(a.user_id, "");
	assert_int_equal(
		parse_json(
			"{\"type\":\"block_actions\",\"user\":{\"id\":\"U0123ABC\"},\"actions\":["
			"{\"type\":\"button\",\"url\":\"https://x.test/run\",\"block_id\":\"b\","
			"\"action_ts\":\"3.4\"}]}",
			&a),
		ERR_NOTFOUND);
	/* ... but only from a user of Slack's shape, with an action. */
	assert_int_equal(parse_json("{\"type\":\"block_actions\",\"user\":{\"id\":\"x\"},"
				    "\"actions\":[{\"url\":\"https://x.test/\"}]}",
				    &a),
			 ERR_INVALID);
	assert_int_equal(
		parse_json(
			"{\"type\":\"block_actions\",\"user\":{\"id\":\"U0123ABC\"},\"actions\":[]}",
			&a),
		ERR_INVALID);
	assert_int_equal(
		parse_json(CLICK("dpc_mute", ",\"selected_option\":{\"value\":\"1y\"}"), &a),
		ERR_INVALID);
	assert_int_equal(parse_json(CLICK("dpc_mute", ""), &a), ERR_INVALID);
	assert_int_equal(parse_json(CLICK("dpc_unmute", ",\"value\":\"-1\""), &a), ERR_INVALID);
	assert_int_equal(parse_json(CLICK("dpc_unmute", ",\"value\":\"0\""), &a), ERR_INVALID);
	assert_int_equal(parse_json(CLICK("dpc_unmute", ",\"value\":\"99999999999999999999\""), &a),
			 ERR_INVALID);
	assert_int_equal(parse_json(CLICK("dpc_unmute", ",\"value\":12"), &a), ERR_INVALID);
	/* Not a click, wrong type, a user id of another shape. */
	assert_int_equal(parse_json("{\"type\":\"view_submission\"}", &a), ERR_INVALID);
	assert_int_equal(parse_json("[1,2]", &a), ERR_INVALID);
	assert_int_equal(
		parse_json("{\"type\":\"block_actions\",\"user\":{\"id\":\"u0123\"},"
			   "\"container\":{\"channel_id\":\"C1AB\",\"message_ts\":\"1.2\"},"
			   "\"response_url\":\"https://hooks.slack.com/x\",\"actions\":[{"
			   "\"action_id\":\"dpc_ack\",\"action_ts\":\"3.4\"}]}",
			   &a),
		ERR_INVALID);
	assert_int_equal(
		parse_json("{\"type\":\"block_actions\",\"user\":{\"id\":\"U0123\"},"
			   "\"container\":{\"channel_id\":\"C1AB\",\"message_ts\":\"1.2\\n\"},"
			   "\"response_url\":\"https://hooks.slack.com/x\",\"actions\":[{"
			   "\"action_id\":\"dpc_ack\",\"action_ts\":\"3.4\"}]}",
			   &a),
		ERR_INVALID);
	assert_int_equal(
		parse_json("{\"type\":\"block_actions\",\"user\":{\"id\":\"U0123\"},"
			   "\"container\":{\"channel_id\":\"C1AB\",\"message_ts\":\"1.2\"},"
			   "\"response_url\":\"https://hooks.slack.com/x y\",\"actions\":[{"
			   "\"action_id\":\"dpc_ack\",\"action_ts\":\"3.4\"}]}",
			   &a),
		ERR_INVALID);
	assert_int_equal(
		parse_json("{\"type\":\"block_actions\",\"user\":{\"id\":\"U0123\"},"
			   "\"container\":{\"channel_id\":\"C1AB\",\"message_ts\":\"1.2\"},"
			   "\"response_url\":\"https://hooks.slack.com/x\",\"actions\":[]}",
			   &a),
		ERR_INVALID);
	/* A long user name is cut, a control character in it made harmless. */
	memset(big, 'n', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	json = malloc(sizeof(big) + 512);
	assert_non_null(json);
	snprintf(json, sizeof(big) + 512,
		 "{\"type\":\"block_actions\",\"user\":{\"id\":\"U0123\",\"username\":\"%s\"},"
		 "\"container\":{\"channel_id\":\"C1AB\",\"message_ts\":\"1.2\"},"
		 "\"response_url\":\"https://hooks.slack.com/x\",\"actions\":[{"
		 "\"action_id\":\"dpc_ack\",\"action_ts\":\"3.4\"}]}",
		 big);
	assert_int_equal(parse_json(json, &a), 0);
	assert_true(strlen(a.user_name) < ACTION_NAME_MAX);
	free(json);
	assert_int_equal(
		parse_json("{\"type\":\"block_actions\",\"user\":{\"id\":\"U0123\",\"username\":"
			   "\"a\\u0007b\\u202ec\"},"
			   "\"container\":{\"channel_id\":\"C1AB\",\"message_ts\":\"1.2\"},"
			   "\"response_url\":\"https://hooks.slack.com/x\",\"actions\":[{"
			   "\"action_id\":\"dpc_ack\",\"action_ts\":\"3.4\"}]}",
			   &a),
		0);
	assert_null(strchr(a.user_name, '\a'));
	assert_null(strstr(a.user_name, "\xe2\x80\xae"));
	/* Not a form, no payload, bad escapes, too deep, not JSON. */
	assert_int_equal(interact_parse("{}", 2, &a, &why), ERR_PARSE);
	assert_int_equal(interact_parse("x=1&y=2", 7, &a, &why), ERR_PARSE);
	assert_int_equal(interact_parse("payload=%7", 10, &a, &why), ERR_PARSE);
	assert_int_equal(interact_parse("payload=%00", 11, &a, &why), ERR_PARSE);
	assert_int_equal(interact_parse("payload=nope", 12, &a, &why), ERR_PARSE);
	assert_int_equal(
		interact_parse(
			"payload=%5B%5B%5B%5B%5B%5B%5B%5B%5B%5B%5B%5B%5B%5B%5B%5B%5B%5B%5B%5B", 68,
			&a, &why),
		ERR_PARSE);
	assert_int_equal(interact_parse(NULL, 0, &a, &why), ERR_PARSE);
}

static void test_response_url(void **state)
{
	(void)state;
	assert_true(interact_response_url_ok("https://hooks.slack.com/actions/T/1/x", 0));
	assert_false(interact_response_url_ok("http://hooks.slack.com/actions/T/1/x", 0));
	assert_false(interact_response_url_ok("https://hooks.slack.com.evil.example/x", 0));
	assert_false(interact_response_url_ok("https://hooks.slack.com@evil.example/x", 0));
	assert_false(interact_response_url_ok("https://hooks.slack.com:444/x", 0));
	assert_false(interact_response_url_ok("https://evil.example/hooks.slack.com/", 0));
	assert_false(interact_response_url_ok("https://hooks.slack.com", 0));
	assert_false(interact_response_url_ok("", 0));
	assert_false(interact_response_url_ok(NULL, 1));
	assert_true(interact_response_url_ok("http://127.0.0.1:8999/response/1", 1));
	assert_false(interact_response_url_ok("ftp://127.0.0.1/x", 1));
}

static void test_allow_list(void **state)
{
	char *users[] = { "U1AA", "W2BB" };

	(void)state;
	assert_true(interact_user_listed("U1AA", users, 2));
	assert_true(interact_user_listed("W2BB", users, 2));
	assert_false(interact_user_listed("u1aa", users, 2));
	assert_false(interact_user_listed("U1A", users, 2));
	assert_false(interact_user_listed("U1AAA", users, 2));
	assert_false(interact_user_listed("", users, 2));
	assert_false(interact_user_listed(NULL, users, 2));
	assert_false(interact_user_listed("U1AA", users, 0));
}

static void test_execution_tag(void **state)
{
	char a[INTERACT_TAG_MAX], b[INTERACT_TAG_MAX];

	(void)state;
	interact_execution_tag("C1", "1.2", 1000, 3, a);
	interact_execution_tag("C1", "1.2", 1000, 3, b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), strlen("dpc-notify-") + 32);
	assert_int_equal(strncmp(a, "dpc-notify-", 11), 0);
	interact_execution_tag("C1", "1.2", 1000, 4, b);
	assert_string_not_equal(a, b);
	interact_execution_tag("C1", "1.3", 1000, 3, b);
	assert_string_not_equal(a, b);
	interact_execution_tag("C2", "1.2", 1000, 3, b);
	assert_string_not_equal(a, b);
	interact_execution_tag("C1", "1.2", 1001, 3, b);
	assert_string_not_equal(a, b);
	/* Fields cannot slide into each other. */
	interact_execution_tag("C1.", "2", 1000, 3, b);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_good),   cmocka_unit_test(test_verify_wrong),
		cmocka_unit_test(test_verify_time),   cmocka_unit_test(test_verify_missing),
		cmocka_unit_test(test_parse_good),    cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_response_url),  cmocka_unit_test(test_allow_list),
		cmocka_unit_test(test_execution_tag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
