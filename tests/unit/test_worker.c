/* Unit tests for the workers, through link seams: this program defines
 * the Matillion client (dpc_new, dpc_free, dpc_fetch_summary) and chat
 * delivery (deliver_post) itself, and the Makefile links it without
 * src/matillion/dpc.c and src/delivery/deliver.c (and without the CLI and
 * service that call them). Everything else is real: a store in a temporary
 * file, the config loaded from an INI file, the renderers and the worker
 * threads. Each case puts a job, starts one worker, waits (with a timeout
 * far beyond what any machine needs) until the store shows the outcome,
 * and checks it. */
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "clock.h"
#include "config.h"
#include "deliver.h"
#include "dpc.h"
#include "errors.h"
#include "log.h"
#include "longrun.h"
#include "store.h"
#include "summary.h"
#include "worker.h"

#define URL_A "https://hooks.slack.com/services/T0/B0/aaaa"
#define URL_B "https://hooks.slack.com/services/T0/B0/bbbb"
#define WAIT_MS 20000 /* a timeout for a broken worker, not a speed bound */
#define MAX_POSTS 16

/* ---- the seams: what the fake Matillion client and chat endpoint do ---- */

struct fake {
	pthread_mutex_t mu;
	int api_rc;              /* dpc_fetch_summary's answer */
	const char *api_message; /* its dpc_error.message */
	long api_status;         /* its dpc_error.http_status */
	int api_unreadable;      /* its dpc_error.unreadable */
	int api_calls;
	enum deliver_class cls_a; /* what URL_A answers */
	enum deliver_class cls_b; /* what URL_B answers */
	int n_posts;
	char *post_url[MAX_POSTS];
	char *post_body[MAX_POSTS];
};

static struct fake fake = { .mu = PTHREAD_MUTEX_INITIALIZER };

struct dpc *dpc_new(const struct config *c)
{
	(void)c;
	return malloc(1); /* only ever passed back to the seams below */
}

void dpc_free(struct dpc *d)
{
	free(d);
}

static const char execution_json[] =
	"{\"pipelineExecutionId\":\"e-1\",\"pipelineName\":\"nightly.orch.yaml\","
	"\"status\":\"FAILED\",\"environmentName\":\"prod\"}";

int dpc_fetch_summary(struct dpc *d, struct httpc *h, const char *project_id,
		      const char *execution_id, struct summary *s, struct dpc_error *err)
{
	int rc;

	(void)d;
	(void)h;
	(void)project_id;
	(void)execution_id;
	memset(err, 0, sizeof(*err));
	err->retry_after_s = -1;
	pthread_mutex_lock(&fake.mu);
	fake.api_calls++;
	rc = fake.api_rc;
	if (rc) {
		snprintf(err->message, sizeof(err->message), "%s", fake.api_message);
		err->http_status = fake.api_status;
		err->unreadable = fake.api_unreadable;
	}
	pthread_mutex_unlock(&fake.mu);
	if (rc == 0) {
		rc = summary_set_execution(s, execution_json, strlen(execution_json));
		summary_finish(s);
	}
	return rc;
}

/* The worker asks for the details only of runs the routes do not notify:
 * the same fake answers. */
int dpc_fetch_execution(struct dpc *d, struct httpc *h, const char *project_id,
			const char *execution_id, struct summary *s, struct dpc_error *err)
{
	return dpc_fetch_summary(d, h, project_id, execution_id, s, err);
}

/* The Slack Web API client (linked in with the slack-app threads) quotes
 * replies through this; no test here posts to a Slack app. */
void deliver_snippet(const char *body, size_t len, const char *url, char *out, size_t outlen)
{
	(void)body;
	(void)len;
	(void)url;
	if (outlen > 0)
		out[0] = '\0';
}

/* Discord's incident edits (dthread.c) are not exercised here: no
 * destination of these tests is a Discord one. */
int deliver_edit(struct httpc *h, const struct target *t, const char *url, const char *body,
		 struct deliver_result *r)
{
	(void)h;
	(void)t;
	(void)url;
	(void)body;
	memset(r, 0, sizeof(*r));
	r->cls = DELIVER_PERMANENT;
	r->retry_after_s = -1;
	return 0;
}

char *deliver_url(const char *url, const char *tail, const char *param)
{
	(void)url;
	(void)tail;
	(void)param;
	return NULL;
}

/* Re-runs from Slack buttons are not exercised here. */
int dpc_start_pipeline(struct dpc *d, struct httpc *h, const char *project_id, const char *pipeline,
		       const char *environment, const char *tag, char *execution_id, size_t idlen,
		       struct dpc_error *err)
{
	(void)d;
	(void)h;
	(void)project_id;
	(void)pipeline;
	(void)environment;
	(void)tag;
	(void)execution_id;
	(void)idlen;
	memset(err, 0, sizeof(*err));
	return ERR_PERMANENT;
}

int deliver_post(struct httpc *h, const struct target *t, const char *url, const char *body,
		 const struct deliver_opts *o, struct deliver_result *r)
{
	(void)h;
	(void)t;
	(void)o;
	memset(r, 0, sizeof(*r));
	r->retry_after_s = -1;
	pthread_mutex_lock(&fake.mu);
	r->cls = strcmp(url, URL_B) == 0 ? fake.cls_b : fake.cls_a;
	if (fake.n_posts < MAX_POSTS) {
		fake.post_url[fake.n_posts] = strdup(url);
		fake.post_body[fake.n_posts] = strdup(body);
		fake.n_posts++;
	}
	pthread_mutex_unlock(&fake.mu);
	r->http_status = r->cls == DELIVER_OK ? 200 : r->cls == DELIVER_RETRY ? 503 : 404;
	snprintf(r->detail, sizeof(r->detail), "%ld fake", r->http_status);
	return 0;
}

/* Posts made to url so far. */
static int posts_to(const char *url)
{
	int i, n = 0;

	pthread_mutex_lock(&fake.mu);
	for (i = 0; i < fake.n_posts; i++)
		n += strcmp(fake.post_url[i], url) == 0;
	pthread_mutex_unlock(&fake.mu);
	return n;
}

/* ---- fixture ---- */

struct fx {
	char dir[64];
	char db[96];
	char ini[96];
	struct store *st;
	struct config_holder *cfg;
	struct workers *w;
	FILE *log;
};

static const char ini_ab[] = "[server]\nauth_token = tok-AAAA-0123456789\nworkers = 1\n"
			     "[matillion]\nclient_id = id\nclient_secret = secret\n"
			     "[destination a]\ntype = slack\nurl = " URL_A "\n"
			     "[destination b]\ntype = slack\nurl = " URL_B "\n"
			     "[default]\ndestinations = a, b\n";

static const char ini_a[] = "[server]\nauth_token = tok-AAAA-0123456789\nworkers = 1\n"
			    "[matillion]\nclient_id = id\nclient_secret = secret\n"
			    "[destination a]\ntype = slack\nurl = " URL_A "\n"
			    "[default]\ndestinations = a\n";

static struct config *load(struct fx *f, const char *text)
{
	struct diags d = { 0 };
	struct config *c;
	FILE *fp = fopen(f->ini, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	c = config_load(f->ini, &d);
	diags_free(&d);
	assert_non_null(c);
	return c;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	int i;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_worker.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/w.db", f->dir);
	snprintf(f->ini, sizeof(f->ini), "%s/w.ini", f->dir);
	f->st = store_open(f->db, err, sizeof(err));
	assert_non_null(f->st);
	f->cfg = config_holder_new(load(f, ini_ab));
	assert_non_null(f->cfg);
	f->log = tmpfile();
	assert_non_null(f->log);
	log_set_stream(f->log);
	pthread_mutex_lock(&fake.mu);
	for (i = 0; i < fake.n_posts; i++) {
		free(fake.post_url[i]);
		free(fake.post_body[i]);
	}
	fake.n_posts = 0;
	fake.api_calls = 0;
	fake.api_rc = 0;
	fake.api_message = "";
	fake.api_status = 0;
	fake.api_unreadable = 0;
	fake.cls_a = DELIVER_OK;
	fake.cls_b = DELIVER_OK;
	pthread_mutex_unlock(&fake.mu);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->w != NULL)
		assert_int_equal(workers_stop(f->w, 10), 0);
	store_close(f->st);
	config_holder_free(f->cfg);
	log_set_stream(NULL);
	fclose(f->log);
	unlink(f->db);
	unlink(f->ini);
	/* SQLite's side files, if any are left. */
	{
		char p[128];
		snprintf(p, sizeof(p), "%s-wal", f->db);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", f->db);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Puts one failed-run job for dests. */
static int64_t put_job(struct fx *f, const char *pipeline, char *const *dests, size_t n)
{
	struct webhook_event ev;
	int64_t id = -1;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.project_id, sizeof(ev.project_id), "p-1");
	snprintf(ev.execution_id, sizeof(ev.execution_id), "e-1");
	snprintf(ev.pipeline_name, sizeof(ev.pipeline_name), "%s", pipeline);
	snprintf(ev.environment, sizeof(ev.environment), "prod");
	snprintf(ev.status_text, sizeof(ev.status_text), "FAILED");
	ev.status = ST_FAILED;
	assert_int_equal(store_put(f->st, &ev, dests, n, 0, &id), 0);
	return id;
}

struct find {
	int64_t id;
	int found;
	struct job j;
};

static void find_fn(void *ctx, const struct job *j)
{
	struct find *fd = ctx;

	if (j->id == fd->id) {
		fd->j = *j;
		fd->found = 1;
	}
}

static struct job get_job(struct fx *f, int64_t id)
{
	struct find fd = { .id = id };

	assert_int_equal(store_list(f->st, -1, 0, find_fn, &fd), 0);
	assert_true(fd.found);
	return fd.j;
}

/* Finds the one JOB_KIND_LONG_RUNNING job. */
static void long_fn(void *ctx, const struct job *j)
{
	struct find *fd = ctx;

	if (j->kind == JOB_KIND_LONG_RUNNING) {
		fd->j = *j;
		fd->found = 1;
	}
}

static void count_run(void *ctx, const struct mem_run_row *r)
{
	(void)r;
	(*(int *)ctx)++;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Waits until job id's first attempt has ended: no longer running, and
 * either finished or queued again after being claimed. */
static struct job wait_attempt(struct fx *f, int64_t id)
{
	int64_t deadline = clock_mono_ms() + WAIT_MS;
	struct job j;

	for (;;) {
		j = get_job(f, id);
		if (j.state != JOB_RUNNING && (j.state != JOB_QUEUED || j.attempts >= 1))
			return j;
		assert_true(clock_mono_ms() < deadline);
		pause_ms(20);
	}
}

static void start(struct fx *f)
{
	f->w = workers_start(f->cfg, f->st);
	assert_non_null(f->w);
}

/* Stops the worker so nothing changes while the case inspects the store. */
static void stop(struct fx *f)
{
	assert_int_equal(workers_stop(f->w, 10), 0);
	f->w = NULL;
}

/* Puts a job for dests, lets one worker make its first attempt at it, and
 * stops the worker; returns the job as the store then holds it. */
static struct job attempt_once(struct fx *f, const char *pipeline, char *const *dests, size_t n,
			       int64_t *id)
{
	struct job j;

	*id = put_job(f, pipeline, dests, n);
	start(f);
	j = wait_attempt(f, *id);
	stop(f);
	return j;
}

/* ---- cases ---- */

/* A transient API failure re-queues the job for later, attempt counted,
 * with the reason kept, and posts nothing. */
static void test_transient_api_error_retries_later(void **state)
{
	struct fx *f = *state;
	char *dests[] = { "a" };
	int64_t before = clock_wall_ms(), id;
	struct job j;

	fake.api_rc = ERR_TRANSIENT;
	fake.api_message = "execution: HTTP 503";
	j = attempt_once(f, "nightly.orch.yaml", dests, 1, &id);
	assert_int_equal(j.state, JOB_QUEUED);
	assert_int_equal(j.attempts, 1);
	/* RETRY_BASE_MS's first window: at least two seconds later. */
	assert_true(j.not_before_ms >= before + 2000);
	assert_non_null(strstr(j.last_error, "HTTP 503"));
	assert_int_equal(fake.api_calls, 1);
	assert_int_equal(fake.n_posts, 0);
}

/* A permanent API failure still tells the channel: a degraded notice built
 * from the webhook, and the job is done. The webhook's name goes through
 * the summary's setter like the API's would: suffix stripped, blanks
 * trimmed, a bidi override replaced. */
static void test_permanent_api_error_posts_degraded_notice(void **state)
{
	struct fx *f = *state;
	char *dests[] = { "a" };
	int64_t id;
	struct job j;
	const char *body;

	fake.api_rc = ERR_PERMANENT;
	fake.api_message = "execution: HTTP 404";
	fake.api_status = 404;
	j = attempt_once(f, "  night\xe2\x80\xaely.orch.yaml", dests, 1, &id);
	assert_int_equal(j.state, JOB_DELIVERED);
	assert_int_equal(fake.api_calls, 1);
	assert_int_equal(fake.n_posts, 1);
	assert_string_equal(fake.post_url[0], URL_A);
	body = fake.post_body[0];
	assert_non_null(strstr(body, "Matillion's API does not know this run; no step details"));
	assert_null(strstr(body, "HTTP 404"));
	assert_string_equal(j.last_error, "execution: HTTP 404");
	assert_non_null(strstr(body, "night\xef\xbf\xbdly"));
	assert_null(strstr(body, "\xe2\x80\xae"));
	assert_null(strstr(body, ".orch.yaml"));
	assert_null(strstr(body, "  night"));
}

static const char ini_once[] = "[server]\nauth_token = tok-AAAA-0123456789\nworkers = 1\n"
			       "[matillion]\nclient_id = id\nclient_secret = secret\n"
			       "[delivery]\nmax_attempts = 1\n"
			       "[destination a]\ntype = slack\nurl = " URL_A "\n"
			       "[default]\ndestinations = a\n";

struct fu_find {
	int64_t of;
	int n;
	struct job j;
};

static void fu_find_fn(void *ctx, const struct job *j)
{
	struct fu_find *ff = ctx;

	if (j->followup_of == ff->of) {
		ff->j = *j;
		ff->n++;
	}
}

/* The reader's reason is chosen by the kind of failure (dpc_fetch_summary's
 * code, HTTP status and unreadable flag); only a kind that may heal
 * promises details, and only a promise leaves a follow-up job. The
 * technical message never reaches the post but is the job's error. */
static void test_degraded_reason_by_kind(void **state)
{
	static const struct {
		int rc;
		long status;
		int unreadable;
		const char *reader;
		int promise;
	} cases[] = {
		{ ERR_TRANSIENT, 0, 0, "dpc-notify couldn't reach Matillion's API", 1 },
		{ ERR_TRANSIENT, 503, 0, "dpc-notify couldn't reach Matillion's API", 1 },
		{ ERR_TRANSIENT, 429, 0, "dpc-notify couldn't reach Matillion's API", 1 },
		{ ERR_PERMANENT, 401, 0, "Matillion's API refused dpc-notify's credentials", 1 },
		{ ERR_PERMANENT, 403, 0, "Matillion's API refused dpc-notify's credentials", 1 },
		{ ERR_PERMANENT, 404, 0, "Matillion's API does not know this run", 0 },
		{ ERR_TRANSIENT, 0, 1,
		  "Matillion's API answered something dpc-notify could not read", 0 },
		{ ERR_PERMANENT, 200, 0,
		  "Matillion's API answered something dpc-notify could not read", 0 },
		{ ERR_PERMANENT, 400, 0, "Matillion's API turned down dpc-notify's request", 0 },
		{ ERR_PERMANENT, 0, 0, "dpc-notify could not ask Matillion's API about this run",
		  0 },
		{ ERR_PERMANENT, LONG_MAX, 0, "Matillion's API turned down dpc-notify's request",
		  0 },
		{ ERR_TRANSIENT, -1, 0, "dpc-notify couldn't reach Matillion's API", 1 },
	};
	static const char secret[] = "token request: Couldn't connect to server 10.0.0.1:443";
	struct fx *f = *state;
	char *dests[] = { "a" };
	size_t k;

	config_swap(f->cfg, load(f, ini_once));
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct fu_find ff = { 0 };
		const char *body;
		int64_t id;
		struct job j;

		fake.api_rc = cases[k].rc;
		fake.api_status = cases[k].status;
		fake.api_unreadable = cases[k].unreadable;
		fake.api_message = secret;
		j = attempt_once(f, "nightly.orch.yaml", dests, 1, &id);
		assert_int_equal(j.state, JOB_DELIVERED);
		assert_int_equal(fake.n_posts, (int)k + 1);
		body = fake.post_body[k];
		if (strstr(body, cases[k].reader) == NULL)
			fail_msg("case %zu: no \"%s\" in %s", k, cases[k].reader, body);
		assert_true((strstr(body, "details will follow") != NULL) == cases[k].promise);
		assert_null(strstr(body, "Couldn't connect"));
		assert_null(strstr(body, "10.0.0.1"));
		assert_string_equal(j.last_error, secret);
		ff.of = id;
		assert_int_equal(store_list(f->st, -1, 0, fu_find_fn, &ff), 0);
		assert_int_equal(ff.n, cases[k].promise);
		if (ff.n)
			assert_true(ff.j.state == JOB_QUEUED &&
				    ff.j.not_before_ms > clock_wall_ms());
	}
}

/* A destination dropped from the config by a reload after the job was
 * accepted is given up for that job, never posted; the others still are. */
static void test_destination_removed_by_reload_given_up(void **state)
{
	struct fx *f = *state;
	char *dests[] = { "a", "b" };
	struct delivery *dl = NULL;
	size_t n = 9;
	int64_t id;
	struct job j;

	id = put_job(f, "nightly.orch.yaml", dests, 2);
	config_swap(f->cfg, load(f, ini_a));
	start(f);
	j = wait_attempt(f, id);
	stop(f);
	assert_int_equal(j.state, JOB_DELIVERED);
	assert_int_equal(posts_to(URL_A), 1);
	assert_int_equal(posts_to(URL_B), 0);
	assert_int_equal(store_deliveries(f->st, id, &dl, &n), 0);
	assert_int_equal(n, 0);
	store_deliveries_free(dl, n);
}

/* One destination takes the message, the other asks for a retry: the job
 * is queued again for that one delivery only, which keeps its payload. */
static void test_partial_settle(void **state)
{
	struct fx *f = *state;
	char *dests[] = { "a", "b" };
	struct delivery *dl = NULL;
	size_t n = 0;
	int64_t before = clock_wall_ms(), id;
	struct job j;

	fake.cls_b = DELIVER_RETRY;
	j = attempt_once(f, "nightly.orch.yaml", dests, 2, &id);
	assert_int_equal(j.state, JOB_QUEUED);
	assert_int_equal(posts_to(URL_A), 1);
	assert_int_equal(posts_to(URL_B), 1);
	assert_int_equal(store_deliveries(f->st, id, &dl, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(dl[0].dest, "b");
	assert_int_equal(dl[0].attempts, 1);
	assert_true(dl[0].not_before_ms >= before + 2000);
	assert_true(j.not_before_ms == dl[0].not_before_ms);
	assert_non_null(dl[0].payload);
	assert_string_equal(dl[0].payload, fake.post_body[1]);
	store_deliveries_free(dl, n);
}

/* Whether the captured log holds needle. */
static int log_has(struct fx *f, const char *needle)
{
	char line[2048];
	int found = 0;

	fflush(f->log);
	rewind(f->log);
	while (!found && fgets(line, sizeof(line), f->log) != NULL)
		found = strstr(line, needle) != NULL;
	fseek(f->log, 0, SEEK_END);
	return found;
}

/* A store that cannot take writes makes every claim fail; the worker says
 * so in the log (it used to wait and retry without a word), claims again
 * once the store recovers, and says that too. */
static void test_claim_failure_logged(void **state)
{
	struct fx *f = *state;
	char *dests[] = { "a" };
	int64_t deadline, id;
	struct job j;

	id = put_job(f, "nightly.orch.yaml", dests, 1);
	store_fail_writes(f->st, 1);
	start(f);
	deadline = clock_mono_ms() + WAIT_MS;
	while (!log_has(f, "claim")) {
		assert_true(clock_mono_ms() < deadline);
		pause_ms(50);
	}
	assert_true(log_has(f, "I/O error"));
	assert_int_equal(get_job(f, id).state, JOB_QUEUED);
	store_fail_writes(f->st, 0);
	j = wait_attempt(f, id);
	stop(f);
	assert_int_equal(j.state, JOB_DELIVERED);
	assert_int_equal(posts_to(URL_A), 1);
	assert_true(log_has(f, "claim works again"));
}

/* A still-running notice (longrun.h) goes out without asking the API,
 * with the route's mention and its own wording, and run memory does not
 * remember it. */
static void test_long_running_notice_posted(void **state)
{
	struct fx *f = *state;
	const int64_t now = clock_wall_ms();
	const struct longrun_run r = { "e-long",   "p-1",
				       "prod",     "load_dwh",
				       "SCHEDULE", now - 3 * 3600 * 1000LL - 5 * 60 * 1000LL };
	const struct mem_key k = { "p-1", "prod", "load_dwh" };
	const struct config *c;
	struct find fd = { 0 };
	int hist = 0;

	config_swap(f->cfg, load(f, "[server]\nauth_token = tok-AAAA-0123456789\nworkers = 1\n"
				    "[matillion]\nclient_id = id\nclient_secret = secret\n"
				    "[destination a]\ntype = slack\nurl = " URL_A "\n"
				    "mention = <!subteam^S123>\n"
				    "[default]\ndestinations = a\nmax_duration = 2h\n"));
	c = config_get(f->cfg);
	assert_int_equal(longrun_scan(f->st, c, &r, 1, now), 1);
	config_put(f->cfg, c);
	assert_int_equal(store_list(f->st, -1, 0, long_fn, &fd), 0);
	assert_true(fd.found);
	start(f);
	fd.j = wait_attempt(f, fd.j.id);
	stop(f);
	assert_int_equal(fd.j.state, JOB_DELIVERED);
	assert_int_equal(fake.api_calls, 0);
	assert_int_equal(posts_to(URL_A), 1);
	assert_non_null(
		strstr(fake.post_body[0], "load_dwh still running after 3h 05m (limit 2h)"));
	assert_non_null(strstr(fake.post_body[0], "<!subteam^S123>"));
	assert_int_equal(store_history(f->st, &k, 0, count_run, &hist), 0);
	assert_int_equal(hist, 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_transient_api_error_retries_later),
		T(test_permanent_api_error_posts_degraded_notice),
		T(test_degraded_reason_by_kind),
		T(test_destination_removed_by_reload_given_up),
		T(test_partial_settle),
		T(test_claim_failure_logged),
		T(test_long_running_notice_posted),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
