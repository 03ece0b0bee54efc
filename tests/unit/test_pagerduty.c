/* Unit tests for pagerduty.c (type = pagerduty): trigger events with their
 * payload, severities and custom details; resolve events for a recovery
 * and a success, with the trigger's dedup_key; PagerDuty's limits
 * (dedup_key 255, summary 1024, event 512 KB) with extreme input; the
 * routing key added only at post time; replies and the URL rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "errors.h"
#include "summary.h"
#include "target.h"
#include "text.h"

#include "render_fixtures.h"

static const struct target *pd(void)
{
	const struct target *t = target_find("pagerduty");

	assert_non_null(t);
	return t;
}

static cJSON *render(const struct summary *s, char **raw)
{
	const struct render_opts o = { .mention = "<users/all>" };
	char *out = pd()->render(s, &o), *again;
	cJSON *root;

	assert_non_null(out);
	assert_true(strlen(out) <= 512 * 1024);
	assert_null(strstr(out, "routing_key"));
	assert_null(strstr(out, "users/all")); /* the mention does not apply */
	again = text_sanitize(out, strlen(out), 1);
	assert_string_equal(again, out);
	free(again);
	root = cJSON_Parse(out);
	assert_non_null(root);
	if (raw)
		*raw = out;
	else
		free(out);
	return root;
}

static const char *str(const cJSON *o, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));

	return v ? v : "";
}

static const cJSON *payload(const cJSON *root)
{
	return cJSON_GetObjectItem(root, "payload");
}

/* A failure: a trigger with the pipeline's key, a critical severity, the
 * headline as summary, the run's finish as timestamp, the failed steps
 * and counts in custom_details, the run as link. */
static void test_trigger(void **state)
{
	struct summary s;
	cJSON *root, *d, *steps;

	(void)state;
	make_summary(&s, 2, 0);
	add_child(&s, "c1", "child_a", ST_FAILED);
	regroup(&s);
	root = render(&s, NULL);
	assert_string_equal(str(root, "event_action"), "trigger");
	assert_string_equal(str(root, "dedup_key"), "dpc-notify/proj-1/prod/load_sales");
	assert_string_equal(str(payload(root), "severity"), "critical");
	assert_non_null(strstr(str(payload(root), "summary"), "load_sales"));
	assert_string_equal(str(payload(root), "source"), "matillion:proj-1:prod");
	assert_string_equal(str(payload(root), "timestamp"), "2024-05-01T10:03:05Z");
	d = cJSON_GetObjectItem(payload(root), "custom_details");
	steps = cJSON_GetObjectItem(d, "failed_steps");
	assert_int_equal(cJSON_GetArraySize(steps), 1);
	assert_string_equal(str(cJSON_GetArrayItem(steps, 0), "error"), "Table not found");
	assert_non_null(strstr(str(d, "counts"), "48 steps"));
	assert_string_equal(
		str(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "failed_children"), 0), "name"),
		"child_a");
	assert_non_null(
		strstr(str(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "links"), 0), "href"),
		       "https://app.matillion.com/"));
	cJSON_Delete(root);
	/* Cancelled: warning; another status: info. */
	s.status = ST_CANCELLED;
	root = render(&s, NULL);
	assert_string_equal(str(payload(root), "severity"), "warning");
	cJSON_Delete(root);
	s.status = ST_UNKNOWN;
	root = render(&s, NULL);
	assert_string_equal(str(payload(root), "severity"), "info");
	assert_string_equal(str(root, "event_action"), "trigger");
	cJSON_Delete(root);
	summary_free(&s);
}

/* The severity of s's trigger with the map sev (NULL: the default). */
static char *severity_with(const struct summary *s, const unsigned char *sev)
{
	const struct render_opts o = { .mention = NULL, .severity = sev };
	char *out = pd()->render(s, &o), *r;
	cJSON *root;

	assert_non_null(out);
	root = cJSON_Parse(out);
	assert_non_null(root);
	assert_string_equal(str(root, "event_action"), "trigger");
	r = strdup(str(payload(root), "severity"));
	cJSON_Delete(root);
	free(out);
	return r;
}

/* A destination's severity map decides payload.severity; without one
 * (NULL) the default map holds: critical for FAILED and FORBIDDEN,
 * warning for CANCELLED and CANCELLING, info for the rest. An entry
 * outside the levels, as a broken or hostile map would hold, takes the
 * default for its status, and a status past the table reads as
 * unknown. */
static void test_severity_map(void **state)
{
	static const struct {
		enum run_status st;
		const char *want;
	} def[] = {
		{ ST_FAILED, "critical" },   { ST_FORBIDDEN, "critical" },
		{ ST_CANCELLED, "warning" }, { ST_CANCELLING, "warning" },
		{ ST_UNKNOWN, "info" },      { ST_RUNNING, "info" },
		{ ST_QUEUED, "info" },       { ST_SKIPPED, "info" },
	};
	unsigned char map[ST__MAX];
	struct summary s;
	char *sev;
	size_t i;

	(void)state;
	make_summary(&s, 1, 0);
	regroup(&s);
	for (i = 0; i < sizeof(def) / sizeof(def[0]); i++) {
		s.status = def[i].st;
		sev = severity_with(&s, NULL);
		if (strcmp(sev, def[i].want) != 0)
			fail_msg("default for %s: %s, want %s", status_names[def[i].st], sev,
				 def[i].want);
		free(sev);
	}
	memset(map, TSEV_INFO, sizeof(map));
	map[ST_FAILED] = TSEV_ERROR;
	map[ST_CANCELLED] = TSEV_CRITICAL;
	map[ST_FORBIDDEN] = TSEV_WARNING;
	map[ST_UNKNOWN] = 0xff; /* not a level: the default's info */
	map[ST_QUEUED] = TSEV__MAX;
	s.status = ST_FAILED;
	sev = severity_with(&s, map);
	assert_string_equal(sev, "error");
	free(sev);
	s.status = ST_CANCELLED;
	sev = severity_with(&s, map);
	assert_string_equal(sev, "critical");
	free(sev);
	s.status = ST_FORBIDDEN;
	sev = severity_with(&s, map);
	assert_string_equal(sev, "warning");
	free(sev);
	s.status = ST_RUNNING;
	sev = severity_with(&s, map);
	assert_string_equal(sev, "info");
	free(sev);
	s.status = ST_UNKNOWN;
	sev = severity_with(&s, map);
	assert_string_equal(sev, "info");
	free(sev);
	map[ST_UNKNOWN] = TSEV_CRITICAL;
	s.status = (enum run_status)ST__MAX; /* hostile: read as unknown */
	sev = severity_with(&s, map);
	assert_string_equal(sev, "critical");
	free(sev);
	s.status = ST_FAILED;
	map[ST_FAILED] = 0xff;
	sev = severity_with(&s, map);
	assert_string_equal(sev, "critical");
	free(sev);
	/* A success resolves whatever the map says. */
	memset(map, TSEV_CRITICAL, sizeof(map));
	s.status = ST_SUCCESS;
	{
		const struct render_opts o = { .mention = NULL, .severity = map };
		char *out = pd()->render(&s, &o);

		assert_non_null(out);
		assert_non_null(strstr(out, "\"event_action\":\"resolve\""));
		free(out);
	}
	summary_free(&s);
	/* Only this row reads the map; the level names are PagerDuty's. */
	assert_true(pd()->takes_severity);
	assert_false(target_find("slack")->takes_severity);
	assert_string_equal(target_severity_names[TSEV_CRITICAL], "critical");
	assert_string_equal(target_severity_names[TSEV_ERROR], "error");
	assert_string_equal(target_severity_names[TSEV_WARNING], "warning");
	assert_string_equal(target_severity_names[TSEV_INFO], "info");
}

/* The trigger, a compact repeat and the recovery of one incident carry
 * one dedup_key; the recovery, and a success without run memory, is a
 * resolve event. */
static void test_resolve(void **state)
{
	struct summary s;
	cJSON *root;
	char *key;

	(void)state;
	make_summary(&s, 1, 0);
	regroup(&s);
	s.memory.known = 1;
	s.memory.form = FORM_FULL;
	s.memory.incident_since_ms = T0;
	root = render(&s, NULL);
	key = strdup(str(root, "dedup_key"));
	cJSON_Delete(root);
	s.memory.form = FORM_COMPACT;
	root = render(&s, NULL);
	assert_string_equal(str(root, "event_action"), "trigger");
	assert_string_equal(str(root, "dedup_key"), key);
	cJSON_Delete(root);
	s.status = ST_SUCCESS;
	s.memory.form = FORM_RECOVERY;
	root = render(&s, NULL);
	assert_string_equal(str(root, "event_action"), "resolve");
	assert_string_equal(str(root, "dedup_key"), key);
	assert_null(cJSON_GetObjectItem(root, "payload"));
	cJSON_Delete(root);
	memset(&s.memory, 0, sizeof(s.memory));
	root = render(&s, NULL);
	assert_string_equal(str(root, "event_action"), "resolve");
	assert_string_equal(str(root, "dedup_key"), key);
	cJSON_Delete(root);
	free(key);
	summary_free(&s);
}

/* The dedup_key of s, as a new string. */
static char *key_of(const struct summary *s)
{
	cJSON *root = render(s, NULL);
	char *k = strdup(str(root, "dedup_key"));

	cJSON_Delete(root);
	assert_true(strlen(k) > 0 && strlen(k) <= 255);
	return k;
}

/* Names with '/' cannot pose as other parts; names too long for 255
 * bytes give a fixed-length hashed key, stable and distinct; a run
 * without a pipeline name and a send-test stand alone. */
static void test_dedup_key(void **state)
{
	struct summary s;
	char *a, *b, *h1, *h2, *h3, big[4096];

	(void)state;
	make_summary(&s, 1, 0);
	regroup(&s);
	set(&s.environment, "a/b");
	set(&s.pipeline_name, "c");
	a = key_of(&s);
	set(&s.environment, "a");
	set(&s.pipeline_name, "b/c");
	b = key_of(&s);
	assert_string_not_equal(a, b);
	assert_string_equal(a, "dpc-notify/proj-1/a%2Fb/c");
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	set(&s.pipeline_name, big);
	h1 = key_of(&s);
	h2 = key_of(&s);
	big[0] = 'q';
	set(&s.pipeline_name, big);
	h3 = key_of(&s);
	assert_string_equal(h1, h2);
	assert_string_not_equal(h1, h3);
	assert_int_equal(strncmp(h1, "dpc-notify/sha256/", 18), 0);
	assert_int_equal(strlen(h1), 18 + 64);
	free(a);
	free(b);
	free(h2);
	free(h3);
	set(&s.pipeline_name, "");
	a = key_of(&s);
	assert_string_equal(a, "dpc-notify/run/exec-1");
	/* ... and a hostile run id that escapes past 255 bytes is hashed
	 * (the fuzzer found it: 80 bytes of 0xff became 240). */
	memset(big, 0xff, 200);
	big[200] = '\0';
	set(&s.execution_id, big);
	h2 = key_of(&s);
	assert_int_equal(strncmp(h2, "dpc-notify/sha256/", 18), 0);
	free(h2);
	set(&s.pipeline_name, "load_sales");
	s.is_test = 1;
	b = key_of(&s);
	assert_string_equal(b, "dpc-notify/send-test");
	free(a);
	free(b);
	free(h1);
	summary_free(&s);
}

/* A pipeline name, environment and errors of 100,000 four-byte
 * characters, 300 failed steps: summary within 1024 bytes (cut with "…", on a character
 * boundary; the view already bounds it near 1,000 bytes), the event within
 * 512 KB. */
static void test_limits(void **state)
{
	struct summary s;
	cJSON *root;
	const char *sum;
	char *name;
	size_t i;

	(void)state;
	make_summary(&s, 300, 20000);
	distinct_errors(&s, 17);
	regroup(&s);
	name = malloc(400001);
	assert_non_null(name);
	for (i = 0; i < 400000; i += 4)
		memcpy(name + i, "\xf0\x9f\x92\xa5", 4);
	name[400000] = '\0';
	set(&s.pipeline_name, name);
	set(&s.environment, name);
	set(&s.message, name);
	for (i = 0; i < s.n_failed; i++)
		set(&s.failed[i].message, name);
	free(name);
	regroup(&s);
	root = render(&s, NULL);
	sum = str(payload(root), "summary");
	assert_true(strlen(sum) <= 1024 && strlen(sum) > 900);
	assert_non_null(strstr(sum, "\xe2\x80\xa6"));
	assert_true(strlen(str(root, "dedup_key")) <= 255);
	assert_non_null(strstr(
		str(cJSON_GetArrayItem(cJSON_GetObjectItem(
					       cJSON_GetObjectItem(payload(root), "custom_details"),
					       "failed_steps"),
				       0),
		    "steps"),
		"300 steps"));
	cJSON_Delete(root);
	summary_free(&s);
}

/* check_more_counts()'s counter: custom_details.failed_steps and its
 * "more" line. */
static uint64_t count_more(const struct summary *s, uint64_t *shown, size_t *errors)
{
	cJSON *root = render(s, NULL), *d, *e;
	const char *m;
	uint64_t more;

	d = cJSON_GetObjectItem(payload(root), "custom_details");
	*shown = 0;
	*errors = 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(d, "failed_steps"))
	{
		(*errors)++;
		m = str(e, "steps");
		*shown += *m ? strtoull(m, NULL, 10) : 1;
	}
	m = str(d, "more");
	more = *m == '+' ? strtoull(m + 1, NULL, 10) : 0;
	cJSON_Delete(root);
	return more;
}

static void test_more_counts(void **state)
{
	(void)state;
	check_more_counts(count_more, 0);
	check_more_counts(count_more, 30000);
}

/* The routing key goes in at post time only; without one, or with a
 * stored body that is no event, nothing is sent. */
static void test_prepare(void **state)
{
	struct target_post tp;
	struct summary s;
	char *out;
	cJSON *root;

	(void)state;
	make_summary(&s, 1, 0);
	regroup(&s);
	out = pd()->render(&s, NULL);
	assert_non_null(out);
	memset(&tp, 0, sizeof(tp));
	assert_int_equal(pd()->prepare(out, "R0UTINGKEY\"x", "id", 0, &tp), 0);
	assert_non_null(tp.body);
	assert_null(tp.headers[0]);
	root = cJSON_Parse(tp.body);
	assert_string_equal(str(root, "routing_key"), "R0UTINGKEY\"x");
	assert_string_equal(str(root, "event_action"), "trigger");
	cJSON_Delete(root);
	target_post_free(&tp);
	assert_null(strstr(out, "R0UTINGKEY"));
	assert_int_equal(pd()->prepare(out, NULL, "id", 0, &tp), ERR_INVALID);
	assert_int_equal(pd()->prepare(out, "", "id", 0, &tp), ERR_INVALID);
	assert_int_equal(pd()->prepare("not json", "k", "id", 0, &tp), ERR_INVALID);
	assert_int_equal(pd()->prepare("[1]", "k", "id", 0, &tp), ERR_INVALID);
	assert_null(tp.body);
	free(out);
	summary_free(&s);
}

static void test_classify(void **state)
{
	const char *ok = "{\"status\":\"success\",\"message\":\"Event processed\"}";
	const char *bad = "{\"status\":\"invalid event\",\"message\":\"Event object is invalid\"}";

	(void)state;
	assert_int_equal(pd()->classify(202, 0, ok, strlen(ok)), 0);
	assert_int_equal(pd()->classify(400, ERR_PERMANENT, bad, strlen(bad)), ERR_PERMANENT);
	assert_int_equal(pd()->classify(429, ERR_TRANSIENT, NULL, 0), ERR_TRANSIENT);
	assert_int_equal(pd()->classify(502, ERR_TRANSIENT, NULL, 0), ERR_TRANSIENT);
	assert_true(pd()->default_rate > 0.0 && pd()->default_rate <= 2.0);
}

static void test_url_warning(void **state)
{
	(void)state;
	assert_null(pd()->url_warning("https://events.pagerduty.com/v2/enqueue"));
	assert_null(pd()->url_warning("https://events.eu.pagerduty.com/v2/enqueue"));
	assert_non_null(pd()->url_warning(
		"https://events.pagerduty.com/generic/2010-04-15/create_event.json"));
	assert_non_null(pd()->url_warning("https://events.pagerduty.com.evil.example/v2/enqueue"));
	assert_non_null(pd()->url_warning("https://hooks.slack.com/services/T/B/x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trigger),      cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_dedup_key),    cmocka_unit_test(test_limits),
		cmocka_unit_test(test_prepare),      cmocka_unit_test(test_classify),
		cmocka_unit_test(test_url_warning),  cmocka_unit_test(test_more_counts),
		cmocka_unit_test(test_severity_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
