/* Loopback tests of the HTTP intake: a real server on 127.0.0.1:0 with a
 * real store in a temporary directory and a config loaded from a temporary
 * INI file, driven with libcurl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "config.h"
#include "intake.h"
#include "log.h"
#include "store.h"

/* Put in bodies and credentials; no reply may ever contain it. */
#define MARKER "MARKER-7f3a9c"
#define TOKEN "tok-" MARKER
#define OUT_MAX 65536

struct fixture {
	char dir[64];
	char ini[128];
	char db[128];
	struct config_holder *holder;
	struct store *st;
	struct intake *in;
	int ready;
	unsigned port;
};

static struct fixture fx;

struct reply {
	long code;
	char body[OUT_MAX];
	size_t body_len;
	char headers[OUT_MAX];
	size_t headers_len;
};

/* An upload fed by a read callback, to force chunked encoding. */
struct upload {
	const char *data;
	size_t len, off;
};

/* 2: a drain begins while the probe asks (the workers stop with it). */
static int is_ready(void *ctx)
{
	if (*(int *)ctx == 2) {
		intake_drain(fx.in);
		return 0;
	}
	return *(int *)ctx;
}

static size_t collect(char *ptr, size_t size, size_t n, void *ud, int hdr)
{
	struct reply *r = ud;
	char *buf = hdr ? r->headers : r->body;
	size_t *len = hdr ? &r->headers_len : &r->body_len;
	size_t take = size * n;

	if (take > OUT_MAX - 1 - *len)
		take = OUT_MAX - 1 - *len;
	memcpy(buf + *len, ptr, take);
	*len += take;
	buf[*len] = '\0';
	return size * n;
}

static size_t on_body(char *p, size_t s, size_t n, void *ud)
{
	return collect(p, s, n, ud, 0);
}

static size_t on_header(char *p, size_t s, size_t n, void *ud)
{
	return collect(p, s, n, ud, 1);
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
	struct upload *u = ud;
	size_t take = size * n;

	if (take > u->len - u->off)
		take = u->len - u->off;
	if (take > 100)
		take = 100; /* several chunks */
	memcpy(buf, u->data + u->off, take);
	u->off += take;
	return take;
}

/* Performs one request. headers is NULL-terminated (may be NULL). With
 * chunked set the body goes out with Transfer-Encoding: chunked. */
static void request(const char *method, const char *path, const char *const *headers,
		    const char *body, int chunked, struct reply *r)
{
	struct curl_slist *hl = NULL;
	struct upload up = { body, body ? strlen(body) : 0, 0 };
	char url[256];
	CURL *c = curl_easy_init();
	size_t i;

	assert_non_null(c);
	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", fx.port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	for (i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	if (chunked) {
		hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
	} else if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
}

static const char *const json_auth[] = {
	"Content-Type: application/json",
	"Authorization: Bearer " TOKEN,
	"Expect:",
	NULL,
};

static void post(const char *body, struct reply *r)
{
	request("POST", "/webhook", json_auth, body, 0, r);
}

/* An error reply is a problem document that echoes nothing we sent. */
static void assert_problem(const struct reply *r, long code)
{
	char status[32];

	assert_int_equal(r->code, code);
	assert_non_null(strstr(r->headers, "Content-Type: application/problem+json"));
	snprintf(status, sizeof(status), "\"status\":%ld", code);
	assert_non_null(strstr(r->body, status));
	assert_non_null(strstr(r->body, "\"type\":\"about:blank\""));
	assert_null(strstr(r->body, MARKER));
	assert_null(strstr(r->headers, MARKER));
}

static int write_ini(void)
{
	FILE *f = fopen(fx.ini, "w");

	if (f == NULL)
		return -1;
	fprintf(f,
		"[server]\nlisten = 127.0.0.1:0\nauth_token = %s\nmax_body = 4096\n"
		"max_json_depth = 8\nstore = %s\nlog_level = error\n"
		"[matillion]\nclient_id = cid\nclient_secret = csecret\n"
		"[destination chat]\ntype = slack\nurl = https://hooks.slack.com/services/T0/B0/x\n"
		"[project p1]\ndestinations = chat\nnotify_on = FAILED\nenvironments = prod*\n",
		TOKEN, fx.db);
	if (fclose(f))
		return -1;
	/* It holds a token, and config_load warns about readable secrets. */
	return chmod(fx.ini, 0600);
}

static int setup(void **state)
{
	struct diags d = { 0 };
	struct config *c;
	char err[256];

	(void)state;
	log_setup("error", LOG_FMT_LOGFMT); /* rejections are expected here */
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_intake.XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	snprintf(fx.ini, sizeof(fx.ini), "%s/dpc.ini", fx.dir);
	snprintf(fx.db, sizeof(fx.db), "%s/dpc.db", fx.dir);
	if (write_ini())
		return -1;
	c = config_load(fx.ini, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.lines[i]);
	diags_free(&d);
	if (c == NULL)
		return -1;
	fx.holder = config_holder_new(c);
	fx.st = store_open(fx.db, err, sizeof(err));
	if (fx.holder == NULL || fx.st == NULL) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	fx.ready = 1;
	fx.in = intake_start(fx.holder, fx.st, is_ready, &fx.ready, err, sizeof(err));
	if (fx.in == NULL) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	fx.port = intake_port(fx.in);
	return fx.port == 0 ? -1 : 0;
}

static int teardown(void **state)
{
	char path[160];

	(void)state;
	intake_stop(fx.in);
	store_close(fx.st);
	config_holder_free(fx.holder);
	unlink(fx.ini);
	snprintf(path, sizeof(path), "%s-wal", fx.db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", fx.db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-lock", fx.db);
	unlink(path);
	unlink(fx.db);
	rmdir(fx.dir);
	return 0;
}

static void test_accept_duplicate(void **state)
{
	const char *body = "{\"pipelineExecutionId\":\"run-1\",\"projectId\":\"p1\","
			   "\"status\":\"Failure\",\"environmentName\":\"prod-eu\"}";
	int64_t counts[JOB__MAX];
	struct reply r;
	char *end;

	(void)state;
	post(body, &r);
	assert_int_equal(r.code, 202);
	assert_non_null(strstr(r.headers, "Content-Type: application/json"));
	assert_int_equal(strncmp(r.body, "{\"id\":\"", 7), 0);
	assert_true(strtoll(r.body + 7, &end, 10) > 0);
	assert_string_equal(end, "\",\"status\":\"queued\"}");
	assert_int_equal(store_counts(fx.st, counts), 0);
	assert_int_equal(counts[JOB_QUEUED], 1);
	post(body, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "{\"status\":\"duplicate\"}");
	assert_int_equal(store_counts(fx.st, counts), 0);
	assert_int_equal(counts[JOB_QUEUED], 1);
}

static void test_ignored(void **state)
{
	static const char *const bodies[] = {
		/* status not in notify_on */
		"{\"executionId\":\"run-2\",\"projectId\":\"p1\",\"status\":\"SUCCESS\"}",
		/* environment not matched */
		"{\"executionId\":\"run-3\",\"projectId\":\"p1\",\"status\":\"FAILED\",\"environmentName\":\"dev\"}",
		/* no [project] and no [default] */
		"{\"executionId\":\"run-4\",\"projectId\":\"other\",\"status\":\"FAILED\"}",
	};
	struct reply r;
	int64_t before[JOB__MAX], after[JOB__MAX];
	size_t i;

	(void)state;
	/* A status or environment no route notifies: stored for run memory
	 * (a success may close an incident), answered 200 "ignored". */
	for (i = 0; i < 2; i++) {
		assert_int_equal(store_counts(fx.st, before), 0);
		post(bodies[i], &r);
		assert_int_equal(r.code, 200);
		assert_non_null(strstr(r.body, "\"status\":\"ignored\",\"recorded\":true}"));
		assert_int_equal(strncmp(r.body, "{\"id\":\"", 7), 0);
		assert_int_equal(store_counts(fx.st, after), 0);
		assert_int_equal(after[JOB_QUEUED], before[JOB_QUEUED] + 1);
	}
	/* No route at all: nothing stored. */
	assert_int_equal(store_counts(fx.st, before), 0);
	post(bodies[2], &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "{\"status\":\"ignored\"}");
	assert_int_equal(store_counts(fx.st, after), 0);
	assert_memory_equal(before, after, sizeof(before));
}

static void test_unauthorized(void **state)
{
	static const char *const none[] = { "Content-Type: application/json", NULL };
	static const char *const bad[] = {
		"Content-Type: application/json",
		"Authorization: Bearer wrong-" MARKER,
		NULL,
	};
	const char *body =
		"{\"executionId\":\"run-5\",\"projectId\":\"p1\",\"note\":\"" MARKER "\"}";
	struct reply r;

	(void)state;
	request("POST", "/webhook", none, body, 0, &r);
	assert_problem(&r, 401);
	assert_non_null(strstr(r.headers, "WWW-Authenticate: Bearer"));
	request("POST", "/webhook", bad, body, 0, &r);
	assert_problem(&r, 401);
	request("POST", "/webhook?token=nope", none, body, 0, &r);
	assert_problem(&r, 401);
	/* The token may come in the query instead. */
	request("POST", "/webhook?token=" TOKEN "&projectId=p1", none,
		"{\"executionId\":\"run-6\",\"status\":\"FAILED\"}", 0, &r);
	assert_int_equal(r.code, 202);
}

static void test_content_type(void **state)
{
	static const char *const text[] = {
		"Content-Type: text/plain",
		"Authorization: Bearer " TOKEN,
		NULL,
	};
	static const char *const charset[] = {
		"Content-Type: Application/JSON ; charset=utf-8",
		"Authorization: Bearer " TOKEN,
		NULL,
	};
	static const char *const jsonish[] = {
		"Content-Type: application/jsonx",
		"Authorization: Bearer " TOKEN,
		NULL,
	};
	const char *body = "{\"executionId\":\"run-7\",\"projectId\":\"p1\",\"status\":\"FAILED\","
			   "\"x\":\"" MARKER "\"}";
	struct reply r;

	(void)state;
	request("POST", "/webhook", text, body, 0, &r);
	assert_problem(&r, 415);
	request("POST", "/webhook", jsonish, body, 0, &r);
	assert_problem(&r, 415);
	request("POST", "/webhook", charset, body, 0, &r);
	assert_int_equal(r.code, 202);
}

static void test_too_large(void **state)
{
	static const char *const expect[] = {
		"Content-Type: application/json",
		"Authorization: Bearer " TOKEN,
		"Expect: 100-continue",
		NULL,
	};
	char big[6000], mid[3100];
	struct reply r;

	(void)state;
	/* {"pad":"MARKER....","id":"x","projectId":"p1"} of 5950 bytes. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "{\"pad\":\"" MARKER, strlen("{\"pad\":\"" MARKER));
	snprintf(big + 5900, sizeof(big) - 5900, "\",\"id\":\"x\",\"projectId\":\"p1\"}");
	/* Declared too large: refused from the headers alone. */
	request("POST", "/webhook", expect, big, 0, &r);
	assert_problem(&r, 413);
	/* Chunked, so no declared length: refused once the cap is passed. */
	request("POST", "/webhook", json_auth, big, 1, &r);
	assert_problem(&r, 413);
	/* A small chunked body is fine. */
	request("POST", "/webhook", json_auth,
		"{\"executionId\":\"run-8\",\"projectId\":\"p1\",\"status\":\"FAILED\"}", 1, &r);
	assert_int_equal(r.code, 202);
	/* So is one under the cap that arrives in 100-byte chunks and outgrows
	 * the first buffer twice; its ids come last, so a piece lost or
	 * misplaced while the buffer grew would fail the decode. */
	memset(mid, 'b', sizeof(mid));
	memcpy(mid, "{\"pad\":\"", 8);
	snprintf(mid + 3000, sizeof(mid) - 3000,
		 "\",\"executionId\":\"run-9\",\"projectId\":\"p1\",\"status\":\"FAILED\"}");
	request("POST", "/webhook", json_auth, mid, 1, &r);
	assert_int_equal(r.code, 202);
}

static void test_bad_bodies(void **state)
{
	struct reply r;

	(void)state;
	post("{\"executionId\":\"" MARKER "\",", &r);
	assert_problem(&r, 400);
	post("[\"" MARKER "\"]", &r);
	assert_problem(&r, 400);
	post("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", &r);
	assert_problem(&r, 400);
	assert_non_null(strstr(r.body, "deep"));
	post("{\"projectId\":\"p1\",\"name\":\"" MARKER "\"}", &r);
	assert_problem(&r, 422);
	assert_non_null(strstr(r.body, "execution id"));
	post("{\"executionId\":\"run-9\"}", &r);
	assert_problem(&r, 422);
	assert_non_null(strstr(r.body, "project id"));
	post("{\"executionId\":\"bad id " MARKER "\",\"projectId\":\"p1\"}", &r);
	assert_problem(&r, 422);
	post("", &r);
	assert_problem(&r, 400);
}

static void test_paths_methods(void **state)
{
	struct reply r;

	(void)state;
	request("GET", "/webhook", NULL, NULL, 0, &r);
	assert_problem(&r, 405);
	assert_non_null(strstr(r.headers, "Allow: POST"));
	request("POST", "/healthz", json_auth, "{}", 0, &r);
	assert_problem(&r, 405);
	assert_non_null(strstr(r.headers, "Allow: GET, HEAD"));
	request("GET", "/nope", NULL, NULL, 0, &r);
	assert_problem(&r, 404);
	request("GET", "/webhook/extra", NULL, NULL, 0, &r);
	assert_problem(&r, 404);
}

static void test_probes(void **state)
{
	struct reply r;

	(void)state;
	request("GET", "/healthz", NULL, NULL, 0, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "{\"status\":\"ok\"}");
	request("HEAD", "/healthz", NULL, NULL, 0, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "");
	request("GET", "/readyz", NULL, NULL, 0, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "{\"status\":\"ready\"}");
	fx.ready = 0;
	request("GET", "/readyz", NULL, NULL, 0, &r);
	fx.ready = 1;
	assert_int_equal(r.code, 503);
	assert_string_equal(r.body,
			    "{\"status\":\"not ready\",\"reason\":\"workers not running\"}");
}

static void test_metrics(void **state)
{
	struct reply r;

	(void)state;
	request("GET", "/metrics", NULL, NULL, 0, &r);
	assert_int_equal(r.code, 200);
	assert_non_null(strstr(r.headers, "Content-Type: text/plain; version=0.0.4"));
	assert_non_null(strstr(r.body, "# TYPE dpc_notify_webhooks_total counter\n"));
	/* Earlier tests accepted run-1, run-6, run-7, run-8 and run-9, and
	 * stored run-2 and run-3 (ignored, remembered). */
	assert_non_null(strstr(r.body, "dpc_notify_webhooks_total{outcome=\"accepted\"} 5\n"));
	assert_non_null(strstr(r.body, "dpc_notify_webhooks_total{outcome=\"duplicate\"} 1\n"));
	assert_non_null(strstr(r.body, "dpc_notify_webhooks_total{outcome=\"ignored\"} 3\n"));
	assert_non_null(strstr(r.body, "dpc_notify_webhooks_total{outcome=\"unauthorized\"} 3\n"));
	assert_non_null(strstr(r.body, "dpc_notify_webhooks_total{outcome=\"too_large\"} 2\n"));
	assert_non_null(strstr(r.body, "dpc_notify_jobs{state=\"queued\"} 7\n"));
}

static void test_store_failure(void **state)
{
	struct reply r;

	(void)state;
	store_fail_writes(fx.st, 1);
	post("{\"executionId\":\"run-11\",\"projectId\":\"p1\",\"status\":\"FAILED\"}", &r);
	assert_problem(&r, 503);
	assert_non_null(strstr(r.headers, "Retry-After: 5"));
	assert_non_null(strstr(r.body, "store unavailable"));
	request("GET", "/readyz", NULL, NULL, 0, &r);
	assert_int_equal(r.code, 503);
	assert_string_equal(r.body, "{\"status\":\"not ready\",\"reason\":\"store unhealthy\"}");
	/* Nothing was accepted, so the same run goes through once the disk
	 * is back (not a duplicate). */
	store_fail_writes(fx.st, 0);
	post("{\"executionId\":\"run-11\",\"projectId\":\"p1\",\"status\":\"FAILED\"}", &r);
	assert_int_equal(r.code, 202);
	request("GET", "/readyz", NULL, NULL, 0, &r);
	assert_int_equal(r.code, 200);
}

/* The probe read "not draining", then the drain began and stopped the
 * workers: the reason is the drain. */
static void test_drain_during_probe(void **state)
{
	struct reply r;

	(void)state;
	fx.ready = 2;
	request("GET", "/readyz", NULL, NULL, 0, &r);
	assert_int_equal(r.code, 503);
	assert_string_equal(r.body, "{\"status\":\"not ready\",\"reason\":\"shutting down\"}");
	fx.ready = 1;
}

static void test_drain(void **state)
{
	struct reply r;

	(void)state;
	intake_drain(fx.in);
	post("{\"executionId\":\"run-10\",\"projectId\":\"p1\",\"status\":\"FAILED\"}", &r);
	assert_problem(&r, 503);
	assert_non_null(strstr(r.headers, "Retry-After: 5"));
	assert_non_null(strstr(r.body, "shutting down"));
	request("GET", "/healthz", NULL, NULL, 0, &r);
	assert_int_equal(r.code, 200);
	request("GET", "/readyz", NULL, NULL, 0, &r);
	assert_int_equal(r.code, 503);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_duplicate),
		cmocka_unit_test(test_ignored),
		cmocka_unit_test(test_unauthorized),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_bad_bodies),
		cmocka_unit_test(test_paths_methods),
		cmocka_unit_test(test_probes),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_store_failure),
		cmocka_unit_test(test_drain_during_probe),
		cmocka_unit_test(test_drain),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return rc;
}
