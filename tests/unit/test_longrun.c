/* Long-running runs (longrun.h): the pure decision at its edges, and
 * longrun_scan() through a real store in a temporary file and a config
 * loaded from an INI file: once per run across calls and reopenings,
 * routes without the keys, hostile ids and times, the slow limit from run
 * memory, silences, the incident a notice joins, and intake's dedup left
 * alone. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "errors.h"
#include "longrun.h"
#include "memory.h"
#include "store.h"
#include "summary.h"
#include "target.h"

#define MIN (60 * 1000LL)
#define HOUR (60 * MIN)
#define T0 1796004000000LL /* 2026-12-01 */

/* ---- the decision ---- */

static void test_decide_exactly_at_the_limit(void **state)
{
	const struct longrun_limits l = { 2 * HOUR, 0.0, -1 };
	int64_t lim = -7;

	(void)state;
	assert_int_equal(longrun_decide(&l, T0, T0 + 2 * HOUR, &lim), LONGRUN_NO);
	assert_int_equal(lim, 0);
	assert_int_equal(longrun_decide(&l, T0, T0 + 2 * HOUR + 1, &lim), LONGRUN_MAX_DURATION);
	assert_int_equal(lim, 2 * HOUR);
	assert_int_equal(longrun_decide(&l, T0, T0 + 2 * HOUR + 1, NULL), LONGRUN_MAX_DURATION);
}

static void test_decide_hostile_times(void **state)
{
	const struct longrun_limits l = { 1, 0.0, -1 };

	(void)state;
	/* Started in the future, or before 2000: not believed. */
	assert_int_equal(longrun_decide(&l, T0 + 1, T0, NULL), LONGRUN_NO);
	assert_int_equal(longrun_decide(&l, MEM_TIME_MIN_MS - 1, T0, NULL), LONGRUN_NO);
	assert_int_equal(longrun_decide(&l, 0, T0, NULL), LONGRUN_NO);
	assert_int_equal(longrun_decide(&l, -1, T0, NULL), LONGRUN_NO);
	assert_int_equal(longrun_decide(&l, INT64_MIN, INT64_MAX, NULL), LONGRUN_NO);
	assert_int_equal(longrun_decide(&l, INT64_MAX, INT64_MAX, NULL), LONGRUN_NO);
	assert_int_equal(longrun_decide(&l, T0, INT64_MIN, NULL), LONGRUN_NO);
	/* The earliest believed start with the latest clock: no overflow. */
	assert_int_equal(longrun_decide(&l, MEM_TIME_MIN_MS, INT64_MAX, NULL),
			 LONGRUN_MAX_DURATION);
	/* A limit nothing can pass. */
	{
		const struct longrun_limits huge = { INT64_MAX, 0.0, -1 };
		assert_int_equal(longrun_decide(&huge, MEM_TIME_MIN_MS, INT64_MAX, NULL),
				 LONGRUN_NO);
	}
	assert_int_equal(longrun_decide(NULL, T0, T0 + HOUR, NULL), LONGRUN_NO);
}

static void test_decide_off_and_no_usual(void **state)
{
	const struct longrun_limits off = { 0, 0.0, 20 * MIN };
	const struct longrun_limits neg = { -5, 3.0, -1 };
	const struct longrun_limits one = { 0, 1.0, 20 * MIN };
	const struct longrun_limits nan_f = { 0, NAN, 20 * MIN };
	const struct longrun_limits inf_f = { 0, INFINITY, 20 * MIN };

	(void)state;
	assert_int_equal(longrun_decide(&off, T0, T0 + 1000 * HOUR, NULL), LONGRUN_NO);
	/* slow_factor with no usual duration (fewer than
	 * MEM_MEDIAN_MIN_RUNS successes): nothing. */
	assert_int_equal(longrun_decide(&neg, T0, T0 + 1000 * HOUR, NULL), LONGRUN_NO);
	assert_int_equal(longrun_decide(&one, T0, T0 + 1000 * HOUR, NULL), LONGRUN_NO);
	assert_int_equal(longrun_decide(&nan_f, T0, T0 + 1000 * HOUR, NULL), LONGRUN_NO);
	assert_int_equal(longrun_decide(&inf_f, T0, T0 + 1000 * HOUR, NULL), LONGRUN_NO);
}

static void test_decide_slow_limit(void **state)
{
	const struct longrun_limits l = { 0, 3.0, 22 * MIN };
	const struct longrun_limits tiny = { 0, 3.0, 30 * 1000 };
	const struct longrun_limits sat = { 0, 100.0, INT64_MAX / 2 };
	const struct longrun_limits top = { 0, 1.5, INT64_MAX };
	int64_t lim = 0;

	(void)state;
	assert_int_equal(longrun_slow_limit(&l), 66 * MIN);
	assert_int_equal(longrun_decide(&l, T0, T0 + 66 * MIN, NULL), LONGRUN_NO);
	assert_int_equal(longrun_decide(&l, T0, T0 + 66 * MIN + 1, &lim), LONGRUN_SLOW);
	assert_int_equal(lim, 66 * MIN);
	/* A 30 s pipeline is not "slow" at 90 s: at least 10 minutes over. */
	assert_int_equal(longrun_slow_limit(&tiny), 30 * 1000 + MEM_SLOW_MIN_DIFF_MS);
	/* Saturated, never wrapped. */
	assert_int_equal(longrun_slow_limit(&sat), INT64_MAX);
	assert_int_equal(longrun_slow_limit(&top), INT64_MAX);
	assert_int_equal(longrun_decide(&sat, MEM_TIME_MIN_MS, INT64_MAX, NULL), LONGRUN_NO);
	assert_int_equal(longrun_slow_limit(NULL), -1);
}

static void test_decide_both_keys_earlier_fires(void **state)
{
	const struct longrun_limits slow_first = { 2 * HOUR, 3.0, 22 * MIN };
	const struct longrun_limits max_first = { 30 * MIN, 3.0, 22 * MIN };
	const struct longrun_limits tie = { 66 * MIN, 3.0, 22 * MIN };
	int64_t lim = 0;

	(void)state;
	assert_int_equal(longrun_decide(&slow_first, T0, T0 + 67 * MIN, &lim), LONGRUN_SLOW);
	assert_int_equal(lim, 66 * MIN);
	assert_int_equal(longrun_decide(&max_first, T0, T0 + 31 * MIN, &lim), LONGRUN_MAX_DURATION);
	assert_int_equal(lim, 30 * MIN);
	assert_int_equal(longrun_decide(&tie, T0, T0 + 67 * MIN, &lim), LONGRUN_MAX_DURATION);
}

/* ---- the scan, through a real store ---- */

#define SLACK_URL "https://hooks.slack.com/services/T0/B0/aaaa"

static const char ini[] =
	"[server]\nauth_token = tok-AAAA-0123456789\n"
	"[matillion]\nclient_id = id\nclient_secret = secret\n"
	"[destination ops]\ntype = slack\nurl = " SLACK_URL "\nmention = <!here>\n"
	"[destination oncall]\ntype = teams\n"
	"url = https://example.webhook.office.com/webhookb2/x\n"
	"[default]\ndestinations = ops\n"
	"[route dwh]\nproject = p-1\npipelines = load_dwh\nenvironments = prod\n"
	"destinations = ops, oncall\nmax_duration = 2h\nslow_factor = 3\n";

struct fx {
	char dir[64];
	char db[96];
	char ini[96];
	struct store *st;
	struct config *c;
};

static void reopen(struct fx *f)
{
	char err[256];

	store_close(f->st);
	f->st = store_open(f->db, err, sizeof(err));
	if (f->st == NULL)
		fail_msg("%s", err);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct diags d = { 0 };
	char err[256];
	FILE *fp;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_longrun.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/l.db", f->dir);
	snprintf(f->ini, sizeof(f->ini), "%s/l.ini", f->dir);
	fp = fopen(f->ini, "w");
	assert_non_null(fp);
	fputs(ini, fp);
	fclose(fp);
	f->c = config_load(f->ini, &d);
	diags_free(&d);
	assert_non_null(f->c);
	f->st = store_open(f->db, err, sizeof(err));
	assert_non_null(f->st);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	const char *const side[] = { "", "-wal", "-shm", "-lock" };
	char p[128];
	size_t i;

	store_close(f->st);
	config_free(f->c);
	for (i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", f->db, side[i]);
		unlink(p);
	}
	unlink(f->ini);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A run of p-1's load_dwh in prod, started at started. */
static struct longrun_run run_of(const char *exec, const char *pipeline, int64_t started)
{
	return (struct longrun_run){ exec, "p-1", "prod", pipeline, "SCHEDULE", started };
}

/* Collects jobs of one kind. */
struct kinds {
	enum job_kind kind;
	size_t n;
	struct job last;
};

static void kind_fn(void *ctx, const struct job *j)
{
	struct kinds *k = ctx;

	if (j->kind == k->kind) {
		k->n++;
		k->last = *j;
	}
}

static struct kinds long_jobs(struct fx *f)
{
	struct kinds k = { .kind = JOB_KIND_LONG_RUNNING };

	assert_int_equal(store_list(f->st, -1, 0, kind_fn, &k), 0);
	return k;
}

static void test_scan_once_per_run(void **state)
{
	struct fx *f = *state;
	const struct longrun_run r[2] = { run_of("e-1", "load_dwh.orch.yaml", T0 - 3 * HOUR),
					  run_of("e-1", "load_dwh.orch.yaml", T0 - 3 * HOUR) };
	struct longrun_notice n;
	struct delivery *dl = NULL;
	size_t nd = 0;
	struct kinds k;

	/* Listed twice in one cycle, then again: one job. */
	assert_int_equal(longrun_scan(f->st, f->c, r, 2, T0), 1);
	assert_int_equal(longrun_scan(f->st, f->c, r, 1, T0 + MIN), 0);
	reopen(f);
	assert_int_equal(longrun_scan(f->st, f->c, r, 1, T0 + 2 * MIN), 0);
	k = long_jobs(f);
	assert_int_equal(k.n, 1);
	assert_int_equal(k.last.state, JOB_QUEUED);
	assert_int_equal(k.last.ev.status, ST_RUNNING);
	assert_string_equal(k.last.ev.pipeline_name, "load_dwh");
	assert_string_equal(k.last.ev.environment, "prod");
	assert_int_equal(k.last.received_ms, T0);
	/* One delivery per destination of the run's route. */
	assert_int_equal(store_deliveries(f->st, k.last.id, &dl, &nd), 0);
	assert_int_equal(nd, 2);
	assert_true(strcmp(dl[0].dest, dl[1].dest) != 0);
	assert_true(strcmp(dl[0].dest, "ops") == 0 || strcmp(dl[0].dest, "oncall") == 0);
	assert_true(strcmp(dl[1].dest, "ops") == 0 || strcmp(dl[1].dest, "oncall") == 0);
	store_deliveries_free(dl, nd);
	/* What its message says, from max_duration (no usual duration). */
	assert_int_equal(store_longrun_notice(f->st, k.last.id, &n), 0);
	assert_int_equal(n.started_ms, T0 - 3 * HOUR);
	assert_int_equal(n.at_ms, T0);
	assert_int_equal(n.limit_ms, 2 * HOUR);
	assert_int_equal(n.usual_ms, -1);
	assert_int_equal(n.incident_since_ms, -1);
	assert_int_equal(n.slow, 0);
	assert_string_equal(n.trigger, "SCHEDULE");
	/* A run's own job is not one of those. */
	assert_int_equal(store_longrun_notice(f->st, k.last.id + 1000, &n), ERR_NOTFOUND);
}

static void test_scan_not_yet_then_once(void **state)
{
	struct fx *f = *state;
	const struct longrun_run r = run_of("e-2", "load_dwh", T0);

	assert_int_equal(longrun_scan(f->st, f->c, &r, 1, T0 + 2 * HOUR), 0);
	assert_int_equal(long_jobs(f).n, 0);
	assert_int_equal(longrun_scan(f->st, f->c, &r, 1, T0 + 2 * HOUR + 1), 1);
	assert_int_equal(longrun_scan(f->st, f->c, &r, 1, T0 + 5 * HOUR), 0);
	assert_int_equal(long_jobs(f).n, 1);
}

static void test_scan_respects_routes(void **state)
{
	struct fx *f = *state;
	/* [default] sets neither key; the dwh route takes prod only. */
	const struct longrun_run r[3] = {
		run_of("e-3", "other_pipeline", T0 - 100 * HOUR),
		{ "e-4", "p-2", "prod", "load_dwh", "API", T0 - 100 * HOUR },
		{ "e-5", "p-1", "dev", "load_dwh", "API", T0 - 100 * HOUR },
	};

	assert_int_equal(longrun_scan(f->st, f->c, r, 3, T0), 0);
	assert_int_equal(long_jobs(f).n, 0);
	assert_int_equal(longrun_scan(f->st, f->c, r, 0, T0), 0);
}

static void test_scan_hostile_input(void **state)
{
	struct fx *f = *state;
	char long_id[300], long_name[2000];
	size_t i;
	struct kinds k;

	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	/* A 1,999-byte name of two-byte characters after "load_dwh": it is
	 * no pipeline the route lists, so it fires nothing; cut as stored. */
	for (i = 0; i + 2 < sizeof(long_name); i += 2)
		memcpy(long_name + i, "\xc3\xa9", 2);
	long_name[i] = '\0';
	{
		const struct longrun_run r[] = {
			run_of("../etc", "load_dwh", T0 - 3 * HOUR),
			run_of("", "load_dwh", T0 - 3 * HOUR),
			run_of(NULL, "load_dwh", T0 - 3 * HOUR),
			run_of(long_id, "load_dwh", T0 - 3 * HOUR),
			{ "e-6", NULL, "prod", "load_dwh", NULL, T0 - 3 * HOUR },
			{ "e-7", "p 1", "prod", "load_dwh", NULL, T0 - 3 * HOUR },
			run_of("e-8", "load_dwh", T0 + HOUR),     /* in the future */
			run_of("e-9", "load_dwh", 0),             /* 1970 */
			run_of("e-10", "load_dwh", INT64_MIN),    /* absurd */
			run_of("e-11", "load_dwh", INT64_MAX),    /* absurd */
			run_of("e-12", long_name, T0 - 3 * HOUR), /* no such route */
		};
		assert_int_equal(longrun_scan(f->st, f->c, r, sizeof(r) / sizeof(r[0]), T0), 0);
	}
	assert_int_equal(long_jobs(f).n, 0);
	/* NULL environment, pipeline and trigger: the dwh route may take it
	 * but is not decided, so its limits do not apply. */
	{
		const struct longrun_run r = { "e-13", "p-1", NULL, NULL, NULL, T0 - 3 * HOUR };
		assert_int_equal(longrun_scan(f->st, f->c, &r, 1, T0), 0);
	}
	assert_int_equal(longrun_scan(NULL, f->c, NULL, 0, T0), ERR_INVALID);
	assert_int_equal(longrun_scan(f->st, NULL, NULL, 0, T0), ERR_INVALID);
	assert_int_equal(longrun_scan(f->st, f->c, NULL, 1, T0), ERR_INVALID);
	/* A clock before 2000 fires nothing. */
	{
		const struct longrun_run r = run_of("e-14", "load_dwh", T0 - 3 * HOUR);
		assert_int_equal(longrun_scan(f->st, f->c, &r, 1, INT64_MIN), 0);
	}
	k = long_jobs(f);
	assert_int_equal(k.n, 0);
}

/* Remembers a successful run of load_dwh in prod that took dur_ms. */
static void remember_success(struct fx *f, const char *exec, int64_t finished, int64_t dur_ms,
			     enum run_status st)
{
	static const struct mem_policy pol = { .notify_on = STATUS_BIT(ST_FAILED),
					       .recovery = 1,
					       .repeat_interval_ms = 4 * HOUR,
					       .notify_after = 1 };
	const struct mem_key k = { "p-1", "prod", "load_dwh" };
	const struct mem_run ev = { st, finished - dur_ms, finished, st == ST_FAILED ? 7 : 0 };
	struct webhook_event we;
	char *dests[] = { "ops" };
	struct mem_decision d;
	int64_t id = 0;

	memset(&we, 0, sizeof(we));
	snprintf(we.project_id, sizeof(we.project_id), "p-1");
	snprintf(we.execution_id, sizeof(we.execution_id), "%s", exec);
	we.status = st;
	assert_int_equal(store_put(f->st, &we, dests, 1, 0, &id), 0);
	assert_int_equal(store_memory_apply(f->st, id, &k, exec, "SCHEDULE", &ev, &pol, 0, &d), 0);
}

static void test_scan_slow_needs_usual(void **state)
{
	struct fx *f = *state;
	const struct longrun_run r = run_of("e-20", "load_dwh", T0 - 61 * MIN);
	struct longrun_notice n;
	char exec[16];
	int i;

	/* Four successes of 20 minutes: no usual duration yet. */
	for (i = 0; i < MEM_MEDIAN_MIN_RUNS - 1; i++) {
		snprintf(exec, sizeof(exec), "ok-%d", i);
		remember_success(f, exec, T0 - (i + 2) * 24 * HOUR, 20 * MIN, ST_SUCCESS);
	}
	assert_int_equal(longrun_scan(f->st, f->c, &r, 1, T0), 0);
	/* The fifth: usual 20m, so 3 × 20m = 60m has passed. */
	remember_success(f, "ok-last", T0 - 24 * HOUR, 20 * MIN, ST_SUCCESS);
	assert_int_equal(longrun_scan(f->st, f->c, &r, 1, T0), 1);
	assert_int_equal(store_longrun_notice(f->st, long_jobs(f).last.id, &n), 0);
	assert_int_equal(n.slow, 1);
	assert_int_equal(n.usual_ms, 20 * MIN);
	assert_int_equal(n.limit_ms, 60 * MIN);
	assert_int_equal(n.incident_since_ms, -1);
}

static void test_scan_joins_open_incident(void **state)
{
	struct fx *f = *state;
	const struct longrun_run r = run_of("e-21", "load_dwh", T0 - 3 * HOUR);
	struct longrun_notice n;

	remember_success(f, "bad-1", T0 - 5 * HOUR, 10 * MIN, ST_FAILED);
	assert_int_equal(longrun_scan(f->st, f->c, &r, 1, T0), 1);
	assert_int_equal(store_longrun_notice(f->st, long_jobs(f).last.id, &n), 0);
	assert_int_equal(n.incident_since_ms, T0 - 5 * HOUR);
}

static void test_scan_silenced_fires_after(void **state)
{
	struct fx *f = *state;
	const struct longrun_run r = run_of("e-22", "load_dwh", T0 - 3 * HOUR);
	const struct silence sl = { .project_id = "p-1",
				    .pipeline = "load_dwh",
				    .environment = "",
				    .start_ms = T0 - HOUR,
				    .end_ms = T0 + HOUR,
				    .reason = "warehouse upgrade",
				    .created_ms = T0 - HOUR,
				    .removed_ms = -1 };
	int64_t id = 0;

	assert_int_equal(store_silence_add(f->st, &sl, &id), 0);
	assert_int_equal(longrun_scan(f->st, f->c, &r, 1, T0), 0);
	assert_int_equal(long_jobs(f).n, 0);
	/* Still running when the silence ends: told then, once. */
	assert_int_equal(longrun_scan(f->st, f->c, &r, 1, T0 + HOUR), 1);
	assert_int_equal(longrun_scan(f->st, f->c, &r, 1, T0 + 2 * HOUR), 0);
}

static void test_fired_job_leaves_intake_dedup_alone(void **state)
{
	struct fx *f = *state;
	const struct longrun_run r = run_of("e-23", "load_dwh", T0 - 3 * HOUR);
	struct webhook_event ev;
	char *dests[] = { "ops" };
	int64_t id = 0;

	assert_int_equal(longrun_scan(f->st, f->c, &r, 1, T0), 1);
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.project_id, sizeof(ev.project_id), "p-1");
	snprintf(ev.execution_id, sizeof(ev.execution_id), "e-23");
	ev.status = ST_RUNNING;
	assert_int_equal(store_put(f->st, &ev, dests, 1, 86400, &id), 0);
	assert_true(id > 0);
}

static void test_store_fire_contract(void **state)
{
	struct fx *f = *state;
	struct longrun_fire lf = { "p-9", "e-9", "prod", "x", NULL, T0, HOUR, -1, 0 };
	char *bad[] = { "" };
	int64_t id = 77;

	assert_int_equal(store_longrun_fire(NULL, &lf, NULL, 0, T0, &id), ERR_INVALID);
	assert_int_equal(id, 0);
	assert_int_equal(store_longrun_fire(f->st, NULL, NULL, 0, T0, &id), ERR_INVALID);
	assert_int_equal(store_longrun_fire(f->st, &lf, bad, 1, T0, &id), ERR_INVALID);
	lf.execution_id = "";
	assert_int_equal(store_longrun_fire(f->st, &lf, NULL, 0, T0, &id), ERR_INVALID);
	lf.execution_id = "e-9";
	/* No destinations: recorded, no job; a second fire is a duplicate. */
	assert_int_equal(store_longrun_fire(f->st, &lf, NULL, 0, T0, &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(store_longrun_fire(f->st, &lf, NULL, 0, T0, &id), ERR_DUPLICATE);
	/* Forgotten STORE_LONGRUN_KEEP_MS after it fired. */
	assert_int_equal(store_longrun_fire(f->st, &lf, NULL, 0, T0 + STORE_LONGRUN_KEEP_MS, &id),
			 ERR_DUPLICATE);
	assert_int_equal(
		store_longrun_fire(f->st, &lf, NULL, 0, T0 + STORE_LONGRUN_KEEP_MS + 1, &id), 0);
	/* Extreme clocks do not wrap the pruning. */
	lf.execution_id = "e-10";
	assert_int_equal(store_longrun_fire(f->st, &lf, NULL, 0, INT64_MIN, &id), 0);
	lf.execution_id = "e-11";
	assert_int_equal(store_longrun_fire(f->st, &lf, NULL, 0, INT64_MAX, &id), 0);
}

/* ---- the message: hostile names stay text ---- */

static void test_summary_hostile_names_escaped(void **state)
{
	struct fx *f = *state;
	const struct longrun_run r = { "e-30",    "p-1",
				       "prod",    "<!channel> *bold* <https://evil.example|x>",
				       "<!here>", T0 - 3 * HOUR };
	struct config *c;
	struct diags d = { 0 };
	struct summary s;
	struct kinds k;
	FILE *fp = fopen(f->ini, "w");
	char *body;

	/* A route for every pipeline of p-1, so the hostile name fires. */
	assert_non_null(fp);
	fputs("[server]\nauth_token = tok-AAAA-0123456789\n"
	      "[matillion]\nclient_id = id\nclient_secret = secret\n"
	      "[destination ops]\ntype = slack\nurl = " SLACK_URL "\n"
	      "[default]\ndestinations = ops\nmax_duration = 1h\n",
	      fp);
	fclose(fp);
	c = config_load(f->ini, &d);
	diags_free(&d);
	assert_non_null(c);
	assert_int_equal(longrun_scan(f->st, c, &r, 1, T0), 1);
	k = long_jobs(f);
	assert_int_equal(longrun_summary(f->st, c, &k.last, &s), 0);
	assert_int_equal(s.memory.form, FORM_LONG_RUNNING);
	body = target_find("slack")->render(&s, &(struct render_opts){ .mention = NULL });
	assert_non_null(body);
	assert_null(strstr(body, "<!channel>"));
	assert_null(strstr(body, "<!here>"));
	assert_null(strstr(body, "<https://evil"));
	assert_non_null(strstr(body, "still running after 3h 00m (limit 1h)"));
	free(body);
	summary_free(&s);
	config_free(c);
}

/* The thread key of the Google Chat body rendered for s, into out. */
static void gchat_thread(const struct summary *s, char *out, size_t outlen)
{
	char *body = target_find("googlechat")->render(s, &(struct render_opts){ 0 });
	const char *k;

	assert_non_null(body);
	k = strstr(body, "\"threadKey\":\"");
	assert_non_null(k);
	k += strlen("\"threadKey\":\"");
	snprintf(out, outlen, "%.43s", k);
	free(body);
}

/* Google Chat: a notice joins the open incident's thread (the one its
 * problem messages use); outside an incident it threads by its run,
 * where the run's own success message goes too. */
static void test_gchat_thread_of_notice(void **state)
{
	struct summary n, other;
	char a[64], b[64];

	(void)state;
	assert_int_equal(summary_init(&n, "p-1", "e-40", "https://app.matillion.com"), 0);
	assert_int_equal(summary_set_pipeline_name(&n, "load_dwh"), 0);
	assert_int_equal(summary_set_environment(&n, "prod"), 0);
	assert_int_equal(summary_set_status(&n, ST_RUNNING, NULL), 0);
	n.started_ms = T0 - 3 * HOUR;
	n.memory = (struct run_context){ .known = 1,
					 .form = FORM_LONG_RUNNING,
					 .usual_ms = -1,
					 .streak_since_ms = -1,
					 .incident_since_ms = T0 - 5 * HOUR,
					 .held_from_ms = -1,
					 .held_until_ms = -1,
					 .long_at_ms = T0,
					 .long_limit_ms = 2 * HOUR };
	assert_int_equal(summary_init(&other, "p-1", "e-39", "https://app.matillion.com"), 0);
	assert_int_equal(summary_set_pipeline_name(&other, "load_dwh"), 0);
	assert_int_equal(summary_set_environment(&other, "prod"), 0);
	assert_int_equal(summary_set_status(&other, ST_FAILED, NULL), 0);
	other.memory = (struct run_context){ .known = 1,
					     .form = FORM_FULL,
					     .streak = 1,
					     .streak_since_ms = T0 - 5 * HOUR,
					     .usual_ms = -1,
					     .incident_since_ms = T0 - 5 * HOUR };
	gchat_thread(&n, a, sizeof(a));
	gchat_thread(&other, b, sizeof(b));
	assert_string_equal(a, b);
	/* No incident: the run's own thread, as its success would use. */
	n.memory.incident_since_ms = -1;
	summary_free(&other);
	assert_int_equal(summary_init(&other, "p-1", "e-40", "https://app.matillion.com"), 0);
	assert_int_equal(summary_set_pipeline_name(&other, "load_dwh"), 0);
	assert_int_equal(summary_set_environment(&other, "prod"), 0);
	assert_int_equal(summary_set_status(&other, ST_SUCCESS, NULL), 0);
	gchat_thread(&n, a, sizeof(a));
	gchat_thread(&other, b, sizeof(b));
	assert_string_equal(a, b);
	summary_free(&n);
	summary_free(&other);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide_exactly_at_the_limit),
		cmocka_unit_test(test_decide_hostile_times),
		cmocka_unit_test(test_decide_off_and_no_usual),
		cmocka_unit_test(test_decide_slow_limit),
		cmocka_unit_test(test_decide_both_keys_earlier_fires),
		T(test_scan_once_per_run),
		T(test_scan_not_yet_then_once),
		T(test_scan_respects_routes),
		T(test_scan_hostile_input),
		T(test_scan_slow_needs_usual),
		T(test_scan_joins_open_incident),
		T(test_scan_silenced_fires_after),
		T(test_fired_job_leaves_intake_dedup_alone),
		T(test_store_fire_contract),
		T(test_summary_hostile_names_escaped),
		cmocka_unit_test(test_gchat_thread_of_notice),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
