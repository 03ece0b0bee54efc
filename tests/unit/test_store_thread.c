/* Slack threads in the durable store (store.h, "Slack threads") against
 * real SQLite files: a thread recorded and found by its incident and by
 * its parent message, the first one of a key winning, resolved marks,
 * survival across a reopen, hostile channel ids and timestamps refused
 * before anything is written, long keys cut as run memory cuts them, and
 * the upgrade of a version 9 file. */
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

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store_thread.XXXXXX");
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
	rm_file(f->dir, "dpc.db");
	rm_file(f->dir, "dpc.db-wal");
	rm_file(f->dir, "dpc.db-shm");
	rm_file(f->dir, "dpc.db-lock");
	rmdir(f->dir);
	free(f);
	return 0;
}

static void sql_exec(struct fixture *f, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static int64_t sql_int(struct fixture *f, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static const struct mem_key load = { "proj-1", "prod", "load orders" };

/* A thread of load's incident since since_ms to dest, with channel and
 * ts; strings borrowed. */
static struct store_thread thread_of(const char *dest, int64_t since_ms, const char *channel,
				     const char *ts, const char *parent)
{
	struct store_thread t;

	memset(&t, 0, sizeof(t));
	t.dest = (char *)dest;
	t.project_id = (char *)load.project_id;
	t.environment = (char *)load.environment;
	t.pipeline = (char *)load.pipeline;
	t.since_ms = since_ms;
	snprintf(t.channel, sizeof(t.channel), "%s", channel);
	snprintf(t.ts, sizeof(t.ts), "%s", ts);
	t.parent = (char *)parent;
	return t;
}

static void assert_thread(const struct store_thread *t, const char *dest, int64_t since_ms,
			  const char *channel, const char *ts, const char *parent, int resolved)
{
	assert_true(t->id > 0);
	assert_string_equal(t->dest, dest);
	assert_string_equal(t->project_id, load.project_id);
	assert_string_equal(t->environment, load.environment);
	assert_string_equal(t->pipeline, load.pipeline);
	assert_int_equal(t->since_ms, since_ms);
	assert_string_equal(t->channel, channel);
	assert_string_equal(t->ts, ts);
	if (parent == NULL)
		assert_null(t->parent);
	else
		assert_string_equal(t->parent, parent);
	assert_int_equal(t->resolved, resolved);
}

/* Recorded, found by incident and by message, resolved, and still there
 * after a reopen; another destination or incident has its own. */
static void test_put_get_resolve(void **state)
{
	struct fixture *f = *state;
	struct store_thread in = thread_of("ops", T0, "C0123ABC", "1700000000.000100", "{\"a\":1}");
	struct store_thread out, other;

	assert_int_equal(store_thread_get(f->s, "ops", &load, T0, &out), ERR_NOTFOUND);
	assert_int_equal(store_thread_put(f->s, &in), 0);
	assert_int_equal(store_thread_get(f->s, "ops", &load, T0, &out), 0);
	assert_thread(&out, "ops", T0, "C0123ABC", "1700000000.000100", "{\"a\":1}", 0);
	assert_int_equal(store_thread_by_message(f->s, "C0123ABC", "1700000000.000100", &other), 0);
	assert_int_equal(other.id, out.id);
	store_thread_free(&other);
	/* Another incident of the pipeline, or another destination: none. */
	assert_int_equal(store_thread_get(f->s, "ops", &load, T0 + 1, &other), ERR_NOTFOUND);
	assert_int_equal(store_thread_get(f->s, "dev", &load, T0, &other), ERR_NOTFOUND);
	assert_int_equal(store_thread_by_message(f->s, "C0123ABC", "1700000000.000101", &other),
			 ERR_NOTFOUND);
	assert_int_equal(store_thread_by_message(f->s, "C0123ABD", "1700000000.000100", &other),
			 ERR_NOTFOUND);

	assert_int_equal(store_thread_resolved(f->s, out.id, "{\"resolved\":1}"), 0);
	assert_int_equal(store_thread_resolved(f->s, out.id, NULL), 0); /* again: fine */
	assert_int_equal(store_thread_resolved(f->s, out.id + 1000, NULL), ERR_NOTFOUND);
	store_thread_free(&out);
	reopen(f);
	assert_int_equal(store_thread_get(f->s, "ops", &load, T0, &out), 0);
	assert_thread(&out, "ops", T0, "C0123ABC", "1700000000.000100", "{\"resolved\":1}", 1);
	store_thread_free(&out);
	store_thread_free(NULL);
}

/* A click's rewrite of the parent is kept without resolving the thread,
 * and the recovery's resolving keeps what the click stored when it
 * passes no body; bad arguments change nothing. */
static void test_set_parent(void **state)
{
	struct fixture *f = *state;
	struct store_thread in = thread_of("ops", T0, "C1", "1.1", "{\"v\":0}");
	struct store_thread out;
	char *big;

	assert_int_equal(store_thread_put(f->s, &in), 0);
	assert_int_equal(store_thread_get(f->s, "ops", &load, T0, &out), 0);
	assert_int_equal(store_thread_set_parent(f->s, out.id, "{\"v\":1}"), 0);
	assert_int_equal(store_thread_set_parent(f->s, out.id + 1000, "{}"), ERR_NOTFOUND);
	assert_int_equal(store_thread_set_parent(f->s, out.id, NULL), ERR_INVALID);
	assert_int_equal(store_thread_set_parent(NULL, out.id, "{}"), ERR_INVALID);
	big = malloc(STORE_THREAD_PARENT_MAX + 2);
	assert_non_null(big);
	memset(big, 'x', STORE_THREAD_PARENT_MAX + 1);
	big[STORE_THREAD_PARENT_MAX + 1] = '\0';
	assert_int_equal(store_thread_set_parent(f->s, out.id, big), ERR_INVALID);
	big[STORE_THREAD_PARENT_MAX] = '\0'; /* exactly the cap: kept */
	assert_int_equal(store_thread_set_parent(f->s, out.id, big), 0);
	free(big);
	assert_int_equal(store_thread_set_parent(f->s, out.id, "{\"v\":2}"), 0);
	store_thread_free(&out);
	reopen(f);
	assert_int_equal(store_thread_by_message(f->s, "C1", "1.1", &out), 0);
	assert_thread(&out, "ops", T0, "C1", "1.1", "{\"v\":2}", 0);
	assert_int_equal(store_thread_resolved(f->s, out.id, NULL), 0);
	store_thread_free(&out);
	assert_int_equal(store_thread_get(f->s, "ops", &load, T0, &out), 0);
	assert_thread(&out, "ops", T0, "C1", "1.1", "{\"v\":2}", 1);
	store_thread_free(&out);
}

/* The first thread of a key wins: a second parent (a racing worker's) is
 * not recorded and the first one is what later posts reply under. */
static void test_first_wins(void **state)
{
	struct fixture *f = *state;
	struct store_thread a = thread_of("ops", T0, "C1", "1.1", NULL);
	struct store_thread b = thread_of("ops", T0, "C1", "1.2", "{}");
	struct store_thread c = thread_of("ops", T0 + 5, "C1", "1.3", NULL);
	struct store_thread out;

	assert_int_equal(store_thread_put(f->s, &a), 0);
	assert_int_equal(store_thread_put(f->s, &b), ERR_DUPLICATE);
	assert_int_equal(store_thread_put(f->s, &c), 0);
	assert_int_equal(store_thread_get(f->s, "ops", &load, T0, &out), 0);
	assert_thread(&out, "ops", T0, "C1", "1.1", NULL, 0);
	store_thread_free(&out);
	assert_int_equal(store_thread_by_message(f->s, "C1", "1.2", &out), ERR_NOTFOUND);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM threads"), 2);
}

/* Channel ids and timestamps come from Slack's replies and clicks: only
 * [A-Za-z0-9.], 1 to 39 bytes. Anything else is refused before a write
 * and found nowhere; bad arguments are ERR_INVALID. */
static void test_hostile_ids(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"",
		"C1 ",
		"C1'; DROP TABLE threads; --",
		"1700000000.000100\n",
		"C\xc3\xa9",
		"../etc",
		"C-1",
		"0123456789012345678901234567890123456789", /* 40 bytes */
	};
	char max_ok[STORE_SLACK_ID_MAX];
	struct store_thread in, out;
	char *big;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(store_slack_id_valid(bad[i]));
		in = thread_of("ops", T0, bad[i], "1.1", NULL);
		if (strlen(bad[i]) < sizeof(in.channel))
			assert_int_equal(store_thread_put(f->s, &in), ERR_INVALID);
		in = thread_of("ops", T0, "C1", bad[i], NULL);
		if (strlen(bad[i]) < sizeof(in.ts))
			assert_int_equal(store_thread_put(f->s, &in), ERR_INVALID);
		assert_int_equal(store_thread_by_message(f->s, bad[i], "1.1", &out), ERR_NOTFOUND);
		assert_int_equal(store_thread_by_message(f->s, "C1", bad[i], &out), ERR_NOTFOUND);
	}
	assert_false(store_slack_id_valid(NULL));
	memset(max_ok, '9', sizeof(max_ok) - 1);
	max_ok[sizeof(max_ok) - 1] = '\0';
	assert_true(store_slack_id_valid(max_ok));
	/* An unterminated channel (a hostile struct) is refused, not read past. */
	in = thread_of("ops", T0, "C1", "1.1", NULL);
	memset(in.channel, 'C', sizeof(in.channel));
	assert_int_equal(store_thread_put(f->s, &in), ERR_INVALID);
	/* A parent body past the cap, a missing or too long destination. */
	big = malloc(STORE_THREAD_PARENT_MAX + 2);
	assert_non_null(big);
	memset(big, 'x', STORE_THREAD_PARENT_MAX + 1);
	big[STORE_THREAD_PARENT_MAX + 1] = '\0';
	in = thread_of("ops", T0, "C1", "1.1", big);
	assert_int_equal(store_thread_put(f->s, &in), ERR_INVALID);
	assert_int_equal(store_thread_resolved(f->s, 1, big), ERR_INVALID);
	in = thread_of("", T0, "C1", "1.1", NULL);
	assert_int_equal(store_thread_put(f->s, &in), ERR_INVALID);
	memset(big, 'd', 200);
	big[200] = '\0';
	in = thread_of(big, T0, "C1", "1.1", NULL);
	assert_int_equal(store_thread_put(f->s, &in), ERR_INVALID);
	assert_int_equal(store_thread_get(f->s, big, &load, T0, &out), ERR_INVALID);
	free(big);
	in = thread_of("ops", T0, "C1", "1.1", NULL);
	in.pipeline = NULL;
	assert_int_equal(store_thread_put(f->s, &in), ERR_INVALID);
	assert_int_equal(store_thread_put(NULL, &in), ERR_INVALID);
	assert_int_equal(store_thread_put(f->s, NULL), ERR_INVALID);
	assert_int_equal(store_thread_get(f->s, "ops", NULL, T0, &out), ERR_INVALID);
	assert_int_equal(store_thread_get(f->s, "ops", &load, T0, NULL), ERR_INVALID);
	assert_int_equal(store_thread_by_message(f->s, NULL, "1.1", &out), ERR_INVALID);
	assert_int_equal(store_thread_resolved(NULL, 1, NULL), ERR_INVALID);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM threads"), 0);
}

/* Keys longer than the store keeps are cut as run memory cuts them, so
 * the same long key finds its thread; extreme incident starts are kept
 * as they are. */
static void test_long_keys(void **state)
{
	struct fixture *f = *state;
	char pipe[3000];
	struct mem_key k = { "proj-1", NULL, pipe };
	struct store_thread in = thread_of("ops", INT64_MIN, "C1", "1.1", NULL);
	struct store_thread out;

	memset(pipe, 'p', sizeof(pipe) - 1);
	pipe[sizeof(pipe) - 1] = '\0';
	in.pipeline = pipe;
	in.environment = NULL; /* no environment: "" */
	assert_int_equal(store_thread_put(f->s, &in), 0);
	assert_int_equal(store_thread_get(f->s, "ops", &k, INT64_MIN, &out), 0);
	assert_true(strlen(out.pipeline) < sizeof(pipe) - 1);
	assert_string_equal(out.environment, "");
	assert_int_equal(out.since_ms, INT64_MIN);
	store_thread_free(&out);
	in.since_ms = INT64_MAX;
	assert_int_equal(store_thread_put(f->s, &in), 0);
	assert_int_equal(store_thread_get(f->s, "ops", &k, INT64_MAX, &out), 0);
	store_thread_free(&out);
}

/* A version 9 file (this program's, turned back) gains the table. */
static void test_upgrades_v9_file(void **state)
{
	struct fixture *f = *state;
	struct store_thread in = thread_of("ops", T0, "C1", "1.1", NULL);

	store_close(f->s);
	f->s = NULL;
	sql_exec(f, "DROP TABLE threads; DROP TABLE actions; DROP TABLE incident_acks;"
		    " DROP TABLE reruns; DROP TABLE poll_state; PRAGMA user_version = 10;");
	reopen(f);
	assert_int_equal(sql_int(f, "SELECT user_version FROM pragma_user_version"),
			 STORE_SCHEMA_VERSION);
	assert_int_equal(store_thread_put(f->s, &in), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_resolve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrades_v9_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
