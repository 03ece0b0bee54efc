/* Unit tests for src/config/config.c: defaults, every diagnostic with its exact
 * file:line, ${ENV} and KEY_file secrets, warnings, URL redaction, the
 * summary (which must hold no secret) and the reference-counted holder.
 * Run from the repository root: fixtures are found by relative path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "parse.h"
/* The key table is private to src/config/; this test reads it. */
#include "../../src/config/config_int.h"
#include "status.h"
#include "target.h"

#define DATA "tests/unit/data/config/"

/* Prints the diagnostics so a failing case shows what was reported. */
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

/* Writes text to a new temporary file with the given mode; returns its
 * path in buf. */
static void write_tmp(char *buf, size_t len, const char *text, mode_t mode)
{
	int fd;
	size_t n = strlen(text);

	snprintf(buf, len, "/tmp/test_config_XXXXXX");
	fd = mkstemp(buf);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_defaults(void **state)
{
	struct diags d = { 0 };
	struct config *c = config_load(DATA "minimal.ini", &d);

	(void)state;
	dump(&d);
	assert_non_null(c);
	assert_int_equal(d.n_errors, 0);
	assert_string_equal(c->listen, "127.0.0.1:8080");
	assert_string_equal(c->store, "/var/lib/dpc-notify/dpc-notify.db");
	assert_string_equal(c->log_level, "info");
	assert_int_equal(c->log_format, LOG_FMT_LOGFMT);
	assert_int_equal(c->signature_tolerance, 300);
	assert_int_equal(c->allow_unauthenticated, 0);
	assert_int_equal(c->allow_core_dumps, 0);
	assert_int_equal(c->max_body, 65536);
	assert_int_equal(c->max_json_depth, 16);
	assert_int_equal(c->max_connections, 256);
	assert_int_equal(c->max_connections_per_ip, 32);
	assert_int_equal(c->connection_timeout, 10);
	assert_int_equal(c->workers, 4);
	assert_int_equal(c->shutdown_grace, 20);
	assert_string_equal(c->api_base, "https://eu1.api.matillion.com/dpc");
	assert_string_equal(c->token_url, "https://id.core.matillion.com/oauth/dpc/token");
	assert_string_equal(c->ui_base, "https://app.matillion.com");
	assert_int_equal(c->requests_per_minute, 60);
	assert_int_equal(c->burst, 5);
	assert_int_equal(c->max_child_depth, 5);
	assert_int_equal(c->max_api_calls, 50);
	assert_int_equal(c->max_attempts, 12);
	assert_int_equal(c->max_age, 86400);
	assert_int_equal(c->dedup_window, 604800);
	assert_int_equal(c->degraded_notice, 1);
	assert_int_equal(c->allow_http, 0);
	assert_null(c->ca_file);
	assert_null(c->proxy);
	assert_int_equal(c->connect_timeout, 5);
	assert_int_equal(c->timeout, 20);
	assert_int_equal(c->n_auth_tokens, 1);
	assert_string_equal(c->auth_tokens[0], "tok-AAAA-0123456789");
	assert_string_equal(c->client_id, "id-BBBB");
	assert_string_equal(c->client_secret, "sec-CCCC");
	assert_int_equal(c->n_destinations, 1);
	assert_ptr_equal(c->destinations[0].target, target_find("slack"));
	assert_true(c->destinations[0].rate_per_sec == 1.0);
	assert_null(c->destinations[0].mention);
	assert_int_equal(c->n_projects, 0);
	assert_non_null(c->default_route);
	assert_string_equal(c->default_route->id, "");
	assert_int_equal(c->default_route->notify_on, STATUS_BIT(ST_FAILED));
	assert_int_equal(c->default_route->n_environments, 0);
	assert_ptr_equal(config_destination(c, "s"), &c->destinations[0]);
	assert_null(config_destination(c, "nosuch"));
	config_free(c);
	diags_free(&d);
}

/* Each broken fixture: how many errors, and one exact line among them. */
static const struct {
	const char *file;
	size_t n_errors;
	const char *line; /* after DATA "<file>:" */
} bad_cases[] = {
	{ "unknown_key.ini", 1, "3: unknown key \"colour\" in [server]" },
	{ "unknown_section.ini", 1, "11: unknown section [servers]" },
	{ "outside_section.ini", 1, "1: key \"workers\" outside of any section" },
	{ "duplicate_key.ini", 1, "4: duplicate key \"workers\" (first at line 3)" },
	{ "duplicate_dest.ini", 1, "11: duplicate section [destination s] (first at line 6)" },
	{ "duplicate_project.ini", 1, "14: duplicate section [project p1] (first at line 11)" },
	{ "both_forms.ini", 1, "9: url given both as url and url_file" },
	{ "bad_numbers.ini", 3, "3: workers: invalid value \"65\"; expected an integer 1..64" },
	{ "bad_numbers.ini", 3,
	  "4: max_json_depth: invalid value \"12x\"; expected an integer 1..256" },
	{ "bad_numbers.ini", 3,
	  "5: max_body: invalid value \"-5\"; expected an integer 1024..67108864" },
	{ "bad_duration.ini", 2,
	  "12: max_age: invalid value \"3w\"; expected seconds (or s/m/h/d suffix) 60..31536000" },
	{ "bad_duration.ini", 2,
	  "13: dedup_window: invalid value \"400d\"; expected seconds (or s/m/h/d suffix) 0..31536000" },
	{ "bad_bool.ini", 1, "12: allow_http: invalid value \"maybe\"; expected true or false" },
	{ "bad_notify_on.ini", 1, "13: notify_on: unknown status \"EXPLODED\"" },
	{ "http_url.ini", 1, "8: url uses http://; set [delivery] allow_http = true to permit it" },
	{ "bad_url.ini", 1, "8: url must be an http(s) URL" },
	{ "bad_whsec.ini", 1,
	  "3: hmac_secret: a whsec_ secret must be standard base64 after the prefix"
	  " (A-Z a-z 0-9 + /, '=' only at the end, at most 255 bytes); item 2 is not" },
	{ "backslash_url.ini", 1,
	  "8: url contains a backslash, a space or a control character; write it with / separators" },
	{ "unknown_dest_ref.ini", 1,
	  "13: project p1: unknown destination \"nosuch\" (defined: s)" },
	{ "bad_project_id.ini", 1,
	  "11: [project has space/slash]: name may only hold A-Z a-z 0-9 . _ : -" },
	{ "project_no_dest.ini", 1, "11: project p1: destinations is required" },
	{ "bad_listen.ini", 1, "3: listen: expected host:port (port 0..65535, [v6]:port)" },
	{ "no_auth.ini", 1,
	  "1: no webhook authentication configured; set auth_token or allow_unauthenticated = true" },
	{ "no_client.ini", 1, "3: [matillion] client_secret is required" },
	{ "no_dest.ini", 1, "0: no [destination NAME] section; at least one is required" },
	{ "dest_incomplete.ini", 2,
	  "6: [destination s] needs type = slack, teams, discord, mattermost, json, googlechat,"
	  " pagerduty or slack-app" },
	{ "dest_incomplete.ini", 2, "6: [destination s] needs url" },
	{ "bad_type.ini", 1,
	  "7: type: invalid value \"hipchat\"; expected slack, teams, discord, mattermost, json,"
	  " googlechat, pagerduty or slack-app" },
	{ "long_mention.ini", 1, "9: [destination s] mention is longer than 254 bytes" },
	{ "unset_env.ini", 1, "8: environment variable DPC_TEST_SURELY_UNSET_VAR is not set" },
	{ "region_and_base.ini", 1, "5: set region or api_base, not both" },
	{ "bad_region.ini", 1, "4: region: invalid value \"ap9\"; expected eu1 or us1" },
	{ "syntax.ini", 2, "11: malformed section header" },
	{ "syntax.ini", 2, "12: expected \"key = value\"" },
};

static void test_errors_have_file_line(void **state)
{
	size_t i;
	char path[256], want[512];
	struct diags d;
	struct config *c;

	(void)state;
	unsetenv("DPC_TEST_SURELY_UNSET_VAR");
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		memset(&d, 0, sizeof(d));
		snprintf(path, sizeof(path), DATA "%s", bad_cases[i].file);
		/* Line 0, the file as a whole, is written without a number. */
		if (strncmp(bad_cases[i].line, "0: ", 3) == 0)
			snprintf(want, sizeof(want), "%s: %s", path, bad_cases[i].line + 3);
		else
			snprintf(want, sizeof(want), "%s:%s", path, bad_cases[i].line);
		c = config_load(path, &d);
		if (c != NULL || d.n_errors != bad_cases[i].n_errors || !has_line(&d, want)) {
			print_message("case %s: want %zu errors and \"%s\"\n", path,
				      bad_cases[i].n_errors, want);
			dump(&d);
		}
		assert_null(c);
		assert_int_equal(d.n_errors, bad_cases[i].n_errors);
		assert_true(has_line(&d, want));
		diags_free(&d);
	}
}

/* Files that must load, with a check of what they set. */
static void test_valid_variants(void **state)
{
	struct diags d = { 0 };
	struct config *c;

	(void)state;
	c = config_load(DATA "http_allowed.ini", &d);
	assert_non_null(c);
	assert_int_equal(c->allow_http, 1);
	config_free(c);

	c = config_load(DATA "listen_v6.ini", &d);
	assert_non_null(c);
	assert_string_equal(c->listen, "[::1]:8080");
	config_free(c);

	c = config_load(DATA "unauthenticated.ini", &d);
	assert_non_null(c);
	assert_int_equal(c->allow_unauthenticated, 1);
	assert_int_equal(c->n_auth_tokens, 0);
	config_free(c);

	c = config_load(DATA "core_dumps.ini", &d);
	assert_non_null(c);
	assert_int_equal(c->allow_core_dumps, 1);
	config_free(c);

	c = config_load(DATA "region_us.ini", &d);
	assert_non_null(c);
	assert_string_equal(c->api_base, "https://us1.api.matillion.com/dpc");
	config_free(c);
	dump(&d);
	assert_int_equal(d.n_errors, 0);
	diags_free(&d);
}

/* A value longer than inih's 200-byte line limit survives intact and an
 * inline comment after it is dropped. */
static void test_long_line(void **state)
{
	struct diags d = { 0 };
	struct config *c = config_load(DATA "long_line.ini", &d);

	(void)state;
	dump(&d);
	assert_non_null(c);
	assert_ptr_equal(c->destinations[0].target, target_find("teams"));
	assert_true(c->destinations[0].rate_per_sec == 4.0);
	assert_true(strlen(c->destinations[0].url) > 200);
	assert_non_null(strstr(c->destinations[0].url,
			       "&sig=LONGSIGNATUREvalue0123456789abcdefghijklmnopq"));
	assert_null(strchr(c->destinations[0].url, ';'));
	assert_null(strchr(c->destinations[0].url, ' '));
	config_free(c);
	diags_free(&d);
}

static const char *const env_ini = "[server]\n"
				   "auth_token = ${T_TOK1}, plain-second-token , ${T_TOK1}x\n"
				   "hmac_secret = whsec_${T_TOK1}XYZW\n"
				   "workers = ${T_WORKERS}\n"
				   "shutdown_grace = 45s\n"
				   "[matillion]\n"
				   "client_id = ${T_CID}\n"
				   "client_secret_file = ${T_DIR}/client_secret\n"
				   "[delivery]\n"
				   "max_age = 7d\n"
				   "dedup_window = 90m\n"
				   "degraded_notice = off\n"
				   "[destination s]\n"
				   "type = SLACK\n"
				   "url_file = ${T_DIR}/slack_url\n"
				   "rate = 0.5\n"
				   "[project a.b:c-1_2]\n"
				   "name = Nightly ${T_CID}\n"
				   "destinations = s\n"
				   "notify_on = failure, canceled, Success\n"
				   "environments = prod*, qa?\n";

static void write_named(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_env_and_file_secrets(void **state)
{
	char dir[] = "/tmp/test_config_dir_XXXXXX";
	char ini[512];
	struct diags d = { 0 };
	struct config *c;
	const struct project *p;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_named(dir, "client_secret", "s3cret-value\n\n");
	write_named(dir, "slack_url", "https://hooks.slack.com/services/TX/BX/file-secret \n");
	setenv("T_TOK1", "envtok0123456789", 1);
	setenv("T_WORKERS", "7", 1);
	setenv("T_CID", "cid-42", 1);
	setenv("T_DIR", dir, 1);
	snprintf(ini, sizeof(ini), "%s/env.ini", dir);
	write_named(dir, "env.ini", env_ini);
	chmod(ini, 0600);
	c = config_load(ini, &d);
	dump(&d);
	assert_non_null(c);
	/* Only the warning that the id a.b:c-1_2 is no UUID. */
	assert_int_equal(d.n, 1);
	assert_int_equal(d.n_warnings, 1);
	assert_int_equal(c->n_auth_tokens, 3);
	assert_string_equal(c->auth_tokens[0], "envtok0123456789");
	assert_string_equal(c->auth_tokens[1], "plain-second-token");
	assert_string_equal(c->auth_tokens[2], "envtok0123456789x");
	assert_string_equal(c->hmac_secrets[0], "whsec_envtok0123456789XYZW");
	assert_int_equal(c->workers, 7);
	assert_string_equal(c->client_id, "cid-42");
	assert_string_equal(c->client_secret, "s3cret-value");
	assert_int_equal(c->max_age, 7 * 86400);
	assert_int_equal(c->dedup_window, 90 * 60);
	assert_int_equal(c->shutdown_grace, 45);
	assert_int_equal(c->degraded_notice, 0);
	assert_string_equal(c->destinations[0].url,
			    "https://hooks.slack.com/services/TX/BX/file-secret");
	assert_true(c->destinations[0].rate_per_sec == 0.5);
	p = &c->projects[0];
	assert_string_equal(p->id, "a.b:c-1_2");
	assert_string_equal(p->name, "Nightly cid-42");
	assert_int_equal(p->notify_on,
			 STATUS_BIT(ST_FAILED) | STATUS_BIT(ST_CANCELLED) | STATUS_BIT(ST_SUCCESS));
	assert_int_equal(p->n_environments, 2);
	assert_string_equal(p->environments[1], "qa?");
	config_free(c);
	diags_free(&d);
	unlink(ini);
	snprintf(ini, sizeof(ini), "%s/client_secret", dir);
	unlink(ini);
	snprintf(ini, sizeof(ini), "%s/slack_url", dir);
	unlink(ini);
	rmdir(dir);
}

static void test_secret_file_errors(void **state)
{
	char big[256], ini[256], text[1024], want[600];
	char *blob = malloc(70000);
	struct diags d = { 0 };

	(void)state;
	memset(blob, 'x', 69999);
	blob[69999] = '\0';
	write_tmp(big, sizeof(big), blob, 0600);
	free(blob);
	snprintf(text, sizeof(text),
		 "[server]\nauth_token_file = %s\nhmac_secret_file = /nonexistent/dpc/secret\n"
		 "[matillion]\nclient_id = a\nclient_secret = b\n"
		 "[destination s]\ntype = teams\nurl = https://example.com/x\n"
		 "[project p]\ndestinations = s\nname_file = /etc/hostname\n",
		 big);
	write_tmp(ini, sizeof(ini), text, 0600);
	assert_null(config_load(ini, &d));
	dump(&d);
	snprintf(want, sizeof(want),
		 "%s:2: auth_token_file: %s is unreadable, binary or larger than 65536 bytes", ini,
		 big);
	assert_true(has_line(&d, want));
	snprintf(
		want, sizeof(want),
		"%s:3: hmac_secret_file: cannot open /nonexistent/dpc/secret: No such file or directory",
		ini);
	assert_true(has_line(&d, want));
	/* only secret keys take _file */
	snprintf(want, sizeof(want), "%s:12: unknown key \"name_file\" in [project]", ini);
	assert_true(has_line(&d, want));
	/* no auth at all is not reported again: both keys were given */
	assert_int_equal(d.n_errors, 3);
	diags_free(&d);
	unlink(ini);
	unlink(big);
}

static const char *const inline_ini = "[server]\nauth_token = inline-token-0123\n"
				      "[matillion]\nclient_id = ${T_CS}\nclient_secret = ${T_CS}\n"
				      "[destination t]\ntype = teams\nurl = ${T_URL}\n"
				      "[default]\ndestinations = t\n";

static void test_permission_warning(void **state)
{
	char ini[256], want[1024], *env_only;
	struct diags d = { 0 };
	struct config *c;

	(void)state;
	setenv("T_CS", "cs-0123456789abcdef", 1);
	setenv("T_URL", "https://prod.westus.logic.azure.com/workflows/x", 1);
	write_tmp(ini, sizeof(ini), inline_ini, 0640);
	c = config_load(ini, &d);
	assert_non_null(c);
	snprintf(want, sizeof(want),
		 "%s: warning: the file is readable by other users and holds secrets; "
		 "chmod 600 it or use ${ENV} / KEY_file",
		 ini);
	dump(&d);
	assert_true(has_line(&d, want));
	assert_int_equal(d.n_warnings, 1);
	assert_int_equal(d.n_errors, 0);
	config_free(c);
	diags_free(&d);

	chmod(ini, 0600);
	c = config_load(ini, &d);
	assert_non_null(c);
	assert_int_equal(d.n, 0);
	config_free(c);
	unlink(ini);

	/* world-readable but every secret comes from the environment */
	env_only = strdup(inline_ini);
	memcpy(strstr(env_only, "inline-token-0123"), "${T_CS}          ", 17);
	write_tmp(ini, sizeof(ini), env_only, 0644);
	free(env_only);
	c = config_load(ini, &d);
	dump(&d);
	assert_non_null(c);
	assert_string_equal(c->auth_tokens[0], "cs-0123456789abcdef");
	assert_int_equal(d.n, 0);
	config_free(c);
	unlink(ini);
}

static void test_retired_teams_warning(void **state)
{
	struct diags d = { 0 };
	struct config *c = config_load(DATA "retired_teams.ini", &d);

	(void)state;
	dump(&d);
	assert_non_null(c);
	assert_int_equal(d.n_errors, 0);
	assert_true(has_line(&d, DATA "retired_teams.ini:13: warning: retired Office 365 connector "
				      "URL; use a Teams Workflows webhook"));
	config_free(c);
	diags_free(&d);
}

/* Every secret part of a URL must be gone from the redacted form. */
static void test_redact_url(void **state)
{
	static const struct {
		const char *url, *want, *secrets[3];
	} cases[] = {
		{ "https://hooks.slack.com/services/T00000000/B000/XXXX",
		  "https://hooks.slack.com/services/T0…redacted",
		  { "T00000000", "B000", "XXXX" } },
		{ "https://prod-00.westus.logic.azure.com:443/workflows/abcdef/triggers/manual/"
		  "paths/invoke?api-version=2016-06-01&sig=SIGSECRET",
		  "https://prod-00.westus.logic.azure.com:443/wo…redacted",
		  { "abcdef", "SIGSECRET", "api-version" } },
		{ "https://user:pa55word@example.com/x?token=QSECRET",
		  "https://example.com/x…redacted",
		  { "pa55word", "QSECRET", "user" } },
		{ "https://example.com?sig=QS",
		  "https://example.com/…redacted",
		  { "sig", "QS", NULL } },
		{ "http://h", "http://h/…redacted", { NULL, NULL, NULL } },
		{ "not a url at all SECRET", "…redacted", { "SECRET", NULL, NULL } },
		/* Backslashes or encoded separators never let the path pass as host. */
		{ "https://hooks.slack.com\\services\\T0SECRET\\B0SECRET\\hookSECRET",
		  "https://hooks.slack.com/services/T0…redacted",
		  { "SECRET", "B0", "\\" } },
		{ "https://hooks.slack.com%5Cservices%5CT0SECRET%5Chook",
		  "https://hooks.slack.com/…redacted",
		  { "SECRET", "services", "%" } },
		{ "https://h.example;SECRET/x",
		  "https://h.example/…redacted",
		  { "SECRET", NULL, NULL } },
		{ "ht\\tp://SECRET/x", "…redacted", { "SECRET", NULL, NULL } },
	};
	char out[256], tiny[12];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_redact_url(cases[i].url, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
		for (j = 0; j < 3; j++)
			if (cases[i].secrets[j] != NULL)
				assert_null(strstr(out, cases[i].secrets[j]));
	}
	config_redact_url(cases[0].url, tiny, sizeof(tiny));
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	config_redact_url(NULL, out, sizeof(out));
	assert_string_equal(out, "…redacted");
}

static void test_summary_has_no_secrets(void **state)
{
	static const char *const secrets[] = {
		"tok-AAAA-0123456789", "id-BBBB", "sec-CCCC", "B1/X1", "X1",
		"abc/IncomingWebhook", "ghi",
	};
	struct diags d = { 0 };
	struct config *c = config_load(DATA "retired_teams.ini", &d);
	char *text = NULL;
	size_t len = 0, i;
	FILE *f;

	(void)state;
	assert_non_null(c);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	config_print_summary(c, f);
	fclose(f);
	print_message("%s", text);
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		assert_null(strstr(text, secrets[i]));
	assert_non_null(strstr(text, "config:       " DATA "retired_teams.ini\n"));
	assert_non_null(strstr(text, "auth:         1 token, 0 HMAC secrets"));
	assert_non_null(strstr(text, "client_id set, client_secret set"));
	assert_non_null(strstr(text, "https://hooks.slack.com/services/T1…redacted"));
	assert_non_null(strstr(text, "https://contoso.webhook.office.com/we…redacted"));
	assert_non_null(strstr(text, "token_url https://id.core.matillion.com/oauth/dpc/token"));
	assert_non_null(strstr(text, "destinations s; notify_on FAILED; environments (all)"));
	free(text);
	config_free(c);
	diags_free(&d);

	c = config_load(DATA "unauthenticated.ini", &d);
	assert_non_null(c);
	f = open_memstream(&text, &len);
	config_print_summary(c, f);
	fclose(f);
	assert_non_null(strstr(text, "auth:         UNAUTHENTICATED\n"));
	free(text);
	config_free(c);
	diags_free(&d);
}

/* The shipped example must load once its secrets are provided, as
 * systemd's LoadCredential= provides them: one file each in
 * $CREDENTIALS_DIRECTORY. */
static void test_example_loads(void **state)
{
	static const char *const creds[][2] = {
		{ "auth_token", "ex-token-0123456789abcdef\n" },
		{ "client_id", "example-id\n" },
		{ "client_secret", "example-secret\n" },
		{ "slack_url", "https://hooks.slack.com/services/T/B/S\n" },
		{ "teams_url", "https://prod-01.westeurope.logic.azure.com/workflows/w/x?sig=s\n" },
	};
	char dir[] = "/tmp/test_config_creds_XXXXXX", path[512];
	struct diags d = { 0 };
	struct config *c;
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < sizeof(creds) / sizeof(creds[0]); i++)
		write_named(dir, creds[i][0], creds[i][1]);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	c = config_load("etc/dpc-notify.ini.example", &d);
	dump(&d);
	assert_non_null(c);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->n_destinations, 2);
	assert_ptr_equal(c->destinations[1].target, target_find("teams"));
	assert_string_equal(c->destinations[1].url,
			    "https://prod-01.westeurope.logic.azure.com/workflows/w/x?sig=s");
	assert_string_equal(c->destinations[0].mention, "<!here>");
	assert_int_equal(c->n_projects, 1);
	assert_int_equal(c->projects[0].n_destinations, 2);
	assert_non_null(c->default_route);
	assert_int_equal(c->max_age, 86400);
	assert_int_equal(c->dedup_window, 604800);
	/* The run-memory keys it shows are the defaults, SLOW aside. */
	assert_int_equal(c->history_runs, 100);
	assert_int_equal(c->forget_after_s, 90 * 86400);
	assert_int_equal(c->projects[0].notify_on,
			 STATUS_BIT(ST_FAILED) | STATUS_BIT(ST_CANCELLED) | MEM_NOTIFY_SLOW);
	assert_int_equal(c->projects[0].on_repeat, MEM_REPEAT_COMPACT);
	assert_true(c->projects[0].duration_alert == 3.0);
	config_free(c);
	diags_free(&d);
	for (i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, creds[i][0]);
		unlink(path);
	}
	rmdir(dir);
	unsetenv("CREDENTIALS_DIRECTORY");
}

static void test_missing_file_and_crlf(void **state)
{
	char ini[256], want[512];
	struct diags d = { 0 };
	struct config *c;

	(void)state;
	assert_null(config_load("/nonexistent/dpc.ini", &d));
	assert_true(has_line(&d, "/nonexistent/dpc.ini: cannot open: No such file or directory"));
	diags_free(&d);

	write_tmp(ini, sizeof(ini),
		  "\xEF\xBB\xBF[server]\r\nallow_unauthenticated = on\r\n  workers = 3 ; two\r\n"
		  "[matillion]\r\nclient_id=a\r\nclient_secret=b\r\n"
		  "[destination s]\r\ntype=slack\r\nurl=https://x.example/h\r\n",
		  0600);
	c = config_load(ini, &d);
	dump(&d);
	assert_non_null(c);
	assert_int_equal(c->workers, 3);
	assert_string_equal(c->destinations[0].url, "https://x.example/h");
	assert_null(c->default_route);
	config_free(c);
	diags_free(&d);
	(void)want;
	unlink(ini);
}

static void test_holder(void **state)
{
	struct diags d = { 0 };
	struct config *c1 = config_load(DATA "minimal.ini", &d);
	struct config *c2 = config_load(DATA "region_us.ini", &d);
	struct config_holder *h;
	const struct config *a, *b, *n;

	(void)state;
	assert_non_null(c1);
	assert_non_null(c2);
	assert_null(config_holder_new(NULL));
	h = config_holder_new(c1);
	assert_non_null(h);
	a = config_get(h);
	b = config_get(h);
	assert_ptr_equal(a, c1);
	config_swap(h, c2);
	/* old snapshot stays valid while referenced (ASan would catch a
	 * use-after-free here) */
	assert_string_equal(a->api_base, "https://eu1.api.matillion.com/dpc");
	n = config_get(h);
	assert_ptr_equal(n, c2);
	config_put(h, a);
	assert_string_equal(b->api_base, "https://eu1.api.matillion.com/dpc");
	config_put(h, b); /* frees c1 */
	config_put(h, n);
	n = config_get(h);
	assert_string_equal(n->api_base, "https://us1.api.matillion.com/dpc");
	config_put(h, n);
	/* a swap while nobody holds a reference frees the old one at once */
	config_swap(h, config_load(DATA "minimal.ini", &d));
	n = config_get(h);
	assert_string_equal(n->api_base, "https://eu1.api.matillion.com/dpc");
	/* freeing the holder with a reference outstanding must not leak */
	config_holder_free(h);
	diags_free(&d);
}

/* The config file and log_setup() accept the same level names: a level the
 * file takes must work at runtime, and the documented four are all there
 * is ("warning" is not one of them). */
static void test_log_levels_agree(void **state)
{
	static const char *const words[] = {
		"debug", "info", "warn", "error", "DEBUG", "Warn", "warning", "loud", "",
	};
	char path[64], text[512];
	struct diags d = { 0 };
	struct config *c;
	size_t i;
	int by_log;

	(void)state;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		snprintf(text, sizeof(text),
			 "[server]\nauth_token = tok-AAAA-0123456789\nlog_level = %s\n"
			 "[matillion]\nclient_id = i\nclient_secret = s\n[destination s]\n"
			 "type = slack\nurl = https://hooks.slack.com/services/T1/B1/X1\n"
			 "[default]\ndestinations = s\n",
			 words[i]);
		write_tmp(path, sizeof(path), text, 0600);
		c = config_load(path, &d);
		by_log = log_setup(words[i], LOG_FMT_LOGFMT) == 0;
		if ((c != NULL) != by_log)
			fail_msg("log_level \"%s\": config %s it, log_setup %s it", words[i],
				 c != NULL ? "takes" : "refuses", by_log ? "takes" : "refuses");
		assert_int_equal(by_log, i < 6);
		config_free(c);
		diags_free(&d);
		unlink(path);
	}
	log_setup("info", LOG_FMT_LOGFMT);
}

/* What print writes for c, as a string the caller frees. */
/* Not inlined: GCC then takes the NULL start of text for the result. */
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

/* Every row of the key table: its default lies within its own bounds and
 * names, so a config that sets nothing is one the parser would accept. */
static void test_key_defaults_in_bounds(void **state)
{
	const struct key *k;
	size_t i;

	(void)state;
	assert_true(cfg_nkeys > 0 && cfg_nkeys <= MAX_KEYS);
	for (i = 0; i < cfg_nkeys; i++) {
		k = &cfg_keys[i];
		switch (k->type) {
		case V_INT:
		case V_SIZE:
		case V_DUR:
		case V_DUR64:
		case V_BOOL:
			if (k->def < k->min || k->def > k->max || k->min > k->max)
				fail_msg("%s: default %lld outside %lld..%lld", k->name, k->def,
					 k->min, k->max);
			break;
		case V_ENUM:
			if (k->def < 0 || (size_t)k->def >= k->n_names)
				fail_msg("%s: default %lld is not a name index", k->name, k->def);
			break;
		case V_LEVEL:
			if (k->sdef == NULL || parse_name(k->names, k->n_names, k->sdef) < 0)
				fail_msg("%s: default \"%s\" is not a name", k->name, k->sdef);
			break;
		case V_STATUS:
			if (k->def == 0 || k->def >= (long long)STATUS_BIT(ST__MAX))
				fail_msg("%s: default mask %lld", k->name, k->def);
			break;
		case V_FACTOR:
			if (!(k->fmin > 0.0 && k->fmin <= k->fmax) ||
			    (!(k->fdef >= k->fmin && k->fdef <= k->fmax) &&
			     !(k->fdef == 0.0 && (k->flags & K_ZERO_OFF))))
				fail_msg("%s: default %g outside %g..%g", k->name, k->fdef, k->fmin,
					 k->fmax);
			break;
		default: break;
		}
		if (k->sdef != NULL &&
		    (k->sdef[0] == '\0' || (k->type != V_STR && k->type != V_LEVEL)))
			fail_msg("%s: a string default on a key that is not a string", k->name);
	}
}

/* config_print_keys() names every key of the table in every section
 * instance, and shows no secret. */
/* A route's borrowed keys are a 64-bit mask over its section's rows:
 * every section must stay within that, and each row has its own bit. */
static void test_key_bits_fit(void **state)
{
	size_t i, j;

	(void)state;
	assert_true(cfg_nkeys <= MAX_KEYS);
	for (i = 0; i < cfg_nkeys; i++) {
		assert_true(cfg_key_bit(&cfg_keys[i]) != 0);
		for (j = 0; j < i; j++)
			if (cfg_keys[j].sec == cfg_keys[i].sec)
				assert_true(cfg_key_bit(&cfg_keys[j]) != cfg_key_bit(&cfg_keys[i]));
	}
}

static void test_print_keys_covers_table(void **state)
{
	static const char *const secrets[] = { "tok-AAAA-0123456789", "id-BBBB", "sec-CCCC",
					       "B1/X1", "X1" };
	static const char *const shown[] = {
		"\nauth_token = (1 set)\n",
		"\nclient_secret = (set)\n",
		"\nmax_age = 86400s\n",
		"\nurl = https://hooks.slack.com/services/T1…redacted\n",
		"\nregion = eu1\n",
		"\nnotify_on = FAILED\n",
	};
	struct diags d = { 0 };
	struct config *c = config_load(DATA "retired_teams.ini", &d);
	char want[128], *sec, *text;
	size_t i;

	(void)state;
	assert_non_null(c);
	text = printed(c, config_print_keys);
	print_message("%s", text);
	for (i = 0; i < cfg_nkeys; i++) {
		/* Each key appears after its section's header; the fixture
		 * has no [route] (test_config_route.c prints one). */
		if (cfg_keys[i].sec == SEC_ROUTE)
			continue;
		snprintf(want, sizeof(want), "[%s", cfg_sec_names[cfg_keys[i].sec]);
		if (cfg_keys[i].sec == SEC_PROJECT)
			snprintf(want, sizeof(want), "[default]");
		sec = strstr(text, want);
		assert_non_null(sec);
		snprintf(want, sizeof(want), "\n%s = ", cfg_keys[i].name);
		if (strstr(sec, want) == NULL)
			fail_msg("key %s is not printed", cfg_keys[i].name);
	}
	for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		if (strstr(text, shown[i]) == NULL)
			fail_msg("\"%s\" is not in the listing", shown[i]);
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (strstr(text, secrets[i]) != NULL)
			fail_msg("secret \"%s\" is in the listing", secrets[i]);
	free(text);
	config_free(c);
	diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors_have_file_line),
		cmocka_unit_test(test_valid_variants),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_env_and_file_secrets),
		cmocka_unit_test(test_secret_file_errors),
		cmocka_unit_test(test_permission_warning),
		cmocka_unit_test(test_retired_teams_warning),
		cmocka_unit_test(test_redact_url),
		cmocka_unit_test(test_summary_has_no_secrets),
		cmocka_unit_test(test_example_loads),
		cmocka_unit_test(test_missing_file_and_crlf),
		cmocka_unit_test(test_holder),
		cmocka_unit_test(test_log_levels_agree),
		cmocka_unit_test(test_key_defaults_in_bounds),
		cmocka_unit_test(test_key_bits_fit),
		cmocka_unit_test(test_print_keys_covers_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
