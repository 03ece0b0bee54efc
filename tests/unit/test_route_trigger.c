/* Unit tests for a route's triggers key: parsing (any case, typo hints,
 * the API's two values that cannot be chosen), inheritance like any
 * route key, printing, and the pure decision route_trigger_allows() for
 * every trigger the API may send against every setting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "memory.h"
#include "route.h"

#define BASE                                              \
	"[server]\nauth_token = tok-AAAA-0123456789\n"    \
	"[matillion]\nclient_id = i\nclient_secret = s\n" \
	"[destination s]\ntype = slack\nurl = https://hooks.slack.com/services/T/B/X\n"
#define BASE_LINES 8

#define S TRIGGER_BIT(TRIG_SCHEDULE)
#define A TRIGGER_BIT(TRIG_API)
#define D TRIGGER_BIT(TRIG_DESIGNER)

static void dump(const struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		print_message("  diag: %s\n", d->lines[i]);
}

static struct config *load_text(const char *tail, struct diags *d, char *path, size_t len)
{
	char text[8192];
	struct config *c;
	int fd;
	size_t n;

	snprintf(text, sizeof(text), "%s%s", BASE, tail);
	n = strlen(text);
	snprintf(path, len, "/tmp/test_route_trigger_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	c = config_load(path, d);
	unlink(path);
	return c;
}

/* The mask "[default]\ndestinations = s\ntriggers = value" loads to. */
static unsigned mask_of(const char *value)
{
	char path[64], tail[256];
	struct diags d = { 0 };
	struct config *c;
	unsigned m;

	snprintf(tail, sizeof(tail), "[default]\ndestinations = s\ntriggers = %s\n", value);
	c = load_text(tail, &d, path, sizeof(path));
	if (c == NULL)
		dump(&d);
	assert_non_null(c);
	m = c->default_route->triggers;
	config_free(c);
	diags_free(&d);
	return m;
}

static void test_parse(void **state)
{
	(void)state;
	assert_int_equal(mask_of("SCHEDULE"), S);
	assert_int_equal(mask_of("schedule, Api"), S | A);
	assert_int_equal(mask_of("DESIGNER"), D);
	assert_int_equal(mask_of("SCHEDULE, API, DESIGNER"), TRIGGERS_ALL);
	assert_int_equal(mask_of("API,API"), A);
}

/* Not given: every kind; a [route] takes its parent's value unless it
 * sets its own, and a [project] does not take [default]'s. */
static void test_default_and_inheritance(void **state)
{
	char path[64];
	struct diags d = { 0 };
	struct config *c =
		load_text("[default]\ndestinations = s\ntriggers = DESIGNER\n"
			  "[project P1]\ndestinations = s\ntriggers = SCHEDULE\n"
			  "[project P2]\ndestinations = s\n"
			  "[route r1]\nproject = P1\nenvironments = prod\n"
			  "[route r2]\nproject = P1\nenvironments = dev\ntriggers = api\n"
			  "[route r3]\nenvironments = qa\n",
			  &d, path, sizeof(path));
	size_t i;

	(void)state;
	if (c == NULL)
		dump(&d);
	assert_non_null(c);
	assert_int_equal(c->default_route->triggers, D);
	assert_int_equal(c->projects[0].triggers, S);
	assert_int_equal(c->projects[1].triggers, TRIGGERS_ALL);
	for (i = 0; i < c->n_routes; i++) {
		if (strcmp(c->routes[i].id, "r1") == 0)
			assert_int_equal(c->routes[i].triggers, S);
		else if (strcmp(c->routes[i].id, "r2") == 0)
			assert_int_equal(c->routes[i].triggers, A);
		else
			assert_int_equal(c->routes[i].triggers, D);
	}
	config_free(c);
	diags_free(&d);
}

static void test_bad_values(void **state)
{
	static const struct {
		const char *value;
		const char *want;
	} cases[] = {
		{ "DESINGER", "triggers: unknown trigger \"DESINGER\"; did you mean DESIGNER?" },
		{ "shedule", "triggers: unknown trigger \"shedule\"; did you mean SCHEDULE?" },
		{ "APi, AP", "triggers: unknown trigger \"AP\"; did you mean API?" },
		{ "cron",
		  "triggers: unknown trigger \"cron\"; expected SCHEDULE, API or DESIGNER" },
		{ "SCHEDULE_RUN_NOW",
		  "triggers: SCHEDULE_RUN_NOW counts as SCHEDULE (a schedule run"
		  " started by hand); write SCHEDULE" },
		{ "unknown", "triggers: UNKNOWN cannot be chosen: a run whose trigger is unknown"
			     " always notifies" },
		{ "", "triggers: empty item in list" },
		{ "API,,DESIGNER", "triggers: empty item in list" },
		{ "all", "triggers: unknown trigger \"all\"; expected SCHEDULE, API or DESIGNER" },
	};
	char path[64], tail[256], want[512];
	struct diags d;
	struct config *c;
	size_t i, k;
	int found;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&d, 0, sizeof(d));
		snprintf(tail, sizeof(tail), "[default]\ndestinations = s\ntriggers = %s\n",
			 cases[i].value);
		c = load_text(tail, &d, path, sizeof(path));
		snprintf(want, sizeof(want), "%s:%d: %s", path, BASE_LINES + 3, cases[i].want);
		for (found = 0, k = 0; k < d.n; k++)
			found |= strcmp(d.lines[k], want) == 0;
		if (c != NULL || d.n_errors != 1 || !found) {
			print_message("value \"%s\": want \"%s\"\n", cases[i].value, want);
			dump(&d);
		}
		assert_null(c);
		assert_int_equal(d.n_errors, 1);
		assert_true(found);
		diags_free(&d);
	}
}

/* print-keys writes the kinds; the routing table has a triggers column,
 * (all) when nothing is left out. */
static void test_printed(void **state)
{
	char path[64], text[16384];
	struct diags d = { 0 };
	struct config *c =
		load_text("[default]\ndestinations = s\n"
			  "[route sched]\nenvironments = prod\ntriggers = schedule, api\n",
			  &d, path, sizeof(path));
	FILE *f;

	(void)state;
	assert_non_null(c);
	f = fmemopen(text, sizeof(text), "w");
	assert_non_null(f);
	config_print_keys(c, f);
	fclose(f);
	assert_non_null(strstr(text, "[default]\n"));
	assert_non_null(strstr(strstr(text, "[default]\n"), "triggers = SCHEDULE,API,DESIGNER\n"));
	assert_non_null(strstr(strstr(text, "[route sched]\n"), "triggers = SCHEDULE,API\n"));
	f = fmemopen(text, sizeof(text), "w");
	assert_non_null(f);
	config_print_summary(c, f);
	fclose(f);
	if (strstr(text,
		   "  1  sched      (any)    prod          (all)      s             FAILED     "
		   "SCHEDULE,API  (none)\n") == NULL ||
	    strstr(text,
		   "  2  [default]  (other)  (all)         (all)      s             FAILED     "
		   "(all)         (none)\n") == NULL)
		fail_msg("routing table:\n%s", text);
	config_free(c);
	diags_free(&d);
}

static void test_kind(void **state)
{
	(void)state;
	assert_int_equal(route_trigger_kind("SCHEDULE"), TRIG_SCHEDULE);
	assert_int_equal(route_trigger_kind("SCHEDULE_RUN_NOW"), TRIG_SCHEDULE);
	assert_int_equal(route_trigger_kind("schedule_run_now"), TRIG_SCHEDULE);
	assert_int_equal(route_trigger_kind("API"), TRIG_API);
	assert_int_equal(route_trigger_kind("Designer"), TRIG_DESIGNER);
	assert_int_equal(route_trigger_kind("UNKNOWN"), TRIG__MAX);
	assert_int_equal(route_trigger_kind(NULL), TRIG__MAX);
	assert_int_equal(route_trigger_kind(""), TRIG__MAX);
	assert_int_equal(route_trigger_kind("SCHEDULE "), TRIG__MAX);
	assert_int_equal(route_trigger_kind("SCHEDULED"), TRIG__MAX);
	assert_int_equal(route_trigger_kind("EVENT"), TRIG__MAX);
}

/* Every trigger the API may send (and a few it may not) against every
 * setting a route can have: the kind's bit decides, and a run of no kind
 * always notifies. */
static void test_decision_table(void **state)
{
	static const struct {
		const char *trigger;
		unsigned kind; /* its bit; 0: no kind */
	} runs[] = {
		{ "SCHEDULE", S }, { "SCHEDULE_RUN_NOW", S }, { "API", A }, { "DESIGNER", D },
		{ "designer", D }, { "UNKNOWN", 0 },          { NULL, 0 },  { "", 0 },
		{ "EVENT", 0 },    { "DESIGNER\n", 0 },
	};
	struct project p;
	unsigned mask;
	size_t i;
	int want;

	(void)state;
	memset(&p, 0, sizeof(p));
	for (mask = 1; mask <= TRIGGERS_ALL; mask++) {
		p.triggers = mask;
		for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
			want = runs[i].kind == 0 || (mask & runs[i].kind) != 0;
			if (route_trigger_allows(&p, runs[i].trigger) != want)
				fail_msg("triggers mask %u, run trigger %s: want %d", mask,
					 runs[i].trigger ? runs[i].trigger : "(null)", want);
		}
	}
	/* No route: nothing to leave out. */
	assert_true(route_trigger_allows(NULL, "DESIGNER"));
}

/* A run its route leaves out (mem_policy.record_only) is remembered but
 * changes no incident: a failure opens none and counts in none, a success
 * closes none and posts no recovery, whatever else the policy says. */
static void test_record_only_decision(void **state)
{
	const struct mem_policy on = { .notify_on = STATUS_BIT(ST_FAILED) | STATUS_BIT(ST_SUCCESS),
				       .recovery = 1,
				       .on_repeat = MEM_REPEAT_FULL,
				       .notify_after = 1,
				       .record_only = 1 };
	const struct mem_incident open = { .open = 1,
					   .since_ms = 1000,
					   .last_ms = 1000,
					   .failures = 2,
					   .posted = 1,
					   .signature = 7,
					   .last_post_ms = 1000 };
	const struct mem_run hist[] = { { ST_FAILED, 0, 1000, 7 } };
	const struct mem_run fail = { ST_FAILED, 1500, 2000, 9 },
			     ok = { ST_SUCCESS, 1500, 2000, 0 };
	struct mem_policy pol = on;
	struct mem_decision d;

	(void)state;
	mem_decide(&pol, NULL, 0, NULL, &fail, 0, &d);
	assert_int_equal(d.action, MEM_RECORD);
	assert_int_equal(d.next.open, 0);
	mem_decide(&pol, hist, 1, &open, &fail, 0, &d);
	assert_int_equal(d.action, MEM_RECORD);
	assert_memory_equal(&d.next, &open, sizeof(open));
	mem_decide(&pol, hist, 1, &open, &ok, 0, &d);
	assert_int_equal(d.action, MEM_RECORD);
	assert_memory_equal(&d.next, &open, sizeof(open));
	pol.silenced = 1;
	mem_decide(&pol, hist, 1, &open, &ok, 0, &d);
	assert_int_equal(d.action, MEM_RECORD);
	assert_memory_equal(&d.next, &open, sizeof(open));
	mem_decide(&pol, hist, 1, &open, &ok, 1, &d);
	assert_int_equal(d.action, MEM_DUPLICATE);
	/* The same runs without record_only: posted, as before. */
	pol = on;
	pol.record_only = 0;
	mem_decide(&pol, hist, 1, &open, &ok, 0, &d);
	assert_int_equal(d.action, MEM_POST_RECOVERY);
	mem_decide(&pol, hist, 1, &open, &fail, 0, &d);
	assert_int_equal(d.action, MEM_POST_FULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_default_and_inheritance),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_printed),
		cmocka_unit_test(test_kind),
		cmocka_unit_test(test_decision_table),
		cmocka_unit_test(test_record_only_decision),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
