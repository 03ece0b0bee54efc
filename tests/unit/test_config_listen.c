/* Unit tests for listen = off and admin_listen: the values each takes
 * after loading (admin_listen's default follows listen), that a config
 * with nothing serving the probes or with both listeners on one socket is
 * refused with its file:line, and that poll-only mode needs no webhook
 * authentication. */
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

#define MATILLION                                         \
	"[matillion]\nclient_id = i\nclient_secret = s\n" \
	"[destination s]\ntype = slack\nurl = https://hooks.slack.com/services/T/B/X\n"
#define AUTH "auth_token = tok-AAAA-0123456789\n"

static void dump(const struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		print_message("  diag: %s\n", d->lines[i]);
}

/* Loads "[server]\n" server MATILLION from a temporary file; its path
 * is left in path for the messages. */
static struct config *load_server(const char *server, struct diags *d, char *path, size_t len)
{
	char text[4096];
	struct config *c;
	int fd;
	size_t n;

	snprintf(text, sizeof(text), "[server]\n%s%s", server, MATILLION);
	n = strlen(text);
	snprintf(path, len, "/tmp/test_config_listen_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	c = config_load(path, d);
	unlink(path);
	return c;
}

/* A config that must load: returns it (caller frees). */
static struct config *good(const char *server)
{
	char path[64];
	struct diags d = { 0 };
	struct config *c = load_server(server, &d, path, sizeof(path));

	if (c == NULL)
		dump(&d);
	assert_non_null(c);
	diags_free(&d);
	return c;
}

/* A config that must fail with exactly one error, "path:line: want". */
static void bad(const char *server, int line, const char *want)
{
	char path[64], full[512];
	struct diags d = { 0 };
	struct config *c = load_server(server, &d, path, sizeof(path));
	size_t i;
	int found = 0;

	snprintf(full, sizeof(full), "%s:%d: %s", path, line, want);
	for (i = 0; i < d.n; i++)
		found |= strcmp(d.lines[i], full) == 0;
	if (c != NULL || d.n_errors != 1 || !found) {
		print_message("want one error \"%s\"\n", full);
		dump(&d);
	}
	assert_null(c);
	assert_int_equal(d.n_errors, 1);
	assert_true(found);
	diags_free(&d);
}

static void test_listen_off_words(void **state)
{
	(void)state;
	assert_true(config_listen_off("off"));
	assert_true(config_listen_off("OFF"));
	assert_true(config_listen_off("none"));
	assert_true(config_listen_off("None"));
	assert_true(config_listen_off(NULL));
	assert_false(config_listen_off(""));
	assert_false(config_listen_off("of"));
	assert_false(config_listen_off("offline"));
	assert_false(config_listen_off("127.0.0.1:8080"));
}

/* Today's config: a webhook listener, no admin listener. */
static void test_default_has_no_admin(void **state)
{
	struct config *c = good(AUTH);

	(void)state;
	assert_string_equal(c->listen, "127.0.0.1:8080");
	assert_string_equal(c->admin_listen, "off");
	config_free(c);
}

/* listen = off (or none, any case) moves the probes to admin_listen,
 * loopback by default, and needs no webhook credentials. */
static void test_listen_off_defaults_admin(void **state)
{
	struct config *c;

	(void)state;
	c = good("listen = off\n");
	assert_string_equal(c->listen, "off");
	assert_string_equal(c->admin_listen, CONFIG_ADMIN_LISTEN_DEFAULT);
	assert_string_equal(CONFIG_ADMIN_LISTEN_DEFAULT, "127.0.0.1:9091");
	config_free(c);
	c = good("listen = NONE\nadmin_listen = 0.0.0.0:9100\n");
	assert_string_equal(c->listen, "off");
	assert_string_equal(c->admin_listen, "0.0.0.0:9100");
	config_free(c);
}

/* Both listeners at once; port 0 twice is two free ports, not a clash. */
static void test_both_listeners(void **state)
{
	struct config *c;

	(void)state;
	c = good(AUTH "listen = 0.0.0.0:8080\nadmin_listen = 127.0.0.1:9091\n");
	assert_string_equal(c->listen, "0.0.0.0:8080");
	assert_string_equal(c->admin_listen, "127.0.0.1:9091");
	config_free(c);
	c = good(AUTH "listen = 127.0.0.1:0\nadmin_listen = 127.0.0.1:0\n");
	config_free(c);
	c = good(AUTH "listen = 127.0.0.1:8080\nadmin_listen = 127.0.0.2:8080\n");
	config_free(c);
	c = good(AUTH "admin_listen = None\n");
	assert_string_equal(c->admin_listen, "off");
	config_free(c);
}

static void test_bad_listeners(void **state)
{
	(void)state;
	bad("listen = of\n" AUTH, 2,
	    "listen: expected host:port (port 0..65535, [v6]:port) or off");
	bad("listen = off\nadmin_listen = localhost\n", 3,
	    "admin_listen: expected host:port (port 0..65535, [v6]:port) or off");
	bad("listen = off\nadmin_listen = 127.0.0.1:70000\n", 3,
	    "admin_listen: expected host:port (port 0..65535, [v6]:port) or off");
	bad("listen = off\nadmin_listen = off\n", 3,
	    "listen = off and admin_listen = off: nothing would serve /healthz, /readyz and"
	    " /metrics; give admin_listen a host:port (left out, it is 127.0.0.1:9091)");
	bad("listen = none\nadmin_listen = NONE\n", 3,
	    "listen = off and admin_listen = off: nothing would serve /healthz, /readyz and"
	    " /metrics; give admin_listen a host:port (left out, it is 127.0.0.1:9091)");
	bad(AUTH "listen = 127.0.0.1:8080\nadmin_listen = 127.0.0.1:8080\n", 4,
	    "admin_listen: same address and port as listen; the admin listener needs its own"
	    " port");
	bad(AUTH "listen = 0.0.0.0:9000\nadmin_listen = 127.0.0.1:9000\n", 4,
	    "admin_listen: same address and port as listen; the admin listener needs its own"
	    " port");
	bad(AUTH "listen = [::1]:9000\nadmin_listen = [::]:9000\n", 4,
	    "admin_listen: same address and port as listen; the admin listener needs its own"
	    " port");
	/* With a webhook listener, credentials are still required. */
	bad("listen = 127.0.0.1:8080\n", 1,
	    "no webhook authentication configured; set auth_token or allow_unauthenticated = true");
}

/* check-config's summary says which listener serves what; print-keys
 * writes the values as a config would. */
static void test_printed(void **state)
{
	char text[16384];
	struct config *c = good("listen = off\n");
	FILE *f = fmemopen(text, sizeof(text), "w");

	(void)state;
	assert_non_null(f);
	config_print_summary(c, f);
	fclose(f);
	assert_non_null(strstr(text, "listen:       off (no webhook listener)\n"));
	assert_non_null(
		strstr(text, "admin:        127.0.0.1:9091 (probes, metrics; no webhooks)\n"));
	f = fmemopen(text, sizeof(text), "w");
	assert_non_null(f);
	config_print_keys(c, f);
	fclose(f);
	assert_non_null(strstr(text, "[server]\nlisten = off\nadmin_listen = 127.0.0.1:9091\n"));
	config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_off_words),
		cmocka_unit_test(test_default_has_no_admin),
		cmocka_unit_test(test_listen_off_defaults_admin),
		cmocka_unit_test(test_both_listeners),
		cmocka_unit_test(test_bad_listeners),
		cmocka_unit_test(test_printed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
