/* libFuzzer target for config_load(): the input is written to a private
 * temp file and loaded. A config comes back exactly when no error was
 * reported; a valid one is internally consistent; and a secret read with
 * KEY_file (a canary in a file only secret keys can read) never appears in
 * a diagnostic, the check-config summary or a redacted URL. */
#define _GNU_SOURCE /* memmem, open_memstream */
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_util.h"
#include "target.h"

/* Fixed paths so seeds can name them; the content is always the same. */
#define SECRET_FILE "/tmp/dpc-fuzz-secret-url"
#define CANARY "CANARYFILESECRET"
#define SECRET_URL "https://hooks.slack.com/services/T0000/B0000/xxxxxxxxxxxxxxxx" CANARY

/* The config file: created with mkstemp (mode 0600, so no permission
 * warning), unlinked at once and reached through /proc so nothing is left
 * behind even when the fuzzer aborts. */
static char cfg_path[64];
static int cfg_fd = -1;

static void write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w <= 0)
			abort();
		c += w;
		n -= (size_t)w;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	(void)argc;
	(void)argv;
	snprintf(cfg_path, sizeof(cfg_path), "/tmp/dpc-fuzz-config-XXXXXX");
	cfg_fd = mkstemp(cfg_path);
	if (cfg_fd < 0 || unlink(cfg_path) != 0)
		abort();
	snprintf(cfg_path, sizeof(cfg_path), "/proc/self/fd/%d", cfg_fd);
	fd = open(SECRET_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
	if (fd < 0)
		abort();
	write_all(fd, SECRET_URL "\n", strlen(SECRET_URL) + 1);
	close(fd);
	/* Environment the seeds refer to. None of it is secret to the check. */
	setenv("DPC_NOTIFY_AUTH_TOKEN", "tok-A1b2C3d4E5f6,rotated-token-2", 1);
	setenv("DPC_NOTIFY_HMAC_SECRET", "whsec_c3RhbmRhcmQtd2ViaG9va3Mtc2VjcmV0LTMyYnl0ZXM=", 1);
	setenv("DPC_NOTIFY_CLIENT_ID", "client-id-123", 1);
	setenv("DPC_NOTIFY_CLIENT_SECRET", "client-secret-456", 1);
	setenv("DPC_NOTIFY_SLACK_URL", "https://hooks.slack.com/services/T1/B1/abc", 1);
	setenv("DPC_NOTIFY_TEAMS_URL_FILE", SECRET_FILE, 1);
	setenv("DPC_FUZZ_EMPTY", "", 1);
	return 0;
}

static void no_canary(const char *s, const char *where)
{
	FUZZ_CHECK(strstr(s, CANARY) == NULL, "file secret leaked into %s: %.300s", where, s);
}

static void check_valid(const struct config *c)
{
	size_t i, j;

	FUZZ_CHECK(c->n_destinations >= 1, "valid config without destinations");
	for (i = 0; i < c->n_destinations; i++) {
		const struct destination *d = &c->destinations[i];

		FUZZ_CHECK(d->name && d->url && *d->url, "destination %zu incomplete", i);
		FUZZ_CHECK(d->target != NULL && target_find(d->target->name) == d->target,
			   "destination type");
		FUZZ_CHECK(isfinite(d->rate_per_sec) && d->rate_per_sec > 0, "rate %g",
			   d->rate_per_sec);
		FUZZ_CHECK(config_destination(c, d->name) != NULL, "lookup of %s fails", d->name);
	}
	for (i = 0; i < c->n_projects; i++)
		for (j = 0; j < c->projects[i].n_destinations; j++)
			FUZZ_CHECK(config_destination(c, c->projects[i].destinations[j]) != NULL,
				   "project routes to unknown destination");
	if (c->default_route)
		for (j = 0; j < c->default_route->n_destinations; j++)
			FUZZ_CHECK(config_destination(c, c->default_route->destinations[j]) != NULL,
				   "default routes to unknown destination");
	FUZZ_CHECK(c->listen && c->store && c->api_base && c->token_url && c->ui_base &&
			   c->client_id && c->client_secret,
		   "valid config misses a required string");
	FUZZ_CHECK(c->workers >= 1 && c->max_json_depth >= 1 && c->max_body > 0 &&
			   (unsigned)c->log_format < LOG_FMT__MAX,
		   "valid config has an out-of-range number");
}

/* The check-config summary, the key listing and redacted URLs must never
 * show the secret. */
static void check_output(const struct config *c)
{
	char *buf = NULL, red[256];
	size_t len = 0, i, n;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		abort();
	config_print_summary(c, f);
	fclose(f);
	no_canary(buf, "config_print_summary");
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	if (f == NULL)
		abort();
	config_print_keys(c, f);
	fclose(f);
	no_canary(buf, "config_print_keys");
	free(buf);
	for (i = 0; i < c->n_destinations; i++) {
		for (n = 1; n <= sizeof(red); n += 37) {
			memset(red, 'Z', sizeof(red));
			config_redact_url(c->destinations[i].url, red, n);
			FUZZ_CHECK(memchr(red, '\0', n) != NULL, "redacted url unterminated (%zu)", n);
			no_canary(red, "config_redact_url");
		}
	}
}

static void check_holder(struct config *c)
{
	struct config_holder *h = config_holder_new(c);
	const struct config *got;

	FUZZ_CHECK(h != NULL, "config_holder_new failed");
	got = config_get(h);
	FUZZ_CHECK(got == c, "config_get returned another snapshot");
	config_put(h, got);
	config_holder_free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d = { NULL, 0, 0, 0 };
	struct config *c;
	size_t i;
	/* A canary typed into the input itself may legitimately be echoed. */
	int canary_in_input = memmem(data, size, CANARY, strlen(CANARY)) != NULL;

	if (ftruncate(cfg_fd, 0) != 0 || lseek(cfg_fd, 0, SEEK_SET) != 0)
		abort();
	write_all(cfg_fd, data, size);
	c = config_load(cfg_path, &d);
	FUZZ_CHECK((c == NULL) == (d.n_errors > 0), "config %p with %zu errors", (void *)c,
		   d.n_errors);
	FUZZ_CHECK(d.n <= d.n_errors + d.n_warnings, "more lines than problems");
	for (i = 0; i < d.n; i++) {
		FUZZ_CHECK(d.lines[i] != NULL, "NULL diagnostic line");
		if (!canary_in_input)
			no_canary(d.lines[i], "a diagnostic");
	}
	if (c != NULL) {
		check_valid(c);
		if (!canary_in_input)
			check_output(c);
		check_holder(c); /* frees c */
	}
	diags_free(&d);
	return 0;
}
