/* Unit tests for src/config/route.c: project lookup with the [default] fallback,
 * notify_on masks (SLOW never routes a status), environment globs and glob
 * edge cases, the choice of a mention per pipeline and target, and the
 * run-memory policy of a route. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "route.h"
#include "target.h"

static char *envs_prod[] = { "prod*", "staging" };
static char *dests[] = { "s" };

static struct project projects[] = {
	{ .id = "p1",
	  .name = "Finance DWH",
	  .destinations = dests,
	  .n_destinations = 1,
	  .notify_on = STATUS_BIT(ST_FAILED) | STATUS_BIT(ST_CANCELLED),
	  .environments = envs_prod,
	  .n_environments = 2 },
	{ .id = "p10",
	  .destinations = dests,
	  .n_destinations = 1,
	  .notify_on = STATUS_BIT(ST_SUCCESS) },
};

static struct project fallback = {
	.id = "",
	.destinations = dests,
	.n_destinations = 1,
	.notify_on = STATUS_BIT(ST_FAILED),
};

static void test_find(void **state)
{
	struct config c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.projects = projects;
	c.n_projects = 2;
	assert_ptr_equal(route_find(&c, "p1"), &projects[0]);
	assert_ptr_equal(route_find(&c, "p10"), &projects[1]);
	/* exact match only: no prefix or case folding */
	assert_null(route_find(&c, "p"));
	assert_null(route_find(&c, "P1"));
	assert_null(route_find(&c, "p1 "));
	assert_null(route_find(&c, NULL));
	assert_null(route_find(NULL, "p1"));
	c.default_route = &fallback;
	assert_ptr_equal(route_find(&c, "other"), &fallback);
	assert_ptr_equal(route_find(&c, ""), &fallback);
	assert_ptr_equal(route_find(&c, NULL), &fallback);
	assert_ptr_equal(route_find(&c, "p1"), &projects[0]);
}

static void test_project_name(void **state)
{
	struct config c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.projects = projects;
	c.n_projects = 2;
	c.default_route = &fallback;
	assert_string_equal(route_project_name(&c, "p1"), "Finance DWH");
	assert_null(route_project_name(&c, "p10"));   /* no name configured */
	assert_null(route_project_name(&c, "other")); /* [default] has none */
}

static void test_notify_on(void **state)
{
	const struct project *p = &projects[0];
	int st;

	(void)state;
	for (st = 1; st < ST__MAX; st++)
		assert_int_equal(route_match(p, (enum run_status)st, "prod"),
				 st == ST_FAILED || st == ST_CANCELLED);
	/* status not known yet: the run may still deserve a message */
	assert_int_equal(route_match(p, ST_UNKNOWN, "prod"), 1);
	assert_int_equal(route_match(&projects[1], ST_SUCCESS, NULL), 1);
	assert_int_equal(route_match(&projects[1], ST_FAILED, NULL), 0);
	assert_int_equal(route_match(NULL, ST_FAILED, "prod"), 0);
}

/* SLOW is not a status: with it in notify_on, route_match() still answers
 * by the status bits alone, for every status and for values outside the
 * enum (a status cast from a peer's number must never hit bit 30). */
static void test_slow_never_routes(void **state)
{
	static const int outside[] = { ST__MAX, 29, 30, 31, 32, 63, 64, 1000, -1, -30 };
	struct project slow_only = { .id = "s", .notify_on = MEM_NOTIFY_SLOW };
	struct project slow_failed = { .id = "f",
				       .notify_on = MEM_NOTIFY_SLOW | STATUS_BIT(ST_FAILED) };
	size_t i;
	int st;

	(void)state;
	for (st = 1; st < ST__MAX; st++) {
		if (route_match(&slow_only, (enum run_status)st, "prod") != 0)
			fail_msg("notify_on = SLOW routes status %s", status_names[st]);
		assert_int_equal(route_match(&slow_failed, (enum run_status)st, NULL),
				 st == ST_FAILED);
	}
	for (i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		if (route_match(&slow_only, (enum run_status)outside[i], NULL) != 0 ||
		    route_match(&slow_failed, (enum run_status)outside[i], NULL) != 0)
			fail_msg("status value %d outside the enum routes", outside[i]);
		assert_int_equal(route_match(&projects[0], (enum run_status)outside[i], "prod"), 0);
	}
}

/* route_policy() copies a route's run-memory keys; NULL gives the key
 * table's defaults. */
static void test_policy(void **state)
{
	struct project p = { .id = "p",
			     .notify_on = STATUS_BIT(ST_FAILED) | MEM_NOTIFY_SLOW,
			     .recovery = 0,
			     .on_repeat = MEM_REPEAT_FULL,
			     .repeat_interval_s = 600,
			     .notify_after = 4,
			     .duration_alert = 1.5 };
	struct mem_policy pol;

	(void)state;
	memset(&pol, 0xff, sizeof(pol));
	route_policy(&p, &pol);
	assert_int_equal(pol.notify_on, STATUS_BIT(ST_FAILED) | MEM_NOTIFY_SLOW);
	assert_int_equal(pol.recovery, 0);
	assert_int_equal(pol.on_repeat, MEM_REPEAT_FULL);
	assert_int_equal(pol.repeat_interval_ms, 600000);
	assert_int_equal(pol.notify_after, 4);
	assert_true(pol.duration_alert == 1.5);

	memset(&pol, 0xff, sizeof(pol));
	route_policy(NULL, &pol);
	assert_int_equal(pol.notify_on, STATUS_BIT(ST_FAILED));
	assert_int_equal(pol.recovery, 1);
	assert_int_equal(pol.on_repeat, MEM_REPEAT_COMPACT);
	assert_int_equal(pol.repeat_interval_ms, 4 * 3600 * 1000);
	assert_int_equal(pol.notify_after, 1);
	assert_true(pol.duration_alert == 3.0);
}

static void test_environments(void **state)
{
	const struct project *p = &projects[0];

	(void)state;
	assert_int_equal(route_match(p, ST_FAILED, "prod"), 1);
	assert_int_equal(route_match(p, ST_FAILED, "prod-eu"), 1);
	assert_int_equal(route_match(p, ST_FAILED, "staging"), 1);
	assert_int_equal(route_match(p, ST_FAILED, "staging2"), 0);
	assert_int_equal(route_match(p, ST_FAILED, "dev"), 0);
	assert_int_equal(route_match(p, ST_FAILED, "Prod"), 0);
	/* unknown environment matches */
	assert_int_equal(route_match(p, ST_FAILED, NULL), 1);
	assert_int_equal(route_match(p, ST_FAILED, ""), 1);
	/* no list: every environment */
	assert_int_equal(route_match(&fallback, ST_FAILED, "anything"), 1);
	/* status filter applies before the environment one */
	assert_int_equal(route_match(p, ST_SUCCESS, "prod"), 0);
}

static void test_glob(void **state)
{
	static const struct {
		const char *pat, *s;
		int want;
	} cases[] = {
		{ "", "", 1 },
		{ "", "a", 0 },
		{ "*", "", 1 },
		{ "*", "abc", 1 },
		{ "?", "", 0 },
		{ "?", "a", 1 },
		{ "??", "a", 0 },
		{ "a?c", "abc", 1 },
		{ "a?c", "ac", 0 },
		{ "a*", "a", 1 },
		{ "*a", "ba", 1 },
		{ "*a", "ab", 0 },
		{ "a*b*c", "aXbYc", 1 },
		{ "a*b*c", "aXbY", 0 },
		{ "**", "x", 1 },
		{ "*?*", "", 0 },
		{ "*?*", "z", 1 },
		{ "abc", "abcd", 0 },
		{ "abc", "ab", 0 },
		{ "*.prod", "eu.prod", 1 },
		{ "*.prod", "eu.prods", 0 },
		{ "a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0 },
		{ "a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 1 },
		{ "*x*y*", "x-y", 1 },
		{ "*x*y*", "y-x", 0 },
	};
	static char big[20001];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (route_glob(cases[i].pat, cases[i].s) != cases[i].want)
			print_message("glob(\"%s\", \"%s\") != %d\n", cases[i].pat, cases[i].s,
				      cases[i].want);
		assert_int_equal(route_glob(cases[i].pat, cases[i].s), cases[i].want);
	}
	assert_int_equal(route_glob(NULL, "a"), 0);
	assert_int_equal(route_glob("a", NULL), 0);
	/* a long subject with a backtracking pattern stays linear per star */
	memset(big, 'a', sizeof(big) - 1);
	assert_int_equal(route_glob("*a*a*a*a*a*a*a*a*a*b", big), 0);
	assert_int_equal(route_glob("*a*a*a*a*a*a*a*a*a*", big), 1);
}

/* A project whose mentions mix both kinds; see test_mention_choice. */
static struct mention_rule rules[] = {
	{ "stage_*", "<!subteam^S1>", MENTION_SLACK },
	{ "load_dwh", "<@U2>", MENTION_SLACK },
	{ "load_dwh", "dwh-owner@example.com", MENTION_UPN },
	{ "Finance/*", "fin@example.com", MENTION_UPN },
	{ "*", "<!here>", MENTION_SLACK },
};

static struct project mentioned = {
	.id = "pm",
	.destinations = dests,
	.n_destinations = 1,
	.notify_on = STATUS_BIT(ST_FAILED),
	.mentions = rules,
	.n_mentions = sizeof(rules) / sizeof(rules[0]),
};

static void test_mention_kind_by_target(void **state)
{
	static const struct target other = { .name = "text" };

	(void)state;
	assert_int_equal(route_target_mention_kind(target_find("slack")), MENTION_SLACK);
	assert_int_equal(route_target_mention_kind(target_find("teams")), MENTION_UPN);
	assert_int_equal(route_target_mention_kind(&other), MENTION_NONE);
	assert_int_equal(route_target_mention_kind(NULL), MENTION_NONE);
}

static void test_pipeline_match(void **state)
{
	static const struct {
		const char *glob, *name;
		int want;
	} cases[] = {
		{ "load_dwh", "load_dwh", 1 },
		{ "load_dwh", "Finance/load_dwh", 1 },    /* no '/': last segment */
		{ "load_dwh", "Finance/load_dwh/x", 0 },  /* last segment is x */
		{ "stage_*", "Finance/stage_orders", 1 }, /* '*' within the segment */
		{ "F*h", "Finance/load_dwh", 0 },         /* no '/': not the whole name */
		{ "Finance/*", "Finance/load_dwh", 1 },   /* a '/': the whole name */
		{ "Finance/*", "Finance/sub/load", 1 },   /* '*' crosses '/' (no FNM_PATHNAME) */
		{ "Finance/*", "load_dwh", 0 },
		{ "*/load_dwh", "load_dwh", 0 },
		{ "load_[dw]wh", "load_dwh", 1 }, /* fnmatch classes */
		{ "load\\*", "load*", 1 },        /* and escapes */
		{ "load\\*", "loadX", 0 },
		{ "*", "", 1 },
		{ "?", "", 0 },
		{ "Load_dwh", "load_dwh", 0 }, /* case matters */
		{ "load_dwh", "load_dwh ", 0 },
		{ "*", "Finance/", 1 },
		{ "x", "Finance/", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (route_pipeline_match(cases[i].glob, cases[i].name) != cases[i].want)
			print_message("match(\"%s\", \"%s\") != %d\n", cases[i].glob, cases[i].name,
				      cases[i].want);
		assert_int_equal(route_pipeline_match(cases[i].glob, cases[i].name), cases[i].want);
	}
	assert_int_equal(route_pipeline_match(NULL, "a"), 0);
	assert_int_equal(route_pipeline_match("a", NULL), 0);
}

static void test_mention_choice(void **state)
{
	struct destination slack = { .name = "s",
				     .target = target_find("slack"),
				     .mention = "<!channel>" };
	struct destination teams = { .name = "t",
				     .target = target_find("teams"),
				     .mention = "oncall@example.com" };
	struct destination bare = { .name = "b", .target = target_find("slack") };

	(void)state;
	/* first match wins, per kind */
	assert_string_equal(route_mention(&mentioned, &slack, "stage_orders"), "<!subteam^S1>");
	assert_string_equal(route_mention(&mentioned, &slack, "Finance/load_dwh"), "<@U2>");
	/* a pair of the wrong kind is skipped, not taken and not a stop */
	assert_string_equal(route_mention(&mentioned, &teams, "Finance/load_dwh"),
			    "dwh-owner@example.com");
	assert_string_equal(route_mention(&mentioned, &teams, "Finance/other"), "fin@example.com");
	/* the catch-all is Slack only: Teams falls back to the destination's */
	assert_string_equal(route_mention(&mentioned, &slack, "Finance/other"), "<!here>");
	assert_string_equal(route_mention(&mentioned, &teams, "stage_orders"),
			    "oncall@example.com");
	/* unknown pipeline name: only a glob that matches "" applies */
	assert_string_equal(route_mention(&mentioned, &slack, ""), "<!here>");
	assert_string_equal(route_mention(&mentioned, &teams, NULL), "oncall@example.com");
	/* no pairs, or no project: the destination's own, which may be none */
	assert_string_equal(route_mention(&projects[0], &slack, "stage_orders"), "<!channel>");
	assert_string_equal(route_mention(NULL, &teams, "stage_orders"), "oncall@example.com");
	assert_null(route_mention(&projects[0], &bare, "stage_orders"));
	assert_string_equal(route_mention(&mentioned, &bare, "stage_x"), "<!subteam^S1>");
	assert_null(route_mention(&mentioned, NULL, "stage_x"));
}

static void test_mention_no_match(void **state)
{
	static struct mention_rule only[] = { { "stage_*", "<@U9>", MENTION_SLACK } };
	struct project p = { .id = "x", .mentions = only, .n_mentions = 1 };
	struct destination slack = { .name = "s", .target = target_find("slack") };
	struct destination other = { .name = "o", .target = NULL, .mention = "<@U1>" };

	(void)state;
	assert_null(route_mention(&p, &slack, "load_dwh"));
	assert_string_equal(route_mention(&p, &slack, "stage_a"), "<@U9>");
	/* a target with no mention kind takes no pair, only its own mention */
	assert_string_equal(route_mention(&p, &other, "stage_a"), "<@U1>");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_project_name),
		cmocka_unit_test(test_notify_on),
		cmocka_unit_test(test_slow_never_routes),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_environments),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_mention_kind_by_target),
		cmocka_unit_test(test_pipeline_match),
		cmocka_unit_test(test_mention_choice),
		cmocka_unit_test(test_mention_no_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
