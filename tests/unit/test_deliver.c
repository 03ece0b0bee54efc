/* Unit tests for chat delivery against a loopback libmicrohttpd server that
 * answers like Slack and Teams do (bare-word error bodies, 202 with no
 * body, 429 with Retry-After), checking the ok / retry / permanent split
 * and that the detail text never leaks the webhook URL. */
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
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "deliver.h"
#include "errors.h"
#include "target.h"

struct server {
	struct MHD_Daemon *d;
	char base[64];
	struct httpc *h;
	char last_type[128]; /* Content-Type of the last POST */
	char last_sig[128];  /* X-Test-Sig of the last POST */
	char last_query[64]; /* its ?wait= and ?thread_id= ("" when absent) */
	char last_body[256];
};

struct route {
	const char *path;
	unsigned status;
	const char *body;
	const char *retry_after; /* NULL: no header */
};

/* Paths carry a secret-looking segment: detail must never show it. */
static const struct route routes[] = {
	{ "/services/T0/B0/SECRETok", 200, "ok", NULL },
	{ "/workflows/SECRETteams", 202, "", NULL },
	{ "/services/T0/B0/SECRETbad", 400, "invalid_payload", NULL },
	{ "/services/T0/B0/SECRETslow", 429, "rate_limited", "30" },
	{ "/services/T0/B0/SECRETdown", 500, "rollup_error", NULL },
	{ "/services/T0/B0/SECRETgone", 404, "no_service", NULL },
	{ "/services/T0/B0/SECRETecho", 400, "/services/T0/B0/SECRETecho\n\x01", NULL },
	{ "/services/T0/B0/SECRETlong", 403,
	  "action_prohibited 0123456789012345678901234567890123456789012345678901234567890123456789",
	  NULL },
	{ "/legacy/SECRETteams", 200, "Microsoft Teams endpoint returned HTTP error 429", NULL },
	{ "/services/T0/B0/hookSECRETxyz", 400, "invalid hook hookSECRETx", NULL },
	/* Discord: the wait lies in the JSON body only, fractional; then a
	 * header and a body that disagree; the message a ?wait=true post gets. */
	{ "/api/webhooks/1/SECRETdslow", 429, "{\"retry_after\": 2.5, \"global\": false}", NULL },
	{ "/api/webhooks/1/SECRETdboth", 429, "{\"retry_after\": 1e300}", "4" },
	{ "/api/webhooks/1/SECRETdok", 200, "{\"id\": \"112233445566778899\", \"type\": 0}", NULL },
};

static enum MHD_Result answer(struct server *srv, struct MHD_Connection *c, const char *url)
{
	static const struct route unknown = { "", 418, "", NULL };
	const struct route *rt = &unknown;
	struct MHD_Response *r;
	enum MHD_Result ret;
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	size_t i;

	snprintf(srv->last_type, sizeof(srv->last_type), "%s", ct ? ct : "");
	ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Test-Sig");
	snprintf(srv->last_sig, sizeof(srv->last_sig), "%s", ct ? ct : "");
	ct = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "wait");
	snprintf(srv->last_query, sizeof(srv->last_query), "%s%s", ct ? "wait=" : "", ct ? ct : "");
	ct = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "thread_id");
	if (ct != NULL)
		snprintf(srv->last_query + strlen(srv->last_query),
			 sizeof(srv->last_query) - strlen(srv->last_query), " thread_id=%s", ct);
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].path, url) == 0)
			rt = &routes[i];
	r = MHD_create_response_from_buffer(strlen(rt->body), (void *)rt->body,
					    MHD_RESPMEM_MUST_COPY);
	if (rt->retry_after)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, rt->retry_after);
	ret = MHD_queue_response(c, rt->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **con_cls)
{
	struct server *srv = cls;

	(void)version;
	(void)method;
	if (!*con_cls) {
		*con_cls = srv;
		srv->last_body[0] = '\0';
		return MHD_YES;
	}
	if (*size) {
		size_t n = strlen(srv->last_body);
		size_t room = sizeof(srv->last_body) - 1 - n;

		if (*size < room)
			room = *size;
		memcpy(srv->last_body + n, data, room);
		srv->last_body[n + room] = '\0';
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
	snprintf(srv.base, sizeof(srv.base), "http://127.0.0.1:%u", (unsigned)info->port);
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

static void post_as(struct server *srv, const char *target, const char *path,
		    struct deliver_result *r)
{
	const struct target *t = target_find(target);
	char url[160];

	assert_non_null(t);
	snprintf(url, sizeof(url), "%s%s", srv->base, path);
	memset(r, 0x55, sizeof(*r)); /* every field must be written */
	assert_int_equal(deliver_post(srv->h, t, url, "{\"text\":\"hi\"}", NULL, r), 0);
	assert_null(strstr(r->detail, "SECRET"));
	assert_null(strstr(r->detail, "127.0.0.1"));
}

/* Posts as the target a path looks like: Slack's hooks live under
 * /services/, the rest stand for Teams. */
static void post(struct server *srv, const char *path, struct deliver_result *r)
{
	post_as(srv, strncmp(path, "/services/", 10) == 0 ? "slack" : "teams", path, r);
}

static void test_slack_ok(void **state)
{
	struct server *srv = *state;
	struct deliver_result r;

	post(srv, "/services/T0/B0/SECRETok", &r);
	assert_int_equal(r.cls, DELIVER_OK);
	assert_int_equal(r.http_status, 200);
	assert_int_equal(r.retry_after_s, -1);
	assert_string_equal(r.detail, "HTTP 200 ok");
	assert_true(r.seconds >= 0);
	assert_string_equal(srv->last_type, "application/json");
	assert_string_equal(srv->last_body, "{\"text\":\"hi\"}");
}

static void test_teams_202_empty(void **state)
{
	struct deliver_result r;

	post(*state, "/workflows/SECRETteams", &r);
	assert_int_equal(r.cls, DELIVER_OK);
	assert_int_equal(r.http_status, 202);
	assert_string_equal(r.detail, "HTTP 202");
}

static void test_invalid_payload_permanent(void **state)
{
	struct deliver_result r;

	post(*state, "/services/T0/B0/SECRETbad", &r);
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	assert_int_equal(r.http_status, 400);
	assert_string_equal(r.detail, "HTTP 400 invalid_payload");
}

static void test_429_retry_after(void **state)
{
	struct deliver_result r;

	post(*state, "/services/T0/B0/SECRETslow", &r);
	assert_int_equal(r.cls, DELIVER_RETRY);
	assert_int_equal(r.http_status, 429);
	assert_int_equal(r.retry_after_s, 30);
	assert_string_equal(r.detail, "HTTP 429 rate_limited");
}

/* A row's read_reply: Discord's JSON retry_after (2.5 s waits 3), the
 * longer of header and body, a hostile 1e300 clamped; the created
 * message's id; and ?wait=true added to the URL, kept with the query the
 * URL has and not doubled. */
static void test_discord_reply_hints(void **state)
{
	struct server *srv = *state;
	struct deliver_result r;

	post_as(srv, "discord", "/api/webhooks/1/SECRETdslow", &r);
	assert_int_equal(r.cls, DELIVER_RETRY);
	assert_int_equal(r.retry_after_s, 3);
	assert_string_equal(r.message_id, "");
	assert_string_equal(srv->last_query, "wait=true");
	post_as(srv, "discord", "/api/webhooks/1/SECRETdboth", &r);
	assert_int_equal(r.retry_after_s, 3600);
	post_as(srv, "discord", "/api/webhooks/1/SECRETdok", &r);
	assert_int_equal(r.cls, DELIVER_OK);
	assert_int_equal(r.retry_after_s, -1);
	assert_string_equal(r.message_id, "112233445566778899");
	post_as(srv, "discord", "/api/webhooks/1/SECRETdok?thread_id=77", &r);
	assert_string_equal(srv->last_query, "wait=true thread_id=77");
	post_as(srv, "discord", "/api/webhooks/1/SECRETdok?wait=false", &r);
	assert_string_equal(srv->last_query, "wait=false");
	assert_string_equal(r.message_id, "112233445566778899");
	/* Slack reads no body: its message_id stays empty. */
	post(srv, "/services/T0/B0/SECRETok", &r);
	assert_string_equal(r.message_id, "");
	assert_string_equal(srv->last_query, "");
}

static void test_500_retry(void **state)
{
	struct deliver_result r;

	post(*state, "/services/T0/B0/SECRETdown", &r);
	assert_int_equal(r.cls, DELIVER_RETRY);
	assert_int_equal(r.http_status, 500);
	assert_int_equal(r.retry_after_s, -1);
	assert_string_equal(r.detail, "HTTP 500 rollup_error");
}

static void test_404_permanent(void **state)
{
	struct deliver_result r;

	post(*state, "/services/T0/B0/SECRETgone", &r);
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	assert_int_equal(r.http_status, 404);
	assert_string_equal(r.detail, "HTTP 404 no_service");
}

/* A body is quoted only up to 64 bytes, as printable ASCII. */
static void test_detail_sanitised_and_capped(void **state)
{
	struct deliver_result r;
	size_t i;

	post(*state, "/services/T0/B0/SECRETlong", &r);
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	assert_string_equal(
		r.detail,
		"HTTP 403 action_prohibited 0123456789012345678901234567890123456789012345");
	/* A server echoing the URL back does not get it into detail:
	 * post() asserts "SECRET" is absent, so this only checks bytes. */
	memset(&r, 0, sizeof(r));
	{
		char url[160];
		struct server *srv = *state;

		snprintf(url, sizeof(url), "%s/services/T0/B0/SECRETecho", srv->base);
		assert_int_equal(deliver_post(srv->h, target_find("slack"), url, "{}", NULL, &r),
				 0);
	}
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	assert_null(strstr(r.detail, "SECRET"));
	assert_non_null(strstr(r.detail, "HTTP 400"));
	for (i = 0; r.detail[i]; i++)
		assert_true(r.detail[i] >= 0x20 && r.detail[i] < 0x7f);
}

/* A 400 echoing part of the hook path: the fragment is redacted in the
 * detail that is logged and stored, the rest of the body is kept. */
static void test_fragment_echo_redacted(void **state)
{
	struct deliver_result r;

	post(*state, "/services/T0/B0/hookSECRETxyz", &r);
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	assert_string_equal(r.detail, "HTTP 400 invalid hook [redacted]");
}

/* Fails when text holds any stretch of 8 characters of secret, in any case. */
static void assert_no_fragment(const char *text, const char *secret)
{
	size_t i, j, n = strlen(secret), t = strlen(text);

	for (i = 0; i + 8 <= n; i++)
		for (j = 0; j + 8 <= t; j++)
			if (strncasecmp(text + j, secret + i, 8) == 0)
				fail_msg("\"%.8s\" of a secret shows in \"%s\"", secret + i, text);
}

static void snip(const char *body, const char *url, char *out)
{
	memset(out, 0x55, DELIVER_SNIPPET_MAX + 1);
	deliver_snippet(body, strlen(body), url, out, DELIVER_SNIPPET_MAX + 1);
	assert_true(strlen(out) <= DELIVER_SNIPPET_MAX);
}

#define SLACK_URL "https://hooks.slack.com/services/T0ABCDEF1/B0ABCDEF2/aBcDeFgHiJkLmNoPqRsTuVwX"
#define TEAMS_URL                                                                            \
	"https://prod-12.westeurope.logic.azure.com:443/workflows/0123abcd/triggers/manual/" \
	"paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0"           \
	"&sig=Zx9sIgVaLuE0123456789abcdefABCDEF"

/* The examples: a fragment, a Slack hook path, a Teams sig=
 * value, percent-encoded and percent-decoded forms, whitespace that
 * collapses into a secret, and harmless bodies that must still show. */
static void test_snippet_redacts_fragments(void **state)
{
	char out[DELIVER_SNIPPET_MAX + 1];

	(void)state;
	snip("no_service for B0ABCDEF2/aBcDeFgHiJkL", SLACK_URL, out);
	assert_no_fragment(out, "aBcDeFgHiJkLmNoPqRsTuVwX");
	assert_no_fragment(out, "B0ABCDEF2");
	assert_string_equal(out, "no_service for [redacted]/[redacted]");
	snip("echo https%3A%2F%2Fhooks.slack.com%2Fservices%2FT0ABCDEF1%2FB0ABCDEF2%2FaBcDeFgH",
	     SLACK_URL, out);
	assert_no_fragment(out, "aBcDeFgHiJkLmNoPqRsTuVwX");
	assert_no_fragment(out, "T0ABCDEF1");
	snip("BadRequest: signature Zx9sIgVaLuE0123 invalid", TEAMS_URL, out);
	assert_no_fragment(out, "Zx9sIgVaLuE0123456789abcdefABCDEF");
	assert_string_equal(out, "BadRequest: signature [redacted] invalid");
	/* sp= decoded, and its encoded form in lower case. */
	snip("path /triggers/manual/run bad", TEAMS_URL, out);
	assert_no_fragment(out, "/triggers/manual/run");
	snip("path %2ftriggers%2fmanual bad", TEAMS_URL, out);
	assert_no_fragment(out, "%2Ftriggers%2Fmanual%2Frun");
	/* A raw secret echoed percent-encoded, and an encoded one echoed raw. */
	snip("got Key%2BWith%3DChars99", "https://h.example/hooks/Key+With=Chars99", out);
	assert_no_fragment(out, "Key%2BWith%3DChars99");
	snip("got b+CdEf/Gh=99", "https://h.example/x?sig=Ab%2BCdEf%2FGh%3D99", out);
	assert_no_fragment(out, "Ab+CdEf/Gh=99");
	/* Newlines and runs of blanks collapse to one space before matching. */
	snip("bad abc \n\t defghijk", "https://h.example/x?token=abc%20defghijk", out);
	assert_no_fragment(out, "abc defghijk");
	/* The user:password of the URL is a secret too. */
	snip("auth failed for bob:pa55w0rdXYZ", "https://bob:pa55w0rdXYZ@h.example/x", out);
	assert_no_fragment(out, "pa55w0rdXYZ");
	/* Harmless replies are shown as they are. */
	snip("invalid_payload", SLACK_URL, out);
	assert_string_equal(out, "invalid_payload");
	snip("action_prohibited", SLACK_URL, out);
	assert_string_equal(out, "action_prohibited");
	snip("  rate_limited \r\n", TEAMS_URL, out);
	assert_string_equal(out, "rate_limited");
	snip("", SLACK_URL, out);
	assert_string_equal(out, "");
}

/* A secret that straddles the 64-byte cut must not leave 8 of its
 * characters before the cut, wherever it starts. */
static void test_snippet_fragment_at_cut(void **state)
{
	const char *secret = "aBcDeFgHiJkLmNoPqRsTuVwX";
	char body[256], out[DELIVER_SNIPPET_MAX + 1];
	size_t pad;

	(void)state;
	for (pad = 40; pad < 80; pad++) {
		memset(body, '.', pad);
		snprintf(body + pad, sizeof(body) - pad, "%s tail", secret);
		snip(body, SLACK_URL, out);
		assert_no_fragment(out, secret);
	}
	/* The marker itself cannot combine with text into a fragment. */
	snip("[redacted]xy", "https://h.example/x/[redacted]xy", out);
	assert_no_fragment(out, "[redacted]xy");
}

static void test_legacy_teams_throttle_in_200(void **state)
{
	struct deliver_result r;

	post(*state, "/legacy/SECRETteams", &r);
	assert_int_equal(r.cls, DELIVER_RETRY);
	assert_int_equal(r.http_status, 200);
}

/* The throttle-in-body rule is Teams' own: each target reads its replies
 * with its row's classifier, and Slack's looks at the status alone. */
static void test_throttle_body_is_teams_only(void **state)
{
	struct deliver_result r;

	post_as(*state, "slack", "/legacy/SECRETteams", &r);
	assert_int_equal(r.cls, DELIVER_OK);
	assert_int_equal(r.http_status, 200);
}

static void test_connection_refused(void **state)
{
	struct server *srv = *state;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t sl = sizeof(sa);
	struct deliver_result r;
	char url[128];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/services/SECRETx",
		 (unsigned)ntohs(sa.sin_port));
	assert_int_equal(deliver_post(srv->h, target_find("slack"), url, "{}", NULL, &r), 0);
	assert_int_equal(r.cls, DELIVER_RETRY);
	assert_int_equal(r.http_status, 0);
	assert_int_equal(r.retry_after_s, -1);
	assert_true(r.detail[0] != '\0');
	assert_null(strstr(r.detail, "SECRET"));
}

/* A plain-http webhook with allow_http off never leaves the process. */
static void test_http_refused_permanent(void **state)
{
	struct httpc_opts o = { .allow_http = 0 };
	struct httpc *h = httpc_new(&o);
	struct server *srv = *state;
	struct deliver_result r;
	char url[160];

	snprintf(url, sizeof(url), "%s/services/T0/B0/SECRETok", srv->base);
	assert_int_equal(deliver_post(h, target_find("slack"), url, "{}", NULL, &r), 0);
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	assert_int_equal(r.http_status, 0);
	assert_null(strstr(r.detail, "SECRET"));
	httpc_free(h);
}

static void test_class_names(void **state)
{
	(void)state;
	assert_string_equal(deliver_class_names[DELIVER_OK], "ok");
	assert_string_equal(deliver_class_names[DELIVER_RETRY], "retry");
	assert_string_equal(deliver_class_names[DELIVER_PERMANENT], "permanent");
}

/* A target whose prepare hook signs with the secret and wraps the body:
 * what is posted is the hook's, what is stored stays as rendered. */
static int sign_prepare(const char *body, const char *secret, const char *post_id, int64_t now_s,
			struct target_post *out)
{
	char h[128], b[256];

	if (secret == NULL)
		return ERR_INVALID;
	snprintf(h, sizeof(h), "X-Test-Sig: %s/%s/%d", secret, post_id, now_s > 1700000000);
	snprintf(b, sizeof(b), "{\"wrapped\":%s}", body);
	out->headers[0] = strdup(h);
	out->body = strdup(b);
	return out->headers[0] && out->body ? 0 : ERR_NOMEM;
}

static int ok_classify(long status, int by_status, const char *body, size_t len)
{
	(void)status;
	(void)body;
	(void)len;
	return by_status;
}

static void test_prepare_hook_signs_and_wraps(void **state)
{
	struct server *srv = *state;
	struct target t = { .name = "signed",
			    .content_type = "application/json",
			    .classify = ok_classify,
			    .prepare = sign_prepare };
	const struct deliver_opts o = { "s3cret", "dpc-7-ops" };
	struct deliver_result r;
	char url[128];

	snprintf(url, sizeof(url), "%s/services/T0/B0/SECRETok", srv->base);
	assert_int_equal(deliver_post(srv->h, &t, url, "{\"a\":1}", &o, &r), 0);
	assert_int_equal(r.cls, DELIVER_OK);
	assert_string_equal(srv->last_sig, "s3cret/dpc-7-ops/1");
	assert_string_equal(srv->last_body, "{\"wrapped\":{\"a\":1}}");
	/* No secret where one is needed: given up without a post. */
	srv->last_body[0] = '\0';
	assert_int_equal(deliver_post(srv->h, &t, url, "{}", NULL, &r), 0);
	assert_int_equal(r.cls, DELIVER_PERMANENT);
	assert_true(strstr(r.detail, "cannot be sent") != NULL);
}

static void url_is(const char *url, const char *tail, const char *param, const char *want)
{
	char *got = deliver_url(url, tail, param);

	if (want == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* A Discord message's edit URL and a thread's post URL: the path grows
 * by the tail, the query keeps what the operator set and gets the
 * parameter once. */
static void test_url(void **state)
{
	(void)state;
	url_is("https://discord.com/api/webhooks/1/tok", "/messages/12", NULL,
	       "https://discord.com/api/webhooks/1/tok/messages/12");
	url_is("https://discord.com/api/webhooks/1/tok", "/messages/12", "thread_id=34",
	       "https://discord.com/api/webhooks/1/tok/messages/12?thread_id=34");
	url_is("https://discord.com/api/webhooks/1/tok?wait=true", NULL, "thread_id=34",
	       "https://discord.com/api/webhooks/1/tok?wait=true&thread_id=34");
	url_is("https://discord.com/api/webhooks/1/tok?thread_id=9", NULL, "thread_id=34",
	       "https://discord.com/api/webhooks/1/tok?thread_id=9");
	url_is("https://discord.com/api/webhooks/1/tok?thread_id=9", "/messages/12", "thread_id=34",
	       "https://discord.com/api/webhooks/1/tok/messages/12?thread_id=9");
	url_is("not a url", "/messages/12", NULL, NULL);
	url_is(NULL, "/messages/12", NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prepare_hook_signs_and_wraps),
		cmocka_unit_test(test_slack_ok),
		cmocka_unit_test(test_teams_202_empty),
		cmocka_unit_test(test_invalid_payload_permanent),
		cmocka_unit_test(test_429_retry_after),
		cmocka_unit_test(test_discord_reply_hints),
		cmocka_unit_test(test_500_retry),
		cmocka_unit_test(test_404_permanent),
		cmocka_unit_test(test_detail_sanitised_and_capped),
		cmocka_unit_test(test_fragment_echo_redacted),
		cmocka_unit_test(test_snippet_redacts_fragments),
		cmocka_unit_test(test_snippet_fragment_at_cut),
		cmocka_unit_test(test_legacy_teams_throttle_in_200),
		cmocka_unit_test(test_throttle_body_is_teams_only),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_http_refused_permanent),
		cmocka_unit_test(test_class_names),
		cmocka_unit_test(test_url),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
