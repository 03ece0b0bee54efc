/* Unit tests for the run-memory keys of the configuration: recovery,
 * on_repeat, repeat_interval, notify_after, duration_alert and SLOW in
 * notify_on ([project] and [default]), and the [memory] section
 * (history_runs, forget_after). Each bad value, extreme ones included, must
 * be refused with its file:line; absent keys take the key table's
 * defaults; a [project] never inherits [default]'s values; route_policy()
 * hands the values on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "memory.h"
#include "route.h"
#include "status.h"

/* Everything a config needs besides the keys under test. */
#define BASE                                              \
	"[server]\nauth_token = tok-AAAA-0123456789\n"    \
	"[matillion]\nclient_id = i\nclient_secret = s\n" \
	"[destination s]\ntype = slack\nurl = https://hooks.slack.com/services/T/B/X\n"
/* Lines in BASE: the first key under test is on line BASE_LINES + 2. */
#define BASE_LINES 8

static void dump(const struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		print_message("  diag: %s\n", d->lines[i]);
}

static int has_line(const struct diags *d, const char *want)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->lines[i], want) == 0)
			return 1;
	return 0;
}

/* Loads BASE followed by tail from a temporary file; its path goes to path. */
static struct config *load_text(const char *tail, struct diags *d, char *path, size_t len)
{
	char text[4096];
	struct config *c;
	int fd;
	size_t n;

	snprintf(text, sizeof(text), "%s%s", BASE, tail);
	n = strlen(text);
	snprintf(path, len, "/tmp/test_config_memory_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	c = config_load(path, d);
	unlink(path);
	return c;
}

static void test_memory_defaults(void **state)
{
	char path[64];
	struct diags d = { 0 };
	struct config *c = load_text("[default]\ndestinations = s\n", &d, path, sizeof(path));
	const struct project *p;

	(void)state;
	dump(&d);
	assert_non_null(c);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->history_runs, 100);
	assert_int_equal(c->forget_after_s, 90 * 86400);
	p = c->default_route;
	assert_non_null(p);
	assert_int_equal(p->notify_on, STATUS_BIT(ST_FAILED));
	assert_int_equal(p->recovery, 1);
	assert_int_equal(p->on_repeat, MEM_REPEAT_COMPACT);
	assert_int_equal(p->repeat_interval_s, 4 * 3600);
	assert_int_equal(p->notify_after, 1);
	assert_true(p->duration_alert == 3.0);
	config_free(c);
	diags_free(&d);
}

/* Every key set, at its bounds and in between. */
static void test_memory_values(void **state)
{
	static const struct {
		const char *tail;
		int64_t repeat_s;
		int notify_after;
		double alert;
		size_t history;
		int64_t forget_s;
	} cases[] = {
		{ "repeat_interval = 1m\nnotify_after = 1\nduration_alert = 0\n"
		  "[memory]\nhistory_runs = 10\nforget_after = 1d\n",
		  60, 1, 0.0, 10, 86400 },
		{ "repeat_interval = 30d\nnotify_after = 100\nduration_alert = 100\n"
		  "[memory]\nhistory_runs = 1000\nforget_after = 3650d\n",
		  30 * 86400, 100, 100.0, 1000, 3650LL * 86400 },
		{ "repeat_interval = 90m\nnotify_after = 3\nduration_alert = 2.5\n"
		  "[memory]\nforget_after = 86400\n",
		  5400, 3, 2.5, 100, 86400 },
		{ "repeat_interval = 60\nnotify_after = 2\nduration_alert = 1.1\n", 60, 2, 1.1, 100,
		  90 * 86400 },
		{ "duration_alert = 0.0\n", 4 * 3600, 1, 0.0, 100, 90 * 86400 },
		{ "duration_alert = 100.00\n", 4 * 3600, 1, 100.0, 100, 90 * 86400 },
		{ "duration_alert = 7.25\n", 4 * 3600, 1, 7.25, 100, 90 * 86400 },
	};
	char path[64], tail[512];
	struct diags d = { 0 };
	struct config *c;
	const struct project *p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(tail, sizeof(tail), "[project p]\ndestinations = s\n%s", cases[i].tail);
		c = load_text(tail, &d, path, sizeof(path));
		if (c == NULL)
			print_message("case %zu\n", i);
		dump(&d);
		assert_non_null(c);
		p = &c->projects[0];
		assert_int_equal(p->repeat_interval_s, cases[i].repeat_s);
		assert_int_equal(p->notify_after, cases[i].notify_after);
		assert_true(p->duration_alert == cases[i].alert);
		assert_int_equal(c->history_runs, cases[i].history);
		assert_int_equal(c->forget_after_s, cases[i].forget_s);
		config_free(c);
		diags_free(&d);
	}

	c = load_text("[project p]\ndestinations = s\nrecovery = false\non_repeat = SILENT\n"
		      "notify_on = failed, slow\n"
		      "[project q]\ndestinations = s\nrecovery = on\non_repeat = full\n"
		      "notify_on = SLOW\n",
		      &d, path, sizeof(path));
	dump(&d);
	assert_non_null(c);
	assert_int_equal(c->projects[0].recovery, 0);
	assert_int_equal(c->projects[0].on_repeat, MEM_REPEAT_SILENT);
	assert_int_equal(c->projects[0].notify_on, STATUS_BIT(ST_FAILED) | MEM_NOTIFY_SLOW);
	assert_int_equal(c->projects[1].recovery, 1);
	assert_int_equal(c->projects[1].on_repeat, MEM_REPEAT_FULL);
	assert_int_equal(c->projects[1].notify_on, MEM_NOTIFY_SLOW);
	config_free(c);
	diags_free(&d);
}

/* One bad value: the text after BASE, the line of the error and its message. */
static const struct {
	const char *tail;
	int line; /* counted after BASE */
	const char *msg;
} bad[] = {
#define DUR_REPEAT "expected seconds (or s/m/h/d suffix) 60..2592000"
#define DUR_FORGET "expected seconds (or s/m/h/d suffix) 86400..315360000"
#define FACTOR "expected 0 (off) or a decimal number 1.1..100"
#define P "[project p]\ndestinations = s\n"
	{ P "repeat_interval = 9999999999999d\n", 3,
	  "repeat_interval: invalid value \"9999999999999d\"; " DUR_REPEAT },
	{ P "repeat_interval = 99999999999999999999\n", 3,
	  "repeat_interval: invalid value \"99999999999999999999\"; " DUR_REPEAT },
	{ P "repeat_interval = 59s\n", 3, "repeat_interval: invalid value \"59s\"; " DUR_REPEAT },
	{ P "repeat_interval = 31d\n", 3, "repeat_interval: invalid value \"31d\"; " DUR_REPEAT },
	{ P "repeat_interval = -4h\n", 3, "repeat_interval: invalid value \"-4h\"; " DUR_REPEAT },
	{ P "repeat_interval = 4w\n", 3, "repeat_interval: invalid value \"4w\"; " DUR_REPEAT },
	{ P "notify_after = 0\n", 3,
	  "notify_after: invalid value \"0\"; expected an integer 1..100" },
	{ P "notify_after = 101\n", 3,
	  "notify_after: invalid value \"101\"; expected an integer 1..100" },
	{ P "notify_after = -1\n", 3,
	  "notify_after: invalid value \"-1\"; expected an integer 1..100" },
	{ P "notify_after = 99999999999999999999\n", 3,
	  "notify_after: invalid value \"99999999999999999999\"; expected an integer 1..100" },
	{ P "notify_after = 2.0\n", 3,
	  "notify_after: invalid value \"2.0\"; expected an integer 1..100" },
	{ P "duration_alert = nan\n", 3, "duration_alert: invalid value \"nan\"; " FACTOR },
	{ P "duration_alert = NaN\n", 3, "duration_alert: invalid value \"NaN\"; " FACTOR },
	{ P "duration_alert = inf\n", 3, "duration_alert: invalid value \"inf\"; " FACTOR },
	{ P "duration_alert = infinity\n", 3,
	  "duration_alert: invalid value \"infinity\"; " FACTOR },
	{ P "duration_alert = 1e400\n", 3, "duration_alert: invalid value \"1e400\"; " FACTOR },
	{ P "duration_alert = 1e1\n", 3, "duration_alert: invalid value \"1e1\"; " FACTOR },
	{ P "duration_alert = -1\n", 3, "duration_alert: invalid value \"-1\"; " FACTOR },
	{ P "duration_alert = -0\n", 3, "duration_alert: invalid value \"-0\"; " FACTOR },
	{ P "duration_alert = +2\n", 3, "duration_alert: invalid value \"+2\"; " FACTOR },
	{ P "duration_alert = 3x\n", 3, "duration_alert: invalid value \"3x\"; " FACTOR },
	{ P "duration_alert = 0x2\n", 3, "duration_alert: invalid value \"0x2\"; " FACTOR },
	{ P "duration_alert = 1.05\n", 3, "duration_alert: invalid value \"1.05\"; " FACTOR },
	{ P "duration_alert = 1\n", 3, "duration_alert: invalid value \"1\"; " FACTOR },
	{ P "duration_alert = 0.5\n", 3, "duration_alert: invalid value \"0.5\"; " FACTOR },
	{ P "duration_alert = 100.01\n", 3, "duration_alert: invalid value \"100.01\"; " FACTOR },
	{ P "duration_alert = 1000000000000000000000000\n", 3,
	  "duration_alert: invalid value \"1000000000000000000000000\"; " FACTOR },
	{ P "duration_alert = .5\n", 3, "duration_alert: invalid value \".5\"; " FACTOR },
	{ P "duration_alert = 2.\n", 3, "duration_alert: invalid value \"2.\"; " FACTOR },
	{ P "duration_alert = 2..5\n", 3, "duration_alert: invalid value \"2..5\"; " FACTOR },
	{ P "duration_alert = 2,5\n", 3, "duration_alert: invalid value \"2,5\"; " FACTOR },
	{ P "duration_alert = 2 5\n", 3, "duration_alert: invalid value \"2 5\"; " FACTOR },
	{ P "duration_alert =\n", 3, "duration_alert: invalid value \"\"; " FACTOR },
	{ P "on_repeat = loud\n", 3,
	  "on_repeat: invalid value \"loud\"; expected compact, silent or full" },
	{ P "recovery = maybe\n", 3, "recovery: invalid value \"maybe\"; expected true or false" },
	{ P "notify_on = FAILED, SLOWER\n", 3, "notify_on: unknown status \"SLOWER\"" },
	{ "[default]\ndestinations = s\nnotify_after = 101\n", 3,
	  "notify_after: invalid value \"101\"; expected an integer 1..100" },
	{ "[default]\ndestinations = s\nduration_alert = inf\n", 3,
	  "duration_alert: invalid value \"inf\"; " FACTOR },
	{ "[memory]\nhistory_runs = 9\n", 2,
	  "history_runs: invalid value \"9\"; expected an integer 10..1000" },
	{ "[memory]\nhistory_runs = 1001\n", 2,
	  "history_runs: invalid value \"1001\"; expected an integer 10..1000" },
	{ "[memory]\nhistory_runs = -1\n", 2,
	  "history_runs: invalid value \"-1\"; expected an integer 10..1000" },
	{ "[memory]\nhistory_runs = 99999999999999999999\n", 2,
	  "history_runs: invalid value \"99999999999999999999\"; expected an integer 10..1000" },
	{ "[memory]\nforget_after = 0\n", 2, "forget_after: invalid value \"0\"; " DUR_FORGET },
	{ "[memory]\nforget_after = 23h\n", 2, "forget_after: invalid value \"23h\"; " DUR_FORGET },
	{ "[memory]\nforget_after = 3651d\n", 2,
	  "forget_after: invalid value \"3651d\"; " DUR_FORGET },
	{ "[memory]\nforget_after = 9999999999999d\n", 2,
	  "forget_after: invalid value \"9999999999999d\"; " DUR_FORGET },
	{ "[memory]\ncolour = red\n", 2, "unknown key \"colour\" in [memory]" },
	{ "[memory]\nhistory_runs = 20\nhistory_runs = 30\n", 3,
	  "duplicate key \"history_runs\" (first at line 10)" },
	/* The memory keys are global, the route keys per route. */
	{ P "history_runs = 20\n", 3,
	  "unknown key \"history_runs\" in [project]; it belongs in [memory]" },
	{ "[default]\ndestinations = s\nforget_after = 2d\n", 3,
	  "unknown key \"forget_after\" in [default]; it belongs in [memory]" },
	{ "[memory]\nrecovery = true\n", 2,
	  "unknown key \"recovery\" in [memory]; it belongs in [project]" },
	{ "[memory NAME]\n", 1, "section [memory] takes no name" },
#undef P
};

static void test_memory_bad_values(void **state)
{
	char path[64], want[512];
	struct diags d = { 0 };
	struct config *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = load_text(bad[i].tail, &d, path, sizeof(path));
		snprintf(want, sizeof(want), "%s:%d: %s", path, BASE_LINES + bad[i].line,
			 bad[i].msg);
		if (c != NULL || d.n_errors != 1 || !has_line(&d, want)) {
			print_message("case %zu: want only \"%s\"\n", i, want);
			dump(&d);
		}
		assert_null(c);
		assert_int_equal(d.n_errors, 1);
		assert_true(has_line(&d, want));
		diags_free(&d);
	}
}

/* A [project] takes the key table's defaults for what it does not set,
 * never [default]'s values; route_policy() hands each route's values on. */
static void test_memory_no_inherit_and_policy(void **state)
{
	char path[64];
	struct diags d = { 0 };
	struct config *c;
	struct mem_policy pol;

	(void)state;
	c = load_text("[default]\ndestinations = s\nnotify_on = FAILED, SLOW\nrecovery = no\n"
		      "on_repeat = silent\nrepeat_interval = 1h\nnotify_after = 3\n"
		      "duration_alert = 0\n"
		      "[project p]\ndestinations = s\n"
		      "[project q]\ndestinations = s\non_repeat = full\nduration_alert = 4.5\n"
		      "notify_after = 100\nrepeat_interval = 30d\nnotify_on = cancelled\n",
		      &d, path, sizeof(path));
	dump(&d);
	assert_non_null(c);

	memset(&pol, 0xa5, sizeof(pol));
	route_policy(c->default_route, &pol);
	assert_int_equal(pol.notify_on, STATUS_BIT(ST_FAILED) | MEM_NOTIFY_SLOW);
	assert_int_equal(pol.recovery, 0);
	assert_int_equal(pol.on_repeat, MEM_REPEAT_SILENT);
	assert_int_equal(pol.repeat_interval_ms, 3600 * 1000);
	assert_int_equal(pol.notify_after, 3);
	assert_true(pol.duration_alert == 0.0);

	memset(&pol, 0xa5, sizeof(pol));
	route_policy(route_find(c, "p"), &pol);
	assert_int_equal(pol.notify_on, STATUS_BIT(ST_FAILED));
	assert_int_equal(pol.recovery, 1);
	assert_int_equal(pol.on_repeat, MEM_REPEAT_COMPACT);
	assert_int_equal(pol.repeat_interval_ms, 4 * 3600 * 1000);
	assert_int_equal(pol.notify_after, 1);
	assert_true(pol.duration_alert == 3.0);

	memset(&pol, 0xa5, sizeof(pol));
	route_policy(route_find(c, "q"), &pol);
	assert_int_equal(pol.notify_on, STATUS_BIT(ST_CANCELLED));
	assert_int_equal(pol.recovery, 1);
	assert_int_equal(pol.on_repeat, MEM_REPEAT_FULL);
	assert_int_equal(pol.repeat_interval_ms, 30LL * 86400 * 1000);
	assert_int_equal(pol.notify_after, 100);
	assert_true(pol.duration_alert == 4.5);

	/* Another project id falls back to [default]. */
	memset(&pol, 0xa5, sizeof(pol));
	route_policy(route_find(c, "other"), &pol);
	assert_int_equal(pol.on_repeat, MEM_REPEAT_SILENT);
	config_free(c);
	diags_free(&d);
}

/* SLOW with the slow check off can never notify: check-config warns, on
 * the notify_on line, and the file still loads. */
static void test_slow_without_duration_alert_warns(void **state)
{
	char path[64], want[256];
	struct diags d = { 0 };
	struct config *c;

	(void)state;
	c = load_text("[project p]\ndestinations = s\nnotify_on = FAILED, SLOW\n"
		      "duration_alert = 0\n[default]\ndestinations = s\nnotify_on = SLOW\n",
		      &d, path, sizeof(path));
	dump(&d);
	assert_non_null(c);
	assert_int_equal(d.n_errors, 0);
	assert_int_equal(d.n_warnings, 2); /* and the id p is no UUID */
	snprintf(want, sizeof(want),
		 "%s:%d: warning: project p: notify_on lists SLOW but duration_alert = 0"
		 " turns the slow check off",
		 path, BASE_LINES + 3);
	assert_true(has_line(&d, want));
	config_free(c);
	diags_free(&d);
}

/* NULL gives exactly what an absent key gives. */
static void test_policy_null_is_key_defaults(void **state)
{
	char path[64];
	struct diags d = { 0 };
	struct config *c = load_text("[default]\ndestinations = s\n", &d, path, sizeof(path));
	struct mem_policy a, b;

	(void)state;
	assert_non_null(c);
	memset(&a, 0xa5, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	route_policy(NULL, &a);
	route_policy(c->default_route, &b);
	assert_int_equal(a.notify_on, STATUS_BIT(ST_FAILED));
	assert_int_equal(a.recovery, 1);
	assert_int_equal(a.on_repeat, MEM_REPEAT_COMPACT);
	assert_int_equal(a.repeat_interval_ms, 4 * 3600 * 1000);
	assert_int_equal(a.notify_after, 1);
	assert_true(a.duration_alert == 3.0);
	assert_int_equal(a.notify_on, b.notify_on);
	assert_int_equal(a.recovery, b.recovery);
	assert_int_equal(a.on_repeat, b.on_repeat);
	assert_int_equal(a.repeat_interval_ms, b.repeat_interval_ms);
	assert_int_equal(a.notify_after, b.notify_after);
	assert_true(a.duration_alert == b.duration_alert);
	config_free(c);
	diags_free(&d);
}

/* A project built by hand (not by the loader) with values outside the
 * key table's bounds still yields a policy mem_decide() can use. */
static void test_policy_clamps_hostile_project(void **state)
{
	struct project pr;
	struct mem_policy pol;

	(void)state;
	memset(&pr, 0, sizeof(pr));
	pr.notify_on = STATUS_BIT(ST_FAILED);
	pr.on_repeat = (enum mem_repeat)77;
	pr.repeat_interval_s = INT64_MAX;
	pr.notify_after = -5;
	pr.duration_alert = NAN;
	route_policy(&pr, &pol);
	assert_int_equal(pol.on_repeat, MEM_REPEAT_COMPACT);
	assert_int_equal(pol.repeat_interval_ms, INT64_MAX);
	assert_int_equal(pol.notify_after, 1);
	assert_true(pol.duration_alert == 0.0);

	pr.repeat_interval_s = -1;
	pr.notify_after = 1000000;
	pr.duration_alert = INFINITY;
	route_policy(&pr, &pol);
	assert_int_equal(pol.repeat_interval_ms, 0);
	assert_int_equal(pol.notify_after, 100);
	assert_true(pol.duration_alert == 0.0);

	pr.duration_alert = -3.0;
	route_policy(&pr, &pol);
	assert_true(pol.duration_alert == 0.0);
}

/* What print writes for c, as a string the caller frees. */
__attribute__((noinline)) static char *printed(const struct config *c,
					       void (*print)(const struct config *, FILE *))
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	print(c, f);
	assert_int_equal(fclose(f), 0);
	return text;
}

/* print and check-config show the memory keys with their values. */
static void test_memory_printed(void **state)
{
	static const char *const keys[] = {
		"[memory]\nhistory_runs = 250\nforget_after = 1209600s\n",
		"\nnotify_on = FAILED,SLOW\nenvironments = (none)\n",
		"\nrecovery = false\non_repeat = silent\nrepeat_interval = 1800s\n"
		"notify_after = 2\nduration_alert = 2.5\n",
		"[default]\n",
		"\nrecovery = true\non_repeat = compact\nrepeat_interval = 14400s\n"
		"notify_after = 1\nduration_alert = 3\n",
	};
	static const char *const summary[] = {
		"memory:       history_runs 250, forget_after 14d\n",
		"notify_on FAILED,SLOW;",
		"    run memory: recovery off, on_repeat silent, repeat_interval 30m,"
		" notify_after 2, duration_alert 2.5\n",
		"    run memory: recovery on, on_repeat compact, repeat_interval 4h,"
		" notify_after 1, duration_alert 3\n",
	};
	char path[64], *text;
	struct diags d = { 0 };
	struct config *c;
	size_t i;

	(void)state;
	c = load_text("[project p]\ndestinations = s\nnotify_on = slow, failed\n"
		      "recovery = false\non_repeat = silent\nrepeat_interval = 30m\n"
		      "notify_after = 2\nduration_alert = 2.5\n"
		      "[default]\ndestinations = s\n"
		      "[memory]\nhistory_runs = 250\nforget_after = 14d\n",
		      &d, path, sizeof(path));
	dump(&d);
	assert_non_null(c);
	text = printed(c, config_print_keys);
	print_message("%s", text);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strstr(text, keys[i]) == NULL)
			fail_msg("\"%s\" is not in the listing", keys[i]);
	free(text);
	text = printed(c, config_print_summary);
	print_message("%s", text);
	for (i = 0; i < sizeof(summary) / sizeof(summary[0]); i++)
		if (strstr(text, summary[i]) == NULL)
			fail_msg("\"%s\" is not in the summary", summary[i]);
	free(text);
	config_free(c);
	diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_defaults),
		cmocka_unit_test(test_memory_values),
		cmocka_unit_test(test_memory_bad_values),
		cmocka_unit_test(test_memory_no_inherit_and_policy),
		cmocka_unit_test(test_slow_without_duration_alert_warns),
		cmocka_unit_test(test_policy_null_is_key_defaults),
		cmocka_unit_test(test_policy_clamps_hostile_project),
		cmocka_unit_test(test_memory_printed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
