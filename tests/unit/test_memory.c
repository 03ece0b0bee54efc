/* Run memory's decision (src/memory/decide.c) and failure signatures
 * (src/memory/signature.c). A small replayer plays the store's part:
 * it keeps the remembered runs newest first and the incident, and feeds
 * each run of a sequence to mem_decide(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "memory.h"
#include "summary.h"

#define MIN (60 * 1000LL)
#define HOUR (60 * MIN)
#define T0 1796004000000LL

struct pipeline {
	struct mem_run runs[MEM_HISTORY_MAX];
	size_t n;
	struct mem_incident inc;
	struct mem_decision last;
};

static const struct mem_policy defaults = {
	.notify_on = STATUS_BIT(ST_FAILED) | STATUS_BIT(ST_FORBIDDEN),
	.recovery = 1,
	.on_repeat = MEM_REPEAT_COMPACT,
	.repeat_interval_ms = 4 * HOUR,
	.notify_after = 1,
	.duration_alert = 3,
};

/* Remembers r in finished order, newest first (what the store does). */
static void remember(struct pipeline *pl, const struct mem_run *r)
{
	size_t i = 0;

	while (i < pl->n && pl->runs[i].finished_ms > r->finished_ms)
		i++;
	if (pl->n == MEM_HISTORY_MAX)
		pl->n--;
	memmove(&pl->runs[i + 1], &pl->runs[i], (pl->n - i) * sizeof(*r));
	pl->runs[i] = *r;
	pl->n++;
}

/* One run: decide, then keep what the decision says. */
static enum mem_action play(struct pipeline *pl, const struct mem_policy *p, enum run_status st,
			    int64_t finished, int64_t took, uint64_t sig)
{
	struct mem_run r = { st, finished - took, finished, sig };

	mem_decide(p, pl->runs, pl->n, &pl->inc, &r, 0, &pl->last);
	pl->inc = pl->last.next;
	remember(pl, &r);
	return pl->last.action;
}

#define F(pl, p, t) play(pl, p, ST_FAILED, T0 + (t), 10 * MIN, 0xaaaa)
#define S(pl, p, t) play(pl, p, ST_SUCCESS, T0 + (t), 20 * MIN, 0)

/* F F F S: one full message, two compact lines, one recovery that
 * counts three failed runs since the first. */
static void test_compact_repeats_then_recovery(void **state)
{
	struct pipeline pl = { 0 };

	(void)state;
	assert_int_equal(F(&pl, &defaults, 0), MEM_POST_FULL);
	assert_int_equal(pl.last.reason, MEM_R_OPENED);
	assert_int_equal(F(&pl, &defaults, 15 * MIN), MEM_POST_COMPACT);
	assert_int_equal(F(&pl, &defaults, 30 * MIN), MEM_POST_COMPACT);
	assert_int_equal(pl.last.ctx.streak, 3);
	assert_int_equal(pl.last.ctx.streak_since_ms, T0);
	assert_int_equal(S(&pl, &defaults, 3 * HOUR), MEM_POST_RECOVERY);
	assert_int_equal(pl.last.ctx.incident_failures, 3);
	assert_int_equal(pl.last.ctx.incident_since_ms, T0);
	assert_int_equal(pl.inc.open, 0);
	/* After the recovery a success is only remembered. */
	assert_int_equal(S(&pl, &defaults, 4 * HOUR), MEM_RECORD);
}

/* Every message of an incident names its start, the same the recovery
 * names, even after the streak outgrew history (whose oldest run then
 * moves the streak's start): Google Chat threads and PagerDuty
 * deduplicates by it. Outside an incident it is -1. */
static void test_incident_start_on_every_message(void **state)
{
	struct pipeline pl = { 0 };
	int i;

	(void)state;
	assert_int_equal(S(&pl, &defaults, -HOUR), MEM_RECORD);
	assert_int_equal(pl.last.ctx.incident_since_ms, -1);
	for (i = 0; i < MEM_HISTORY_MAX + 20; i++) {
		assert_int_not_equal(F(&pl, &defaults, i * 15 * MIN), MEM_RECORD);
		assert_int_equal(pl.last.ctx.incident_since_ms, T0);
	}
	assert_true(pl.last.ctx.streak_since_ms > T0);
	assert_int_equal(S(&pl, &defaults, 40 * HOUR), MEM_POST_RECOVERY);
	assert_int_equal(pl.last.ctx.incident_since_ms, T0);
	assert_int_equal(F(&pl, &defaults, 41 * HOUR), MEM_POST_FULL);
	assert_int_equal(pl.last.ctx.incident_since_ms, T0 + 41 * HOUR);
}

/* on_repeat = silent holds repeats and the next message tells how many. */
static void test_silent_repeats_counted(void **state)
{
	struct mem_policy p = defaults;
	struct pipeline pl = { 0 };

	(void)state;
	p.on_repeat = MEM_REPEAT_SILENT;
	assert_int_equal(F(&pl, &p, 0), MEM_POST_FULL);
	assert_int_equal(F(&pl, &p, 15 * MIN), MEM_HOLD);
	assert_int_equal(F(&pl, &p, 30 * MIN), MEM_HOLD);
	assert_int_equal(pl.inc.held, 2);
	assert_int_equal(S(&pl, &p, HOUR), MEM_POST_RECOVERY);
	assert_int_equal(pl.last.ctx.held_before, 2);
}

/* on_repeat = full posts every failure in full. */
static void test_full_repeats(void **state)
{
	struct mem_policy p = defaults;
	struct pipeline pl = { 0 };

	(void)state;
	p.on_repeat = MEM_REPEAT_FULL;
	assert_int_equal(F(&pl, &p, 0), MEM_POST_FULL);
	assert_int_equal(F(&pl, &p, MIN), MEM_POST_FULL);
	assert_int_equal(pl.last.reason, MEM_R_REPEAT);
}

/* A different signature is a full message marked new; after
 * repeat_interval a repeat is a full reminder with the held count. */
static void test_new_error_and_reminder(void **state)
{
	struct mem_policy p = defaults;
	struct pipeline pl = { 0 };

	(void)state;
	assert_int_equal(F(&pl, &p, 0), MEM_POST_FULL);
	assert_int_equal(play(&pl, &p, ST_FAILED, T0 + MIN, MIN, 0xbbbb), MEM_POST_FULL);
	assert_int_equal(pl.last.reason, MEM_R_NEW_ERROR);
	p.on_repeat = MEM_REPEAT_SILENT;
	assert_int_equal(play(&pl, &p, ST_FAILED, T0 + 2 * MIN, MIN, 0xbbbb), MEM_HOLD);
	assert_int_equal(play(&pl, &p, ST_FAILED, T0 + MIN + 4 * HOUR, MIN, 0xbbbb), MEM_POST_FULL);
	assert_int_equal(pl.last.reason, MEM_R_REMINDER);
	assert_int_equal(pl.last.ctx.held_before, 1);
}

/* notify_after = 3: the incident's first message waits for the third
 * failure in a row and says how many were held; two failures then a
 * success post nothing at all. */
static void test_flaky(void **state)
{
	struct mem_policy p = defaults;
	struct pipeline pl = { 0 }, p2 = { 0 };

	(void)state;
	p.notify_after = 3;
	assert_int_equal(F(&pl, &p, 0), MEM_HOLD);
	assert_int_equal(pl.last.reason, MEM_R_FLAKY);
	assert_int_equal(F(&pl, &p, MIN), MEM_HOLD);
	assert_int_equal(F(&pl, &p, 2 * MIN), MEM_POST_FULL);
	assert_int_equal(pl.last.ctx.held_before, 2);
	assert_int_equal(pl.last.ctx.streak, 3);
	assert_int_equal(F(&pl, &p, 3 * MIN), MEM_POST_COMPACT);
	assert_int_equal(S(&pl, &p, 4 * MIN), MEM_POST_RECOVERY);

	assert_int_equal(F(&p2, &p, 0), MEM_HOLD);
	assert_int_equal(F(&p2, &p, MIN), MEM_HOLD);
	assert_int_equal(S(&p2, &p, 2 * MIN), MEM_RECORD);
	assert_int_equal(p2.inc.open, 0);
}

/* A late webhook for an older run neither opens, closes nor posts: an
 * older success does not close today's incident; an older failure does
 * not reopen a closed one. */
static void test_late_runs(void **state)
{
	struct pipeline pl = { 0 };

	(void)state;
	assert_int_equal(F(&pl, &defaults, HOUR), MEM_POST_FULL);
	assert_int_equal(S(&pl, &defaults, 30 * MIN), MEM_RECORD);
	assert_int_equal(pl.last.reason, MEM_R_LATE);
	assert_int_equal(pl.inc.open, 1);
	assert_int_equal(S(&pl, &defaults, 2 * HOUR), MEM_POST_RECOVERY);
	assert_int_equal(F(&pl, &defaults, 90 * MIN), MEM_RECORD);
	assert_int_equal(pl.last.reason, MEM_R_LATE);
	assert_int_equal(pl.inc.open, 0);
	/* Two failures taken in the other order: the older is only
	 * remembered, the incident counts the one that was told. */
	assert_int_equal(F(&pl, &defaults, 4 * HOUR), MEM_POST_FULL);
	assert_int_equal(F(&pl, &defaults, 3 * HOUR), MEM_RECORD);
	assert_int_equal(pl.inc.failures, 1);
}

/* A duplicate changes nothing; an unknown status neither opens nor
 * closes; a problem the route does not notify is only remembered. */
static void test_duplicate_unknown_unrouted(void **state)
{
	struct pipeline pl = { 0 };
	struct mem_run r = { ST_SUCCESS, T0, T0 + MIN, 0 };
	struct mem_decision d;

	(void)state;
	assert_int_equal(F(&pl, &defaults, 0), MEM_POST_FULL);
	mem_decide(&defaults, pl.runs, pl.n, &pl.inc, &r, 1, &d);
	assert_int_equal(d.action, MEM_DUPLICATE);
	assert_memory_equal(&d.next, &pl.inc, sizeof(d.next));
	assert_int_equal(play(&pl, &defaults, ST_RUNNING, T0 + MIN, MIN, 0), MEM_RECORD);
	assert_int_equal(pl.last.reason, MEM_R_UNKNOWN);
	assert_int_equal(play(&pl, &defaults, ST_UNKNOWN, T0 + 2 * MIN, MIN, 0), MEM_RECORD);
	assert_int_equal(pl.inc.open, 1);
	assert_int_equal(play(&pl, &defaults, ST_CANCELLED, T0 + 3 * MIN, MIN, 0), MEM_RECORD);
	assert_int_equal(pl.last.reason, MEM_R_NOT_ROUTED);
	assert_int_equal(pl.inc.failures, 1);
}

/* recovery = false closes the incident quietly. */
static void test_recovery_off(void **state)
{
	struct mem_policy p = defaults;
	struct pipeline pl = { 0 };

	(void)state;
	p.recovery = 0;
	assert_int_equal(F(&pl, &p, 0), MEM_POST_FULL);
	assert_int_equal(S(&pl, &p, HOUR), MEM_RECORD);
	assert_int_equal(pl.inc.open, 0);
	/* With SUCCESS routed it is an ordinary success message. */
	p.notify_on |= STATUS_BIT(ST_SUCCESS);
	assert_int_equal(F(&pl, &p, 2 * HOUR), MEM_POST_FULL);
	assert_int_equal(S(&pl, &p, 3 * HOUR), MEM_POST_FULL);
}

/* Usual duration: the median of recent successes, from 5 runs on; slow
 * at over 3× and 10 minutes more; a slow success posts only with SLOW in
 * notify_on. Failures' durations do not count. */
static void test_duration_context(void **state)
{
	struct mem_policy p = defaults;
	struct pipeline pl = { 0 };
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		play(&pl, &p, ST_SUCCESS, T0 + i * HOUR, (20 + i) * MIN, 0);
	play(&pl, &p, ST_FAILED, T0 + 4 * HOUR, 300 * MIN, 0xaaaa);
	play(&pl, &p, ST_SUCCESS, T0 + 5 * HOUR, 90 * MIN, 0);
	assert_int_equal(pl.last.ctx.usual_ms, -1); /* 4 successes remembered */
	assert_int_equal(play(&pl, &p, ST_SUCCESS, T0 + 6 * HOUR, 130 * MIN, 0), MEM_RECORD);
	assert_int_equal(pl.last.ctx.usual_ms, 22 * MIN); /* 20 21 22 23 90 */
	assert_int_equal(pl.last.ctx.slow, 1);
	p.notify_on |= MEM_NOTIFY_SLOW;
	assert_int_equal(play(&pl, &p, ST_SUCCESS, T0 + 7 * HOUR, 200 * MIN, 0), MEM_POST_FULL);
	assert_int_equal(pl.last.reason, MEM_R_SLOW);
	/* Over 3× but less than 10 minutes more is not slow. */
	p.duration_alert = 1.01;
	assert_int_equal(
		play(&pl, &p, ST_SUCCESS, T0 + 8 * HOUR, pl.last.ctx.usual_ms + 5 * MIN, 0),
		MEM_RECORD);
	assert_int_equal(pl.last.ctx.slow, 0);
}

/* "first failure after 41 successful runs" */
static void test_successes_before(void **state)
{
	struct pipeline pl = { 0 };
	int i;

	(void)state;
	for (i = 0; i < 41; i++)
		S(&pl, &defaults, i * HOUR);
	assert_int_equal(F(&pl, &defaults, 41 * HOUR), MEM_POST_FULL);
	assert_int_equal(pl.last.ctx.streak, 1);
	assert_int_equal(pl.last.ctx.successes_before, 41);
}

/* A silence holds back what would be posted: the failures are counted in
 * the incident and told by the first message after it; a recovery during
 * the silence closes the incident quietly. */
static void test_silenced(void **state)
{
	struct mem_policy p = defaults, quiet = defaults;
	struct pipeline pl = { 0 }, p2 = { 0 };

	(void)state;
	quiet.silenced = 1;
	assert_int_equal(F(&pl, &quiet, 0), MEM_HOLD);
	assert_int_equal(pl.last.reason, MEM_R_SILENCED);
	assert_int_equal(pl.inc.open, 1);
	assert_int_equal(pl.inc.posted, 0);
	assert_int_equal(F(&pl, &quiet, MIN), MEM_HOLD);
	assert_int_equal(pl.inc.held, 2);
	/* After the silence: the incident's first message, with the count. */
	assert_int_equal(F(&pl, &p, 2 * MIN), MEM_POST_FULL);
	assert_int_equal(pl.last.reason, MEM_R_OPENED);
	assert_int_equal(pl.last.ctx.held_before, 2);
	assert_int_equal(pl.last.ctx.streak, 3);
	/* A silence over an incident already told keeps what was told. */
	assert_int_equal(F(&pl, &quiet, 3 * MIN), MEM_HOLD);
	assert_int_equal(pl.inc.posted, 1);
	assert_int_equal(pl.inc.last_post_ms, T0 + 2 * MIN);
	assert_int_equal(pl.inc.held, 1);
	assert_int_equal(F(&pl, &p, 4 * MIN), MEM_POST_COMPACT);
	assert_int_equal(pl.last.ctx.held_before, 1);
	/* A recovery during a silence closes the incident without a word. */
	assert_int_equal(S(&pl, &quiet, 5 * MIN), MEM_RECORD);
	assert_int_equal(pl.inc.open, 0);
	assert_int_equal(S(&pl, &p, 6 * MIN), MEM_RECORD);
	/* A silenced success that the route notifies is only remembered. */
	p.notify_on |= STATUS_BIT(ST_SUCCESS);
	quiet.notify_on = p.notify_on;
	assert_int_equal(S(&p2, &quiet, 0), MEM_RECORD);
	assert_int_equal(S(&p2, &p, MIN), MEM_POST_FULL);
}

/* An acknowledged incident gets no reminders: a repeat long after the
 * last post is a plain repeat; a new error still posts in full. */
static void test_acked_no_reminder(void **state)
{
	struct mem_incident inc = { 1, 0, 0, 3, 0, 1, 0xaaaa, 0, 1 };
	struct mem_run r = { ST_FAILED, 0, 30LL * 24 * HOUR, 0xaaaa };
	struct mem_decision d;

	(void)state;
	mem_decide(&defaults, NULL, 0, &inc, &r, 0, &d);
	assert_int_equal(d.action, MEM_POST_COMPACT);
	assert_int_equal(d.reason, MEM_R_REPEAT);
	assert_int_equal(d.next.acked, 1);
	r.signature = 0xbbbb;
	mem_decide(&defaults, NULL, 0, &inc, &r, 0, &d);
	assert_int_equal(d.reason, MEM_R_NEW_ERROR);
	inc.acked = 0;
	r.signature = 0xaaaa;
	mem_decide(&defaults, NULL, 0, &inc, &r, 0, &d);
	assert_int_equal(d.reason, MEM_R_REMINDER);
}

/* Extreme values from a peer: times at the ends of int64, counters at
 * their ceiling. Nothing overflows and the rules still hold. */
static void test_extremes(void **state)
{
	struct pipeline pl = { 0 };
	struct mem_incident inc = { 1, 0, 0, UINT32_MAX, UINT32_MAX, 1, 0xaaaa, INT64_MIN, 0 };
	struct mem_run r = { ST_FAILED, -1, INT64_MAX, 0xaaaa };
	struct mem_decision d;

	(void)state;
	/* The widest gap there is: a reminder, computed without overflow. */
	mem_decide(&defaults, NULL, 0, &inc, &r, 0, &d);
	assert_int_equal(d.next.failures, UINT32_MAX);
	assert_int_equal(d.action, MEM_POST_FULL);
	assert_int_equal(d.reason, MEM_R_REMINDER);
	assert_int_equal(d.ctx.duration_ms, -1);
	/* A last post "after" this run (clock skew): a repeat, not a reminder. */
	inc.last_post_ms = INT64_MAX;
	r.finished_ms = INT64_MIN;
	mem_decide(&defaults, NULL, 0, &inc, &r, 0, &d);
	assert_int_equal(d.action, MEM_POST_COMPACT);
	r.finished_ms = INT64_MAX;
	inc.held = UINT32_MAX;
	{
		struct mem_policy p = defaults;

		p.on_repeat = MEM_REPEAT_SILENT;
		inc.last_post_ms = INT64_MAX - 1;
		r.finished_ms = INT64_MAX;
		mem_decide(&p, NULL, 0, &inc, &r, 0, &d);
		assert_int_equal(d.action, MEM_HOLD);
		assert_int_equal(d.next.held, UINT32_MAX);
	}
	(void)pl;
}

/* The run as memory takes it: finish times that are missing, before 2000
 * or a day past arrival give way to the arrival; a start that cannot be
 * is unknown; an arrival at the end of int64 does not overflow. */
static void test_run_of(void **state)
{
	struct summary s;
	struct mem_run r;

	(void)state;
	assert_int_equal(summary_init(&s, "p", "e", NULL), 0);
	s.status = ST_FAILED;
	s.started_ms = T0;
	s.finished_ms = T0 + MIN;
	assert_int_equal(mem_run_of(&s, T0 + HOUR, &r), 0);
	assert_int_equal(r.finished_ms, T0 + MIN);
	assert_int_equal(r.started_ms, T0);
	assert_int_not_equal(r.signature, 0);
	s.finished_ms = -1;
	assert_int_equal(mem_run_of(&s, T0 + HOUR, &r), 1);
	assert_int_equal(r.finished_ms, T0 + HOUR);
	s.finished_ms = 253402300799000LL; /* 9999-12-31 */
	assert_int_equal(mem_run_of(&s, T0 + HOUR, &r), 1);
	assert_int_equal(r.finished_ms, T0 + HOUR);
	s.finished_ms = T0 + HOUR + MEM_TIME_SKEW_MS; /* a day of skew is believed */
	assert_int_equal(mem_run_of(&s, T0 + HOUR, &r), 0);
	s.finished_ms = T0 + MIN;
	s.started_ms = 1000; /* 1970 */
	assert_int_equal(mem_run_of(&s, T0 + HOUR, &r), 0);
	assert_int_equal(r.started_ms, -1);
	s.started_ms = T0 + 2 * MIN; /* after the finish */
	mem_run_of(&s, T0 + HOUR, &r);
	assert_int_equal(r.started_ms, -1);
	s.finished_ms = INT64_MAX;
	assert_int_equal(mem_run_of(&s, INT64_MAX - 1, &r), 0);
	s.status = ST_SUCCESS;
	mem_run_of(&s, T0, &r);
	assert_int_equal(r.signature, 0);
	summary_free(&s);
}

static void check_mask(const char *in, const char *want)
{
	char out[512];

	mem_mask(in, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_signature(void **state)
{
	(void)state;
	check_mask("Table 'A' has 12 rows", "Table ? has # rows");
	check_mask("id 7c9e6679-7425-40de-944b-e07fc1f90ae7 at 2026-11-30T02:00:00.5Z",
		   "id # at #-#-#T#:#:#Z");
	check_mask("table_12  failed\n\tagain", "table_# failed again");
	check_mask("deadbeef0 cafe deadbeef", "# cafe deadbeef"); /* no digit: a word */
	check_mask("unterminated 'quote", "unterminated 'quote");
	check_mask("", "");
	/* Same error, other literals: same signature; other step: not. */
	assert_true(mem_signature("a › b", "Table 'X' missing (3)") ==
		    mem_signature("a › b", "Table 'Y' missing (41)"));
	assert_true(mem_signature("a › b", "Table 'X' missing") !=
		    mem_signature("a › c", "Table 'X' missing"));
	assert_true(mem_signature("a", "x") != mem_signature("a", "y"));
	assert_true(mem_signature(NULL, NULL) != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compact_repeats_then_recovery),
		cmocka_unit_test(test_incident_start_on_every_message),
		cmocka_unit_test(test_silent_repeats_counted),
		cmocka_unit_test(test_full_repeats),
		cmocka_unit_test(test_new_error_and_reminder),
		cmocka_unit_test(test_flaky),
		cmocka_unit_test(test_late_runs),
		cmocka_unit_test(test_duplicate_unknown_unrouted),
		cmocka_unit_test(test_recovery_off),
		cmocka_unit_test(test_duration_context),
		cmocka_unit_test(test_successes_before),
		cmocka_unit_test(test_silenced),
		cmocka_unit_test(test_acked_no_reminder),
		cmocka_unit_test(test_extremes),
		cmocka_unit_test(test_run_of),
		cmocka_unit_test(test_signature),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
