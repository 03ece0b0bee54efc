/* Unit tests for severity in [destination]: a map is kept as one level per
 * status (named statuses, * for the rest, the target's default where
 * neither says), printed back; every bad value (unknown level or status,
 * a status twice, hostile text) is refused with its file:line; on a type
 * that does not read it, it is a warning. */
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
#include "status.h"
#include "target.h"

#define BASE                                              \
	"[server]\nauth_token = tok-AAAA-0123456789\n"    \
	"[matillion]\nclient_id = i\nclient_secret = s\n" \
	"[default]\ndestinations = pd\n"                  \
	"[destination pd]\ntype = pagerduty\n"            \
	"url = https://events.pagerduty.com/v2/enqueue\n" \
	"secret = R0123456789abcdef0123456789ABCDE\n"
#define BASE_LINES 11 /* the severity line written right after BASE is line 12 */

static void dump(const struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		print_message("  diag: %s\n", d->lines[i]);
}

/* Loads BASE then tail from a temporary file whose path goes in path. */
static struct config *load_text(const char *tail, struct diags *d, char *path, size_t len)
{
	size_t n = strlen(BASE) + strlen(tail) + 1;
	char *text = malloc(n);
	struct config *c;
	int fd;

	assert_non_null(text);
	snprintf(text, n, "%s%s", BASE, tail);
	snprintf(path, len, "/tmp/test_config_severity_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n - 1), (ssize_t)(n - 1));
	close(fd);
	free(text);
	c = config_load(path, d);
	unlink(path);
	return c;
}

/* No severity: no map, so the renderer keeps its default. */
static void test_severity_absent(void **state)
{
	char path[64];
	struct diags d = { 0 };
	struct config *c = load_text("", &d, path, sizeof(path));

	(void)state;
	dump(&d);
	assert_non_null(c);
	assert_int_equal(d.n_warnings, 0);
	assert_null(c->destinations[0].severity);
	config_free(c);
	diags_free(&d);
}

/* Named statuses (any case, aliases folded) take their level, * the rest;
 * without *, an unnamed status keeps the target's default (TSEV__MAX). */
static void test_severity_kept(void **state)
{
	char path[64];
	struct diags d = { 0 };
	struct config *c = load_text("severity = failure:Critical ,CANCELLED : error, *:info\n", &d,
				     path, sizeof(path));
	const unsigned char *m;
	int st;

	(void)state;
	dump(&d);
	assert_non_null(c);
	assert_int_equal(d.n_warnings, 0);
	m = c->destinations[0].severity;
	assert_non_null(m);
	assert_int_equal(m[ST_FAILED], TSEV_CRITICAL);
	assert_int_equal(m[ST_CANCELLED], TSEV_ERROR);
	for (st = 0; st < ST__MAX; st++)
		if (st != ST_FAILED && st != ST_CANCELLED)
			assert_int_equal(m[st], TSEV_INFO);
	config_free(c);
	diags_free(&d);

	memset(&d, 0, sizeof(d));
	c = load_text("severity = forbidden:warning, unknown:error\n", &d, path, sizeof(path));
	dump(&d);
	assert_non_null(c);
	m = c->destinations[0].severity;
	assert_non_null(m);
	assert_int_equal(m[ST_FORBIDDEN], TSEV_WARNING);
	assert_int_equal(m[ST_UNKNOWN], TSEV_ERROR);
	assert_int_equal(m[ST_FAILED], TSEV__MAX);
	assert_int_equal(m[ST_CANCELLED], TSEV__MAX);
	config_free(c);
	diags_free(&d);
}

/* Every bad value is refused, on the severity line, naming the key. */
static void test_severity_refused_with_line(void **state)
{
	static const char *const bad[] = {
		"FAILED:fatal",                 /* unknown level */
		"FAILED:",                      /* no level */
		":critical",                    /* no status */
		"FAILD:critical",               /* unknown status */
		"SLOW:critical",                /* not a status */
		"FAILED",                       /* no colon */
		"FAILED:critical,",             /* empty item */
		",FAILED:critical",             /* empty item */
		"FAILED:critical, FAILED:info", /* a status twice */
		"ERROR:critical, failed:info",  /* one status by two names */
		"*:info, *:error",              /* the rest twice */
		"FAILED:critical:error",        /* two colons */
		"FAILED::critical",
		"*:",
		"FAILED:crit\x01ical",
		"FAILED:critical;CANCELLED:error",
		"\xff\xfe:\xc0\x80",
		"%s%s%n:critical",
	};
	char path[64], tail[512], want[128];
	struct diags d;
	struct config *c;
	size_t i, k;
	int found;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&d, 0, sizeof(d));
		snprintf(tail, sizeof(tail), "severity = %s\n", bad[i]);
		c = load_text(tail, &d, path, sizeof(path));
		if (c != NULL)
			fail_msg("accepted severity = %s", bad[i]);
		snprintf(want, sizeof(want), "%s:%d: severity: ", path, BASE_LINES + 1);
		for (found = 0, k = 0; k < d.n; k++)
			found |= strncmp(d.lines[k], want, strlen(want)) == 0;
		if (!found) {
			dump(&d);
			fail_msg("no \"%s...\" for %s", want, bad[i]);
		}
		diags_free(&d);
	}
}

/* The exact wording for the three kinds of mistake. */
static void test_severity_messages(void **state)
{
	static const struct {
		const char *value, *msg;
	} cases[] = {
		{ "FAILED:fatal",
		  "severity: unknown level \"fatal\"; expected critical, error, warning or info" },
		{ "FAILD:critical",
		  "severity: unknown status \"FAILD\"; expected a status name (FAILED, CANCELLED, "
		  "...) or *" },
		{ "FAILED:critical, failure:info", "severity: FAILED is given twice" },
		{ "*:info, *:error", "severity: * is given twice" },
	};
	char path[64], tail[256], want[256];
	struct diags d;
	struct config *c;
	size_t i, k;
	int found;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&d, 0, sizeof(d));
		snprintf(tail, sizeof(tail), "severity = %s\n", cases[i].value);
		c = load_text(tail, &d, path, sizeof(path));
		assert_null(c);
		snprintf(want, sizeof(want), "%s:%d: %s", path, BASE_LINES + 1, cases[i].msg);
		for (found = 0, k = 0; k < d.n; k++)
			found |= strcmp(d.lines[k], want) == 0;
		if (!found) {
			dump(&d);
			fail_msg("no \"%s\"", want);
		}
		diags_free(&d);
	}
}

/* A huge value is refused (quickly, by its first bad item), never kept. */
static void test_severity_huge(void **state)
{
	size_t n = 60000, i;
	char *tail = malloc(n + 32), path[64];
	struct diags d = { 0 };
	struct config *c;

	(void)state;
	assert_non_null(tail);
	memcpy(tail, "severity = ", 11);
	for (i = 11; i + 16 < n; i += 16)
		memcpy(tail + i, "FAILED:critical,", 16);
	memcpy(tail + i, "*:info\n", 8);
	c = load_text(tail, &d, path, sizeof(path));
	assert_null(c);
	assert_true(d.n_errors >= 1);
	free(tail);
	diags_free(&d);
}

/* Only a type that reads the map takes it; elsewhere it is a warning on
 * its line, and the config still loads. */
static void test_severity_other_type_warns(void **state)
{
	char path[64], want[256];
	struct diags d = { 0 };
	struct config *c = load_text("[destination s]\ntype = slack\n"
				     "url = https://hooks.slack.com/services/T/B/X\n"
				     "severity = FAILED:error\n",
				     &d, path, sizeof(path));
	size_t k;
	int found = 0;

	(void)state;
	dump(&d);
	assert_non_null(c);
	assert_int_equal(d.n_errors, 0);
	snprintf(want, sizeof(want),
		 "%s:%d: warning: [destination s] severity is not used by type = slack"
		 " (only pagerduty uses severity)",
		 path, BASE_LINES + 4);
	for (k = 0; k < d.n; k++)
		found |= strcmp(d.lines[k], want) == 0;
	if (!found)
		fail_msg("no \"%s\"", want);
	config_free(c);
	diags_free(&d);
}

/* check-config prints the map back as it would be written. */
static void test_severity_printed(void **state)
{
	char path[64], *buf = NULL;
	size_t len = 0;
	struct diags d = { 0 };
	struct config *c =
		load_text("severity = failed:error, queued:warning\n", &d, path, sizeof(path));
	FILE *f;

	(void)state;
	assert_non_null(c);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	config_print_keys(c, f);
	fclose(f);
	assert_non_null(strstr(buf, "severity = FAILED:error, QUEUED:warning\n"));
	free(buf);
	config_free(c);
	diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_severity_absent),
		cmocka_unit_test(test_severity_kept),
		cmocka_unit_test(test_severity_refused_with_line),
		cmocka_unit_test(test_severity_messages),
		cmocka_unit_test(test_severity_huge),
		cmocka_unit_test(test_severity_other_type_warns),
		cmocka_unit_test(test_severity_printed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
