/* Golden payloads: each render fixture is rendered for Slack and Teams and
 * compared byte for byte with tests/golden/<target>-<fixture>.json (the
 * exact body that would be posted, no trailing newline). A change to a
 * message format therefore shows up as a diff of those files in the commit
 * that makes it.
 *
 * Regenerate after an intended format change, from the repository root:
 *     make build/tests/test_golden && UPDATE_GOLDEN=1 build/tests/test_golden
 * then review `git diff tests/golden/` before committing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "discord.h"
#include "slackapp.h"
#include "target.h"
#include "summary.h"

#include "render_fixtures.h"

#define GOLDEN_DIR "tests/golden/"

/* ---- scenarios built the way the service builds them: execution JSON
 * and pages of steps through summary_set_execution/summary_add_page ---- */

#define UI "https://app.matillion.com"
#define ROOT_ID "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define CHILD_ID "9b2f6a10-5c1d-4e8a-b7a3-2f0d8c4e1a55"
#define GRAND_ID "e3a1c7d2-88f4-4b60-9d2e-6c5b1f0a9e37"

/* A run of pipeline name in prod, project "Finance DWH", from the JSON of
 * GET .../pipeline-executions/{id} built from the arguments. */
static void run(struct summary *s, const char *name, const char *status, const char *trigger,
		const char *user, const char *started, const char *finished)
{
	char json[1024];

	assert_int_equal(summary_init(s, "proj-fin", ROOT_ID, UI), 0);
	snprintf(json, sizeof(json),
		 "{\"pipelineExecutionId\":\"" ROOT_ID "\",\"pipelineName\":\"%s\","
		 "\"environmentName\":\"prod\",\"status\":\"%s\",\"trigger\":\"%s\"%s%s%s,"
		 "\"scheduleId\":\"sch-1\",\"startedAt\":\"%s\",\"finishedAt\":\"%s\"}",
		 name, status, trigger, user ? ",\"user\":\"" : "", user ? user : "",
		 user ? "\"" : "", started, finished);
	assert_int_equal(summary_set_execution(s, json, strlen(json)), 0);
	assert_int_equal(summary_set_project_name(s, "Finance DWH"), 0);
}

/* Adds one page of steps to s for the pipeline at path (depth, run id). */
static void page(struct summary *s, const char *path, int depth, const char *id, const char *json)
{
	struct page_ctx ctx = { path, depth, id };

	assert_int_equal(summary_add_page(s, &ctx, json, strlen(json), NULL), 0);
}

/* Appends a step object to buf at *len. */
__attribute__((format(printf, 4, 5))) static void step(char *buf, size_t cap, size_t *len,
						       const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < cap - *len);
	*len += (size_t)n;
}

#define OK_STEP(name)                                                                      \
	"{\"id\":\"s-" name "\",\"name\":\"" name "\",\"result\":{\"status\":\"SUCCESS\"," \
	"\"startedAt\":\"2026-11-30T02:00:00Z\",\"finishedAt\":\"2026-11-30T02:01:00Z\"}}"

/* A SQL failure in the root pipeline, scheduled, with a schedule name. */
static void sc_root_sql(struct summary *s)
{
	run(s, "load_dwh.orch.yaml", "FAILED", "SCHEDULE", NULL, "2026-11-30T02:00:00Z",
	    "2026-11-30T02:14:31Z");
	assert_int_equal(summary_set_schedule_name(s, "nightly_dwh"), 0);
	page(s, "load_dwh", 0, ROOT_ID,
	     "{\"results\":[" OK_STEP("Start") "," OK_STEP(
		     "Create staging") ","
				       "{\"id\":\"s3\",\"name\":\"Load orders raw\",\"result\":{\"status\":\"FAILED\","
				       "\"message\":\"SQL compilation error:\\nerror line 3 at position 14\\ninvalid "
				       "identifier 'ORDER_TS'\",\"startedAt\":\"2026-11-30T02:01:00Z\","
				       "\"finishedAt\":\"2026-11-30T02:14:30Z\"}}],\"total\":3}");
	summary_finish(s);
}

/* The same run completing a degraded notice posted at 02:15. */
static void sc_followup(struct summary *s)
{
	sc_root_sql(s);
	s->follows_ms = summary_parse_time("2026-11-30T02:15:02Z");
}

/* A failure two child pipelines deep, in folders, with six children that
 * succeeded and the "Run child" rows that only repeat the error. */
static void sc_child_deep(struct summary *s)
{
	char p[8192];
	size_t n = 0;
	int i;

	run(s, "dwh/load_dwh.orch.yaml", "FAILED", "API", NULL, "2026-11-30T02:00:00Z",
	    "2026-11-30T02:22:10Z");
	step(p, sizeof(p), &n, "{\"results\":[" OK_STEP("Start"));
	for (i = 1; i <= 6; i++)
		step(p, sizeof(p), &n,
		     ",{\"id\":\"r%d\",\"name\":\"Run stage_%d\",\"result\":{\"status\":\"SUCCESS\"},"
		     "\"childPipeline\":{\"id\":\"ok-%d\",\"name\":\"dwh/stage_%d.orch.yaml\"}}",
		     i, i, i, i);
	step(p, sizeof(p), &n,
	     ",{\"id\":\"r7\",\"name\":\"Run stage_orders\",\"result\":{\"status\":\"FAILED\","
	     "\"message\":\"Child pipeline dwh/stage_orders failed\"},"
	     "\"childPipeline\":{\"id\":\"" CHILD_ID "\",\"name\":\"dwh/stage_orders.orch.yaml\"}}"
	     "],\"total\":8}");
	page(s, "dwh/load_dwh", 0, ROOT_ID, p);
	page(s, "dwh/load_dwh" SEP "dwh/stage_orders", 1, CHILD_ID,
	     "{\"results\":[" OK_STEP(
		     "Truncate stage") ","
				       "{\"id\":\"c2\",\"name\":\"Run load_orders_raw\",\"result\":{\"status\":\"FAILED\","
				       "\"message\":\"Child pipeline dwh/load_orders_raw failed\"},"
				       "\"childPipeline\":{\"id\":\"" GRAND_ID
				       "\",\"name\":\"dwh/load_orders_raw.orch.yaml\"}}"
				       "],\"total\":2}");
	page(s, "dwh/load_dwh" SEP "dwh/stage_orders" SEP "dwh/load_orders_raw", 2, GRAND_ID,
	     "{\"results\":[{\"id\":\"g1\",\"name\":\"Load orders raw\",\"result\":{\"status\":"
	     "\"FAILED\",\"message\":\"Table 'RAW.ORDERS' does not exist or not authorized.\","
	     "\"startedAt\":\"2026-11-30T02:20:00Z\",\"finishedAt\":\"2026-11-30T02:22:05Z\"}}],"
	     "\"total\":1}");
	summary_finish(s);
}

/* Cancelled from the Designer by a person. */
static void sc_cancelled(struct summary *s)
{
	run(s, "load_dwh.orch.yaml", "CANCELLED", "DESIGNER", "jane.doe@example.com",
	    "2026-11-30T09:12:00Z", "2026-11-30T09:15:40Z");
	page(s, "load_dwh", 0, ROOT_ID,
	     "{\"results\":[" OK_STEP(
		     "Start") ",{\"id\":\"s2\",\"name\":\"Load orders raw\","
			      "\"result\":{\"status\":\"CANCELLED\",\"message\":\"Cancelled by user\"}}],"
			      "\"total\":2}");
	summary_finish(s);
}

/* 300 failed steps in three pages, with `errors` distinct errors. */
static void many(struct summary *s, int errors)
{
	static const char *const why[] = {
		"Number of columns in source (12) does not match target (11)",
		"Table 'CRM.ACCOUNTS' does not exist or not authorized.",
		"Warehouse 'LOAD_WH' cannot be resumed: quota exceeded",
		"Numeric value 'n/a' is not recognized",
		"Network error: connection reset by peer",
	};
	char p[65536];
	size_t n;
	int pg, i, k;

	run(s, "replicate_crm.orch.yaml", "FAILED", "SCHEDULE", NULL, "2026-11-30T03:00:00Z",
	    "2026-11-30T03:41:00Z");
	for (pg = 0; pg < 3; pg++) {
		n = 0;
		step(p, sizeof(p), &n, "{\"results\":[");
		for (i = 0; i < 100; i++) {
			k = pg * 100 + i;
			step(p, sizeof(p), &n,
			     "%s{\"id\":\"t%d\",\"name\":\"Replicate table %d\",\"result\":{"
			     "\"status\":\"FAILED\",\"message\":\"%s\"}}",
			     i ? "," : "", k, k + 12, why[k % errors]);
		}
		step(p, sizeof(p), &n, "],\"total\":300,\"page\":%d}", pg);
		page(s, "replicate_crm", 0, ROOT_ID, p);
	}
	summary_finish(s);
}

static void sc_many_one_error(struct summary *s)
{
	many(s, 1);
}

static void sc_many_five_errors(struct summary *s)
{
	many(s, 5);
}

/* The API could not be reached: what the webhook said, and why in plain
 * words. */
static void sc_degraded(struct summary *s)
{
	assert_int_equal(summary_init(s, "proj-fin", ROOT_ID, UI), 0);
	assert_int_equal(summary_set_pipeline_name(s, "load_dwh.orch.yaml"), 0);
	assert_int_equal(summary_set_environment(s, "prod"), 0);
	assert_int_equal(summary_set_status(s, ST_FAILED, "FAILED"), 0);
	assert_int_equal(summary_set_project_name(s, "Finance DWH"), 0);
	assert_int_equal(
		summary_set_degraded(
			s, "dpc-notify couldn't reach Matillion's API; details will follow"),
		0);
	s->degraded_promise = 1;
}

/* A scheduled run that succeeded. */
static void sc_success(struct summary *s)
{
	run(s, "load_dwh.orch.yaml", "SUCCESS", "SCHEDULE", NULL, "2026-11-30T02:00:00Z",
	    "2026-11-30T02:21:47Z");
	assert_int_equal(summary_set_schedule_name(s, "nightly_dwh"), 0);
	page(s, "load_dwh", 0, ROOT_ID,
	     "{\"results\":[" OK_STEP("Start") "," OK_STEP("Load") "],\"total\":2}");
	summary_finish(s);
}

/* A 35-line SQL statement in the error, indented, with Unicode names; the
 * database's message is the last line. */
static void sc_long_sql(struct summary *s)
{
	char msg[8192], p[16384];
	size_t n = 0, m = 0;
	int i;

	run(s, "Kundenstamm_laden.orch.yaml", "FAILED", "SCHEDULE", NULL, "2026-11-30T04:00:00Z",
	    "2026-11-30T04:03:09Z");
	step(msg, sizeof(msg), &m, "Failed to execute statement:\\n");
	step(msg, sizeof(msg), &m, "INSERT INTO \\\"Stammdaten\\\".\\\"Kunden\\\" (");
	for (i = 0; i < 30; i++)
		step(msg, sizeof(msg), &m, "\\n    \\\"Feld_%02d_Größe\\\"%s", i,
		     i < 29 ? "," : "");
	step(msg, sizeof(msg), &m,
	     "\\n) SELECT * FROM \\\"Quelle\\\".\\\"客户\\\"\\n"
	     "  WHERE \\\"Änderung\\\" > '2026-11-29'\\n"
	     "SQL compilation error: error line 33 at position 6 invalid identifier "
	     "'\\\"Änderung\\\"'");
	step(p, sizeof(p), &n,
	     "{\"results\":[{\"id\":\"x1\",\"name\":\"Kunden einfügen\",\"result\":{\"status\":"
	     "\"FAILED\",\"message\":\"%s\"}}],\"total\":1}",
	     msg);
	page(s, "Kundenstamm_laden", 0, ROOT_ID, p);
	summary_finish(s);
}

/* Run memory: the third failure in a row of a pipeline that usually
 * takes 9 minutes, two failures held back before it. */
static void sc_streak(struct summary *s)
{
	sc_root_sql(s);
	s->memory.known = 1;
	s->memory.form = FORM_FULL;
	s->memory.streak = 3;
	s->memory.streak_since_ms = summary_parse_time("2026-11-29T23:45:00Z");
	s->memory.usual_ms = 9 * 60 * 1000;
	s->memory.held_before = 2;
	s->memory.new_error = 1;
}

/* Run memory: a repeat of the same error as one compact line. */
static void sc_again(struct summary *s)
{
	sc_root_sql(s);
	s->memory.known = 1;
	s->memory.form = FORM_COMPACT;
	s->memory.streak = 4;
	s->memory.usual_ms = -1;
}

/* Run memory: the success that closes an incident of 3 failed runs. */
static void sc_recovered(struct summary *s)
{
	sc_success(s);
	s->memory.known = 1;
	s->memory.form = FORM_RECOVERY;
	s->memory.incident_failures = 3;
	s->memory.incident_since_ms = summary_parse_time("2026-11-29T23:09:00Z");
	s->memory.usual_ms = 22 * 60 * 1000;
}

/* Run memory: a silence ended while the incident it muted is still
 * open: one digest of the five failures it held back, no mention. */
static void sc_held(struct summary *s)
{
	assert_int_equal(summary_init(s, "proj-fin", ROOT_ID, UI), 0);
	assert_int_equal(summary_set_pipeline_name(s, "load_dwh.orch.yaml"), 0);
	assert_int_equal(summary_set_environment(s, "prod"), 0);
	assert_int_equal(summary_set_status(s, ST_FAILED, NULL), 0);
	assert_int_equal(summary_set_project_name(s, "Finance DWH"), 0);
	free(s->message);
	s->message = strdup("SQL compilation error:\nerror line 3 at position 14\n"
			    "invalid identifier 'ORDER_TS'");
	s->held_reason = strdup("warehouse upgrade");
	assert_non_null(s->message);
	assert_non_null(s->held_reason);
	s->memory.known = 1;
	s->memory.form = FORM_HELD;
	s->memory.held_before = 5;
	s->memory.incident_failures = 7;
	s->memory.incident_since_ms = summary_parse_time("2026-11-30T01:55:00Z");
	s->memory.held_from_ms = summary_parse_time("2026-11-30T02:00:00Z");
	s->memory.held_until_ms = summary_parse_time("2026-11-30T04:00:00Z");
	s->memory.usual_ms = -1;
	s->memory.streak_since_ms = -1;
}

/* Run memory: a success that took 2h 10m where 22m is usual, posted
 * because notify_on lists SLOW. */
static void sc_slow(struct summary *s)
{
	run(s, "load_dwh.orch.yaml", "SUCCESS", "SCHEDULE", NULL, "2026-11-30T02:00:00Z",
	    "2026-11-30T04:10:12Z");
	assert_int_equal(summary_set_schedule_name(s, "nightly_dwh"), 0);
	page(s, "load_dwh", 0, ROOT_ID,
	     "{\"results\":[" OK_STEP("Start") "," OK_STEP("Load") "],\"total\":2}");
	summary_finish(s);
	s->memory.known = 1;
	s->memory.form = FORM_FULL;
	s->memory.usual_ms = 22 * 60 * 1000;
	s->memory.slow = 1;
}

/* ---- hand-built fixtures (render_fixtures.h) ---- */

/* More failed steps than any message holds, with long messages. */
static void fx_overflow(struct summary *s)
{
	make_summary(s, 500, 1000);
	s->failed_more = 7;
	add_child(s, "c1", "child", ST_SUCCESS);
	regroup(s);
}

/* send-test banner plus both caveats, one step without a duration. */
static void fx_caveats(struct summary *s)
{
	make_summary(s, 1, 0);
	s->is_test = 1;
	s->failed[0].duration_ms = -1;
	s->incomplete = strdup("API call budget reached; 3 child pipelines not fetched");
	s->degraded = strdup("Matillion's API refused dpc-notify's credentials.");
	regroup(s);
}

/* Every untrusted field holds every hostile string at once. */
static void fx_hostile(struct summary *s)
{
	char t[1024] = "";
	size_t i, used = 0;

	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
		used += (size_t)snprintf(t + used, sizeof(t) - used, "%s%s", i ? " | " : "",
					 hostile[i]);
	assert_true(used < sizeof(t));
	make_hostile(s, t);
	set(&s->schedule_name, t);
	s->status = ST_FAILED;
	for (i = 0; i < s->n_failed; i++)
		s->failed[i].status = ST_FAILED;
	regroup(s);
}

/* A still-running notice as the worker builds it (longrun_summary()):
 * load_dwh started at 02:00 by its schedule and was found still running
 * at 04:05, past the route's max_duration of 2h. */
static void sc_long_running(struct summary *s)
{
	assert_int_equal(summary_init(s, "proj-fin", ROOT_ID, UI), 0);
	assert_int_equal(summary_set_pipeline_name(s, "load_dwh.orch.yaml"), 0);
	assert_int_equal(summary_set_environment(s, "prod"), 0);
	assert_int_equal(summary_set_status(s, ST_RUNNING, NULL), 0);
	assert_int_equal(summary_set_project_name(s, "Finance DWH"), 0);
	free(s->trigger);
	s->trigger = strdup("SCHEDULE");
	assert_non_null(s->trigger);
	s->started_ms = summary_parse_time("2026-11-30T02:00:00Z");
	s->memory.known = 1;
	s->memory.form = FORM_LONG_RUNNING;
	s->memory.usual_ms = -1;
	s->memory.streak_since_ms = -1;
	s->memory.incident_since_ms = -1;
	s->memory.held_from_ms = -1;
	s->memory.held_until_ms = -1;
	s->memory.long_at_ms = summary_parse_time("2026-11-30T04:05:00Z");
	s->memory.long_limit_ms = 2 * 3600 * 1000LL;
}

/* The same run past slow_factor 3 × its usual 22m, while the pipeline's
 * incident (opened at 01:55 the night before) is still open. */
static void sc_long_slow(struct summary *s)
{
	sc_long_running(s);
	s->memory.usual_ms = 22 * 60 * 1000LL;
	s->memory.long_limit_ms = 66 * 60 * 1000LL;
	s->memory.long_slow = 1;
	s->memory.incident_since_ms = summary_parse_time("2026-11-29T01:55:00Z");
}

struct fixture {
	const char *name;
	void (*make)(struct summary *s);
	int mention; /* render with a configured mention */
};

static const struct fixture fixtures[] = {
	{ "root-sql", sc_root_sql, 1 },
	{ "child-deep", sc_child_deep, 1 },
	{ "cancelled", sc_cancelled, 1 },
	{ "many-one-error", sc_many_one_error, 1 },
	{ "many-five-errors", sc_many_five_errors, 1 },
	{ "degraded", sc_degraded, 1 },
	{ "followup", sc_followup, 1 },
	{ "success", sc_success, 1 },
	{ "long-sql", sc_long_sql, 1 },
	{ "streak", sc_streak, 1 },
	{ "again", sc_again, 1 },
	{ "recovered", sc_recovered, 1 },
	{ "held", sc_held, 1 },
	{ "slow", sc_slow, 1 },
	{ "long-running", sc_long_running, 1 },
	{ "long-slow", sc_long_slow, 1 },
	{ "overflow", fx_overflow, 0 },
	{ "caveats", fx_caveats, 0 },
	{ "hostile", fx_hostile, 1 },
};

/* Reads a whole file; NULL when it cannot. Caller frees. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else if (buf != NULL) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

static void write_golden(const char *path, const char *body)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL) {
		fail_msg("cannot write %s: %s (run from the repository root)", path,
			 strerror(errno));
		return;
	}
	assert_int_equal(fwrite(body, 1, strlen(body), f), strlen(body));
	assert_int_equal(fclose(f), 0);
	print_message("golden: wrote %s\n", path);
}

/* Compares body with the golden file; on a mismatch prints where they part
 * and a window of both, then fails. */
static void compare(const char *path, const char *body)
{
	size_t len = 0, blen = strlen(body), i = 0, from;
	char *want = slurp(path, &len);

	if (want == NULL)
		fail_msg("golden file %s missing (run from the repository root; create it "
			 "with UPDATE_GOLDEN=1)",
			 path);
	while (i < len && i < blen && want[i] == body[i])
		i++;
	if (i == len && i == blen) {
		free(want);
		return;
	}
	from = i > 60 ? i - 60 : 0;
	print_error("golden mismatch in %s at byte %zu (file %zu bytes, rendered %zu)\n"
		    "  file:     ...%.160s\n  rendered: ...%.160s\n"
		    "If the change is intended: UPDATE_GOLDEN=1 build/tests/test_golden, "
		    "then review git diff tests/golden/\n",
		    path, i, len, blen, want + from, body + from);
	free(want);
	fail();
}

/* What is posted of stored, a body row t rendered (taken): the discord
 * row keeps our incident member in the stored body, removed at post time
 * (discord_message()). Caller frees. */
static char *posted(const struct target *t, char *stored)
{
	char *out;

	if (!discord_is(t) || stored == NULL)
		return stored;
	out = discord_message(stored, NULL);
	free(stored);
	return out;
}

static void check_target(const char *target, const char *mention)
{
	const char *update = getenv("UPDATE_GOLDEN");
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		const struct target *t = target_find(target);
		struct render_opts d = { 0 };
		struct summary s;
		char *out;

		assert_non_null(t);
		d.mention = fixtures[i].mention ? mention : NULL;
		fixtures[i].make(&s);
		out = posted(t, t->render(&s, &d));
		assert_non_null(out);
		snprintf(path, sizeof(path), GOLDEN_DIR "%s-%s.json", target, fixtures[i].name);
		if (update != NULL && strcmp(update, "1") == 0)
			write_golden(path, out);
		else
			compare(path, out);
		free(out);
		summary_free(&s);
	}
}

/* ---- a grouped message (storm grouping) ---- */

#define STORM_RUNS 12

/* Run i of a storm: ten pipelines stopped by the same resource monitor
 * (numbers differ), one by a missing table, one cancelled; each item
 * encoded as the worker keeps it and decoded as the flush reads it. */
static void storm_item(size_t i, const char *mention, struct group_item *it)
{
	struct summary s;
	char name[64], id[40], exec[512], steps[1024], when[32], *enc;
	const char *status = i == 11 ? "CANCELLED" : "FAILED";
	const char *table = (const char *[]){ "orders",   "invoices", "ledger",      "fx_rates",
					      "budgets",  "payroll",  "leads",       "accounts",
					      "forecast", "pipeline", "territories", "quotas" }[i];

	snprintf(name, sizeof(name), "%s/load_%s.orch.yaml", i < 6 ? "finance" : "sales", table);
	snprintf(id, sizeof(id), "7c9e6679-7425-40de-944b-e07fc1f90a%02zu", i);
	snprintf(when, sizeof(when), "2026-11-30T02:%02zu:%02zuZ", 14 + i / 4, (i * 7) % 60);
	assert_int_equal(summary_init(&s, "proj-fin", id, UI), 0);
	snprintf(exec, sizeof(exec),
		 "{\"pipelineExecutionId\":\"%s\",\"pipelineName\":\"%s\","
		 "\"environmentName\":\"prod\",\"status\":\"%s\",\"trigger\":\"SCHEDULE\","
		 "\"startedAt\":\"2026-11-30T02:00:00Z\",\"finishedAt\":\"%s\"}",
		 id, name, status, when);
	assert_int_equal(summary_set_execution(&s, exec, strlen(exec)), 0);
	snprintf(steps, sizeof(steps),
		 "{\"results\":[{\"id\":\"s1\",\"name\":\"Load %s raw\",\"result\":"
		 "{\"status\":\"%s\",\"message\":\"%s\"}}],\"total\":1}",
		 table, status,
		 i == 11  ? "Cancelled by user"
		 : i == 9 ? "Table 'STAGE.PIPELINE_RAW' does not exist or not authorized."
			  : "Warehouse 'WH_LOAD' cannot be resumed because resource monitor "
			    "'RM_NIGHTLY' has exceeded its quota of 500 credits.");
	/* The step name carries the pipeline's, so every line differs. */
	page(&s, name, 0, id, steps);
	summary_finish(&s);
	enc = group_item_encode(&s, mention);
	assert_non_null(enc);
	assert_int_equal(group_item_decode(enc, it), 0);
	free(enc);
	summary_free(&s);
}

static void check_group(const char *target, const char *mention)
{
	const char *update = getenv("UPDATE_GOLDEN");
	const struct target *t = target_find(target);
	struct group_item items[STORM_RUNS];
	const struct render_opts o = { 0 };
	char path[256], *out;
	size_t i;

	assert_non_null(t);
	assert_non_null(t->render_group);
	for (i = 0; i < STORM_RUNS; i++)
		storm_item(i, mention, &items[i]);
	out = t->render_group(items, STORM_RUNS, &o);
	assert_non_null(out);
	snprintf(path, sizeof(path), GOLDEN_DIR "%s-storm.json", target);
	if (update != NULL && strcmp(update, "1") == 0)
		write_golden(path, out);
	else
		compare(path, out);
	free(out);
	for (i = 0; i < STORM_RUNS; i++)
		group_item_free(&items[i]);
}

static void test_golden_slack(void **state)
{
	(void)state;
	check_target("slack", "<!subteam^S123> <@U999>");
	check_group("slack", "<!subteam^S123> <@U999>");
}

static void test_golden_teams(void **state)
{
	(void)state;
	check_target("teams", "oncall@example.com");
	check_group("teams", "oncall@example.com");
}

/* The JSON webhook has no mention and is never grouped. */
static void test_golden_json(void **state)
{
	(void)state;
	check_target("json", NULL);
}

static void test_golden_discord_mattermost(void **state)
{
	(void)state;
	check_target("discord", "<@123456789012345678> <@&876543210987654321>");
	check_target("mattermost", "@oncall");
}

static void test_golden_googlechat(void **state)
{
	(void)state;
	check_target("googlechat", "<users/112233>");
}

static void test_golden_pagerduty(void **state)
{
	(void)state;
	check_target("pagerduty", NULL);
}

/* ---- a Slack app's thread: parent, reply, resolved parent ---- */

#define SA_CHANNEL "C0123ABCDEF"
#define SA_TS "1700000000.000100"

/* The body the slack-app row renders for fixture make, in the incident
 * that opened at 23:09, with Re-run allowed. Caller frees. */
static char *slackapp_stored(void (*make)(struct summary *))
{
	const struct target *t = target_find("slack-app");
	struct render_opts o = { .mention = "<!subteam^S123> <@U999>", .allow_rerun = 1 };
	struct summary s;
	char *out;

	assert_non_null(t);
	make(&s);
	s.memory.incident_since_ms = summary_parse_time("2026-11-29T23:09:00Z");
	out = t->render(&s, &o);
	assert_non_null(out);
	summary_free(&s);
	return out;
}

static void check_body(const char *name, const char *body)
{
	const char *update = getenv("UPDATE_GOLDEN");
	char path[256];

	assert_non_null(body);
	snprintf(path, sizeof(path), GOLDEN_DIR "slack-app-%s.json", name);
	if (update != NULL && strcmp(update, "1") == 0)
		write_golden(path, body);
	else
		compare(path, body);
}

/* The bodies a Slack app posts for one incident: the first failure as
 * the thread's parent (buttons), a repeat as a reply, the recovery as a
 * reply shown in the channel, and the parent rewritten as resolved. */
static void test_golden_slackapp(void **state)
{
	char *first = slackapp_stored(sc_streak), *again = slackapp_stored(sc_again);
	char *rec = slackapp_stored(sc_recovered), *parent, *reply, *recovery, *resolved;
	struct slackapp_send how = { SA_CHANNEL, NULL, 1, 0 };

	(void)state;
	parent = slackapp_message(first, &how);
	how = (struct slackapp_send){ SA_CHANNEL, SA_TS, 0, 0 };
	reply = slackapp_message(again, &how);
	how.broadcast = 1;
	recovery = slackapp_message(rec, &how);
	resolved = slackapp_resolved(parent, rec, SA_TS);
	check_body("parent", parent);
	check_body("reply", reply);
	check_body("recovery", recovery);
	check_body("resolved", resolved);
	free(first);
	free(again);
	free(rec);
	free(parent);
	free(reply);
	free(recovery);
	free(resolved);
}

/* ---- a Discord incident: the forum post it opens, the resolved edit ---- */

static void check_discord(const char *name, const char *body)
{
	const char *update = getenv("UPDATE_GOLDEN");
	char path[256];

	assert_non_null(body);
	snprintf(path, sizeof(path), GOLDEN_DIR "discord-%s.json", name);
	if (update != NULL && strcmp(update, "1") == 0)
		write_golden(path, body);
	else
		compare(path, body);
}

/* The first failure of an incident as it opens a forum post (titled by
 * its environment and pipeline), and that message edited when the
 * incident is resolved 2h 10m later. */
static void test_golden_discord_incident(void **state)
{
	const struct target *t = target_find("discord");
	struct render_opts o = { .mention = "<@123456789012345678>" };
	struct slackapp_meta m;
	struct summary s;
	char *first, *rec, *parent, *resolved, name[DISCORD_THREAD_NAME_BYTES];

	(void)state;
	assert_non_null(t);
	sc_streak(&s);
	s.memory.incident_since_ms = summary_parse_time("2026-11-29T23:09:00Z");
	first = t->render(&s, &o);
	summary_free(&s);
	sc_recovered(&s);
	rec = t->render(&s, &o);
	summary_free(&s);
	assert_int_equal(slackapp_meta(first, &m), 0);
	assert_int_equal(m.role, SLACKAPP_OPEN);
	assert_int_equal(discord_thread_name(&m, name, sizeof(name)), 0);
	parent = discord_message(first, name);
	resolved = discord_resolved(parent, rec);
	check_discord("forum-first", parent);
	check_discord("resolved", resolved);
	free(first);
	free(rec);
	free(parent);
	free(resolved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_slack),
		cmocka_unit_test(test_golden_teams),
		cmocka_unit_test(test_golden_json),
		cmocka_unit_test(test_golden_discord_mattermost),
		cmocka_unit_test(test_golden_googlechat),
		cmocka_unit_test(test_golden_pagerduty),
		cmocka_unit_test(test_golden_slackapp),
		cmocka_unit_test(test_golden_discord_incident),
	};

	(void)check_more_counts; /* shared fixture helper this file does not need */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
