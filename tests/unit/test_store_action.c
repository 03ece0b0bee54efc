/* Slack button clicks in the durable store (store.h, "Slack button
 * clicks") against real SQLite files: stored once with their job, claimed
 * as action jobs, finished, the re-run tags, acknowledgements refused
 * without an incident, listing, and hostile input refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "errors.h"
#include "store.h"

#define MIN (60 * 1000LL)
#define HOUR (60 * MIN)
#define T0 1796004000000LL

struct fixture {
	char dir[64];
	char path[128];
	struct store *s;
};

static void reopen(struct fixture *f)
{
	char err[256];

	store_close(f->s);
	f->s = store_open(f->path, err, sizeof(err));
	if (f->s == NULL)
		fail_msg("%s", err);
}

static void rm_file(const char *dir, const char *name)
{
	char p[192];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
}

static void rm_db(struct fixture *f)
{
	rm_file(f->dir, "dpc.db");
	rm_file(f->dir, "dpc.db-wal");
	rm_file(f->dir, "dpc.db-shm");
	rm_file(f->dir, "dpc.db-lock");
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store_action.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/dpc.db", f->dir);
	reopen(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	rm_db(f);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct action click(enum action_kind kind, const char *ts)
{
	struct action a;

	memset(&a, 0, sizeof(a));
	a.kind = kind;
	snprintf(a.user_id, sizeof(a.user_id), "U0123ABC");
	snprintf(a.user_name, sizeof(a.user_name), "jane");
	snprintf(a.channel, sizeof(a.channel), "C0ALERTS");
	snprintf(a.message_ts, sizeof(a.message_ts), "1700000000.000100");
	snprintf(a.response_url, sizeof(a.response_url), "https://hooks.slack.com/a/1");
	snprintf(a.action_ts, sizeof(a.action_ts), "%s", ts);
	if (kind == ACT_MUTE)
		snprintf(a.value, sizeof(a.value), "24h");
	return a;
}

/* A click is stored once with one queued action job, whatever Slack's
 * retries; the job is claimed as JOB_KIND_ACTION, survives a reopen,
 * and finishing the click ends its job as delivered. */
static void test_put_claim_finish(void **state)
{
	struct fixture *f = *state;
	struct action a = click(ACT_ACK, "1700000001.1"), got;
	int64_t id = 0, id2 = 0, counts[JOB__MAX];
	struct job j;

	assert_int_equal(store_action_put(f->s, &a, T0, &id), 0);
	assert_true(id > 0);
	assert_int_equal(store_action_put(f->s, &a, T0 + 1, &id2), ERR_DUPLICATE);
	assert_int_equal(id2, id);
	a.kind = ACT_RERUN; /* another button of the same message is another click */
	assert_int_equal(store_action_put(f->s, &a, T0, &id2), 0);
	assert_true(id2 != id);
	reopen(f);
	assert_int_equal(store_claim(f->s, T0 + 10, 60000, &j), 0);
	assert_int_equal(j.kind, JOB_KIND_ACTION);
	assert_int_equal(store_action_of_job(f->s, j.id, &got), 0);
	assert_int_equal(got.id, id);
	assert_int_equal(got.kind, ACT_ACK);
	assert_string_equal(got.user_id, "U0123ABC");
	assert_string_equal(got.message_ts, "1700000000.000100");
	assert_string_equal(got.result, "");
	snprintf(got.result, sizeof(got.result), "done");
	snprintf(got.detail, sizeof(got.detail), "acknowledged");
	snprintf(got.pipeline, sizeof(got.pipeline), "daily");
	assert_int_equal(store_action_finish(f->s, &got, T0 + 20), 0);
	assert_int_equal(store_counts(f->s, counts), 0);
	assert_int_equal(counts[JOB_DELIVERED], 1);
	assert_int_equal(counts[JOB_QUEUED], 1);
	assert_int_equal(store_action_of_job(f->s, j.id, &got), 0);
	assert_string_equal(got.result, "done");
	assert_string_equal(got.pipeline, "daily");
	assert_int_equal(got.done_ms, T0 + 20);
	assert_int_equal(store_action_of_job(f->s, 999999, &got), ERR_NOTFOUND);
}

/* Hostile and missing values are refused before anything is written. */
static void test_put_invalid(void **state)
{
	struct fixture *f = *state;
	struct action a = click(ACT_ACK, "1.2");
	int64_t id = 5;

	a.kind = ACT__MAX;
	assert_int_equal(store_action_put(f->s, &a, T0, &id), ERR_INVALID);
	assert_int_equal(id, 0);
	a = click(ACT_ACK, "1.2");
	memset(a.channel, 'C', sizeof(a.channel)); /* no NUL */
	assert_int_equal(store_action_put(f->s, &a, T0, &id), ERR_INVALID);
	a = click(ACT_ACK, "1.2");
	a.user_id[0] = '\0';
	assert_int_equal(store_action_put(f->s, &a, T0, &id), ERR_INVALID);
	assert_int_equal(store_action_put(f->s, NULL, T0, &id), ERR_INVALID);
	assert_int_equal(store_action_put(NULL, &a, T0, &id), ERR_INVALID);
}

/* The first click to claim an execution tag owns it; its own retry
 * still does, any other click does not. */
static void test_rerun_claim(void **state)
{
	struct fixture *f = *state;
	int first = -1;

	assert_int_equal(store_rerun_claim(f->s, "dpc-notify-aa", 1, T0, &first), 0);
	assert_int_equal(first, 1);
	assert_int_equal(store_rerun_claim(f->s, "dpc-notify-aa", 1, T0, &first), 0);
	assert_int_equal(first, 1);
	assert_int_equal(store_rerun_claim(f->s, "dpc-notify-aa", 2, T0, &first), 0);
	assert_int_equal(first, 0);
	reopen(f);
	assert_int_equal(store_rerun_claim(f->s, "dpc-notify-aa", 3, T0, &first), 0);
	assert_int_equal(first, 0);
	assert_int_equal(store_rerun_claim(f->s, "dpc-notify-bb", 3, T0, &first), 0);
	assert_int_equal(first, 1);
	assert_int_equal(store_rerun_claim(f->s, "", 3, T0, &first), ERR_INVALID);
	assert_int_equal(store_rerun_claim(f->s, "x", 0, T0, &first), ERR_INVALID);
}

/* No open incident: nothing to acknowledge. */
static void test_ack_needs_incident(void **state)
{
	struct fixture *f = *state;
	struct mem_key k = { "p1", "prod", "daily" };

	assert_int_equal(store_incident_ack(f->s, &k, T0, "U1AB", "", T0), ERR_NOTFOUND);
	assert_int_equal(store_incident_ack(f->s, NULL, T0, "U1AB", "", T0), ERR_INVALID);
}

static void count_one(void *ctx, const struct action *a)
{
	(void)a;
	(*(int *)ctx)++;
}

static void test_list(void **state)
{
	struct fixture *f = *state;
	struct action a;
	int64_t id;
	int n = 0;

	a = click(ACT_MUTE, "5.1");
	assert_int_equal(store_action_put(f->s, &a, T0, &id), 0);
	a = click(ACT_ACK, "5.2");
	assert_int_equal(store_action_put(f->s, &a, T0, &id), 0);
	assert_int_equal(store_actions(f->s, 0, count_one, &n), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(store_actions(f->s, 1, count_one, &n), 0);
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_claim_finish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rerun_claim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_needs_incident, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
