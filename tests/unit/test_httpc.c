/* Unit tests for the HTTP client: pure helpers (status classes, Retry-After,
 * escaping) as tables, then real requests against a libmicrohttpd server
 * started on an ephemeral loopback port inside the test. */
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
#include "httpc.h"

#define BIG_LEN 10000

struct server {
	struct MHD_Daemon *d;
	char base[64]; /* "http://127.0.0.1:PORT" */
};

/* Requests the server saw, and those carrying an X-Injected header; the
 * daemon's thread writes them, tests read them after a request returned. */
static int n_requests, n_injected;

/* Request body collected across the upload callbacks. */
struct upload {
	char buf[1024];
	size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
			     const char *hname, const char *hvalue)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (hname)
		MHD_add_response_header(r, hname, hvalue);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Streams BIG_LEN bytes with no Content-Length (chunked), so only the
 * write callback can enforce the cap. */
static ssize_t big_chunks(void *cls, uint64_t pos, char *buf, size_t max)
{
	size_t n = BIG_LEN - (size_t)pos;

	(void)cls;
	if (pos >= BIG_LEN)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n > max)
		n = max;
	if (n > 500)
		n = 500;
	memset(buf, 'y', n);
	return (ssize_t)n;
}

static enum MHD_Result reply_big(struct MHD_Connection *c, int chunked)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	static char big[BIG_LEN];

	if (chunked) {
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 500, big_chunks, NULL,
						      NULL);
	} else {
		memset(big, 'x', sizeof(big));
		r = MHD_create_response_from_buffer(sizeof(big), big, MHD_RESPMEM_MUST_COPY);
	}
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* POST /echo: returns the body, prefixed with the request's Content-Type. */
static enum MHD_Result echo(struct MHD_Connection *c, const char *data, size_t *size,
			    void **con_cls)
{
	struct upload *u = *con_cls;
	const char *ct;
	char out[1200];

	if (!u) {
		u = calloc(1, sizeof(*u));
		*con_cls = u;
		return u ? MHD_YES : MHD_NO;
	}
	if (*size) {
		size_t n =
			*size < sizeof(u->buf) - 1 - u->len ? *size : sizeof(u->buf) - 1 - u->len;

		memcpy(u->buf + u->len, data, n);
		u->len += n;
		*size = 0;
		return MHD_YES;
	}
	ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	snprintf(out, sizeof(out), "%s|%.*s", ct ? ct : "-", (int)u->len, u->buf);
	return reply(c, MHD_HTTP_OK, out, NULL, NULL);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **con_cls)
{
	(void)cls;
	(void)version;
	if (!*con_cls && strcmp(url, "/count") == 0) {
		__atomic_add_fetch(&n_requests, 1, __ATOMIC_SEQ_CST);
		if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Injected"))
			__atomic_add_fetch(&n_injected, 1, __ATOMIC_SEQ_CST);
		return reply(c, MHD_HTTP_OK, "counted", NULL, NULL);
	}
	if (strcmp(method, "POST") == 0 && strcmp(url, "/echo") == 0)
		return echo(c, data, size, con_cls);
	if (strcmp(url, "/ok") == 0)
		return reply(c, MHD_HTTP_OK, "hello", NULL, NULL);
	if (strcmp(url, "/retry") == 0)
		return reply(c, 429, "slow down", MHD_HTTP_HEADER_RETRY_AFTER, "7");
	if (strcmp(url, "/big") == 0)
		return reply_big(c, 0);
	if (strcmp(url, "/bigchunked") == 0)
		return reply_big(c, 1);
	if (strcmp(url, "/redirect") == 0)
		return reply(c, MHD_HTTP_FOUND, "moved", MHD_HTTP_HEADER_LOCATION, "/ok");
	return reply(c, MHD_HTTP_NOT_FOUND, "", NULL, NULL);
}

static void done(void *cls, struct MHD_Connection *c, void **con_cls,
		 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

static int server_setup(void **state)
{
	static struct server srv;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	const union MHD_DaemonInfo *info;

	/* A developer's proxy settings must not capture loopback requests. */
	setenv("no_proxy", "127.0.0.1", 1);
	setenv("NO_PROXY", "127.0.0.1", 1);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
				 handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				 MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_END);
	if (!srv.d)
		return -1;
	info = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(srv.base, sizeof(srv.base), "http://127.0.0.1:%u", (unsigned)info->port);
	*state = &srv;
	return httpc_global_init();
}

static int server_teardown(void **state)
{
	struct server *srv = *state;

	MHD_stop_daemon(srv->d);
	httpc_global_cleanup();
	return 0;
}

static struct httpc *client(size_t max_response, int allow_http)
{
	struct httpc_opts o = { .allow_http = allow_http, .max_response = max_response };

	return httpc_new(&o);
}

static void url_of(const struct server *srv, const char *path, char *out, size_t n)
{
	snprintf(out, n, "%s%s", srv->base, path);
}

/* ---- pure helpers ---- */

static void test_classify(void **state)
{
	static const struct {
		long status;
		int want;
	} cases[] = {
		{ 200, 0 },
		{ 202, 0 },
		{ 204, 0 },
		{ 299, 0 },
		{ 408, ERR_TRANSIENT },
		{ 425, ERR_TRANSIENT },
		{ 429, ERR_TRANSIENT },
		{ 500, ERR_TRANSIENT },
		{ 503, ERR_TRANSIENT },
		{ 599, ERR_TRANSIENT },
		{ 0, ERR_PERMANENT },
		{ 100, ERR_PERMANENT },
		{ 302, ERR_PERMANENT },
		{ 400, ERR_PERMANENT },
		{ 401, ERR_PERMANENT },
		{ 403, ERR_PERMANENT },
		{ 404, ERR_PERMANENT },
		{ 410, ERR_PERMANENT },
		{ 413, ERR_PERMANENT },
		{ 600, ERR_PERMANENT },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(httpc_classify(cases[i].status), cases[i].want);
}

static void test_retry_after(void **state)
{
	const int64_t date = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */
	static const struct {
		const char *in;
		int64_t off;
		int64_t want;
	} cases[] = {
		{ "120", 0, 120 },
		{ "  5 \r\n", 0, 5 },
		{ "0", 0, 0 },
		{ "Wed, 21 Oct 2015 07:28:00 GMT", -60, 60 },
		{ "Wednesday, 21-Oct-15 07:28:00 GMT", -90, 90 },
		{ "Wed Oct 21 07:28:00 2015", -30, 30 },
		{ "Wed, 21 Oct 2015 07:28:00 GMT", 3600, 0 }, /* in the past */
		{ "", 0, -1 },
		{ "-5", 0, -1 },
		{ "+5", 0, -1 },
		{ "5s", 0, -1 },
		{ "1.5", 0, -1 },
		{ "soon", 0, -1 },
		{ "99999999999999999999999", 0, -1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(httpc_parse_retry_after(cases[i].in, date + cases[i].off),
				 cases[i].want);
	assert_int_equal(httpc_parse_retry_after(NULL, date), -1);
}

/* ---- against the loopback server ---- */

static void test_get_ok(void **state)
{
	struct httpc *h = client(0, 1);
	struct httpc_response resp;
	char url[128];
	int i;

	url_of(*state, "/ok", url, sizeof(url));
	/* Twice: the reset handle must work again. */
	for (i = 0; i < 2; i++) {
		assert_int_equal(httpc_request(h, "GET", url, NULL, NULL, 0, &resp), 0);
		assert_int_equal(resp.status, 200);
		assert_int_equal(resp.len, 5);
		assert_string_equal(resp.body, "hello");
		assert_int_equal(resp.retry_after_s, -1);
		assert_string_equal(resp.error, "");
		httpc_response_free(&resp);
	}
	httpc_free(h);
}

static void test_post_headers_and_body(void **state)
{
	static const char *const headers[] = { "Content-Type: application/json", NULL };
	struct httpc *h = client(0, 1);
	struct httpc_response resp;
	char url[128];

	url_of(*state, "/echo", url, sizeof(url));
	assert_int_equal(httpc_request(h, "POST", url, headers, "{\"a\":1}", 7, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body, "application/json|{\"a\":1}");
	httpc_response_free(&resp);
	httpc_free(h);
}

static void test_retry_after_captured(void **state)
{
	struct httpc *h = client(0, 1);
	struct httpc_response resp;
	char url[128];

	url_of(*state, "/retry", url, sizeof(url));
	assert_int_equal(httpc_request(h, "GET", url, NULL, NULL, 0, &resp), 0);
	assert_int_equal(resp.status, 429);
	assert_int_equal(resp.retry_after_s, 7);
	assert_string_equal(resp.body, "slow down");
	httpc_response_free(&resp);
	httpc_free(h);
}

static void test_size_cap(void **state)
{
	static const char *const paths[] = { "/big", "/bigchunked" };
	struct httpc *h = client(1000, 1);
	struct httpc_response resp;
	char url[128];
	size_t i;

	for (i = 0; i < 2; i++) {
		url_of(*state, paths[i], url, sizeof(url));
		assert_int_equal(httpc_request(h, "GET", url, NULL, NULL, 0, &resp), ERR_LIMIT);
		assert_true(resp.len <= 1000);
		assert_non_null(strstr(resp.error, "larger than 1000"));
		httpc_response_free(&resp);
	}
	/* The handle is still good after an aborted transfer. */
	url_of(*state, "/ok", url, sizeof(url));
	assert_int_equal(httpc_request(h, "GET", url, NULL, NULL, 0, &resp), 0);
	assert_string_equal(resp.body, "hello");
	httpc_response_free(&resp);
	httpc_free(h);
}

static void test_no_redirect(void **state)
{
	struct httpc *h = client(0, 1);
	struct httpc_response resp;
	char url[128];

	url_of(*state, "/redirect", url, sizeof(url));
	assert_int_equal(httpc_request(h, "GET", url, NULL, NULL, 0, &resp), 0);
	assert_int_equal(resp.status, 302);
	assert_string_equal(resp.body, "moved");
	httpc_response_free(&resp);
	httpc_free(h);
}

static void test_http_refused_without_allow(void **state)
{
	struct httpc *h = client(0, 0);
	struct httpc_response resp;
	char url[128];

	url_of(*state, "/ok?token=secret", url, sizeof(url));
	assert_int_equal(httpc_request(h, "GET", url, NULL, NULL, 0, &resp), ERR_PERMANENT);
	assert_int_equal(resp.status, 0);
	assert_null(resp.body);
	assert_non_null(strstr(resp.error, "https"));
	assert_null(strstr(resp.error, "secret"));
	httpc_response_free(&resp);
	/* Other schemes are refused even when http is allowed. */
	httpc_free(h);
	h = client(0, 1);
	assert_int_equal(httpc_request(h, "GET", "ftp://127.0.0.1/x", NULL, NULL, 0, &resp),
			 ERR_PERMANENT);
	assert_int_equal(httpc_request(h, "GET", "file:///etc/passwd", NULL, NULL, 0, &resp),
			 ERR_PERMANENT);
	httpc_free(h);
}

/* A closed port: transient, status 0, and the error names no path. */
static void test_connection_refused(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t sl = sizeof(sa);
	struct httpc *h = client(0, 1);
	struct httpc_response resp;
	char url[128];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd); /* nothing listens there now */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook/secret-path",
		 (unsigned)ntohs(sa.sin_port));
	assert_int_equal(httpc_request(h, "GET", url, NULL, NULL, 0, &resp), ERR_TRANSIENT);
	assert_int_equal(resp.status, 0);
	assert_true(resp.error[0] != '\0');
	assert_null(strstr(resp.error, "secret-path"));
	httpc_response_free(&resp);
	httpc_free(h);
}

/* No caller can add a header line (or a whole request) through a value:
 * any header with CR or LF is refused before a byte is sent. */
static void test_header_with_crlf_refused(void **state)
{
	static const char *const bad[] = {
		"Authorization: Bearer abc\r\nX-Injected: yes",
		"Authorization: Bearer abc\nX-Injected: yes",
		"Authorization: Bearer abc\rX-Injected: yes",
		"X-Injected: yes\r\n",
		"Authorization: Bearer abc\r\nContent-Length: 0\r\n\r\nGET /count HTTP/1.1\r\n"
		"X-Injected: yes\r\nX-Pad: ",
	};
	const char *headers[] = { "Accept: application/json", NULL, NULL };
	struct httpc *h = client(0, 1);
	struct httpc_response resp;
	char url[128];
	size_t i;

	url_of(*state, "/count", url, sizeof(url));
	__atomic_store_n(&n_requests, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&n_injected, 0, __ATOMIC_SEQ_CST);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		headers[1] = bad[i];
		assert_int_equal(httpc_request(h, "GET", url, headers, NULL, 0, &resp),
				 ERR_INVALID);
		assert_int_equal(resp.status, 0);
		assert_null(resp.body);
		assert_non_null(strstr(resp.error, "CR or LF"));
		assert_null(strstr(resp.error, "abc"));
		httpc_response_free(&resp);
		assert_int_equal(httpc_request(h, "POST", url, headers, "x", 1, &resp),
				 ERR_INVALID);
		httpc_response_free(&resp);
	}
	assert_int_equal(__atomic_load_n(&n_requests, __ATOMIC_SEQ_CST), 0);
	/* The handle still works, and a clean header goes out as is. */
	headers[1] = "X-Fine: yes";
	assert_int_equal(httpc_request(h, "GET", url, headers, NULL, 0, &resp), 0);
	assert_string_equal(resp.body, "counted");
	httpc_response_free(&resp);
	assert_int_equal(__atomic_load_n(&n_requests, __ATOMIC_SEQ_CST), 1);
	assert_int_equal(__atomic_load_n(&n_injected, __ATOMIC_SEQ_CST), 0);
	httpc_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_get_ok),
		cmocka_unit_test(test_post_headers_and_body),
		cmocka_unit_test(test_retry_after_captured),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_no_redirect),
		cmocka_unit_test(test_http_refused_without_allow),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_header_with_crlf_refused),
	};

	return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
