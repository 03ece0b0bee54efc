/* Unit tests for the slack-app row and its bodies (slackapp.h): a problem
 * that opens an incident carries the buttons (Re-run only with
 * allow_rerun) and names its incident, everything else is the slack
 * row's body as it is; the posted message loses our member and, as a
 * reply, the buttons; the resolved parent keeps its details; hostile
 * stored bodies read as plain messages. */
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
#include "slackapp.h"
#include "summary.h"
#include "target.h"

#include "render_fixtures.h"

#define SINCE (T0 - 3 * 3600000LL - 12 * 60000LL) /* 3h 12m before T0 */

static const struct target *row(const char *name)
{
	const struct target *t = target_find(name);

	assert_non_null(t);
	return t;
}

/* A failed run of an open incident (or, recovery set, the success that
 * closes it at T0 + 185 s). */
static void incident_run(struct summary *s, int recovery)
{
	make_summary(s, 1, 0);
	s->memory.known = 1;
	s->memory.form = recovery ? FORM_RECOVERY : FORM_FULL;
	s->memory.incident_since_ms = SINCE;
	s->memory.incident_failures = 3;
	s->memory.usual_ms = -1;
	s->memory.streak_since_ms = -1;
	if (recovery) {
		s->status = ST_SUCCESS;
		s->finished_ms = SINCE + 3 * 3600000LL + 12 * 60000LL;
	}
}

static char *render(const struct summary *s, int rerun)
{
	struct render_opts o = { .mention = "<@U1>", .allow_rerun = rerun };
	char *out = row("slack-app")->render(s, &o);

	assert_non_null(out);
	return out;
}

/* The block of root with block_id id, or NULL. */
static const cJSON *block_by_id(const cJSON *root, const char *id)
{
	const cJSON *b;

	cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(root, "blocks"))
	{
		const char *v =
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "block_id"));
		if (v != NULL && strcmp(v, id) == 0)
			return b;
	}
	return NULL;
}

/* The element of actions with action_id id, or NULL. */
static const cJSON *action(const cJSON *actions, const char *id)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(actions, "elements"))
	{
		const char *v =
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "action_id"));
		if (v != NULL && strcmp(v, id) == 0)
			return e;
	}
	return NULL;
}

/* A problem of an incident: the slack row's blocks, then the buttons
 * (Acknowledge, Mute 1h/24h/7d; Re-run only when the route allows it),
 * and our member naming the incident. */
static void test_parent_buttons(void **state)
{
	struct summary s;
	struct slackapp_meta m;
	char *with = NULL, *without = NULL, *slack = NULL;
	cJSON *a = NULL, *b = NULL, *sl = NULL;
	const cJSON *acts, *mute, *opt;
	const char *want[] = { "1h", "24h", "7d" };
	int i = 0;

	(void)state;
	incident_run(&s, 0);
	with = render(&s, 1);
	without = render(&s, 0);
	slack = row("slack")->render(&s, &(struct render_opts){ .mention = "<@U1>" });
	a = cJSON_Parse(with);
	b = cJSON_Parse(without);
	sl = cJSON_Parse(slack);
	acts = block_by_id(a, SLACKAPP_ACTIONS_BLOCK);
	assert_non_null(acts);
	assert_non_null(action(acts, SLACKAPP_ACTION_ACK));
	assert_non_null(action(acts, SLACKAPP_ACTION_RERUN));
	mute = action(acts, SLACKAPP_ACTION_MUTE);
	assert_non_null(mute);
	cJSON_ArrayForEach(opt, cJSON_GetObjectItemCaseSensitive(mute, "options"))
	{
		assert_true(i < 3);
		assert_string_equal(
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(opt, "value")),
			want[i]);
		i++;
	}
	assert_int_equal(i, 3);
	acts = block_by_id(b, SLACKAPP_ACTIONS_BLOCK);
	assert_non_null(acts);
	assert_non_null(action(acts, SLACKAPP_ACTION_ACK));
	assert_null(action(acts, SLACKAPP_ACTION_RERUN));
	/* Everything else is the slack row's message. */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(a, "blocks")),
			 cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sl, "blocks")) + 1);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "text")),
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sl, "text")));
	assert_int_equal(slackapp_meta(with, &m), 0);
	assert_int_equal(m.role, SLACKAPP_OPEN);
	assert_int_equal(m.since_ms, SINCE);
	assert_string_equal(m.project_id, "proj-1");
	assert_string_equal(m.environment, "prod");
	assert_string_equal(m.pipeline, "load_sales");
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(sl);
	free(with);
	free(without);
	free(slack);
	summary_free(&s);
}

/* No incident known (a degraded notice, a success outside one, a test):
 * the slack row's body, byte for byte, read as plain. */
static void test_plain_is_slack(void **state)
{
	struct summary s;
	struct slackapp_meta m;
	char *app, *slack;
	int k;

	(void)state;
	for (k = 0; k < 3; k++) {
		make_summary(&s, 1, 0);
		if (k == 1) {
			s.status = ST_SUCCESS;
			s.n_failed = 0;
		}
		if (k == 2) {
			s.memory.known = 1;
			s.memory.incident_since_ms = SINCE;
			assert_int_equal(summary_set_degraded(&s, "the API did not answer"), 0);
		}
		app = render(&s, 1);
		slack = row("slack")->render(&s, &(struct render_opts){ .mention = "<@U1>" });
		assert_string_equal(app, slack);
		assert_int_equal(slackapp_meta(app, &m), 0);
		assert_int_equal(m.role, SLACKAPP_PLAIN);
		free(app);
		free(slack);
		summary_free(&s);
	}
}

/* The posted message: our member gone, channel set; a reply without
 * buttons, with thread_ts, reply_broadcast only when asked. */
static void test_message_bodies(void **state)
{
	struct summary s;
	char *stored, *parent, *reply, *shown;
	cJSON *p, *r, *b;

	(void)state;
	incident_run(&s, 0);
	stored = render(&s, 1);
	parent = slackapp_message(stored, &(struct slackapp_send){ "C1", NULL, 1, 1 });
	reply = slackapp_message(stored, &(struct slackapp_send){ "C1", "1.2", 0, 0 });
	shown = slackapp_message(stored, &(struct slackapp_send){ "C1", "1.2", 0, 1 });
	p = cJSON_Parse(parent);
	r = cJSON_Parse(reply);
	b = cJSON_Parse(shown);
	assert_null(strstr(parent, "dpc_thread"));
	assert_null(strstr(reply, "dpc_thread"));
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "channel")),
			    "C1");
	assert_non_null(block_by_id(p, SLACKAPP_ACTIONS_BLOCK));
	assert_null(cJSON_GetObjectItemCaseSensitive(p, "thread_ts"));
	assert_null(cJSON_GetObjectItemCaseSensitive(p, "reply_broadcast")); /* no thread */
	assert_null(block_by_id(r, SLACKAPP_ACTIONS_BLOCK));
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "thread_ts")),
			    "1.2");
	assert_null(cJSON_GetObjectItemCaseSensitive(r, "reply_broadcast"));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "reply_broadcast")));
	assert_null(slackapp_message(stored, &(struct slackapp_send){ NULL, NULL, 0, 0 }));
	assert_null(slackapp_message("not json", &(struct slackapp_send){ "C1", NULL, 0, 0 }));
	assert_null(slackapp_message(NULL, &(struct slackapp_send){ "C1", NULL, 0, 0 }));
	cJSON_Delete(p);
	cJSON_Delete(r);
	cJSON_Delete(b);
	free(stored);
	free(parent);
	free(reply);
	free(shown);
	summary_free(&s);
}

/* The resolved parent: "Resolved after 3h 12m" first, with the run's
 * link and the old header; every other block kept; buttons gone; ts
 * set. */
static void test_resolved_keeps_details(void **state)
{
	struct summary s, r;
	struct slackapp_meta m;
	char *stored, *parent, *rec, *upd, *acc;
	cJSON *p, *u, *first;
	const char *text;
	int i, n;

	(void)state;
	incident_run(&s, 0);
	incident_run(&r, 1);
	stored = render(&s, 0);
	rec = render(&r, 0);
	assert_int_equal(slackapp_meta(rec, &m), 0);
	assert_int_equal(m.role, SLACKAPP_RECOVERY);
	parent = slackapp_message(stored, &(struct slackapp_send){ "C1", NULL, 1, 0 });
	upd = slackapp_resolved(parent, rec, "1700000000.000100");
	assert_non_null(upd);
	p = cJSON_Parse(parent);
	u = cJSON_Parse(upd);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(u, "ts")),
			    "1700000000.000100");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(u, "channel")),
			    "C1");
	assert_null(block_by_id(u, SLACKAPP_ACTIONS_BLOCK));
	first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(u, "blocks"), 0);
	text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(first, "text"), "text"));
	assert_non_null(text);
	assert_non_null(strstr(text, "\xe2\x9c\x85 Resolved after 3h 12m"));
	assert_non_null(strstr(text, "load_sales"));
	acc = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(first, "accessory"));
	assert_non_null(acc);
	assert_non_null(strstr(acc, "exec-1"));
	free(acc);
	n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(p, "blocks"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(u, "blocks")), n - 1);
	for (i = 1; i < n - 1; i++) {
		char *x = cJSON_PrintUnformatted(
			cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p, "blocks"), i));
		char *y = cJSON_PrintUnformatted(
			cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(u, "blocks"), i));
		assert_string_equal(x, y);
		free(x);
		free(y);
	}
	/* A body that is no recovery cannot resolve anything. */
	assert_null(slackapp_resolved(parent, stored, "1.1"));
	assert_null(slackapp_resolved("[]", rec, "1.1"));
	assert_null(slackapp_resolved(parent, rec, NULL));
	cJSON_Delete(p);
	cJSON_Delete(u);
	free(stored);
	free(parent);
	free(rec);
	free(upd);
	summary_free(&s);
	summary_free(&r);
}

/* Stored bodies that are damaged or hostile read as plain, and strings
 * too long are cut on a character boundary. */
static void test_hostile_meta(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"dpc_thread\":1}",
		"{\"dpc_thread\":{\"role\":\"open\"}}",
		"{\"dpc_thread\":{\"role\":\"open\",\"since_ms\":\"12x\"}}",
		"{\"dpc_thread\":{\"role\":\"open\",\"since_ms\":12}}",
		"{\"dpc_thread\":{\"role\":\"admin\",\"since_ms\":\"12\"}}",
	};
	struct slackapp_meta m;
	char big[3000];
	size_t i, n;

	(void)state;
	assert_int_equal(slackapp_meta(NULL, &m), ERR_PARSE);
	assert_int_equal(m.role, SLACKAPP_PLAIN);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		slackapp_meta(bad[i], &m);
		assert_int_equal(m.role, SLACKAPP_PLAIN);
	}
	n = (size_t)snprintf(
		big, sizeof(big),
		"{\"dpc_thread\":{\"role\":\"open\",\"since_ms\":\"-9223372036854775808\","
		"\"project\":\"");
	for (i = 0; i < 400; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "\xc3\xa9");
	snprintf(big + n, sizeof(big) - n, "\"}}");
	assert_int_equal(slackapp_meta(big, &m), 0);
	assert_int_equal(m.role, SLACKAPP_OPEN);
	assert_int_equal(m.since_ms, INT64_MIN);
	assert_true(strlen(m.project_id) < sizeof(m.project_id));
	assert_int_equal(strlen(m.project_id) % 2, 0); /* whole characters */
	assert_true(slackapp_is(row("slack-app")));
	assert_false(slackapp_is(row("slack")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parent_buttons),
		cmocka_unit_test(test_plain_is_slack),
		cmocka_unit_test(test_message_bodies),
		cmocka_unit_test(test_resolved_keeps_details),
		cmocka_unit_test(test_hostile_meta),
	};

	(void)check_more_counts; /* render_fixtures.h's, for the slack-like rows */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
