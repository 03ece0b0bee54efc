/* Unit tests for the Matillion client against an in-test libmicrohttpd mock
 * of the token endpoint and the executions/steps API: paging, recursion
 * into a failed child with a cycle back to the parent, token caching and
 * refresh, Retry-After, budget and depth limits, error classes, and a
 * hostile API: tokens that would inject headers, child ids that would
 * leave the executions path. Also the schedule name of a scheduled run:
 * looked up once per project within the cache's life, bounded, and never
 * in the way of the summary when it fails. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
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

#include "config.h"
#include "dpc.h"
#include "errors.h"
#include "httpc.h"
#include "summary.h"

#define PROJECT "proj 1"
#define EXEC_PREFIX "/v1/projects/" PROJECT "/pipeline-executions/"
#define SCHED_PATH "/v1/projects/" PROJECT "/schedules"
#define SCHED_ID "5d0c7e21-9f3a-4b6e-8d12-6a7b8c9d0e1f"
#define ROOT_STEPS 250
#define LONG_ID_60 "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
#define LONG_ID LONG_ID_60 LONG_ID_60 LONG_ID_60 LONG_ID_60 LONG_ID_60 /* 300 bytes */

/* What the mock serves and what it saw. Guarded by lock (the daemon runs
 * its own thread). */
struct mock {
	struct MHD_Daemon *d;
	char base[64];
	pthread_mutex_t lock;
	/* knobs */
	unsigned exec_status;  /* 0: 200 with the execution */
	unsigned token_status; /* 0: 200 with a token */
	unsigned child_status; /* 0: 200 with the child's steps */
	int fail_401;          /* answer the next N API calls with 401 */
	int fail_429;          /* answer the next N root page-1 calls with 429 */
	const char *retry_after;
	int expires_in;          /* 0: leave expires_in out */
	const char *token_reply; /* NULL: the usual token; else this 200 body */
	const char *root_reply;  /* NULL: the usual root steps; else this one page */
	const char *exec_reply;  /* NULL: the usual execution; else this body */
	unsigned sched_status;   /* 0: 200 with the schedules */
	const char *sched_retry_after;
	const char *sched_reply; /* NULL: the usual schedules; else this body */
	int sched_pages;         /* full pages of schedules (0: one short page) */
	int sched_delay_ms;      /* wait before answering a schedules call */
	/* observations */
	int token_calls;
	int api_calls;
	int steps_calls;
	int sched_calls;
	int sched_bad_query; /* schedule calls without page=N&size=100 */
	int served_429;
	int bad_size;   /* steps calls whose size was not 100 */
	int bad_auth;   /* API calls without "Bearer tok-" */
	int unexpected; /* calls for runs that must not be fetched */
	int stray;      /* requests outside the token and executions paths */
	int injected;   /* requests carrying an X-Injected header */
	char token_body[512];
	char token_type[128];
};

struct upload {
	char buf[512];
	size_t len;
};

static struct mock M;

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *body,
				 const char *retry_after)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "application/json");
	if (retry_after)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry_after);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- canned API data ---- */

/* Root step i: two of them start child runs (one failed, one fine). */
static int root_step(char *out, size_t n, int i)
{
	if (i == ROOT_STEPS - 1)
		return snprintf(
			out, n,
			"{\"id\":\"s%d\",\"name\":\"Run Child\",\"result\":"
			"{\"status\":\"FAILED\",\"message\":\"child failed\"},"
			"\"childPipeline\":{\"id\":\"e-child\",\"name\":\"Child.orch.yaml\"}}",
			i);
	if (i == ROOT_STEPS - 2)
		return snprintf(out, n,
				"{\"id\":\"s%d\",\"name\":\"Run OK\",\"result\":"
				"{\"status\":\"SUCCESS\"},"
				"\"childPipeline\":{\"id\":\"e-ok\",\"name\":\"Ok.orch.yaml\"}}",
				i);
	return snprintf(out, n,
			"{\"id\":\"s%d\",\"name\":\"Step %d\",\"result\":"
			"{\"status\":\"SUCCESS\",\"startedAt\":\"2024-05-01T10:00:00Z\","
			"\"finishedAt\":\"2024-05-01T10:00:01Z\"}}",
			i, i);
}

static char *root_page(int page)
{
	size_t cap = 40000, used;
	char *out = malloc(cap);
	int i;

	used = (size_t)snprintf(out, cap, "{\"page\":%d,\"size\":100,\"total\":%d,\"results\":[",
				page, ROOT_STEPS);
	for (i = page * 100; i < ROOT_STEPS && i < page * 100 + 100; i++) {
		if (i > page * 100)
			out[used++] = ',';
		used += (size_t)root_step(out + used, cap - used, i);
	}
	snprintf(out + used, cap - used, "]}");
	return out;
}

static const char child_page[] =
	"{\"page\":0,\"size\":100,\"total\":2,\"results\":["
	"{\"id\":\"c1\",\"name\":\"Load\",\"result\":{\"status\":\"FAILED\",\"message\":\"boom\"}},"
	"{\"id\":\"c2\",\"name\":\"Run Parent\",\"result\":{\"status\":\"FAILED\"},"
	"\"childPipeline\":{\"id\":\"e-root\",\"name\":\"Parent.orch.yaml\"}}]}";

static const char execution[] =
	"{\"result\":{\"pipelineExecutionId\":\"e-root\",\"pipelineName\":\"Parent.orch.yaml\","
	"\"status\":\"FAILED\",\"environmentName\":\"prod\"}}";

/* The root run as a scheduled one. */
static const char scheduled[] =
	"{\"pipelineExecutionId\":\"e-root\",\"pipelineName\":\"Parent.orch.yaml\","
	"\"status\":\"FAILED\",\"environmentName\":\"prod\",\"trigger\":\"SCHEDULE\","
	"\"scheduleId\":\"" SCHED_ID "\"}";

/* Page page of the project's schedules: with pages = 0, one short page
 * of three with ours last; else pages full pages of 100 with ours last on
 * the last page. Past the last page: no results. */
static char *sched_page(int page, int pages)
{
	size_t cap = 20000, used;
	char *out = malloc(cap);
	int i, per = pages ? 100 : 3, n = page < (pages ? pages : 1) ? per : 0;
	int ours_page = pages ? pages - 1 : 0;

	used = (size_t)snprintf(out, cap, "{\"page\":%d,\"size\":100,\"total\":%d,\"results\":[",
				page, pages ? pages * 100 : 3);
	for (i = 0; i < n; i++) {
		if (page == ours_page && i == n - 1)
			used += (size_t)snprintf(out + used, cap - used,
						 "%s{\"scheduleId\":\"" SCHED_ID
						 "\",\"name\":\"nightly_dwh\"}",
						 i ? "," : "");
		else
			used += (size_t)snprintf(out + used, cap - used,
						 "%s{\"scheduleId\":\"other-%d-%d\",\"name\":"
						 "\"other\",\"cronExpression\":\"0 2 * * *\"}",
						 i ? "," : "", page, i);
	}
	snprintf(out + used, cap - used, "]}");
	return out;
}

static enum MHD_Result schedules(struct MHD_Connection *c)
{
	const char *page_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "page");
	const char *size_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "size");
	int page = page_s ? (int)strtol(page_s, NULL, 10) : 0;
	unsigned status;
	const char *reply, *ra;
	enum MHD_Result ret;
	char *body;

	pthread_mutex_lock(&M.lock);
	M.sched_calls++;
	M.sched_bad_query += !page_s || !size_s || strcmp(size_s, "100") != 0;
	status = M.sched_status;
	reply = M.sched_reply;
	ra = M.sched_retry_after;
	pthread_mutex_unlock(&M.lock);
	if (M.sched_delay_ms)
		usleep((useconds_t)M.sched_delay_ms * 1000);
	if (status)
		return send_text(c, status, "{}", ra);
	if (reply)
		return send_text(c, 200, reply, NULL);
	body = sched_page(page, M.sched_pages);
	ret = send_text(c, 200, body, NULL);
	free(body);
	return ret;
}

/* ---- handlers ---- */

static enum MHD_Result token(struct MHD_Connection *c, struct upload *u)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	unsigned status;
	char body[128];

	pthread_mutex_lock(&M.lock);
	M.token_calls++;
	snprintf(M.token_body, sizeof(M.token_body), "%.*s", (int)u->len, u->buf);
	snprintf(M.token_type, sizeof(M.token_type), "%s", ct ? ct : "");
	status = M.token_status ? M.token_status : 200;
	if (M.token_reply && status == 200) {
		const char *reply = M.token_reply;

		pthread_mutex_unlock(&M.lock);
		return send_text(c, 200, reply, NULL);
	}
	if (M.expires_in)
		snprintf(body, sizeof(body), "{\"access_token\":\"tok-%d\",\"expires_in\":%d}",
			 M.token_calls, M.expires_in);
	else
		snprintf(body, sizeof(body),
			 "{\"access_token\":\"tok-%d\",\"token_type\":\"Bearer\"}", M.token_calls);
	pthread_mutex_unlock(&M.lock);
	return send_text(c, status, status == 200 ? body : "{\"error\":\"invalid_client\"}", NULL);
}

static enum MHD_Result steps(struct MHD_Connection *c, const char *exec)
{
	const char *page_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "page");
	const char *size_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "size");
	int page = page_s ? (int)strtol(page_s, NULL, 10) : 0;
	enum MHD_Result ret;
	char *body;

	pthread_mutex_lock(&M.lock);
	M.steps_calls++;
	M.bad_size += !size_s || strcmp(size_s, "100") != 0;
	if (strcmp(exec, "e-root") == 0 && page == 1 && M.fail_429 > 0) {
		M.fail_429--;
		M.served_429++;
		pthread_mutex_unlock(&M.lock);
		return send_text(c, 429, "{}", M.retry_after);
	}
	pthread_mutex_unlock(&M.lock);
	if (strcmp(exec, "e-root") == 0 && M.root_reply)
		return send_text(c, 200, page == 0 ? M.root_reply : "{\"results\":[]}", NULL);
	if (strcmp(exec, "e-root") == 0) {
		body = root_page(page);
		ret = send_text(c, 200, body, NULL);
		free(body);
		return ret;
	}
	if (strcmp(exec, "e-child") == 0) {
		if (M.child_status)
			return send_text(c, M.child_status, "{}", NULL);
		return send_text(c, 200, page == 0 ? child_page : "{\"results\":[]}", NULL);
	}
	pthread_mutex_lock(&M.lock);
	M.unexpected++;
	pthread_mutex_unlock(&M.lock);
	return send_text(c, 404, "{}", NULL);
}

static enum MHD_Result api(struct MHD_Connection *c, const char *url)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *rest = url + strlen(EXEC_PREFIX);
	int fail401;

	pthread_mutex_lock(&M.lock);
	M.api_calls++;
	M.bad_auth += !auth || strncmp(auth, "Bearer tok-", 11) != 0;
	fail401 = M.fail_401 > 0;
	if (fail401)
		M.fail_401--;
	pthread_mutex_unlock(&M.lock);
	if (fail401)
		return send_text(c, 401, "{}", NULL);
	if (strcmp(rest, "e-root/steps") == 0 || strcmp(rest, "e-child/steps") == 0 ||
	    strcmp(rest, "e-ok/steps") == 0) {
		char exec[16];

		snprintf(exec, sizeof(exec), "%.*s", (int)(strchr(rest, '/') - rest), rest);
		return steps(c, exec);
	}
	if (strcmp(rest, "e-root") != 0) {
		pthread_mutex_lock(&M.lock);
		M.stray++;
		pthread_mutex_unlock(&M.lock);
		return send_text(c, 404, "{}", NULL);
	}
	if (!M.exec_status)
		return send_text(c, 200, M.exec_reply ? M.exec_reply : execution, NULL);
	return send_text(c, M.exec_status, "{}", NULL);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **con_cls)
{
	struct upload *u = *con_cls;

	(void)cls;
	(void)version;
	if (!u) {
		/* Counted once per request, whatever its path. */
		pthread_mutex_lock(&M.lock);
		M.injected += MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Injected") != NULL;
		pthread_mutex_unlock(&M.lock);
		u = calloc(1, sizeof(*u));
		*con_cls = u;
		return u ? MHD_YES : MHD_NO;
	}
	if (*size) {
		size_t n = *size < sizeof(u->buf) - u->len ? *size : sizeof(u->buf) - u->len;

		memcpy(u->buf + u->len, data, n);
		u->len += n;
		*size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "POST") == 0 && strcmp(url, "/oauth/token") == 0)
		return token(c, u);
	if (strcmp(method, "GET") == 0 && strncmp(url, EXEC_PREFIX, strlen(EXEC_PREFIX)) == 0)
		return api(c, url);
	if (strcmp(method, "GET") == 0 && strcmp(url, SCHED_PATH) == 0) {
		pthread_mutex_lock(&M.lock);
		M.api_calls++;
		pthread_mutex_unlock(&M.lock);
		return schedules(c);
	}
	pthread_mutex_lock(&M.lock);
	M.stray++;
	pthread_mutex_unlock(&M.lock);
	return send_text(c, 404, "{}", NULL);
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

/* ---- fixtures ---- */

static int group_setup(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	const union MHD_DaemonInfo *info;

	(void)state;
	setenv("no_proxy", "127.0.0.1", 1);
	setenv("NO_PROXY", "127.0.0.1", 1);
	pthread_mutex_init(&M.lock, NULL);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	M.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
			       handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			       MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_END);
	if (!M.d)
		return -1;
	info = MHD_get_daemon_info(M.d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(M.base, sizeof(M.base), "http://127.0.0.1:%u", (unsigned)info->port);
	return httpc_global_init();
}

static int group_teardown(void **state)
{
	(void)state;
	MHD_stop_daemon(M.d);
	httpc_global_cleanup();
	return 0;
}

/* Per test: a fresh mock state, client, summary and config. */
struct fx {
	struct config cfg;
	char api_base[96];
	char token_url[96];
	struct httpc *h;
	struct summary s;
	struct dpc_error err;
};

static int setup(void **state)
{
	static struct fx f;
	struct httpc_opts o = { .allow_http = 1 };
	const char *base = M.base;

	/* Knobs and observations reset; daemon, address and lock stay. */
	pthread_mutex_lock(&M.lock);
	memset((char *)&M + offsetof(struct mock, exec_status), 0,
	       sizeof(M) - offsetof(struct mock, exec_status));
	pthread_mutex_unlock(&M.lock);
	memset(&f, 0, sizeof(f));
	snprintf(f.api_base, sizeof(f.api_base), "%s/", base);
	snprintf(f.token_url, sizeof(f.token_url), "%s/oauth/token", base);
	f.cfg.api_base = f.api_base;
	f.cfg.token_url = f.token_url;
	f.cfg.client_id = "client id";
	f.cfg.client_secret = "s3cr&t=";
	f.cfg.ui_base = "https://app.matillion.com";
	f.cfg.requests_per_minute = 0; /* unlimited: keep the test fast */
	f.cfg.burst = 5;
	f.cfg.max_child_depth = 5;
	f.cfg.max_api_calls = 50;
	f.h = httpc_new(&o);
	*state = &f;
	if (!f.h || summary_init(&f.s, PROJECT, "e-root", f.cfg.ui_base) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	summary_free(&f->s);
	httpc_free(f->h);
	return 0;
}

static int fetch(struct fx *f, const char *exec)
{
	struct dpc *d = dpc_new(&f->cfg);
	int rc;

	assert_non_null(d);
	rc = dpc_fetch_summary(d, f->h, PROJECT, exec, &f->s, &f->err);
	dpc_free(d);
	return rc;
}

static void assert_no_secret(const struct dpc_error *err)
{
	assert_null(strstr(err->message, "s3cr"));
	assert_null(strstr(err->message, "tok-"));
	assert_null(strstr(err->message, "127.0.0.1"));
}

/* ---- tests ---- */

static void test_full_tree(void **state)
{
	struct fx *f = *state;
	size_t i;

	assert_int_equal(fetch(f, "e-root"), 0);
	assert_int_equal(f->err.api_calls, 5); /* execution + 3 root pages + 1 child page */
	assert_int_equal(M.api_calls, 5);
	assert_int_equal(M.steps_calls, 4);
	assert_int_equal(M.token_calls, 1);
	assert_int_equal(M.bad_size, 0);
	assert_int_equal(M.bad_auth, 0);
	assert_int_equal(M.unexpected, 0);
	assert_int_equal(M.stray, 0);
	assert_string_equal(f->s.pipeline_name, "Parent");
	assert_int_equal(f->s.total_steps, ROOT_STEPS + 2);
	assert_int_equal(f->s.counts[ST_SUCCESS], ROOT_STEPS - 1);
	assert_int_equal(f->s.counts[ST_FAILED], 3);
	assert_null(f->s.incomplete);
	/* Deepest first: the child's failures, then the step that ran it. */
	assert_int_equal(f->s.n_failed, 3);
	assert_string_equal(f->s.failed[0].path,
			    "Parent" SUMMARY_PATH_SEP "Child" SUMMARY_PATH_SEP "Load");
	assert_string_equal(f->s.failed[0].message, "boom");
	assert_int_equal(f->s.failed[0].depth, 1);
	assert_string_equal(f->s.failed[1].path,
			    "Parent" SUMMARY_PATH_SEP "Child" SUMMARY_PATH_SEP "Run Parent");
	assert_string_equal(f->s.failed[2].path, "Parent" SUMMARY_PATH_SEP "Run Child");
	/* Children: the failed one fetched, the successful one not, the cycle
	 * back to the root not fetched again. */
	assert_int_equal(f->s.n_children, 3);
	for (i = 0; i < f->s.n_children; i++) {
		const struct child_run *c = &f->s.children[i];

		if (strcmp(c->execution_id, "e-ok") == 0)
			assert_int_equal(c->visited, 0);
		else
			assert_int_equal(c->visited, 1);
	}
}

static void test_token_request_and_cache(void **state)
{
	struct fx *f = *state;
	struct dpc *d = dpc_new(&f->cfg);

	assert_int_equal(dpc_fetch_summary(d, f->h, PROJECT, "e-root", &f->s, &f->err), 0);
	summary_free(&f->s);
	assert_int_equal(summary_init(&f->s, PROJECT, "e-root", NULL), 0);
	assert_int_equal(dpc_fetch_summary(d, f->h, PROJECT, "e-root", &f->s, &f->err), 0);
	dpc_free(d);
	assert_int_equal(M.token_calls, 1);
	assert_int_equal(M.api_calls, 10);
	assert_string_equal(M.token_type, "application/x-www-form-urlencoded");
	assert_string_equal(M.token_body,
			    "grant_type=client_credentials&client_id=client%20id"
			    "&client_secret=s3cr%26t%3D&audience=https%3A%2F%2Fapi.matillion.com");
}

/* A token living 30 s is still reused, not fetched before every call. */
static void test_short_lived_token_reused(void **state)
{
	struct fx *f = *state;

	M.expires_in = 30;
	assert_int_equal(fetch(f, "e-root"), 0);
	assert_int_equal(M.token_calls, 1);
	assert_int_equal(f->err.api_calls, 5);
}

static void test_401_refreshes_token_once(void **state)
{
	struct fx *f = *state;

	M.fail_401 = 1;
	assert_int_equal(fetch(f, "e-root"), 0);
	assert_int_equal(M.token_calls, 2);
	assert_int_equal(f->err.api_calls, 6);
	assert_int_equal(f->s.n_failed, 3);
}

static void test_401_twice_is_permanent(void **state)
{
	struct fx *f = *state;

	M.fail_401 = 100;
	assert_int_equal(fetch(f, "e-root"), ERR_PERMANENT);
	assert_int_equal(M.token_calls, 2);
	assert_int_equal(f->err.api_calls, 2);
	assert_int_equal(f->err.http_status, 401);
	assert_no_secret(&f->err);
}

static void test_429_short_wait_retried(void **state)
{
	struct fx *f = *state;

	M.fail_429 = 1;
	M.retry_after = "1";
	assert_int_equal(fetch(f, "e-root"), 0);
	assert_int_equal(M.served_429, 1);
	assert_int_equal(f->err.api_calls, 6);
	assert_int_equal(f->s.total_steps, ROOT_STEPS + 2);
}

static void test_429_long_wait_transient(void **state)
{
	struct fx *f = *state;

	M.fail_429 = 1;
	M.retry_after = "120";
	assert_int_equal(fetch(f, "e-root"), ERR_TRANSIENT);
	assert_int_equal(f->err.http_status, 429);
	assert_int_equal(f->err.retry_after_s, 120);
	assert_int_equal(f->err.api_calls, 3);
}

static void test_budget_exhausted(void **state)
{
	struct fx *f = *state;

	f->cfg.max_api_calls = 4;
	assert_int_equal(fetch(f, "e-root"), 0);
	assert_int_equal(f->err.api_calls, 4);
	assert_int_equal(M.api_calls, 4);
	assert_non_null(f->s.incomplete);
	assert_non_null(strstr(f->s.incomplete,
			       "API call budget (4) reached; 1 child pipelines not inspected"));
	assert_int_equal(f->s.n_failed, 1);
}

static void test_budget_exhausted_in_root_pages(void **state)
{
	struct fx *f = *state;

	f->cfg.max_api_calls = 2;
	assert_int_equal(fetch(f, "e-root"), 0);
	assert_int_equal(f->err.api_calls, 2);
	assert_int_equal(f->s.total_steps, 100);
	assert_non_null(f->s.incomplete);
	assert_non_null(strstr(f->s.incomplete, "API call budget (2) reached"));
}

static void test_depth_limit(void **state)
{
	struct fx *f = *state;

	f->cfg.max_child_depth = 0;
	assert_int_equal(fetch(f, "e-root"), 0);
	assert_int_equal(f->err.api_calls, 4);
	assert_non_null(f->s.incomplete);
	assert_non_null(strstr(f->s.incomplete, "deeper than 0 levels"));
}

static void test_child_404_not_fatal(void **state)
{
	struct fx *f = *state;

	M.child_status = 404;
	assert_int_equal(fetch(f, "e-root"), 0);
	assert_int_equal(f->err.api_calls, 5);
	assert_non_null(f->s.incomplete);
	assert_non_null(strstr(f->s.incomplete, "Child unavailable (HTTP 404)"));
	assert_int_equal(f->s.n_failed, 1);
}

static void test_execution_404_permanent(void **state)
{
	struct fx *f = *state;

	M.exec_status = 404;
	assert_int_equal(fetch(f, "e-root"), ERR_PERMANENT);
	assert_int_equal(f->err.http_status, 404);
	assert_int_equal(f->err.api_calls, 1);
	assert_string_equal(f->err.message, "execution not found (wrong region or project?)");
}

static void test_execution_403_permanent(void **state)
{
	struct fx *f = *state;

	M.exec_status = 403;
	assert_int_equal(fetch(f, "e-root"), ERR_PERMANENT);
	assert_int_equal(f->err.http_status, 403);
	assert_non_null(strstr(f->err.message, "permission"));
}

static void test_execution_500_transient(void **state)
{
	struct fx *f = *state;

	M.exec_status = 500;
	assert_int_equal(fetch(f, "e-root"), ERR_TRANSIENT);
	assert_int_equal(f->err.http_status, 500);
	assert_int_equal(f->err.retry_after_s, -1);
	assert_no_secret(&f->err);
}

static void test_token_rejected(void **state)
{
	struct fx *f = *state;

	M.token_status = 401;
	assert_int_equal(fetch(f, "e-root"), ERR_PERMANENT);
	assert_int_equal(f->err.api_calls, 0);
	assert_int_equal(M.api_calls, 0);
	assert_string_equal(f->err.message,
			    "token request rejected (HTTP 401): check client_id/client_secret");
	assert_no_secret(&f->err);
}

static void test_token_unavailable_transient(void **state)
{
	struct fx *f = *state;

	M.token_status = 503;
	assert_int_equal(fetch(f, "e-root"), ERR_TRANSIENT);
	assert_int_equal(f->err.http_status, 503);
}

static void test_bad_ids_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fetch(f, ".."), ERR_PERMANENT);
	assert_int_equal(fetch(f, ""), ERR_PERMANENT);
	assert_int_equal(M.token_calls + M.api_calls, 0);
}

/* ---- hostile API ---- */

static void mock_reset(void)
{
	pthread_mutex_lock(&M.lock);
	memset((char *)&M + offsetof(struct mock, exec_status), 0,
	       sizeof(M) - offsetof(struct mock, exec_status));
	pthread_mutex_unlock(&M.lock);
}

#define BAD_TOKEN_MSG "token response: access_token has characters not allowed in a bearer token"

/* The token endpoint answers reply: the fetch fails as a transient token
 * error with message want, and no API request, let alone one carrying an
 * injected header or a smuggled second request, reaches the server. */
static void check_token_refused(struct fx *f, const char *reply, const char *want)
{
	mock_reset();
	M.token_reply = reply;
	assert_int_equal(fetch(f, "e-root"), ERR_TRANSIENT);
	assert_string_equal(f->err.message, want);
	assert_int_equal(f->err.api_calls, 0);
	assert_int_equal(M.token_calls, 1);
	assert_int_equal(M.api_calls, 0);
	assert_int_equal(M.injected, 0);
	assert_int_equal(M.stray, 0);
	assert_no_secret(&f->err);
	assert_null(strstr(f->err.message, "abc"));
}

static void test_token_with_controls_refused(void **state)
{
	static const char *const replies[] = {
		"{\"access_token\":\"abc\\r\\nX-Injected: yes\",\"expires_in\":3600}",
		"{\"access_token\":\"abc\\nX-Injected: yes\"}",
		"{\"access_token\":\"abc\\rX-Injected: yes\"}",
		"{\"access_token\":\"abc\\r\\nContent-Length: 0\\r\\n\\r\\n"
		"GET /smuggled HTTP/1.1\\r\\nHost: x\\r\\nX-Injected: yes\\r\\nX-Pad: \"}",
		/* cJSON would cut this at the NUL and hand out "abc". */
		"{\"access_token\":\"abc\\u0000X-Injected\"}",
		"{\"access_token\":\"abc def\"}",
		"{\"access_token\":\"abc\\tdef\"}",
		"{\"access_token\":\"abc\\u007f\"}",
		"{\"access_token\":\"abc\\u00e9\"}",
		"{\"access_token\":\"abc,def\"}",
		"{\"access_token\":\"abc=def\"}", /* '=' only as trailing padding */
		"{\"access_token\":\"=abc\"}",
		"{\"access_token\":\"===\"}",
	};
	size_t i;

	for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		print_message("token reply %zu\n", i);
		check_token_refused(*state, replies[i], BAD_TOKEN_MSG);
	}
}

static void test_token_too_long_refused(void **state)
{
	static const char head[] = "{\"access_token\":\"tok-";
	size_t n = (size_t)1024 * 1024, hl = sizeof(head) - 1;
	char *reply = malloc(hl + n + 3);

	assert_non_null(reply);
	memcpy(reply, head, hl);
	memset(reply + hl, 'A', n);
	memcpy(reply + hl + n, "\"}", 3);
	check_token_refused(*state, reply, "token response: access_token longer than 8192 bytes");
	/* One byte past the cap is refused too... */
	memcpy(reply + hl + 8192 - 4 + 1, "\"}", 3);
	check_token_refused(*state, reply, "token response: access_token longer than 8192 bytes");
	free(reply);
}

/* Accepted: every b64token character, trailing '=' padding, and a token
 * exactly at the length cap. */
static void test_token_valid_shapes_accepted(void **state)
{
	struct fx *f = *state;
	static const char head[] = "{\"access_token\":\"tok-";
	size_t hl = sizeof(head) - 1;
	char *reply = malloc(hl + 8192 + 3);

	M.token_reply = "{\"access_token\":\"tok-AZaz09-._~+/==\",\"expires_in\":3600}";
	assert_int_equal(fetch(f, "e-root"), 0);
	assert_int_equal(M.token_calls, 1);
	assert_int_equal(M.api_calls, 5);
	assert_int_equal(M.bad_auth, 0);
	assert_int_equal(M.injected + M.stray, 0);

	assert_non_null(reply);
	memcpy(reply, head, hl);
	memset(reply + hl, 'x', 8192 - 4);
	memcpy(reply + hl + 8192 - 4, "\"}", 3);
	summary_free(&f->s);
	assert_int_equal(summary_init(&f->s, PROJECT, "e-root", NULL), 0);
	mock_reset();
	M.token_reply = reply;
	assert_int_equal(fetch(f, "e-root"), 0);
	assert_int_equal(M.api_calls, 5);
	assert_int_equal(M.bad_auth, 0);
	free(reply);
}

/* Root steps whose failed children carry ids that must never reach a URL,
 * beside one good child. */
static const char hostile_children[] =
	"{\"page\":0,\"size\":100,\"total\":7,\"results\":["
	"{\"id\":\"h1\",\"name\":\"Dots\",\"result\":{\"status\":\"FAILED\"},"
	"\"childPipeline\":{\"id\":\"..\",\"name\":\"Dots\"}},"
	"{\"id\":\"h2\",\"name\":\"Dot\",\"result\":{\"status\":\"FAILED\"},"
	"\"childPipeline\":{\"id\":\".\",\"name\":\"Dot\"}},"
	"{\"id\":\"h3\",\"name\":\"Slash\",\"result\":{\"status\":\"FAILED\"},"
	"\"childPipeline\":{\"id\":\"a/b\",\"name\":\"Slash\"}},"
	"{\"id\":\"h4\",\"name\":\"Encoded\",\"result\":{\"status\":\"FAILED\"},"
	"\"childPipeline\":{\"id\":\"%2e%2e\",\"name\":\"Encoded\"}},"
	"{\"id\":\"h5\",\"name\":\"Long\",\"result\":{\"status\":\"FAILED\"},"
	"\"childPipeline\":{\"id\":\"" LONG_ID "\",\"name\":\"Long\"}},"
	"{\"id\":\"h6\",\"name\":\"Nul\",\"result\":{\"status\":\"FAILED\"},"
	"\"childPipeline\":{\"id\":\"e-ok\\u0000/../../x\",\"name\":\"Nul\"}},"
	"{\"id\":\"h7\",\"name\":\"Run Child\",\"result\":{\"status\":\"FAILED\"},"
	"\"childPipeline\":{\"id\":\"e-child\",\"name\":\"Child.orch.yaml\"}}]}";

static void test_child_ids_validated(void **state)
{
	struct fx *f = *state;
	size_t i;

	M.root_reply = hostile_children;
	assert_int_equal(fetch(f, "e-root"), 0);
	/* Execution, the root page and the good child's page; nothing else. */
	assert_int_equal(M.api_calls, 3);
	assert_int_equal(f->err.api_calls, 3);
	assert_int_equal(M.stray, 0);
	assert_int_equal(M.unexpected, 0);
	assert_non_null(f->s.incomplete);
	assert_non_null(strstr(f->s.incomplete, "6 child runs with an invalid id skipped"));
	for (i = 0; i < f->s.n_children; i++)
		assert_int_equal(f->s.children[i].visited,
				 strcmp(f->s.children[i].execution_id, "e-child") == 0 ||
					 strcmp(f->s.children[i].execution_id, "e-root") == 0);
}

/* ---- schedule names ---- */

/* Fetches e-root with d (shared between calls) into a fresh summary. */
static int fetch_shared(struct fx *f, struct dpc *d)
{
	summary_free(&f->s);
	assert_int_equal(summary_init(&f->s, PROJECT, "e-root", f->cfg.ui_base), 0);
	return dpc_fetch_summary(d, f->h, PROJECT, "e-root", &f->s, &f->err);
}

static void test_schedule_name_found(void **state)
{
	struct fx *f = *state;

	M.exec_reply = scheduled;
	assert_int_equal(fetch(f, "e-root"), 0);
	assert_string_equal(f->s.schedule_id, SCHED_ID);
	assert_string_equal(f->s.schedule_name, "nightly_dwh");
	assert_int_equal(M.sched_calls, 1);
	assert_int_equal(M.sched_bad_query, 0);
	assert_int_equal(f->err.api_calls, 6); /* the lookup counts like any call */
	assert_int_equal(M.token_calls, 1);
	assert_null(f->s.incomplete);
	assert_int_equal(f->s.n_failed, 3);
}

static void test_schedule_name_on_later_page(void **state)
{
	struct fx *f = *state;

	M.exec_reply = scheduled;
	M.sched_pages = 3;
	assert_int_equal(fetch(f, "e-root"), 0);
	assert_string_equal(f->s.schedule_name, "nightly_dwh");
	assert_int_equal(M.sched_calls, 3);
	assert_int_equal(M.sched_bad_query, 0);
}

/* A project that claims thousands of schedules costs three pages at most. */
static void test_schedule_pages_bounded(void **state)
{
	struct fx *f = *state;

	M.exec_reply = scheduled;
	M.sched_pages = 100000;
	assert_int_equal(fetch(f, "e-root"), 0);
	assert_string_equal(f->s.schedule_name, "");
	assert_int_equal(M.sched_calls, 3);
	assert_null(f->s.incomplete);
}

static void test_schedule_absent(void **state)
{
	struct fx *f = *state;

	M.exec_reply = scheduled;
	M.sched_reply = "{\"page\":0,\"size\":100,\"total\":1,\"results\":"
			"[{\"scheduleId\":\"other\",\"name\":\"weekly\"}]}";
	assert_int_equal(fetch(f, "e-root"), 0);
	assert_string_equal(f->s.schedule_name, "");
	assert_int_equal(M.sched_calls, 1);
	assert_int_equal(f->s.n_failed, 3);
}

/* Every way the lookup can fail leaves the summary as it would be without
 * it: same result, no note for the reader, no error recorded, one call. */
static void test_schedule_failures_silent(void **state)
{
	static const unsigned statuses[] = { 400, 401, 403, 404, 429, 500, 503 };
	static const char *const replies[] = {
		"not json",
		"[]",
		"{}",
		"{\"results\":{}}",
		"{\"results\":[1,\"x\",null,[]]}",
		"{\"results\":[{\"scheduleId\":\"" SCHED_ID "\",\"name\":42}]}",
		"{\"results\":[{\"scheduleId\":\"" SCHED_ID "\",\"name\":\"\"}]}",
		"{\"results\":[{\"scheduleId\":\"" SCHED_ID "/..\",\"name\":\"x\"}]}",
		"{\"results\":[{\"scheduleId\":\"" SCHED_ID "\\u0000\",\"name\":\"x\"}]}",
		"{\"results\":[{\"scheduleId\":42,\"name\":\"x\"}]}",
		"{\"results\":[{\"scheduleId\":\"" SCHED_ID "\",\"name\":\"x\"}",
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0;
	     i < sizeof(statuses) / sizeof(statuses[0]) + sizeof(replies) / sizeof(replies[0]);
	     i++) {
		teardown(state);
		setup(state);
		f = *state;
		M.exec_reply = scheduled;
		if (i < sizeof(statuses) / sizeof(statuses[0])) {
			M.sched_status = statuses[i];
			M.sched_retry_after = "1";
		} else {
			M.sched_reply = replies[i - sizeof(statuses) / sizeof(statuses[0])];
		}
		assert_int_equal(fetch(f, "e-root"), 0);
		assert_string_equal(f->s.schedule_name, "");
		assert_int_equal(M.sched_calls, 1); /* no retry, no token refresh, no wait */
		assert_int_equal(M.token_calls, 1);
		assert_null(f->s.incomplete);
		assert_int_equal(f->s.n_failed, 3);
		assert_int_equal(f->err.http_status, 0);
		assert_string_equal(f->err.message, "");
	}
}

static void test_schedule_timeout_silent(void **state)
{
	struct fx *f = *state;
	struct httpc_opts o = { .allow_http = 1, .timeout_ms = 300 };

	httpc_free(f->h);
	f->h = httpc_new(&o);
	assert_non_null(f->h);
	M.exec_reply = scheduled;
	M.sched_delay_ms = 1000;
	assert_int_equal(fetch(f, "e-root"), 0);
	assert_string_equal(f->s.schedule_name, "");
	assert_int_equal(M.sched_calls, 1);
	assert_null(f->s.incomplete);
	usleep(800 * 1000); /* let the mock's thread finish the slow reply */
}

/* Hostile but usable lists: a huge name is cut, controls are neutralised,
 * the first of two entries with our id wins, junk entries are skipped. */
static void test_schedule_hostile_list(void **state)
{
	struct fx *f = *state;
	static char reply[12000];
	size_t n;

	n = (size_t)snprintf(reply, sizeof(reply),
			     "{\"results\":[7,{\"scheduleId\":\"x\"},{\"scheduleId\":\"" SCHED_ID
			     "\",\"name\":\"\\u202enightly\\u0007\\u0000");
	memset(reply + n, 'n', 8000);
	n += 8000;
	snprintf(reply + n, sizeof(reply) - n,
		 "\"},{\"scheduleId\":\"" SCHED_ID "\",\"name\":\"second\"}]}");
	M.exec_reply = scheduled;
	M.sched_reply = reply;
	assert_int_equal(fetch(f, "e-root"), 0);
	assert_true(strlen(f->s.schedule_name) <= 256);
	assert_true(strlen(f->s.schedule_name) > 100);
	assert_null(strstr(f->s.schedule_name, "second"));
	assert_null(strchr(f->s.schedule_name, '\a'));
	assert_null(strstr(f->s.schedule_name, "\xe2\x80\xae")); /* U+202E */
	assert_non_null(strstr(f->s.schedule_name, "nightly"));
}

static void test_schedule_other_triggers(void **state)
{
	static const char *const execs[] = {
		"{\"pipelineName\":\"P\",\"status\":\"FAILED\",\"trigger\":\"API\","
		"\"scheduleId\":\"" SCHED_ID "\"}",
		"{\"pipelineName\":\"P\",\"status\":\"FAILED\",\"trigger\":\"DESIGNER\","
		"\"scheduleId\":\"" SCHED_ID "\"}",
		"{\"pipelineName\":\"P\",\"status\":\"FAILED\",\"trigger\":\"SCHEDULE\"}",
		"{\"pipelineName\":\"P\",\"status\":\"FAILED\",\"trigger\":\"SCHEDULE\","
		"\"scheduleId\":\"../x\"}",
		"{\"pipelineName\":\"P\",\"status\":\"FAILED\",\"trigger\":\"SCHEDULE_RUN_NOW\","
		"\"scheduleId\":\"" SCHED_ID "\"}",
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(execs) / sizeof(execs[0]); i++) {
		teardown(state);
		setup(state);
		f = *state;
		M.exec_reply = execs[i];
		assert_int_equal(fetch(f, "e-root"), 0);
		/* only the last one is a scheduled run with a usable id */
		assert_int_equal(M.sched_calls, i == 4);
		assert_string_equal(f->s.schedule_name, i == 4 ? "nightly_dwh" : "");
	}
}

/* The steps come first: with the budget used up by them, no lookup. */
static void test_schedule_within_budget(void **state)
{
	struct fx *f = *state;

	M.exec_reply = scheduled;
	f->cfg.max_api_calls = 5; /* execution + 3 root pages + 1 child page */
	assert_int_equal(fetch(f, "e-root"), 0);
	assert_int_equal(M.sched_calls, 0);
	assert_int_equal(f->err.api_calls, 5);
	assert_string_equal(f->s.schedule_name, "");
	assert_null(f->s.incomplete);
	assert_int_equal(f->s.n_failed, 3);
}

/* N runs of one project within the cache's life: one call, every name. */
static void test_schedule_cached_per_project(void **state)
{
	struct fx *f = *state;
	struct dpc *d = dpc_new(&f->cfg);
	int i;

	assert_non_null(d);
	M.exec_reply = scheduled;
	for (i = 0; i < 5; i++) {
		assert_int_equal(fetch_shared(f, d), 0);
		assert_string_equal(f->s.schedule_name, "nightly_dwh");
	}
	assert_int_equal(M.sched_calls, 1);
	dpc_free(d);
}

/* A failed lookup is remembered too, so a storm against a broken endpoint
 * costs one call as well. */
static void test_schedule_failure_cached(void **state)
{
	struct fx *f = *state;
	struct dpc *d = dpc_new(&f->cfg);
	int i;

	assert_non_null(d);
	M.exec_reply = scheduled;
	M.sched_status = 500;
	for (i = 0; i < 3; i++) {
		assert_int_equal(fetch_shared(f, d), 0);
		assert_string_equal(f->s.schedule_name, "");
	}
	assert_int_equal(M.sched_calls, 1);
	dpc_free(d);
}

struct racer {
	struct dpc *d;
	struct fx *f;
	struct summary s;
	int rc;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct httpc_opts o = { .allow_http = 1 };
	struct httpc *h = httpc_new(&o);
	struct dpc_error err;

	r->rc = -1;
	if (h && summary_init(&r->s, PROJECT, "e-root", r->f->cfg.ui_base) == 0)
		r->rc = dpc_fetch_summary(r->d, h, PROJECT, "e-root", &r->s, &err);
	httpc_free(h);
	return NULL;
}

/* Workers that hit the same project at once wait for one lookup. */
static void test_schedule_concurrent_single_call(void **state)
{
	struct fx *f = *state;
	struct racer r[4];
	pthread_t t[4];
	struct dpc *d = dpc_new(&f->cfg);
	int i;

	assert_non_null(d);
	M.exec_reply = scheduled;
	M.sched_delay_ms = 200; /* long enough for the others to arrive */
	for (i = 0; i < 4; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].d = d;
		r[i].f = f;
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].rc, 0);
		assert_string_equal(r[i].s.schedule_name, "nightly_dwh");
		summary_free(&r[i].s);
	}
	assert_int_equal(M.sched_calls, 1);
	dpc_free(d);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_full_tree),
		T(test_token_request_and_cache),
		T(test_short_lived_token_reused),
		T(test_401_refreshes_token_once),
		T(test_401_twice_is_permanent),
		T(test_429_short_wait_retried),
		T(test_429_long_wait_transient),
		T(test_budget_exhausted),
		T(test_budget_exhausted_in_root_pages),
		T(test_depth_limit),
		T(test_child_404_not_fatal),
		T(test_execution_404_permanent),
		T(test_execution_403_permanent),
		T(test_execution_500_transient),
		T(test_token_rejected),
		T(test_token_unavailable_transient),
		T(test_bad_ids_refused),
		T(test_token_with_controls_refused),
		T(test_token_too_long_refused),
		T(test_token_valid_shapes_accepted),
		T(test_child_ids_validated),
		T(test_schedule_name_found),
		T(test_schedule_name_on_later_page),
		T(test_schedule_pages_bounded),
		T(test_schedule_absent),
		T(test_schedule_failures_silent),
		T(test_schedule_timeout_silent),
		T(test_schedule_hostile_list),
		T(test_schedule_other_triggers),
		T(test_schedule_within_budget),
		T(test_schedule_cached_per_project),
		T(test_schedule_failure_cached),
		T(test_schedule_concurrent_single_call),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
