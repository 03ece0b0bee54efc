/* Unit tests for the generic JSON webhook target (src/render/json.c): the
 * row, the event's shape and kinds, every untrusted string carried as data
 * and cut to its documented length, the body bound with huge runs, the
 * Standard Webhooks signature of the prepare hook (checked against a
 * published vector and against intake's own verifier), and the reply
 * classes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "auth.h"
#include "errors.h"
#include "httpc.h"
#include "summary.h"
#include "target.h"
#include "text.h"

#include "render_fixtures.h"

#define JSON_MAX 262144 /* the documented body bound */
#define NAME_CHARS 256
#define PATH_CHARS 1024
#define ERROR_CHARS 4000
#define STEP_ERROR_CHARS 2000

static const struct target *row(void)
{
	const struct target *t = target_find("json");

	assert_non_null(t);
	return t;
}

/* Renders s; returns the parsed body and the text in *out (caller frees). */
static cJSON *render(const struct summary *s, char **out)
{
	cJSON *root;

	*out = row()->render(s, NULL);
	assert_non_null(*out);
	assert_true(strlen(*out) <= JSON_MAX);
	root = cJSON_Parse(*out);
	assert_non_null(root);
	return root;
}

static const cJSON *get(const cJSON *o, const char *path)
{
	char key[64];
	const char *dot;
	size_t n;

	while (o != NULL && *path) {
		dot = strchr(path, '.');
		n = dot ? (size_t)(dot - path) : strlen(path);
		assert_true(n < sizeof(key));
		memcpy(key, path, n);
		key[n] = '\0';
		o = cJSON_GetObjectItemCaseSensitive(o, key);
		path += n + (dot != NULL);
	}
	return o;
}

static const char *str(const cJSON *o, const char *path)
{
	const cJSON *v = get(o, path);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static double num(const cJSON *o, const char *path)
{
	const cJSON *v = get(o, path);

	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static size_t code_points(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void test_row(void **state)
{
	const struct target *t = row();

	(void)state;
	assert_string_equal(t->name, "json");
	assert_string_equal(t->content_type, "application/json");
	assert_int_equal(t->limits.max_bytes, JSON_MAX);
	assert_true(t->default_rate > 0.0);
	assert_non_null(t->prepare);
	/* One event per run: automation reads runs, not grouped messages. */
	assert_null(t->render_group);
	assert_null(t->url_warning);
}

/* The whole summary of a failed run, field by field. */
static void test_structure(void **state)
{
	struct summary s;
	const cJSON *f, *g, *c;
	cJSON *root;
	char *out;

	(void)state;
	make_summary(&s, 2, 0);
	add_child(&s, "c1", "child_a", ST_FAILED);
	add_child(&s, "c2", "child_b", ST_SUCCESS);
	set(&s.schedule_id, "sch-1");
	set(&s.schedule_name, "nightly");
	set(&s.user, "ana@example.com");
	s.failed[0].execution_id = strdup("c1");
	s.failed[0].depth = 1;
	regroup(&s);
	root = render(&s, &out);
	assert_int_equal(num(root, "schema_version"), 1);
	assert_string_equal(str(root, "type"), "run.failed");
	assert_string_equal(str(root, "timestamp"), "2024-05-01T10:03:05Z");
	assert_true(cJSON_IsFalse(get(root, "test")));
	assert_string_equal(str(root, "data.run.project_id"), "proj-1");
	assert_string_equal(str(root, "data.run.project_name"), "Sales");
	assert_string_equal(str(root, "data.run.execution_id"), "exec-1");
	assert_string_equal(str(root, "data.run.pipeline"), "load_sales");
	assert_string_equal(str(root, "data.run.environment"), "prod");
	assert_string_equal(str(root, "data.run.status"), "FAILED");
	assert_string_equal(str(root, "data.run.trigger"), "SCHEDULE");
	assert_string_equal(str(root, "data.run.schedule.id"), "sch-1");
	assert_string_equal(str(root, "data.run.schedule.name"), "nightly");
	assert_string_equal(str(root, "data.run.user"), "ana@example.com");
	assert_string_equal(str(root, "data.run.started_at"), "2024-05-01T10:00:00Z");
	assert_string_equal(str(root, "data.run.finished_at"), "2024-05-01T10:03:05Z");
	assert_int_equal(num(root, "data.run.duration_ms"), 185000);
	assert_int_equal(num(root, "data.counts.total"), 48);
	assert_int_equal(num(root, "data.counts.success"), 45);
	assert_int_equal(num(root, "data.counts.failed"), 2);
	assert_int_equal(num(root, "data.counts.cancelled"), 1);
	assert_int_equal(num(root, "data.counts.skipped"), 0);
	assert_int_equal(cJSON_GetArraySize(get(root, "data.failed_steps")), 2);
	f = cJSON_GetArrayItem(get(root, "data.failed_steps"), 0);
	assert_string_equal(str(f, "path"), "Root" SEP "Step 0");
	assert_string_equal(str(f, "step"), "Step 0");
	assert_string_equal(str(f, "status"), "FAILED");
	assert_string_equal(str(f, "error"), "Table not found");
	assert_string_equal(str(f, "execution_id"), "c1");
	assert_int_equal(num(f, "depth"), 1);
	assert_int_equal(num(root, "data.failed_steps_omitted"), 0);
	g = cJSON_GetArrayItem(get(root, "data.error_groups"), 0);
	assert_string_equal(str(g, "error"), "Table not found");
	assert_int_equal(num(g, "count"), 2);
	assert_string_equal(str(g, "first_path"), "Root" SEP "Step 0");
	assert_non_null(str(g, "last_step"));
	c = cJSON_GetArrayItem(get(root, "data.children"), 0);
	assert_string_equal(str(c, "name"), "child_a");
	assert_string_equal(str(c, "status"), "FAILED");
	assert_string_equal(str(c, "execution_id"), "c1");
	assert_int_equal(cJSON_GetArraySize(get(root, "data.children")), 2);
	assert_string_equal(str(root, "data.links.run"),
			    "https://app.matillion.com/observability-dashboard/pipeline/exec-1");
	assert_string_equal(str(root, "data.links.failing_child_run"),
			    "https://app.matillion.com/observability-dashboard/pipeline/c1");
	assert_true(cJSON_IsNull(get(root, "data.memory")));
	assert_true(cJSON_IsNull(get(root, "data.follow_up")));
	assert_true(cJSON_IsNull(get(root, "data.notes.degraded")));
	assert_true(strlen(str(root, "data.text.headline")) > 0);
	/* No mention on a generic webhook, configured or not. */
	assert_null(strstr(out, "mention"));
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

/* The event type follows the status and run memory's form. */
static void test_kinds(void **state)
{
	static const struct {
		enum run_status st;
		int known;
		enum summary_form form;
		const char *type;
	} cases[] = {
		{ ST_FAILED, 0, FORM_FULL, "run.failed" },
		{ ST_FORBIDDEN, 0, FORM_FULL, "run.failed" },
		{ ST_CANCELLED, 0, FORM_FULL, "run.cancelled" },
		{ ST_SUCCESS, 0, FORM_FULL, "run.succeeded" },
		{ ST_SKIPPED, 0, FORM_FULL, "run.finished" },
		{ ST_UNKNOWN, 0, FORM_FULL, "run.finished" },
		{ ST_FAILED, 1, FORM_FULL, "run.failed" },
		{ ST_FAILED, 1, FORM_COMPACT, "run.repeated" },
		{ ST_CANCELLED, 1, FORM_COMPACT, "run.repeated" },
		{ ST_SUCCESS, 1, FORM_RECOVERY, "run.recovered" },
	};
	struct summary s;
	cJSON *root;
	char *out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_summary(&s, 1, 0);
		s.status = cases[i].st;
		s.memory.known = cases[i].known;
		s.memory.form = cases[i].form;
		s.memory.streak = 3;
		s.memory.streak_since_ms = T0 - 86400000;
		s.memory.usual_ms = -1;
		s.memory.incident_failures = 4;
		s.memory.incident_since_ms = T0 - 3600000;
		root = render(&s, &out);
		assert_string_equal(str(root, "type"), cases[i].type);
		if (cases[i].known) {
			assert_int_equal(num(root, "data.memory.streak"), 3);
			assert_string_equal(str(root, "data.memory.since"), "2024-04-30T10:00:00Z");
			assert_true(cJSON_IsNull(get(root, "data.memory.usual_duration_ms")));
			assert_string_equal(str(root, "data.memory.form"),
					    cases[i].form == FORM_FULL      ? "full"
					    : cases[i].form == FORM_COMPACT ? "compact"
									    : "recovery");
		}
		if (cases[i].form == FORM_RECOVERY) {
			assert_int_equal(num(root, "data.memory.incident.failures"), 4);
			assert_string_equal(str(root, "data.memory.incident.since"),
					    "2024-05-01T09:00:00Z");
		}
		free(out);
		cJSON_Delete(root);
		summary_free(&s);
	}
}

/* Every string in the tree, depth first, passed to fn. */
static void each_string(const cJSON *o, void (*fn)(const char *))
{
	const cJSON *c;

	if (cJSON_IsString(o))
		fn(o->valuestring);
	for (c = o ? o->child : NULL; c != NULL; c = c->next)
		each_string(c, fn);
}

static void utf8_clean(const char *v)
{
	char *c = text_sanitize(v, strlen(v), 1);

	assert_non_null(c);
	/* Already what the sanitiser makes: valid UTF-8, no controls. */
	assert_string_equal(c, v);
	free(c);
}

/* Hostile text in every untrusted field stays data: the body parses, every
 * string is clean UTF-8, quotes, backslashes and markup arrive as typed,
 * and the body holds no raw control byte. */
static void test_hostile_text(void **state)
{
	static const char *const extra[] = {
		"quote \" backslash \\ slash / \"}],\"type\":\"run.recovered\"",
		"nul\\u0000 \x01\x1b[31m\x7f \xe2\x80\xae rtl",
		"\"schema_version\":2,",
	};
	struct summary s;
	cJSON *root;
	char *out;
	size_t i, k, n = sizeof(hostile) / sizeof(hostile[0]) + sizeof(extra) / sizeof(extra[0]);
	const char *t;

	(void)state;
	for (i = 0; i < n; i++) {
		t = i < sizeof(hostile) / sizeof(hostile[0])
			    ? hostile[i]
			    : extra[i - sizeof(hostile) / sizeof(hostile[0])];
		make_hostile_failed(&s, t, 1);
		set(&s.user, t);
		root = render(&s, &out);
		for (k = 0; out[k]; k++)
			assert_true((unsigned char)out[k] >= 0x20);
		assert_int_equal(num(root, "schema_version"), 1);
		assert_string_equal(str(root, "type"), "run.failed");
		each_string(root, utf8_clean);
		if (i >= sizeof(hostile) / sizeof(hostile[0]) && strchr(t, '\x01') == NULL) {
			assert_string_equal(str(root, "data.run.pipeline"), t);
			assert_string_equal(str(root, "data.run.user"), t);
		}
		free(out);
		cJSON_Delete(root);
		summary_free(&s);
	}
}

/* A string of n copies of the 4-byte U+1F600. */
static char *emoji(size_t n)
{
	char *p = malloc(n * 4 + 1);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		memcpy(p + i * 4, "\xf0\x9f\x98\x80", 4);
	p[n * 4] = '\0';
	return p;
}

/* Strings are cut to their documented length in code points, ending in
 * "…" when cut. */
static void test_string_caps(void **state)
{
	struct summary s;
	cJSON *root;
	char *out, *big = emoji(20000);

	(void)state;
	make_summary(&s, 1, 0);
	set(&s.pipeline_name, big);
	set(&s.message, big);
	set(&s.failed[0].path, big);
	set(&s.failed[0].message, big);
	regroup(&s);
	root = render(&s, &out);
	assert_int_equal(code_points(str(root, "data.run.pipeline")), NAME_CHARS);
	assert_non_null(strstr(str(root, "data.run.pipeline"), "\xe2\x80\xa6"));
	assert_int_equal(code_points(str(root, "data.run.message")), ERROR_CHARS);
	assert_int_equal(
		code_points(str(cJSON_GetArrayItem(get(root, "data.failed_steps"), 0), "path")),
		PATH_CHARS);
	assert_int_equal(
		code_points(str(cJSON_GetArrayItem(get(root, "data.failed_steps"), 0), "error")),
		STEP_ERROR_CHARS);
	assert_int_equal(
		code_points(str(cJSON_GetArrayItem(get(root, "data.error_groups"), 0), "error")),
		ERROR_CHARS);
	free(big);
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

/* The most a summary can hold, every string at its longest in 4-byte
 * characters: the body stays within the bound, and what was left out is
 * counted so kept plus omitted is every step and child. */
static void test_huge_run(void **state)
{
	struct summary s;
	cJSON *root;
	char *out, *big = emoji(SUMMARY_MESSAGE_MAX), id[32];
	size_t i;

	(void)state;
	make_summary(&s, SUMMARY_MAX_FAILED, 10);
	for (i = 0; i < s.n_failed; i++) {
		set(&s.failed[i].path, big);
		set(&s.failed[i].message, big);
		s.failed[i].message[i * 4] = 'A'; /* distinct errors */
		s.failed[i].execution_id = strdup("e");
	}
	s.failed_more = UINT64_MAX - 7;
	for (i = 0; i < SUMMARY_MAX_CHILDREN; i++) {
		snprintf(id, sizeof(id), "c%zu", i);
		add_child(&s, id, big, ST_FAILED);
	}
	s.children_more = 12345;
	set(&s.message, big);
	s.degraded = strdup(big);
	s.incomplete = strdup(big);
	regroup(&s);
	root = render(&s, &out);
	assert_true(strlen(out) <= JSON_MAX);
	/* Saturated at JSON's largest exact integer, never wrapped. */
	assert_true(num(root, "data.failed_steps_omitted") == 9007199254740991.0);
	assert_true(cJSON_GetArraySize(get(root, "data.children")) < SUMMARY_MAX_CHILDREN);
	assert_int_equal(cJSON_GetArraySize(get(root, "data.children")) +
				 num(root, "data.children_omitted"),
			 SUMMARY_MAX_CHILDREN + 12345);
	free(big);
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

/* Kept plus omitted failed steps add up when nothing saturates. */
static void test_omitted_counts(void **state)
{
	struct summary s;
	cJSON *root;
	char *out, *big = emoji(SUMMARY_MESSAGE_MAX);
	size_t i;

	(void)state;
	make_summary(&s, SUMMARY_MAX_FAILED, 10);
	for (i = 0; i < s.n_failed; i++)
		set(&s.failed[i].message, big);
	s.failed_more = 900;
	root = render(&s, &out);
	assert_true(cJSON_GetArraySize(get(root, "data.failed_steps")) < SUMMARY_MAX_FAILED);
	assert_int_equal(cJSON_GetArraySize(get(root, "data.failed_steps")) +
				 num(root, "data.failed_steps_omitted"),
			 SUMMARY_MAX_FAILED + 900);
	free(big);
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

/* The Standard Webhooks test vector: id, timestamp and body as published
 * with the whsec_ secret give the published signature. */
#define V_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define V_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define V_BODY "{\"test\": 2432232314}"
#define V_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void test_prepare_vector(void **state)
{
	struct target_post p;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(row()->prepare(V_BODY, V_SECRET, V_ID, 1614265330, &p), 0);
	assert_null(p.body); /* the stored body is sent as is */
	assert_string_equal(p.headers[0], "webhook-id: " V_ID);
	assert_string_equal(p.headers[1], "webhook-timestamp: 1614265330");
	assert_string_equal(p.headers[2], "webhook-signature: " V_SIG);
	assert_null(p.headers[3]);
	target_post_free(&p);
}

/* What the JSON target signs, dpc-notify's own intake accepts: the same
 * scheme, both secret forms. */
static void test_prepare_roundtrip(void **state)
{
	const char *secrets[] = { "whsec_TWZLUTlyOEdLWXFyVHdqVVBEOElMUFpJbzJMYUxhU3c=",
				  "plain-secret" };
	struct target_post p;
	struct auth_request r;
	struct summary s;
	char *body;
	size_t i;

	(void)state;
	make_summary(&s, 2, 0);
	body = row()->render(&s, NULL);
	assert_non_null(body);
	for (i = 0; i < 2; i++) {
		char *list[1] = { (char *)secrets[i] };

		memset(&p, 0, sizeof(p));
		assert_int_equal(row()->prepare(body, secrets[i], "dpc-42-hook", 1700000000, &p),
				 0);
		memset(&r, 0, sizeof(r));
		r.wh_id = p.headers[0] + strlen("webhook-id: ");
		r.wh_timestamp = p.headers[1] + strlen("webhook-timestamp: ");
		r.wh_signature = p.headers[2] + strlen("webhook-signature: ");
		r.body = body;
		r.body_len = strlen(body);
		assert_int_equal(auth_check(&r, NULL, 0, list, 1, 1700000000, 300), AUTH_OK);
		r.body_len--; /* one byte less: no longer genuine */
		assert_int_equal(auth_check(&r, NULL, 0, list, 1, 1700000000, 300),
				 AUTH_BAD_SIGNATURE);
		target_post_free(&p);
	}
	free(body);
	summary_free(&s);
}

/* No secret, a secret that cannot sign, or an id that cannot be a header
 * value: the post is refused (given up), never sent unsigned. */
static void test_prepare_refuses(void **state)
{
	static const char *const bad_secrets[] = { NULL, "", "whsec_", "whsec_abc", "whsec_ AAAA" };
	static const char *const bad_ids[] = { "", "a\r\nx-evil: 1", "a b", "a\x01" };
	struct target_post p;
	char long_id[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_secrets) / sizeof(bad_secrets[0]); i++) {
		memset(&p, 0, sizeof(p));
		assert_int_equal(row()->prepare("{}", bad_secrets[i], "dpc-1-x", 1, &p),
				 ERR_INVALID);
		assert_null(p.headers[0]);
	}
	for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		memset(&p, 0, sizeof(p));
		assert_int_equal(row()->prepare("{}", "s3cret", bad_ids[i], 1, &p), ERR_INVALID);
		assert_null(p.headers[0]);
	}
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_int_equal(row()->prepare("{}", "s3cret", long_id, 1, &p), ERR_INVALID);
	assert_int_equal(row()->prepare(NULL, "s3cret", "dpc-1-x", 1, &p), ERR_INVALID);
	assert_int_equal(row()->prepare("{}", "s3cret", "dpc-1-x", -1, &p), ERR_INVALID);
}

/* 2xx delivered; 408, 429 and 5xx retried; any other 4xx given up. */
static void test_classify(void **state)
{
	static const long ok[] = { 200, 201, 202, 204 };
	static const long retry[] = { 408, 429, 500, 502, 503, 504 };
	static const long perm[] = { 400, 401, 403, 404, 410, 413, 422 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(row()->classify(ok[i], httpc_classify(ok[i]), "", 0), 0);
	for (i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		assert_int_equal(row()->classify(retry[i], httpc_classify(retry[i]), "{}", 2),
				 ERR_TRANSIENT);
	for (i = 0; i < sizeof(perm) / sizeof(perm[0]); i++)
		assert_int_equal(row()->classify(perm[i], httpc_classify(perm[i]), NULL, 0),
				 ERR_PERMANENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_row),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_string_caps),
		cmocka_unit_test(test_huge_run),
		cmocka_unit_test(test_omitted_counts),
		cmocka_unit_test(test_prepare_vector),
		cmocka_unit_test(test_prepare_roundtrip),
		cmocka_unit_test(test_prepare_refuses),
		cmocka_unit_test(test_classify),
	};

	(void)check_more_counts;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
