/* The target table: a test-only "echo" target, defined here and linked into
 * this test alone, is found by name, accepted by the config, listed in its
 * messages and check-config summary, and posted to by send-test through the
 * same row functions the worker calls (render, content type, classifier),
 * with no src/ file naming it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <microhttpd.h>

#include "cli.h"
#include "config.h"
#include "errors.h"
#include "httpc.h"
#include "summary.h"
#include "target.h"

/* ---- the echo target: one row, as a target file would fill it ---- */

/* "echo:<status>:<pipeline>:<mention or ->", so a test can tell the body
 * came from this row and which options it got. */
static char *echo_render(const struct summary *s, const struct render_opts *o)
{
	const char *mention = o != NULL && o->mention != NULL ? o->mention : "-";
	size_t len = strlen(s->pipeline_name) + strlen(mention) + 32;
	char *out = malloc(len);

	if (out != NULL)
		snprintf(out, len, "echo:%s:%s:%s", status_names[s->status], s->pipeline_name,
			 mention);
	return out;
}

/* Echo's own reading of replies: a 200 is only delivered when the body
 * says "echoed"; "busy" asks for a retry; anything else is given up. */
static int echo_classify(long status, int by_status, const char *body, size_t len)
{
	(void)by_status;
	(void)len;
	if (status != 200)
		return ERR_PERMANENT;
	if (body != NULL && strcmp(body, "echoed") == 0)
		return 0;
	return body != NULL && strcmp(body, "busy") == 0 ? ERR_TRANSIENT : ERR_PERMANENT;
}

static const char *echo_url_warning(const char *url)
{
	return strstr(url, "/echo/") == NULL ? "echo URLs live under /echo/" : NULL;
}

static const struct target echo_target = {
	.name = "echo",
	.default_rate = 2.5,
	.content_type = "text/plain; charset=utf-8",
	.limits = { .max_bytes = 1000 },
	.render = echo_render,
	.classify = echo_classify,
	.url_warning = echo_url_warning,
};

/* Replaces the empty weak table in src/render/target.c for this program. */
const struct target *const target_extra[] = { &echo_target, NULL };

/* ---- a loopback echo endpoint ---- */

struct endpoint {
	struct MHD_Daemon *d;
	unsigned port;
	char last_type[128]; /* Content-Type of the last POST */
	char last_body[512]; /* its body, cut to fit */
};

/* /echo/ok answers "echoed", /echo/busy "busy", others "what?". */
static enum MHD_Result reply(struct MHD_Connection *c, const char *url)
{
	const char *body = strcmp(url, "/echo/ok") == 0     ? "echoed"
			   : strcmp(url, "/echo/busy") == 0 ? "busy"
							    : "what?";
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret = MHD_queue_response(c, 200, r);

	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **con_cls)
{
	struct endpoint *ep = cls;
	const char *ct;
	size_t n, room;

	(void)method;
	(void)version;
	if (*con_cls == NULL) {
		*con_cls = ep;
		ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
		snprintf(ep->last_type, sizeof(ep->last_type), "%s", ct != NULL ? ct : "");
		ep->last_body[0] = '\0';
		return MHD_YES;
	}
	if (*size != 0) {
		n = strlen(ep->last_body);
		room = sizeof(ep->last_body) - 1 - n;
		if (*size < room)
			room = *size;
		memcpy(ep->last_body + n, data, room);
		ep->last_body[n + room] = '\0';
		*size = 0;
		return MHD_YES;
	}
	return reply(c, url);
}

static int setup(void **state)
{
	static struct endpoint ep;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	const union MHD_DaemonInfo *info;

	setenv("no_proxy", "127.0.0.1", 1);
	setenv("NO_PROXY", "127.0.0.1", 1);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ep.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
				handler, &ep, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_END);
	if (ep.d == NULL || httpc_global_init() != 0)
		return -1;
	info = MHD_get_daemon_info(ep.d, MHD_DAEMON_INFO_BIND_PORT);
	ep.port = info->port;
	*state = &ep;
	return 0;
}

static int teardown(void **state)
{
	struct endpoint *ep = *state;

	MHD_stop_daemon(ep->d);
	httpc_global_cleanup();
	return 0;
}

/* ---- helpers ---- */

/* A valid config whose only destination "e" has type and url as given
 * (plain http allowed, for the loopback endpoint). Caller frees; NULL when
 * invalid. The diagnostics go to d. */
static struct config *load(const char *type, const char *url, struct diags *d)
{
	char path[] = "/tmp/test_target_XXXXXX", text[1024];
	struct config *c;
	int fd = mkstemp(path);
	int n = snprintf(text, sizeof(text),
			 "[server]\nauth_token = tok-AAAA-0123456789\n"
			 "[matillion]\nclient_id = id-B\nclient_secret = sec-C\n"
			 "[delivery]\nallow_http = true\nmax_attempts = 1\n"
			 "[destination e]\ntype = %s\nurl = %s\nmention = @oncall\n"
			 "[default]\ndestinations = e\n",
			 type, url);

	assert_true(fd >= 0);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	assert_int_equal(write(fd, text, (size_t)n), n);
	assert_int_equal(fchmod(fd, 0600), 0);
	close(fd);
	c = config_load(path, d);
	unlink(path);
	return c;
}

static int has_line_ending(const struct diags *d, const char *tail)
{
	size_t i, n, t = strlen(tail);

	for (i = 0; i < d->n; i++) {
		n = strlen(d->lines[i]);
		if (n >= t && strcmp(d->lines[i] + n - t, tail) == 0)
			return 1;
	}
	return 0;
}

/* Runs send-test for destination "e" of c; returns its exit code. */
static int send_test(struct config *c)
{
	char name[] = "e";
	char *argv[] = { name, NULL };

	return cli_run(c, "send-test", 1, argv);
}

/* ---- tests ---- */

static void table_finds_the_extra_row(void **state)
{
	char names[128];

	(void)state;
	assert_ptr_equal(target_find("echo"), &echo_target);
	assert_ptr_equal(target_find("ECHO"), &echo_target);
	assert_string_equal(target_at(0)->name, "slack");
	assert_string_equal(target_at(1)->name, "teams");
	assert_string_equal(target_at(2)->name, "discord");
	assert_string_equal(target_at(3)->name, "mattermost");
	assert_string_equal(target_at(4)->name, "json");
	assert_string_equal(target_at(5)->name, "googlechat");
	assert_string_equal(target_at(6)->name, "pagerduty");
	assert_string_equal(target_at(7)->name, "slack-app");
	assert_ptr_equal(target_at(8), &echo_target);
	assert_null(target_at(9));
	assert_null(target_find("hipchat"));
	assert_null(target_find(NULL));
	target_names(names, sizeof(names), NULL);
	assert_string_equal(
		names,
		"slack, teams, discord, mattermost, json, googlechat, pagerduty, slack-app or echo");
	target_names(names, sizeof(names), "text");
	assert_string_equal(
		names,
		"slack, teams, discord, mattermost, json, googlechat, pagerduty, slack-app, echo or text");
	/* A short buffer is cut, never overrun. */
	target_names(names, 8, "text");
	assert_string_equal(names, "slack, ");
}

static void config_takes_type_echo(void **state)
{
	struct endpoint *ep = *state;
	struct diags d = { 0 };
	struct config *c;
	char url[128], *text = NULL;
	size_t len = 0;
	FILE *out;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo/ok", ep->port);
	c = load("Echo", url, &d);
	assert_non_null(c);
	assert_int_equal(d.n, 0);
	assert_ptr_equal(c->destinations[0].target, &echo_target);
	assert_true(c->destinations[0].rate_per_sec == 2.5); /* the row's default */
	out = open_memstream(&text, &len);
	assert_non_null(out);
	config_print_summary(c, out);
	fclose(out);
	assert_non_null(strstr(text, "\n  e                echo  http://127.0.0.1:"));
	assert_non_null(strstr(text, " rate 2.5/s mention set\n"));
	free(text);
	config_free(c);
	diags_free(&d);
}

static void config_words_come_from_the_table(void **state)
{
	struct diags d = { 0 };
	struct config *c;

	(void)state;
	c = load("hipchat", "https://x.example/echo/1", &d);
	assert_null(c);
	assert_true(has_line_ending(
		&d, "type: invalid value \"hipchat\"; expected slack, teams, "
		    "discord, mattermost, json, googlechat, pagerduty, slack-app or echo"));
	diags_free(&d);
	/* The row's URL rule runs for its destinations, and only for them. */
	c = load("echo", "https://x.example/hook/1", &d);
	assert_non_null(c);
	assert_int_equal(d.n_warnings, 1);
	assert_true(has_line_ending(&d, "echo URLs live under /echo/"));
	config_free(c);
	diags_free(&d);
	c = load("slack", "https://hooks.slack.com/hook/1", &d);
	assert_non_null(c);
	/* Only the mention: "@oncall" is no Slack markup. */
	assert_int_equal(d.n, 1);
	assert_true(has_line_ending(&d, "so it would notify nobody"));
	config_free(c);
	diags_free(&d);
}

/* send-test renders with the row (mention passed through), posts with its
 * content type, and the row's classifier decides the outcome. */
static void send_test_posts_through_the_row(void **state)
{
	struct endpoint *ep = *state;
	const char *paths[] = { "/echo/ok", "/echo/busy", "/echo/other" };
	const int want[] = { 0, 1, 1 };
	struct diags d = { 0 };
	struct config *c;
	char url[128];
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", ep->port, paths[i]);
		c = load("echo", url, &d);
		assert_non_null(c);
		ep->last_body[0] = '\0';
		assert_int_equal(send_test(c), want[i]);
		assert_string_equal(ep->last_type, "text/plain; charset=utf-8");
		assert_string_equal(ep->last_body, "echo:FAILED:dpc-notify test:@oncall");
		config_free(c);
		diags_free(&d);
	}
}

/* The classifier the worker and send-test reach through deliver_post. */
static void classifier_is_the_rows(void **state)
{
	(void)state;
	assert_int_equal(echo_target.classify(200, 0, "echoed", 6), 0);
	assert_int_equal(echo_target.classify(200, 0, "busy", 4), ERR_TRANSIENT);
	assert_int_equal(echo_target.classify(200, 0, NULL, 0), ERR_PERMANENT);
	assert_int_equal(echo_target.classify(503, ERR_TRANSIENT, "echoed", 6), ERR_PERMANENT);
	/* The built-in rows keep their own rules. */
	assert_int_equal(target_find("teams")->classify(200, 0, "x HTTP error 429 y", 18),
			 ERR_TRANSIENT);
	assert_int_equal(target_find("teams")->classify(503, ERR_TRANSIENT, "", 0), ERR_TRANSIENT);
	assert_int_equal(target_find("slack")->classify(200, 0, "x HTTP error 429 y", 18), 0);
	assert_int_equal(target_find("slack")->classify(429, ERR_TRANSIENT, "", 0), ERR_TRANSIENT);
	assert_int_equal(target_find("slack")->classify(404, ERR_PERMANENT, "", 0), ERR_PERMANENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_finds_the_extra_row),
		cmocka_unit_test(config_takes_type_echo),
		cmocka_unit_test(config_words_come_from_the_table),
		cmocka_unit_test(send_test_posts_through_the_row),
		cmocka_unit_test(classifier_is_the_rows),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
