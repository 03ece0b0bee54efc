/* Unit tests for the Slack Web API client (slackapi.h) against a loopback
 * libmicrohttpd server that answers as Slack does: ok:true with channel
 * and ts, ok:false with an error code in a 200, 429 with Retry-After,
 * 5xx, and pages that are not Slack's JSON. Every code the client knows
 * is classified; hostile Retry-After values are clamped; the token never
 * reaches a detail or an error, even when the reply repeats it. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "errors.h"
#include "slackapi.h"

#define TOKEN "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"

/* What the server answers next, and what it saw last. */
struct server {
	struct MHD_Daemon *d;
	char base[64];
	struct httpc *h;
	unsigned status;
	char body[1024];
	const char *retry_after; /* NULL: no header */
	char path[128];
	char auth[256];
	char type[128];
	char got[512];
};

static enum MHD_Result answer(struct server *srv, struct MHD_Connection *c, const char *url)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	struct MHD_Response *r;
	enum MHD_Result ret;

	snprintf(srv->auth, sizeof(srv->auth), "%s", v ? v : "");
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	snprintf(srv->type, sizeof(srv->type), "%s", v ? v : "");
	snprintf(srv->path, sizeof(srv->path), "%s", url);
	r = MHD_create_response_from_buffer(strlen(srv->body), srv->body, MHD_RESPMEM_MUST_COPY);
	if (srv->retry_after)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, srv->retry_after);
	ret = MHD_queue_response(c, srv->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **con_cls)
{
	struct server *srv = cls;
	size_t n, room;

	(void)version;
	(void)method;
	if (!*con_cls) {
		*con_cls = srv;
		srv->got[0] = '\0';
		return MHD_YES;
	}
	if (*size) {
		n = strlen(srv->got);
		room = sizeof(srv->got) - 1 - n;
		if (*size < room)
			room = *size;
		memcpy(srv->got + n, data, room);
		srv->got[n + room] = '\0';
		*size = 0;
		return MHD_YES;
	}
	return answer(srv, c, url);
}

static int setup(void **state)
{
	static struct server srv;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	struct httpc_opts o = { .allow_http = 1 };
	const union MHD_DaemonInfo *info;

	setenv("no_proxy", "127.0.0.1", 1);
	setenv("NO_PROXY", "127.0.0.1", 1);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
				 handler, &srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				 MHD_OPTION_END);
	if (!srv.d || httpc_global_init() != 0)
		return -1;
	info = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(srv.base, sizeof(srv.base), "http://127.0.0.1:%u/api/", (unsigned)info->port);
	srv.h = httpc_new(&o);
	*state = &srv;
	return srv.h ? 0 : -1;
}

static int teardown(void **state)
{
	struct server *srv = *state;

	httpc_free(srv->h);
	MHD_stop_daemon(srv->d);
	httpc_global_cleanup();
	return 0;
}

/* Sets the next answer. */
static void will(struct server *srv, unsigned status, const char *body, const char *retry_after)
{
	srv->status = status;
	snprintf(srv->body, sizeof(srv->body), "%s", body);
	srv->retry_after = retry_after;
}

/* Calls method and checks what must hold for every reply: the token is
 * nowhere in what a log could see. */
static void call(struct server *srv, const char *method, struct slackapi_reply *r)
{
	memset(r, 0x55, sizeof(*r)); /* every field must be written */
	assert_int_equal(slackapi_call(srv->h, srv->base, TOKEN, method, "{\"channel\":\"C1\"}", r),
			 0);
	assert_null(strstr(r->detail, "1234567890"));
	assert_null(strstr(r->detail, "AbCdEfGh"));
	assert_null(strstr(r->error, "1234567890"));
	assert_true(strlen(r->detail) < sizeof(r->detail));
	assert_true(strlen(r->error) < sizeof(r->error));
}

/* A posted message: its channel and ts; the request carries the bearer
 * token, the JSON content type and the body, to base + method. */
static void test_post_ok(void **state)
{
	struct server *srv = *state;
	struct slackapi_reply r;

	will(srv, 200,
	     "{\"ok\":true,\"channel\":\"C0123ABC\",\"ts\":\"1700000000.000100\","
	     "\"message\":{\"text\":\"hi\"}}",
	     NULL);
	call(srv, "chat.postMessage", &r);
	assert_int_equal(r.cls, DELIVER_OK);
	assert_int_equal(r.http_status, 200);
	assert_int_equal(r.retry_after_s, -1);
	assert_string_equal(r.error, "");
	assert_string_equal(r.channel, "C0123ABC");
	assert_string_equal(r.ts, "1700000000.000100");
	assert_string_equal(srv->path, "/api/chat.postMessage");
	assert_string_equal(srv->auth, "Bearer " TOKEN);
	assert_string_equal(srv->type, "application/json; charset=utf-8");
	assert_string_equal(srv->got, "{\"channel\":\"C1\"}");
	assert_non_null(strstr(r.detail, "chat.postMessage"));
	/* A base URL without its slash gets one. */
	srv->base[strlen(srv->base) - 1] = '\0';
	call(srv, "chat.update", &r);
	srv->base[strlen(srv->base) + 1] = '\0';
	srv->base[strlen(srv->base)] = '/';
	assert_string_equal(srv->path, "/api/chat.update");
	assert_int_equal(r.cls, DELIVER_OK);
}

/* Every code with a meaning, then an unknown one, each in a 200. */
static void test_codes(void **state)
{
	static const struct {
		const char *code;
		enum deliver_class cls;
		const char *says;
	} cases[] = {
		{ "invalid_auth", DELIVER_PERMANENT, "token is not valid" },
		{ "not_authed", DELIVER_PERMANENT, "no bot token" },
		{ "account_inactive", DELIVER_PERMANENT, "deactivated" },
		{ "token_revoked", DELIVER_PERMANENT, "revoked" },
		{ "channel_not_found", DELIVER_PERMANENT, "no such channel" },
		{ "not_in_channel", DELIVER_PERMANENT, "not in the channel" },
		{ "is_archived", DELIVER_PERMANENT, "archived" },
		{ "msg_too_long", DELIVER_PERMANENT, "too long" },
		{ "invalid_blocks", DELIVER_PERMANENT, "blocks" },
		{ "missing_scope", DELIVER_PERMANENT, "scope" },
		{ "ratelimited", DELIVER_RETRY, "rate limit" },
		{ "internal_error", DELIVER_RETRY, "retried" },
		{ "service_unavailable", DELIVER_RETRY, "retried" },
		{ "some_new_code", DELIVER_PERMANENT, "Slack refused" },
	};
	struct server *srv = *state;
	struct slackapi_reply r;
	char body[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "{\"ok\":false,\"error\":\"%s\"}", cases[i].code);
		will(srv, 200, body, NULL);
		call(srv, "chat.postMessage", &r);
		if (r.cls != cases[i].cls)
			fail_msg("%s: class %d, want %d", cases[i].code, r.cls, cases[i].cls);
		assert_string_equal(r.error, cases[i].code);
		assert_non_null(strstr(r.detail, cases[i].code));
		if (strstr(r.detail, cases[i].says) == NULL)
			fail_msg("%s: detail \"%s\" lacks \"%s\"", cases[i].code, r.detail,
				 cases[i].says);
		assert_string_equal(r.ts, "");
	}
	assert_null(slackapi_explain("some_new_code"));
	assert_null(slackapi_explain(NULL));
	assert_non_null(slackapi_explain("invalid_auth"));
}

/* HTTP 429 and 5xx retry; a 429's Retry-After is kept, hostile ones are
 * clamped or ignored; a 4xx that is not Slack's JSON is given up; a 200
 * that is not Slack's JSON is retried (a proxy in the way). */
static void test_status_and_retry_after(void **state)
{
	static const struct {
		const char *header;
		int64_t want;
	} ra[] = {
		{ "30", 30 },
		{ "0", 0 },
		{ "99999999999999999999999", -1 },
		{ "922337203685477580", SLACKAPI_RETRY_AFTER_MAX },
		{ "3601", SLACKAPI_RETRY_AFTER_MAX },
		{ "-5", -1 },
		{ "soon", -1 },
		{ "1e9", -1 },
	};
	struct server *srv = *state;
	struct slackapi_reply r;
	size_t i;

	for (i = 0; i < sizeof(ra) / sizeof(ra[0]); i++) {
		will(srv, 429, "{\"ok\":false,\"error\":\"ratelimited\"}", ra[i].header);
		call(srv, "chat.postMessage", &r);
		assert_int_equal(r.cls, DELIVER_RETRY);
		assert_int_equal(r.http_status, 429);
		if (r.retry_after_s != ra[i].want)
			fail_msg("Retry-After %s: %lld, want %lld", ra[i].header,
				 (long long)r.retry_after_s, (long long)ra[i].want);
	}
	will(srv, 429, "", "7");
	call(srv, "chat.postMessage", &r);
	assert_int_equal(r.cls, DELIVER_RETRY);
	assert_int_equal(r.retry_after_s, 7);
	will(srv, 503, "<html>upstream down</html>", NULL);
	call(srv, "chat.postMessage", &r);
	assert_int_equal(r.cls, DELIVER_RETRY);
	assert_non_null(strstr(r.detail, "HTTP 503"));
	/* Slack's own trouble in a 500 with its JSON still retries. */
	will(srv, 500, "{\"ok\":false,\"error\":\"invalid_auth\"}", NULL);
	call(srv, "chat.postMessage", &r);
	assert_int_equal(r.cls, DELIVER_RETRY);
	will(srv, 404, "not here", NULL);
	call(srv, "chat.postMessage", &r);
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	will(srv, 200, "<html>login</html>", NULL);
	call(srv, "chat.postMessage", &r);
	assert_int_equal(r.cls, DELIVER_RETRY);
	will(srv, 200, "{\"ok\":\"true\"}", NULL);
	call(srv, "chat.postMessage", &r);
	assert_int_equal(r.cls, DELIVER_RETRY);
}

/* The token never shows: not when the reply's error code, its page or a
 * hostile id repeats it, whole or in pieces. */
static void test_token_redacted(void **state)
{
	struct server *srv = *state;
	struct slackapi_reply r;

	will(srv, 200, "{\"ok\":false,\"error\":\"" TOKEN "\"}", NULL);
	call(srv, "chat.postMessage", &r);
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	assert_null(strstr(r.error, "xoxb"));
	will(srv, 200, "{\"ok\":false,\"error\":\"bad_1234567890_token\"}", NULL);
	call(srv, "chat.postMessage", &r);
	assert_string_equal(r.error, "redacted_error");
	will(srv, 403, "forbidden for Bearer " TOKEN " sorry", NULL);
	call(srv, "chat.postMessage", &r);
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	assert_null(strstr(r.detail, "xoxb-12345"));
	will(srv, 200,
	     "{\"ok\":true,\"channel\":\"" TOKEN "\",\"ts\":\"1.2\\n<!channel>\",\"x\":\"" TOKEN
	     "\"}",
	     NULL);
	call(srv, "chat.postMessage", &r);
	assert_int_equal(r.cls, DELIVER_OK);
	assert_string_equal(r.channel, ""); /* not a channel id */
	assert_string_equal(r.ts, "");
}

/* A token, method or URL that cannot work is given up before anything
 * is sent; no answer at all is retried. */
static void test_refused_before_sending(void **state)
{
	struct server *srv = *state;
	struct slackapi_reply r;
	char big[SLACKAPI_TOKEN_MAX + 2];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	srv->path[0] = '\0';
	assert_int_equal(slackapi_call(srv->h, srv->base, "", "auth.test", NULL, &r), 0);
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	assert_int_equal(slackapi_call(srv->h, srv->base, NULL, "auth.test", NULL, &r), 0);
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	assert_int_equal(slackapi_call(srv->h, srv->base, "xoxb-1\r\nX: y", "auth.test", NULL, &r),
			 0);
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	assert_int_equal(slackapi_call(srv->h, srv->base, big, "auth.test", NULL, &r), 0);
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	assert_int_equal(slackapi_call(srv->h, srv->base, TOKEN, "../admin", NULL, &r), 0);
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	assert_int_equal(slackapi_call(srv->h, srv->base, TOKEN, "", NULL, &r), 0);
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	assert_string_equal(srv->path, "");
	assert_int_equal(slackapi_call(NULL, srv->base, TOKEN, "auth.test", NULL, &r), ERR_INVALID);
	assert_int_equal(slackapi_call(srv->h, srv->base, TOKEN, "auth.test", NULL, NULL),
			 ERR_INVALID);
	/* Nobody listens on port 9: retried. */
	assert_int_equal(
		slackapi_call(srv->h, "http://127.0.0.1:9/api/", TOKEN, "auth.test", NULL, &r), 0);
	assert_int_equal(r.cls, DELIVER_RETRY);
	assert_int_equal(r.http_status, 0);
	/* A URL the client refuses (not http/https): given up. */
	assert_int_equal(slackapi_call(srv->h, "ftp://x/", TOKEN, "auth.test", NULL, &r), 0);
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	/* A NULL body posts "{}". */
	will(srv, 200, "{\"ok\":true}", NULL);
	assert_int_equal(slackapi_call(srv->h, srv->base, TOKEN, "auth.test", NULL, &r), 0);
	assert_int_equal(r.cls, DELIVER_OK);
	assert_string_equal(srv->got, "{}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_post_ok),
		cmocka_unit_test(test_codes),
		cmocka_unit_test(test_status_and_retry_after),
		cmocka_unit_test(test_token_redacted),
		cmocka_unit_test(test_refused_before_sending),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
