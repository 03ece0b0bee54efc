/* Unit tests for [route NAME] sections: loading (keys, inheritance from
 * [project ID] then [default], the precedence order), every diagnostic with
 * its file:line (unknown destination, bad pipeline glob, duplicate names),
 * the choice of a route for a run (known and unknown environment or
 * pipeline), what intake stores, and the routing table of check-config. */
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
#include "errors.h"
#include "memory.h"
#include "route.h"
#include "status.h"

/* Everything a config needs besides the routes; 14 lines. */
#define BASE                                                                                  \
	"[server]\nauth_token = tok-route-0123456789\n"                                       \
	"[matillion]\nclient_id = i\nclient_secret = s\n"                                     \
	"[destination ops]\ntype = slack\nurl = https://hooks.slack.com/services/T/B/X\n"     \
	"[destination sandbox]\ntype = slack\nurl = https://hooks.slack.com/services/T/B/Y\n" \
	"[destination pager]\ntype = slack\nurl = https://hooks.slack.com/services/T/B/Z\n"
#define BASE_LINES 14

/* The routes most tests use; line numbers in the comments. */
static const char routes[] = "[project P1]\n"           /* 15 */
			     "name = Finance\n"         /* 16 */
			     "destinations = ops\n"     /* 17 */
			     "on_repeat = silent\n"     /* 18 */
			     "[default]\n"              /* 19 */
			     "destinations = sandbox\n" /* 20 */
			     "notify_after = 3\n"       /* 21 */
			     "[route dev]\n"            /* 22 */
			     "project = P1\n"
			     "environments = dev*\n"
			     "destinations = sandbox\n"
			     "[route prod]\n" /* 26 */
			     "project = P1\n"
			     "environments = prod*\n"
			     "destinations = ops, pager\n"
			     "notify_on = FAILED, CANCELLED\n"
			     "[route loads]\n" /* 31 */
			     "project = P1\n"
			     "pipelines = load_*\n"
			     "destinations = pager\n"
			     "[route all-prod]\n" /* 35 */
			     "environments = prod*\n"
			     "destinations = ops\n"
			     "[route prod-too]\n" /* 38 */
			     "project = P1\n"
			     "environments = prod*\n"
			     "destinations = sandbox\n"
			     "[route quiet]\n" /* 42 */
			     "project = P1\n"
			     "pipelines = tmp_*\n"
			     "environments = prod*\n"
			     "notify_on = SUCCESS\n";

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
	print_message("  missing: %s\n", want);
	return 0;
}

/* Loads BASE followed by tail from a temporary file; its path goes to path. */
static struct config *load_text(const char *tail, struct diags *d, char *path, size_t len)
{
	char text[8192];
	struct config *c;
	int fd;
	size_t n;

	snprintf(text, sizeof(text), "%s%s", BASE, tail);
	n = strlen(text);
	snprintf(path, len, "/tmp/test_config_route_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	c = config_load(path, d);
	unlink(path);
	return c;
}

static const struct project *named(const struct config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_routes; i++)
		if (strcmp(c->routes[i].id, name) == 0)
			return &c->routes[i];
	fail_msg("no route %s", name);
	return NULL;
}

/* Precedence: project named, then pipelines listed, then environments
 * listed; among equals, file order. */
static void test_order(void **state)
{
	static const char *const want[] = {
		"quiet", "loads", "dev", "prod", "prod-too", "all-prod"
	};
	char path[64];
	struct diags d = { 0 };
	struct config *c = load_text(routes, &d, path, sizeof(path));
	size_t i;

	(void)state;
	dump(&d);
	assert_non_null(c);
	assert_int_equal(d.n_errors, 0);
	assert_int_equal(c->n_routes, 6);
	for (i = 0; i < c->n_routes; i++)
		assert_string_equal(c->routes[i].id, want[i]);
	assert_int_equal(named(c, "prod")->line, 26);
	assert_string_equal(named(c, "prod")->project, "P1");
	assert_null(named(c, "all-prod")->project);
	assert_int_equal(named(c, "loads")->n_pipelines, 1);
	assert_string_equal(named(c, "loads")->pipelines[0], "load_*");
	config_free(c);
	diags_free(&d);
}

/* Keys a route does not set come from its project's section, else from
 * [default]; each route keeps its own matching lists. */
static void test_inheritance(void **state)
{
	char path[64];
	struct diags d = { 0 };
	struct config *c = load_text(routes, &d, path, sizeof(path));
	const struct project *r;

	(void)state;
	dump(&d);
	assert_non_null(c);
	r = named(c, "dev"); /* from [project P1]: on_repeat, and not [default]'s notify_after */
	assert_int_equal(r->on_repeat, MEM_REPEAT_SILENT);
	assert_int_equal(r->notify_after, 1);
	assert_int_equal(r->notify_on, STATUS_BIT(ST_FAILED));
	assert_int_equal(r->n_destinations, 1);
	assert_string_equal(r->destinations[0], "sandbox");
	r = named(c, "all-prod"); /* no project: from [default] */
	assert_int_equal(r->notify_after, 3);
	assert_int_equal(r->on_repeat, MEM_REPEAT_COMPACT);
	r = named(c, "quiet"); /* destinations from [project P1] */
	assert_int_equal(r->n_destinations, 1);
	assert_string_equal(r->destinations[0], "ops");
	assert_int_equal(r->notify_on, STATUS_BIT(ST_SUCCESS));
	assert_int_equal(r->n_environments, 1);
	r = named(c, "prod");
	assert_int_equal(r->notify_on, STATUS_BIT(ST_FAILED) | STATUS_BIT(ST_CANCELLED));
	config_free(c);
	diags_free(&d);
}

static void expect_route(const struct config *c, const char *project, const char *env,
			 const char *pipeline, const char *want, int want_open)
{
	int open = -1;
	const struct project *r = route_select(c, project, env, pipeline, &open);

	if (r == NULL || strcmp(r->id, want) != 0 || open != want_open)
		fail_msg("(%s, %s, %s): got %s open %d, want %s open %d", project,
			 env ? env : "NULL", pipeline ? pipeline : "NULL", r ? r->id : "NULL", open,
			 want, want_open);
}

static void test_select(void **state)
{
	char path[64];
	struct diags d = { 0 };
	struct config *c = load_text(routes, &d, path, sizeof(path));
	const struct project *out[16];

	(void)state;
	assert_non_null(c);
	expect_route(c, "P1", "prod-eu", "etl", "prod", 0);
	expect_route(c, "P1", "dev1", "etl", "dev", 0);
	expect_route(c, "P1", "prod", "Finance/load_dwh", "loads", 0);
	expect_route(c, "P1", "prod", "tmp_x", "quiet", 0);
	expect_route(c, "P1", "qa", "tmp_x", "P1", 0);       /* no route: [project P1] */
	expect_route(c, "P2", "prod", "etl", "all-prod", 0); /* a route for every project */
	expect_route(c, "P2", "qa", "etl", "", 0);           /* [default] */
	expect_route(c, "P1", "Prod", "etl", "P1", 0);       /* globs are case-sensitive */
	/* Environment unknown: every environment route stays open. */
	expect_route(c, "P1", "", "etl", "dev", 1);
	assert_int_equal(route_candidates(c, "P1", NULL, "etl", out, 16), 5);
	assert_string_equal(out[3]->id, "all-prod");
	assert_string_equal(out[4]->id, "P1");
	/* Pipeline unknown too: the pipeline routes as well. */
	assert_int_equal(route_candidates(c, "P1", NULL, NULL, out, 16), 7);
	assert_string_equal(out[0]->id, "quiet");
	/* A route that surely matches ends the list. */
	assert_int_equal(route_candidates(c, "P1", "prod", NULL, out, 16), 3);
	assert_string_equal(out[2]->id, "prod");
	/* max bounds the writes, never the count */
	assert_int_equal(route_candidates(c, "P1", NULL, NULL, out, 2), 7);
	assert_int_equal(route_candidates(c, "P1", NULL, NULL, NULL, 0), 7);
	config_free(c);
	diags_free(&d);
}

/* Without [default] a project without section and no matching route has
 * no route at all. */
static void test_no_fallback(void **state)
{
	char path[64];
	struct diags d = { 0 };
	struct config *c = load_text("[route prod]\nproject = P1\nenvironments = prod*\n"
				     "destinations = ops\n",
				     &d, path, sizeof(path));
	int open = -1;

	(void)state;
	dump(&d);
	assert_non_null(c);
	assert_null(route_select(c, "P1", "dev", "x", &open));
	assert_null(route_select(c, "P2", "prod", "x", &open));
	assert_string_equal(route_select(c, "P1", NULL, "x", &open)->id, "prod");
	assert_int_equal(open, 1); /* it may still match no route at all */
	assert_int_equal(route_candidates(c, "P1", "", "x", NULL, 0), 1);
	config_free(c);
	diags_free(&d);
}

static void expect_intake(const struct config *c, const char *env, enum run_status st,
			  const char *want, int want_notify)
{
	char **dests = NULL, got[256] = "";
	size_t n = 99, i, used = 0;
	int notify = -1;

	assert_int_equal(route_intake(c, "P1", env, "etl", st, &dests, &n, &notify), 0);
	for (i = 0; i < n; i++)
		used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%s", i ? "," : "",
					 dests[i]);
	free(dests);
	if (strcmp(got, want) != 0 || notify != want_notify)
		fail_msg("env %s status %d: got [%s] notify %d, want [%s] notify %d",
			 env ? env : "NULL", st, got, notify, want, want_notify);
}

/* Intake stores one delivery per destination of every route still open. */
static void test_intake(void **state)
{
	char path[64];
	struct diags d = { 0 };
	struct config *c = load_text(routes, &d, path, sizeof(path));

	(void)state;
	assert_non_null(c);
	expect_intake(c, "prod", ST_FAILED, "ops,pager", 1);
	expect_intake(c, "prod", ST_CANCELLED, "ops,pager", 1);
	expect_intake(c, "prod", ST_SUCCESS, "ops,pager", 0);
	expect_intake(c, "dev", ST_FAILED, "sandbox", 1);
	expect_intake(c, "qa", ST_FAILED, "ops", 1);
	expect_intake(c, NULL, ST_FAILED, "sandbox,ops,pager", 1);
	expect_intake(c, "", ST_UNKNOWN, "sandbox,ops,pager", 1);
	config_free(c);
	diags_free(&d);
}

/* Each mistake is reported at its own line. */
static void test_errors(void **state)
{
	char path[64], want[256];
	struct diags d = { 0 };
	struct config *c = load_text("[route r1]\n"                /* 15 */
				     "project = P1\n"              /* 16 */
				     "destinations = ops, nope\n"  /* 17 */
				     "pipelines = load_[dwh, ok\n" /* 18 */
				     "[route r1]\n"                /* 19 */
				     "destinations = ops\n"        /* 20: skipped */
				     "[route]\n"                   /* 21 */
				     "[route r2]\n"                /* 22 */
				     "name = x\n"                  /* 23 */
				     "project = P9\n"              /* 24 */
				     "pipelines = a\\\n"           /* 25 */
				     "[route r3]\n"                /* 26 */
				     "project =\n"                 /* 27 */
				     "destinations = ops\n",
				     &d, path, sizeof(path));

	(void)state;
	dump(&d);
	assert_null(c);
#define EXPECT(line, msg)                                                   \
	do {                                                                \
		snprintf(want, sizeof(want), "%s:%d: %s", path, line, msg); \
		assert_true(has_line(&d, want));                            \
	} while (0)
	EXPECT(17, "route r1: unknown destination \"nope\" (defined: ops, sandbox, pager)");
	EXPECT(18, "route r1: pipelines: \"load_[dwh\" has an unclosed '['");
	EXPECT(19, "duplicate section [route r1] (first at line 15)");
	EXPECT(21, "section [route] needs a name");
	EXPECT(23, "unknown key \"name\" in [route]; it belongs in [project]");
	EXPECT(25, "route r2: pipelines: \"a\\\" ends in a lone backslash");
	EXPECT(22, "route r2: destinations is required");
#undef EXPECT
	diags_free(&d);
}

/* The routes do not change what a config without them does. */
static void test_no_routes(void **state)
{
	char path[64];
	struct diags d = { 0 };
	struct config *c = load_text("[project P1]\ndestinations = ops\nenvironments = prod\n", &d,
				     path, sizeof(path));
	int open = -1;

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->n_routes, 0);
	assert_ptr_equal(route_select(c, "P1", "dev", "x", &open), &c->projects[0]);
	assert_int_equal(open, 0);
	assert_null(route_select(c, "P2", "prod", "x", &open));
	config_free(c);
	diags_free(&d);
}

/* check-config's routing table: every route in precedence order, then
 * the fallbacks, one row each. */
static void test_table(void **state)
{
	static const char *const rows[] = {
		"routing:      a run takes the first row that matches its project, environment and pipeline\n",
		"  #  route      project  environments  pipelines  destinations  notify_on         triggers  mentions\n",
		"  1  quiet      P1       prod*         tmp_*      ops           SUCCESS           (all)     (none)\n",
		"  2  loads      P1       (all)         load_*     pager         FAILED            (all)     (none)\n",
		"  4  prod       P1       prod*         (all)      ops,pager     FAILED,CANCELLED  (all)     (none)\n",
		"  6  all-prod   (any)    prod*         (all)      ops           FAILED            (all)     (none)\n",
		"  7  [project]  P1       (all)         (all)      ops           FAILED            (all)     (none)\n",
		"  8  [default]  (other)  (all)         (all)      sandbox       FAILED            (all)     (none)\n",
	};
	char path[64], text[16384];
	struct diags d = { 0 };
	struct config *c = load_text(routes, &d, path, sizeof(path));
	FILE *f = fmemopen(text, sizeof(text), "w");
	size_t i;

	(void)state;
	assert_non_null(c);
	assert_non_null(f);
	config_print_summary(c, f);
	fclose(f);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (strstr(text, rows[i]) == NULL)
			fail_msg("no row\n%s\nin\n%s", rows[i], text);
	/* print-keys: a route's own keys, then its values in effect, the
	 * inherited ones included. */
	f = fmemopen(text, sizeof(text), "w");
	assert_non_null(f);
	config_print_keys(c, f);
	fclose(f);
	assert_non_null(strstr(text, "[route dev]\nproject = P1\npipelines = (none)\n"
				     "destinations = sandbox\nnotify_on = FAILED\n"
				     "environments = dev*\n"));
	assert_non_null(strstr(strstr(text, "[route dev]"), "on_repeat = silent\n"));
	assert_null(strstr(strstr(text, "[route dev]"), "\nname = "));
	config_free(c);
	diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),     cmocka_unit_test(test_inheritance),
		cmocka_unit_test(test_select),    cmocka_unit_test(test_no_fallback),
		cmocka_unit_test(test_intake),    cmocka_unit_test(test_errors),
		cmocka_unit_test(test_no_routes), cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
