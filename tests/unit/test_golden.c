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

#include "target.h"
#include "summary.h"

#include "render_fixtures.h"

#define GOLDEN_DIR "tests/golden/"

/* The failure-with-children run the README shows, with a mention. */
static void fx_failed(struct summary *s)
{
	make_summary(s, 2, 0);
	set(&s->failed[0].path, "Root" SEP "Load");
	set(&s->user, "jane.doe@example.com");
	add_child(s, "c1", "child_a", ST_FAILED);
	add_child(s, "c2", "child_b", ST_SUCCESS);
}

/* More failed steps than fit: the "+N more" line and the size caps. */
static void fx_overflow(struct summary *s)
{
	make_summary(s, 500, 1000);
	s->failed_more = 7;
	add_child(s, "c1", "child", ST_SUCCESS);
}

/* send-test banner plus both caveats, one step without a duration. */
static void fx_caveats(struct summary *s)
{
	make_summary(s, 1, 0);
	s->is_test = 1;
	s->failed[0].duration_ms = -1;
	s->incomplete = strdup("API call budget reached; 3 child pipelines not fetched");
	s->degraded = strdup("step details unavailable: 403");
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
}

struct fixture {
	const char *name;
	void (*make)(struct summary *s);
	int mention; /* render with a configured mention */
};

static const struct fixture fixtures[] = {
	{ "failed", fx_failed, 1 },
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
		out = t->render(&s, &d);
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

static void test_golden_slack(void **state)
{
	(void)state;
	check_target("slack", "<!subteam^S123> <@U999>");
}

static void test_golden_teams(void **state)
{
	(void)state;
	check_target("teams", "oncall@example.com");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_slack),
		cmocka_unit_test(test_golden_teams),
	};

	(void)check_more_counts; /* shared fixture helper this file does not need */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
