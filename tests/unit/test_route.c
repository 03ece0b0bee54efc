/* Unit tests for src/config/route.c: project lookup with the [default] fallback,
 * notify_on masks, environment globs and glob edge cases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "route.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),      cmocka_unit_test(test_project_name),
		cmocka_unit_test(test_notify_on), cmocka_unit_test(test_environments),
		cmocka_unit_test(test_glob),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
