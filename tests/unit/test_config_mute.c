/* Unit tests for mute_windows in [project] and [default]: good values
 * are kept as parsed windows (and printed back), every bad one is refused
 * with its file:line, and a [project] does not inherit [default]'s. */
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
#include "route.h"
#include "silence.h"

#define BASE                                              \
	"[server]\nauth_token = tok-AAAA-0123456789\n"    \
	"[matillion]\nclient_id = i\nclient_secret = s\n" \
	"[destination s]\ntype = slack\nurl = https://hooks.slack.com/services/T/B/X\n"
#define BASE_LINES 8
#define SUN 1795910400000LL /* 2026-11-29 00:00 UTC, a Sunday */
#define HOUR 3600000LL

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
	snprintf(path, len, "/tmp/test_config_mute_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	c = config_load(path, d);
	unlink(path);
	return c;
}

static void test_mute_windows_kept(void **state)
{
	char path[64];
	struct diags d = { 0 };
	struct config *c = load_text("[default]\ndestinations = s\n"
				     "mute_windows = Sun 01:00-03:00, daily 02:00-02:15\n"
				     "[project p1]\ndestinations = s\n",
				     &d, path, sizeof(path));
	const struct project *def, *p1;

	(void)state;
	dump(&d);
	assert_non_null(c);
	def = route_find(c, "other");
	p1 = route_find(c, "p1");
	assert_int_equal(def->n_mute_windows, 2);
	assert_int_equal(mute_windows_active(def->mute_windows, def->n_mute_windows, SUN + HOUR),
			 1);
	assert_int_equal(
		mute_windows_active(def->mute_windows, def->n_mute_windows, SUN + 3 * HOUR), 0);
	/* No inheritance: p1 has none. */
	assert_int_equal(p1->n_mute_windows, 0);
	assert_null(p1->mute_windows);
	config_free(c);
	diags_free(&d);
}

static void test_mute_windows_refused_with_line(void **state)
{
	static const char *const bad[] = {
		"Sun 25:00-26:00",    "Sun 01:00-01:00", "Sunday 01:00-02:00",
		"daily 01:00-02:00,", "Mon-Fri 12:00",   "weekly 01:00-02:00",
	};
	char path[64], tail[512], want[128];
	struct diags d;
	struct config *c;
	size_t i, k;
	int found;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&d, 0, sizeof(d));
		snprintf(tail, sizeof(tail), "[default]\ndestinations = s\nmute_windows = %s\n",
			 bad[i]);
		c = load_text(tail, &d, path, sizeof(path));
		if (c != NULL)
			fail_msg("accepted mute_windows = %s", bad[i]);
		snprintf(want, sizeof(want), "%s:%d: mute_windows: ", path, BASE_LINES + 3);
		for (found = 0, k = 0; k < d.n; k++)
			found |= strncmp(d.lines[k], want, strlen(want)) == 0;
		if (!found) {
			dump(&d);
			fail_msg("no \"%s...\" for %s", want, bad[i]);
		}
		diags_free(&d);
	}
}

static void test_mute_windows_printed(void **state)
{
	char path[64], *buf = NULL;
	size_t len = 0;
	struct diags d = { 0 };
	struct config *c = load_text("[default]\ndestinations = s\n"
				     "mute_windows = sat 23:00-01:00 ,mon-fri 12:00-12:30\n",
				     &d, path, sizeof(path));
	FILE *f;

	(void)state;
	assert_non_null(c);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	config_print_keys(c, f);
	fclose(f);
	assert_non_null(strstr(buf, "mute_windows = Sat 23:00-01:00, Mon-Fri 12:00-12:30\n"));
	free(buf);
	config_free(c);
	diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mute_windows_kept),
		cmocka_unit_test(test_mute_windows_refused_with_line),
		cmocka_unit_test(test_mute_windows_printed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
