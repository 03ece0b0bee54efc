/* Matillion Data Productivity Cloud API client: fetches one run, all pages
 * of its steps and the steps of its child runs that did not succeed, and
 * feeds them to the summary builder.
 *
 * DESIGN: one struct dpc is shared by all workers. It owns the OAuth2
 * client-credentials token (fetched under a mutex, so concurrent workers
 * make one token request; refreshed when less than a minute is left, or
 * once per call after a 401) and the rate limiter every API call passes
 * through. A job's state (calls made, visited runs, notes for the reader)
 * lives in a per-call struct job; what the walk knows of each child run
 * (the path it was found on, whether it was decided on) lives in the
 * summary's child record. Recursion into child runs is
 * an explicit loop, always taking the deepest unvisited failing child
 * next (a depth-first walk), bounded by max_child_depth, max_api_calls and
 * a visited set keyed by execution id so a cycle costs nothing. A 429/503
 * Retry-After pauses every worker; short waits are sat out and the call
 * repeated, long ones turn into ERR_TRANSIENT so the job is retried later.
 * The API and token endpoint are not trusted to send sane values: a token
 * is used only in RFC 6750's b64token shape (so nothing it holds can start
 * a header line), a child run id only with the syntax webhook ids must
 * have (other children are skipped with a note), and an escaped NUL in
 * any JSON reply is defused before cJSON could cut a string at it.
 * A scheduled run also gets its schedule's name from the project's
 * schedule list, after the steps and within the same call budget. The
 * list is cached per project (SCHED_SLOTS projects, SCHED_TTL_MS, a failed
 * lookup SCHED_FAIL_TTL_MS) and fetched by one worker while the others wait
 * for it, so a storm of runs costs one call. The lookup is optional: one
 * attempt (no token refresh, no Retry-After wait), at most SCHED_PAGES
 * pages, failures logged at debug level only, and the summary is the same
 * with or without it but for the name.
 * Nothing here survives a restart; the token is wiped from memory on free. */
#include "dpc.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "errors.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "text.h"

#define PAGE_SIZE 100
#define DEFAULT_EXPIRES_S 1800
#define REFRESH_MARGIN_MS 60000
#define SHORT_WAIT_S 30 /* Retry-After up to this is waited out in place */
#define PAUSE_CAP_S 30  /* longest global pause (or retry_after_max if shorter) */
#define NOTES_MAX 512
#define TOKEN_MAX 8192 /* longest access token accepted, in bytes */
#define AUDIENCE "https%3A%2F%2Fapi.matillion.com"
#define SCHED_SLOTS 32                /* projects whose schedule list is cached */
#define SCHED_PAGES 3                 /* pages of PAGE_SIZE read per project */
#define SCHED_NAME_MAX 256            /* bytes of a schedule name kept */
#define SCHED_TTL_MS (10 * 60 * 1000) /* life of a fetched list */
#define SCHED_FAIL_TTL_MS (60 * 1000) /* life of a failed lookup */
#define SCHED_WAIT_MS 10000           /* longest wait for another worker's lookup */

/* One schedule of a project: validated id, sanitised and capped name. */
struct sched_entry {
	char *id;
	char *name;
};

/* The cached schedule list of one project. */
struct sched_slot {
	char *project;      /* NULL: slot unused */
	int64_t expires_ms; /* monotonic; the list is fresh before this */
	int64_t used_ms;    /* last lookup, for evicting the least recent */
	int busy;           /* a worker is fetching the list */
	struct sched_entry *e;
	size_t n;
};

struct dpc {
	char *api_base; /* without a trailing '/' */
	char *token_url;
	char *client_id;
	char *client_secret; /* secret: never logged, wiped on free */
	int max_child_depth;
	int max_api_calls;
	int64_t pause_cap_s; /* longest pause a Retry-After imposes on every call */
	struct ratelimit *rl;
	pthread_mutex_t lock;       /* guards token and token_refresh_ms */
	char *token;                /* secret; NULL when none cached */
	int64_t token_refresh_ms;   /* monotonic clock value after which a new token is fetched */
	pthread_mutex_t sched_lock; /* guards sched */
	pthread_cond_t sched_done;  /* a slot stopped being busy */
	struct sched_slot sched[SCHED_SLOTS];
};

/* One dpc_fetch_summary() call. */
struct job {
	struct dpc *d;
	struct httpc *h;
	struct summary *s;
	struct dpc_error *err;
	const char *exec_id; /* run being fetched, for log lines */
	char *exec_base;     /* {api_base}/v1/projects/{project}/pipeline-executions/ */
	char **visited;      /* execution ids fetched or being fetched */
	size_t n_visited;
	size_t cap_visited;
	size_t skipped_depth;
	size_t skipped_bad_id; /* failed children whose id cannot go in a URL */
	int optional;          /* calls now are optional: one attempt, failures at debug level */
	int max_calls;         /* > 0: this call budget instead of max_api_calls */
	int64_t max_wait_ms;   /* >= 0: longest rate-limit wait, else ERR_BUDGET;
				* a Retry-After is then never sat out */
	char notes[NOTES_MAX]; /* becomes s->incomplete */
};

/* ---- small helpers ---- */

static void wipe_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static char *dup_str(const char *s, int *failed)
{
	char *d = strdup(s ? s : "");

	if (!d)
		*failed = 1;
	return d;
}

/* An id that may become one path segment of a URL: percent-encoding keeps
 * it to one segment, and refusing dot segments stops libcurl from
 * resolving it away ("x/../steps" is "steps"). */
static int valid_id(const char *id)
{
	return id && id[0] && strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

/* Ids the API hands us (childPipeline.id) get the webhook ids' syntax
 * check as well, since nothing vouches for them. */
static int valid_api_id(const char *id)
{
	return text_id_valid(id) && valid_id(id);
}

/* cJSON ends a string at an escaped NUL, so "e-1\u0000/../x" would read
 * as "e-1" and "tok\u0000..." as "tok"; text_json_defuse_nul() turns the
 * escape into U+FFFD first, so such values keep their tail and fail their
 * checks. A raw NUL byte makes the body unparseable (ERR_PARSE). */
static int defuse_body(struct httpc_response *resp)
{
	return resp->body ? text_json_defuse_nul(resp->body, resp->len) : 0;
}

__attribute__((format(printf, 2, 3))) static void add_note(struct job *j, const char *fmt, ...)
{
	size_t used = strlen(j->notes);
	va_list ap;

	if (used > 0 && used + 2 < sizeof(j->notes)) {
		memcpy(j->notes + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= sizeof(j->notes))
		return;
	va_start(ap, fmt);
	vsnprintf(j->notes + used, sizeof(j->notes) - used, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3))) static void set_message(struct dpc_error *err,
							      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/* ---- lifetime ---- */

static void sched_entries_free(struct sched_entry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(e[i].id);
		free(e[i].name);
	}
	free(e);
}

/* The cache's lock and condition; the condition runs on the monotonic
 * clock so a change of the system time cannot stretch a wait. */
static int sched_init(struct dpc *d)
{
	if (clock_cond_init(&d->sched_done) != 0)
		return ERR_NOMEM;
	if (pthread_mutex_init(&d->sched_lock, NULL) != 0) {
		pthread_cond_destroy(&d->sched_done);
		return ERR_NOMEM;
	}
	return 0;
}

static void sched_fini(struct dpc *d)
{
	size_t i;

	for (i = 0; i < SCHED_SLOTS; i++) {
		free(d->sched[i].project);
		sched_entries_free(d->sched[i].e, d->sched[i].n);
	}
	pthread_cond_destroy(&d->sched_done);
	pthread_mutex_destroy(&d->sched_lock);
}

struct dpc *dpc_new(const struct config *c)
{
	struct dpc *d = calloc(1, sizeof(*d));
	int failed = 0;
	size_t n;

	if (!d)
		return NULL;
	if (pthread_mutex_init(&d->lock, NULL) != 0) {
		free(d);
		return NULL;
	}
	if (sched_init(d) != 0) {
		pthread_mutex_destroy(&d->lock);
		free(d);
		return NULL;
	}
	d->api_base = dup_str(c->api_base, &failed);
	d->token_url = dup_str(c->token_url, &failed);
	d->client_id = dup_str(c->client_id, &failed);
	d->client_secret = dup_str(c->client_secret, &failed);
	/* The limits come checked and defaulted from config_load(). */
	d->max_child_depth = c->max_child_depth;
	d->max_api_calls = c->max_api_calls;
	d->pause_cap_s = c->retry_after_max > 0 && c->retry_after_max < PAUSE_CAP_S
				 ? c->retry_after_max
				 : PAUSE_CAP_S;
	d->rl = ratelimit_new(c->requests_per_minute / 60.0, c->burst);
	if (failed || !d->rl) {
		dpc_free(d);
		return NULL;
	}
	n = strlen(d->api_base);
	while (n > 0 && d->api_base[n - 1] == '/')
		d->api_base[--n] = '\0';
	return d;
}

void dpc_free(struct dpc *d)
{
	if (!d)
		return;
	free(d->api_base);
	free(d->token_url);
	wipe_free(d->client_id);
	wipe_free(d->client_secret);
	wipe_free(d->token);
	ratelimit_free(d->rl);
	pthread_mutex_destroy(&d->lock);
	sched_fini(d);
	free(d);
}

/* ---- token ---- */

/* A token is replaced a minute before it expires; a token that lives less
 * than two minutes is replaced at half its life, so a short-lived token is
 * still reused rather than fetched before every call. */
static int64_t refresh_after_ms(double expires_s)
{
	int64_t life = (int64_t)(expires_s * 1000);

	return life < 2 * REFRESH_MARGIN_MS ? life / 2 : life - REFRESH_MARGIN_MS;
}

/* RFC 6750 b64token: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/". */
static int b64token_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

/* Checks that an access token can only ever be one bearer credential:
 * 1*b64token-char *"=" (RFC 6750) and at most TOKEN_MAX bytes. Anything
 * else, a CR or LF above all, would add headers or a whole second request
 * to every API call it went into. Returns 0, or ERR_PARSE with a message
 * in err that never quotes the token. */
static int token_check(const char *tok, struct dpc_error *err)
{
	size_t i = 0;

	if (!tok || !tok[0]) {
		set_message(err, "token response had no access_token");
		return ERR_PARSE;
	}
	if (strlen(tok) > TOKEN_MAX) {
		set_message(err, "token response: access_token longer than %d bytes", TOKEN_MAX);
		return ERR_PARSE;
	}
	while (b64token_char((unsigned char)tok[i]))
		i++;
	while (i > 0 && tok[i] == '=')
		i++;
	if (i == 0 || tok[i] != '\0') {
		set_message(err, "token response: access_token has characters not allowed "
				 "in a bearer token");
		return ERR_PARSE;
	}
	return 0;
}

/* Reads access_token and expires_in from a token response into d.
 * Called with d->lock held. Returns 0, ERR_NOMEM, or ERR_PARSE with the
 * reason in err. */
static int token_store(struct dpc *d, struct httpc_response *resp, struct dpc_error *err)
{
	cJSON *root = NULL, *tok, *exp;
	double secs = DEFAULT_EXPIRES_S;
	int rc = defuse_body(resp);
	char *copy;

	if (rc) {
		set_message(err, "token response is not JSON");
		return rc;
	}
	root = cJSON_ParseWithLength(resp->body ? resp->body : "", resp->len);
	tok = cJSON_GetObjectItemCaseSensitive(root, "access_token");
	exp = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
	rc = token_check(cJSON_IsString(tok) ? tok->valuestring : NULL, err);
	if (rc)
		goto out;
	if (cJSON_IsNumber(exp) && exp->valuedouble > 0 && exp->valuedouble < 1e7)
		secs = exp->valuedouble;
	copy = strdup(tok->valuestring);
	rc = ERR_NOMEM;
	if (!copy)
		goto out;
	wipe_free(d->token);
	d->token = copy;
	d->token_refresh_ms = clock_mono_ms() + refresh_after_ms(secs);
	rc = 0;
out:
	if (tok && cJSON_IsString(tok))
		explicit_bzero(tok->valuestring, strlen(tok->valuestring));
	cJSON_Delete(root);
	return rc;
}

/* Maps a failed token request to an error code and a message. */
static int token_failure(struct dpc_error *err, int rc, const struct httpc_response *resp)
{
	err->http_status = resp->status;
	if (rc == ERR_NOMEM)
		return rc;
	if (rc) {
		set_message(err, "token request: %s", resp->error);
		return rc == ERR_PERMANENT ? ERR_PERMANENT : ERR_TRANSIENT;
	}
	if (resp->status == 400 || resp->status == 401) {
		set_message(err, "token request rejected (HTTP %ld): check client_id/client_secret",
			    resp->status);
		return ERR_PERMANENT;
	}
	set_message(err, "token request failed (HTTP %ld)", resp->status);
	return httpc_classify(resp->status) == ERR_TRANSIENT ? ERR_TRANSIENT : ERR_PERMANENT;
}

/* POSTs the client-credentials grant. Called with d->lock held. */
static int token_fetch(struct dpc *d, struct httpc *h, struct dpc_error *err)
{
	static const char *const headers[] = {
		"Content-Type: application/x-www-form-urlencoded",
		"Accept: application/json",
		NULL,
	};
	static const char fmt[] = "grant_type=client_credentials&client_id=%s&client_secret=%s"
				  "&audience=%s";
	char *id = text_url_escape(d->client_id), *secret = text_url_escape(d->client_secret);
	struct httpc_response resp = { .status = 0 };
	char *body = NULL;
	size_t cap = 0;
	int rc = ERR_NOMEM;

	if (!id || !secret)
		goto out;
	cap = sizeof(fmt) + strlen(id) + strlen(secret) + sizeof(AUDIENCE);
	body = malloc(cap);
	if (!body)
		goto out;
	snprintf(body, cap, fmt, id, secret, AUDIENCE);
	rc = httpc_request(h, "POST", d->token_url, headers, body, strlen(body), &resp);
	metrics_api_call(rc ? 0 : resp.status);
	if (rc == 0 && httpc_classify(resp.status) == 0) {
		/* A token response we cannot use is a token endpoint failure
		 * like any other: retried, then the degraded notice. */
		rc = token_store(d, &resp, err);
		err->unreadable = rc == ERR_PARSE;
		if (rc == ERR_PARSE)
			rc = ERR_TRANSIENT;
	} else {
		rc = token_failure(err, rc, &resp);
	}
out:
	if (body)
		explicit_bzero(body, cap);
	free(body);
	wipe_free(id);
	wipe_free(secret);
	httpc_response_free(&resp);
	return rc;
}

/* Returns a private copy of a valid token in *out (caller wipes), fetching
 * one if none is cached or it expires within the refresh margin. */
static int token_get(struct job *j, char **out)
{
	struct dpc *d = j->d;
	int64_t now = clock_mono_ms();
	int rc = 0;

	pthread_mutex_lock(&d->lock);
	if (!d->token || now >= d->token_refresh_ms) {
		rc = token_fetch(d, j->h, j->err);
		if (rc == 0)
			log_event(LOG_DEBUG, "dpc: token fetched", NULL);
	}
	if (rc == 0) {
		*out = strdup(d->token);
		if (!*out)
			rc = ERR_NOMEM;
	}
	pthread_mutex_unlock(&d->lock);
	if (rc && rc != ERR_NOMEM)
		log_event(j->optional ? LOG_DEBUG : LOG_WARN, "dpc: token request failed", "error",
			  j->err->message, NULL);
	return rc;
}

/* Forgets the cached token if it is still the one the API rejected
 * (another worker may already have replaced it). */
static void token_drop(struct dpc *d, const char *rejected)
{
	pthread_mutex_lock(&d->lock);
	if (d->token && strcmp(d->token, rejected) == 0) {
		wipe_free(d->token);
		d->token = NULL;
	}
	pthread_mutex_unlock(&d->lock);
}

/* ---- one API call ---- */

static void log_failure(const struct job *j, const char *what)
{
	char status[24];

	snprintf(status, sizeof(status), "%ld", j->err->http_status);
	log_event(j->optional ? LOG_DEBUG : LOG_WARN, "dpc: API call failed", "op", what,
		  "target_execution", j->exec_id, "status", status, "error", j->err->message, NULL);
}

/* Sends one authorised request (GET, or POST of the JSON body) after
 * taking a rate-limit token; counts it. */
static int send_once(struct job *j, const char *url, const char *token, const char *body,
		     struct httpc_response *resp)
{
	static const char prefix[] = "Authorization: Bearer ";
	const char *headers[4] = { NULL, "Accept: application/json",
				   body ? "Content-Type: application/json" : NULL, NULL };
	char *auth = text_concat3(prefix, token, NULL);
	int rc;

	/* resp must be freeable even when no request is made. */
	memset(resp, 0, sizeof(*resp));
	resp->retry_after_s = -1;
	if (!auth)
		return ERR_NOMEM;
	headers[0] = auth;
	if (j->max_wait_ms >= 0) {
		if (ratelimit_acquire_within(j->d->rl, j->max_wait_ms) != 0) {
			wipe_free(auth);
			return ERR_BUDGET;
		}
	} else {
		ratelimit_acquire(j->d->rl);
	}
	j->err->api_calls++;
	rc = httpc_request(j->h, body ? "POST" : "GET", url, headers, body, body ? strlen(body) : 0,
			   resp);
	metrics_api_call(rc ? 0 : resp->status);
	metrics_observe(MH_API_LATENCY, resp->seconds);
	wipe_free(auth);
	return rc;
}

/* After a 429/503 with Retry-After: pauses every worker and says whether
 * the wait is short enough to sit out and repeat the call. */
static int backoff(struct job *j, const struct httpc_response *resp)
{
	int64_t ra = resp->retry_after_s, pause;

	if ((resp->status != 429 && resp->status != 503) || ra < 0)
		return 0;
	pause = ra < j->d->pause_cap_s ? ra : j->d->pause_cap_s;
	ratelimit_pause_until(j->d->rl, clock_mono_ms() + pause * 1000);
	if (ra <= SHORT_WAIT_S && ra <= j->d->pause_cap_s)
		return 1;
	j->err->retry_after_s = ra;
	return 0;
}

/* Turns a non-2xx answer into an error code and message. */
static int status_failure(struct job *j, const char *what, const struct httpc_response *resp)
{
	struct dpc_error *err = j->err;
	int rc = httpc_classify(resp->status);

	err->http_status = resp->status;
	if (resp->status == 401)
		set_message(err, "%s: API rejected a fresh token (HTTP 401)", what);
	else if (resp->status == 403)
		set_message(err,
			    "%s: access denied (HTTP 403): "
			    "credentials lack permission for this project",
			    what);
	else if (resp->status == 404)
		set_message(err, "%s not found (wrong region or project?)", what);
	else
		set_message(err, "%s failed (HTTP %ld)", what, resp->status);
	if ((resp->status == 429 || resp->status == 503) && resp->retry_after_s >= 0)
		err->retry_after_s = resp->retry_after_s;
	log_failure(j, what);
	return rc == ERR_TRANSIENT ? ERR_TRANSIENT : ERR_PERMANENT;
}

static int transport_failure(struct job *j, const char *what, int rc,
			     const struct httpc_response *resp)
{
	if (rc == ERR_NOMEM)
		return rc;
	j->err->http_status = resp->status;
	set_message(j->err, "%s: %s", what, resp->error);
	log_failure(j, what);
	/* A too-large answer or a refused URL will not change on retry. */
	return rc == ERR_TRANSIENT ? ERR_TRANSIENT : ERR_PERMANENT;
}

/* GETs url (POSTs body when not NULL) with the token, handling budget,
 * 401 refresh and short Retry-After waits. Returns 0 with a 2xx response
 * in resp (caller frees), ERR_BUDGET, ERR_TRANSIENT, ERR_PERMANENT or
 * ERR_NOMEM. */
static int api_call(struct job *j, const char *url, const char *body, const char *what,
		    struct httpc_response *resp)
{
	int refreshed = 0;
	char *token = NULL;
	int rc;

	for (;;) {
		if (j->err->api_calls >= (j->max_calls > 0 ? j->max_calls : j->d->max_api_calls))
			return ERR_BUDGET;
		rc = token_get(j, &token);
		if (rc)
			return rc;
		rc = send_once(j, url, token, body, resp);
		if (rc == ERR_BUDGET) {
			wipe_free(token);
			return rc;
		}
		if (rc == 0 && resp->status == 401 && !refreshed && !j->optional) {
			token_drop(j->d, token);
			refreshed = 1;
		} else if (rc) {
			rc = transport_failure(j, what, rc, resp);
		} else if (httpc_classify(resp->status) == 0) {
			wipe_free(token);
			return 0;
		} else if (!backoff(j, resp) || j->optional || j->max_wait_ms >= 0) {
			/* An optional call still records the pause for everyone. */
			rc = status_failure(j, what, resp);
		}
		wipe_free(token);
		token = NULL;
		httpc_response_free(resp);
		if (rc)
			return rc;
	}
}

static int api_get(struct job *j, const char *url, const char *what, struct httpc_response *resp)
{
	return api_call(j, url, NULL, what, resp);
}

/* ---- execution and steps ---- */

static int fetch_execution(struct job *j, const char *execution_id)
{
	struct httpc_response resp;
	char *esc = text_url_escape(execution_id);
	char *url = esc ? text_concat3(j->exec_base, esc, NULL) : NULL;
	int rc;

	free(esc);
	if (!url)
		return ERR_NOMEM;
	rc = api_get(j, url, "execution", &resp);
	free(url);
	if (rc == ERR_BUDGET) {
		set_message(j->err, "execution: API call budget used up while rate limited");
		return ERR_TRANSIENT;
	}
	if (rc)
		return rc;
	rc = defuse_body(&resp);
	if (rc == 0)
		rc = summary_set_execution(j->s, resp.body ? resp.body : "", resp.len);
	httpc_response_free(&resp);
	if (rc == ERR_PARSE) {
		set_message(j->err, "execution: response not understood");
		j->err->unreadable = 1;
		log_failure(j, "execution");
		return ERR_PERMANENT;
	}
	return rc;
}

/* Paging stops on an empty page, once total steps were seen, or (no
 * total) on a short page. Counting what arrived rather than trusting
 * page*size copes with a server that caps size below what we asked. */
static int last_page(const struct page_info *info, int64_t fetched)
{
	if (info->n_results == 0)
		return 1;
	if (info->total >= 0)
		return fetched >= info->total;
	return info->n_results < PAGE_SIZE;
}

static int fetch_page(struct job *j, const char *url, const struct page_ctx *ctx,
		      struct page_info *info)
{
	struct httpc_response resp;
	int rc = api_get(j, url, "steps", &resp);

	if (rc)
		return rc;
	rc = defuse_body(&resp);
	if (rc == 0)
		rc = summary_add_page(j->s, ctx, resp.body ? resp.body : "", resp.len, info);
	httpc_response_free(&resp);
	if (rc == ERR_PARSE) {
		set_message(j->err, "steps: response not understood");
		j->err->unreadable = 1;
		log_failure(j, "steps");
		return ERR_PERMANENT;
	}
	return rc;
}

/* Fetches every page of one run's steps into the summary. */
static int fetch_steps(struct job *j, const char *exec_id, const char *path, int depth)
{
	struct page_ctx ctx = { .pipeline_path = path, .depth = depth, .execution_id = exec_id };
	char *esc = text_url_escape(exec_id), *base = NULL, *url = NULL;
	char query[64];
	struct page_info info;
	int64_t fetched = 0;
	int page, rc = ERR_NOMEM;

	base = esc ? text_concat3(j->exec_base, esc, "/steps") : NULL;
	if (!base)
		goto out;
	j->exec_id = exec_id;
	for (page = 0;; page++) {
		snprintf(query, sizeof(query), "?page=%d&size=%d", page, PAGE_SIZE);
		free(url);
		url = text_concat3(base, query, NULL);
		rc = url ? fetch_page(j, url, &ctx, &info) : ERR_NOMEM;
		if (rc)
			goto out;
		fetched += (int64_t)info.n_results;
		if (last_page(&info, fetched))
			break;
	}
out:
	free(url);
	free(base);
	free(esc);
	return rc;
}

/* ---- child runs ---- */

static int was_visited(const struct job *j, const char *id)
{
	size_t i;

	for (i = 0; i < j->n_visited; i++)
		if (strcmp(j->visited[i], id) == 0)
			return 1;
	return 0;
}

static int mark_visited(struct job *j, const char *id)
{
	char **nv;

	if (j->n_visited == j->cap_visited) {
		size_t cap = j->cap_visited ? j->cap_visited * 2 : 16;

		nv = realloc(j->visited, cap * sizeof(*nv));
		if (!nv)
			return ERR_NOMEM;
		j->visited = nv;
		j->cap_visited = cap;
	}
	j->visited[j->n_visited] = strdup(id);
	if (!j->visited[j->n_visited])
		return ERR_NOMEM;
	j->n_visited++;
	return 0;
}

/* Decides whether child i is worth a call; children that are not get
 * marked decided so they are looked at only once. */
static int eligible(struct job *j, size_t i)
{
	struct child_run *c = &j->s->children[i];

	if (c->decided)
		return 0;
	if (c->status == ST_SUCCESS || c->status == ST_SKIPPED || !c->execution_id ||
	    !c->execution_id[0]) {
		c->decided = 1;
		return 0;
	}
	if (!valid_api_id(c->execution_id)) {
		/* Never logged or put in a URL: it is the API's untrusted text. */
		log_event(LOG_WARN, "dpc: child run with an invalid id skipped", "pipeline",
			  c->parent_path, NULL);
		j->skipped_bad_id++;
		c->decided = 1;
		return 0;
	}
	if (was_visited(j, c->execution_id)) {
		c->visited = 1; /* a cycle or a shared child: its steps are in already */
		c->decided = 1;
		return 0;
	}
	if (c->depth > j->d->max_child_depth) {
		j->skipped_depth++;
		c->decided = 1;
		return 0;
	}
	return 1;
}

/* Returns the index of the deepest eligible child (first found on ties), or -1. */
static long next_child(struct job *j)
{
	long best = -1;
	size_t i;

	for (i = 0; i < j->s->n_children; i++) {
		if (!eligible(j, i))
			continue;
		if (best < 0 || j->s->children[i].depth > j->s->children[best].depth)
			best = (long)i;
	}
	return best;
}

static size_t count_eligible(struct job *j)
{
	size_t i, n = 0;

	for (i = 0; i < j->s->n_children; i++)
		n += (size_t)eligible(j, i);
	return n;
}

static int visit_child(struct job *j, size_t i)
{
	struct child_run *c = &j->s->children[i];
	const char *name = c->name && c->name[0] ? c->name : c->execution_id;
	char *path = text_concat3(c->parent_path, SUMMARY_PATH_SEP, name);
	int rc = ERR_NOMEM;

	c->decided = 1;
	if (!path || mark_visited(j, c->execution_id) != 0)
		goto out;
	rc = fetch_steps(j, c->execution_id, path, c->depth);
	if (rc == 0) {
		c->visited = 1;
	} else if (rc == ERR_PERMANENT) {
		/* One unreadable child should not cost the whole notification. */
		add_note(j, "steps of child pipeline %s unavailable (HTTP %ld)", name,
			 j->err->http_status);
		rc = 0;
	}
out:
	free(path);
	return rc;
}

static int fetch_children(struct job *j)
{
	long i;
	int rc;

	for (;;) {
		i = next_child(j);
		if (i < 0)
			return 0;
		rc = visit_child(j, (size_t)i);
		if (rc == ERR_BUDGET) {
			add_note(j,
				 "API call budget (%d) reached; %zu child pipelines not inspected",
				 j->d->max_api_calls, count_eligible(j) + 1);
			return 0;
		}
		if (rc)
			return rc;
	}
}

/* ---- schedule names ---- */

/* Whether s is a scheduled run whose schedule id can go into a lookup. */
static int wants_schedule(const struct summary *s)
{
	return (strcasecmp(s->trigger, "SCHEDULE") == 0 ||
		strcasecmp(s->trigger, "SCHEDULE_RUN_NOW") == 0) &&
	       s->schedule_name[0] == '\0' && text_id_valid(s->schedule_id);
}

/* A copy of an API name: sanitised (no controls, no bidi overrides, valid
 * UTF-8), at most SCHED_NAME_MAX bytes on a code point boundary. Only the
 * first bytes are looked at, so a huge name costs no more than a short one.
 * NULL on ERR_NOMEM. */
static char *sched_name_copy(const char *v)
{
	size_t len = strnlen(v, 4 * SCHED_NAME_MAX);
	char *t = text_sanitize(v, len, 0);

	if (t)
		t[text_utf8_prefix(t, SCHED_NAME_MAX)] = '\0';
	return t;
}

/* Appends the usable entries of one page to *e (at most cap in all).
 * Entries without a valid scheduleId or a non-empty string name are
 * skipped. Returns 0, ERR_PARSE (not an object with a results array) or
 * ERR_NOMEM; *n_results is the page's length as sent. */
static int sched_add_page(const char *body, size_t len, struct sched_entry *e, size_t *n,
			  size_t cap, size_t *n_results, int64_t *total)
{
	cJSON *root = cJSON_ParseWithLength(body, len), *res, *item, *t;
	const cJSON *id, *name;
	int rc = 0;

	res = cJSON_GetObjectItemCaseSensitive(root, "results");
	if (!cJSON_IsObject(root) || !cJSON_IsArray(res)) {
		cJSON_Delete(root);
		return ERR_PARSE;
	}
	t = cJSON_GetObjectItemCaseSensitive(root, "total");
	*total = cJSON_IsNumber(t) && t->valuedouble >= 0 && t->valuedouble < 1e12
			 ? (int64_t)t->valuedouble
			 : -1;
	*n_results = (size_t)cJSON_GetArraySize(res);
	cJSON_ArrayForEach(item, res)
	{
		if (*n >= cap)
			break;
		id = cJSON_GetObjectItemCaseSensitive(item, "scheduleId");
		name = cJSON_GetObjectItemCaseSensitive(item, "name");
		if (!cJSON_IsString(id) || !text_id_valid(id->valuestring) ||
		    !cJSON_IsString(name) || name->valuestring[0] == '\0')
			continue;
		e[*n].id = strdup(id->valuestring);
		e[*n].name = sched_name_copy(name->valuestring);
		if (!e[*n].id || !e[*n].name) {
			free(e[*n].id);
			free(e[*n].name);
			rc = ERR_NOMEM;
			break;
		}
		(*n)++;
	}
	cJSON_Delete(root);
	return rc;
}

/* GETs the project's schedule list, at most SCHED_PAGES pages, into a new
 * array (caller frees with sched_entries_free), also after a failure: what
 * arrived before it is kept. Returns 0 or the failing call's code. */
static int sched_fetch(struct job *j, const char *project_id, struct sched_entry **out, size_t *n)
{
	size_t cap = SCHED_PAGES * PAGE_SIZE, n_results = 0;
	char *esc = text_url_escape(project_id), *base = NULL, *url = NULL;
	struct httpc_response resp;
	char query[64];
	int64_t total = -1, fetched = 0;
	int page, rc = ERR_NOMEM;

	*n = 0;
	*out = calloc(cap, sizeof(**out));
	base = esc ? text_concat3(j->d->api_base, "/v1/projects/", esc) : NULL;
	if (!*out || !base)
		goto out;
	for (page = 0; page < SCHED_PAGES; page++) {
		snprintf(query, sizeof(query), "/schedules?page=%d&size=%d", page, PAGE_SIZE);
		free(url);
		url = text_concat3(base, query, NULL);
		rc = url ? api_get(j, url, "schedules", &resp) : ERR_NOMEM;
		if (rc)
			break;
		rc = defuse_body(&resp);
		if (rc == 0)
			rc = sched_add_page(resp.body ? resp.body : "", resp.len, *out, n, cap,
					    &n_results, &total);
		httpc_response_free(&resp);
		fetched += (int64_t)n_results;
		if (rc || n_results < PAGE_SIZE || (total >= 0 && fetched >= total))
			break;
	}
out:
	free(url);
	free(base);
	free(esc);
	return rc;
}

/* The slot of project, or -1. Called with sched_lock held. */
static int sched_find(struct dpc *d, const char *project)
{
	int i;

	for (i = 0; i < SCHED_SLOTS; i++)
		if (d->sched[i].project && strcmp(d->sched[i].project, project) == 0)
			return i;
	return -1;
}

/* A slot for project: a free one, else the least recently used one that
 * no worker is filling, emptied. -1 when every slot is busy or on
 * ERR_NOMEM. Called with sched_lock held. */
static int sched_take(struct dpc *d, const char *project)
{
	int i, best = -1;
	char *copy;

	for (i = 0; i < SCHED_SLOTS; i++) {
		if (!d->sched[i].project) {
			best = i;
			break;
		}
		if (!d->sched[i].busy && (best < 0 || d->sched[i].used_ms < d->sched[best].used_ms))
			best = i;
	}
	copy = best >= 0 ? strdup(project) : NULL;
	if (!copy)
		return -1;
	free(d->sched[best].project);
	sched_entries_free(d->sched[best].e, d->sched[best].n);
	d->sched[best] = (struct sched_slot){ .project = copy };
	return best;
}

/* A copy of the name of schedule id in slot i, "" when it has none. NULL
 * on ERR_NOMEM. Called with sched_lock held. */
static char *sched_name_of(const struct sched_slot *slot, const char *id)
{
	size_t k;

	for (k = 0; k < slot->n; k++)
		if (strcmp(slot->e[k].id, id) == 0)
			return strdup(slot->e[k].name);
	return strdup("");
}

/* Waits until project's list is fresh in the cache (another worker may be
 * fetching it) and copies the name into *name, or claims the slot for the
 * caller to fill (*slot >= 0). Gives up (*name NULL, *slot -1) after
 * SCHED_WAIT_MS or when no slot is free. */
static void sched_lookup_cached(struct dpc *d, const char *project, const char *id, char **name,
				int *slot)
{
	int64_t deadline = clock_mono_ms() + SCHED_WAIT_MS, now;
	struct timespec ts = { .tv_sec = deadline / 1000, .tv_nsec = deadline % 1000 * 1000000 };
	int i;

	*name = NULL;
	*slot = -1;
	pthread_mutex_lock(&d->sched_lock);
	for (;;) {
		i = sched_find(d, project);
		now = clock_mono_ms();
		if (i >= 0 && d->sched[i].busy) {
			if (pthread_cond_timedwait(&d->sched_done, &d->sched_lock, &ts) != 0 &&
			    clock_mono_ms() >= deadline)
				break;
			continue;
		}
		if (i >= 0 && now < d->sched[i].expires_ms) {
			d->sched[i].used_ms = now;
			*name = sched_name_of(&d->sched[i], id);
			break;
		}
		*slot = i >= 0 ? i : sched_take(d, project);
		if (*slot >= 0)
			d->sched[*slot].busy = 1;
		break;
	}
	pthread_mutex_unlock(&d->sched_lock);
}

/* Installs a fetched list (taken) in slot i, fresh for ttl_ms, wakes the
 * waiters, and copies the name of id into *name. */
static void sched_fill(struct dpc *d, int i, struct sched_entry *e, size_t n, int64_t ttl_ms,
		       const char *id, char **name)
{
	struct sched_slot *slot = &d->sched[i];

	pthread_mutex_lock(&d->sched_lock);
	sched_entries_free(slot->e, slot->n);
	slot->e = e;
	slot->n = n;
	slot->used_ms = clock_mono_ms();
	slot->expires_ms = slot->used_ms + ttl_ms;
	slot->busy = 0;
	*name = sched_name_of(slot, id);
	pthread_cond_broadcast(&d->sched_done);
	pthread_mutex_unlock(&d->sched_lock);
}

/* Sets s->schedule_name for a scheduled run, from the cache or one
 * bounded lookup. Optional: whatever goes wrong is logged at debug level
 * and leaves the name empty; j->err keeps the run's own state but for the
 * calls this made, which count against the budget. */
static void schedule_lookup(struct job *j, const char *project_id)
{
	struct dpc_error scratch = *j->err, *saved = j->err;
	struct sched_entry *e = NULL;
	char *name = NULL;
	size_t n = 0;
	int slot, rc;

	if (!wants_schedule(j->s))
		return;
	sched_lookup_cached(j->d, project_id, j->s->schedule_id, &name, &slot);
	if (slot >= 0) {
		j->err = &scratch;
		j->optional = 1;
		rc = sched_fetch(j, project_id, &e, &n);
		j->optional = 0;
		j->err = saved;
		saved->api_calls = scratch.api_calls;
		if (rc)
			log_event(LOG_DEBUG, "dpc: schedule lookup failed", "schedule",
				  j->s->schedule_id, "error",
				  scratch.message[0] ? scratch.message : err_str(rc), NULL);
		sched_fill(j->d, slot, e, n, rc ? SCHED_FAIL_TTL_MS : SCHED_TTL_MS,
			   j->s->schedule_id, &name);
	}
	if (name && name[0])
		summary_set_schedule_name(j->s, name);
	else
		log_event(LOG_DEBUG, "dpc: schedule name unknown", "schedule", j->s->schedule_id,
			  NULL);
	free(name);
}

/* ---- the job ---- */

static void job_free(struct job *j)
{
	size_t i;

	for (i = 0; i < j->n_visited; i++)
		free(j->visited[i]);
	free(j->visited);
	free(j->exec_base);
}

static void finish_notes(struct job *j)
{
	if (j->skipped_bad_id)
		add_note(j, "%zu child runs with an invalid id skipped", j->skipped_bad_id);
	if (j->skipped_depth)
		add_note(j, "%zu child pipelines deeper than %d levels not inspected",
			 j->skipped_depth, j->d->max_child_depth);
	if (j->s->children_more)
		add_note(j, "%llu child pipelines beyond the first %d not inspected",
			 (unsigned long long)j->s->children_more, SUMMARY_MAX_CHILDREN);
}

/* Root steps, then children. Budget exhaustion is noted, not returned. */
static int fetch_tree(struct job *j, const char *execution_id)
{
	const char *root =
		j->s->pipeline_name && j->s->pipeline_name[0] ? j->s->pipeline_name : "pipeline";
	size_t left;
	int rc = mark_visited(j, execution_id);

	if (rc)
		return rc;
	rc = fetch_steps(j, execution_id, root, 0);
	if (rc == ERR_BUDGET) {
		add_note(j, "API call budget (%d) reached; step list incomplete",
			 j->d->max_api_calls);
		left = count_eligible(j);
		if (left)
			add_note(j, "%zu child pipelines not inspected", left);
		return 0;
	}
	if (rc)
		return rc;
	return fetch_children(j);
}

/* Builds {api_base}/v1/projects/{project}/pipeline-executions/. */
static int job_base(struct job *j, const char *project_id)
{
	char *esc = text_url_escape(project_id);
	char *head = esc ? text_concat3(j->d->api_base, "/v1/projects/", esc) : NULL;

	j->exec_base = head ? text_concat3(head, "/pipeline-executions/", NULL) : NULL;
	free(head);
	free(esc);
	return j->exec_base ? 0 : ERR_NOMEM;
}

/* dpc_fetch_summary() with steps, dpc_fetch_execution() without. */
static int fetch(struct dpc *d, struct httpc *h, const char *project_id, const char *execution_id,
		 struct summary *s, struct dpc_error *err, int steps)
{
	struct dpc_error local;
	struct job *j = NULL;
	int rc = ERR_NOMEM;

	if (!err)
		err = &local;
	memset(err, 0, sizeof(*err));
	err->retry_after_s = -1;
	if (!valid_id(project_id) || !valid_id(execution_id)) {
		set_message(err, "invalid project or execution id");
		return ERR_PERMANENT;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return ERR_NOMEM;
	*j = (struct job){
		.d = d, .h = h, .s = s, .err = err, .exec_id = execution_id, .max_wait_ms = -1
	};
	rc = job_base(j, project_id);
	if (rc == 0)
		rc = fetch_execution(j, execution_id);
	if (rc == 0 && steps)
		rc = fetch_tree(j, execution_id);
	if (rc)
		goto out;
	schedule_lookup(j, project_id);
	finish_notes(j);
	if (j->notes[0])
		rc = summary_set_incomplete(s, j->notes);
	if (rc == 0)
		summary_finish(s);
out:
	job_free(j);
	free(j);
	return rc;
}

int dpc_fetch_summary(struct dpc *d, struct httpc *h, const char *project_id,
		      const char *execution_id, struct summary *s, struct dpc_error *err)
{
	return fetch(d, h, project_id, execution_id, s, err, 1);
}

int dpc_fetch_execution(struct dpc *d, struct httpc *h, const char *project_id,
			const char *execution_id, struct summary *s, struct dpc_error *err)
{
	return fetch(d, h, project_id, execution_id, s, err, 0);
}

/* The request body of a start: the three names, escaped by cJSON. */
static char *start_body(const char *pipeline, const char *environment, const char *tag)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;

	if (o != NULL && cJSON_AddStringToObject(o, "pipelineName", pipeline) &&
	    cJSON_AddStringToObject(o, "environmentName", environment) &&
	    cJSON_AddStringToObject(o, "executionTag", tag))
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* The new run's id from a start's reply into out ("" when it names none
 * we can use). */
static void started_id(const struct httpc_response *resp, char *out, size_t outlen)
{
	cJSON *root = resp->body ? cJSON_ParseWithLength(resp->body, resp->len) : NULL;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "pipelineExecutionId");

	out[0] = '\0';
	if (cJSON_IsString(id) && valid_id(id->valuestring) && strlen(id->valuestring) < outlen)
		memcpy(out, id->valuestring, strlen(id->valuestring) + 1);
	cJSON_Delete(root);
}

int dpc_start_pipeline(struct dpc *d, struct httpc *h, const char *project_id, const char *pipeline,
		       const char *environment, const char *tag, char *execution_id, size_t idlen,
		       struct dpc_error *err)
{
	struct job j;
	struct httpc_response resp;
	char *body = NULL, *url = NULL;
	int rc;

	memset(err, 0, sizeof(*err));
	err->retry_after_s = -1;
	if (idlen > 0)
		execution_id[0] = '\0';
	if (!valid_id(project_id) || pipeline == NULL || pipeline[0] == '\0' ||
	    environment == NULL || environment[0] == '\0' || tag == NULL || tag[0] == '\0') {
		set_message(err, "invalid project, pipeline, environment or tag");
		return ERR_PERMANENT;
	}
	memset(&j, 0, sizeof(j));
	j = (struct job){ .d = d, .h = h, .err = err, .exec_id = "-", .max_wait_ms = -1 };
	rc = job_base(&j, project_id);
	body = rc == 0 ? start_body(pipeline, environment, tag) : NULL;
	/* The base ends in '/': the collection's URL is without it. */
	url = body ? strndup(j.exec_base, strlen(j.exec_base) - 1) : NULL;
	if (url == NULL) {
		rc = ERR_NOMEM;
		goto out;
	}
	rc = api_call(&j, url, body, "start pipeline", &resp);
	if (rc == 0) {
		err->http_status = resp.status;
		started_id(&resp, execution_id, idlen);
		httpc_response_free(&resp);
	}
out:
	free(url);
	cJSON_free(body);
	job_free(&j);
	return rc;
}

/* ---- the list of executions ---- */

/* Appends "&name=value" (value escaped) to *url, replacing it. */
static int add_param(char **url, const char *name, const char *value)
{
	char *esc = text_url_escape(value), *head = NULL, *next = NULL;

	if (esc != NULL)
		head = text_concat3(*url, "&", name);
	if (head != NULL)
		next = text_concat3(head, "=", esc);
	free(esc);
	free(head);
	if (next == NULL)
		return ERR_NOMEM;
	free(*url);
	*url = next;
	return 0;
}

/* Formats unix ms as RFC 3339 UTC with milliseconds. */
static void iso_time(int64_t ms, char *out, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char head[32];

	gmtime_r(&t, &tm);
	strftime(head, sizeof(head), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, cap, "%s.%03dZ", head, (int)(ms % 1000));
}

/* {api_base}/v1/pipeline-executions?projectId=..&limit=100[&startedAfter=..]
 * [&startedBefore=..][&paginationToken=..], every value escaped. */
static int list_url(const struct dpc *d, const struct dpc_list_query *q, char **url)
{
	char *esc = text_url_escape(q->project_id);
	char when[40], limit[16];
	int rc;

	*url = esc ? text_concat3(d->api_base, "/v1/pipeline-executions?projectId=", esc) : NULL;
	free(esc);
	if (*url == NULL)
		return ERR_NOMEM;
	snprintf(limit, sizeof(limit), "%d", DPC_LIST_LIMIT);
	rc = add_param(url, "limit", limit);
	if (rc == 0 && q->started_after_ms >= 0) {
		iso_time(q->started_after_ms, when, sizeof(when));
		rc = add_param(url, "startedAfter", when);
	}
	if (rc == 0 && q->started_before_ms >= 0) {
		iso_time(q->started_before_ms, when, sizeof(when));
		rc = add_param(url, "startedBefore", when);
	}
	if (rc == 0 && q->more != NULL && q->more[0] != '\0')
		rc = add_param(url, "paginationToken", q->more);
	return rc;
}

int dpc_list_executions(struct dpc *d, struct httpc *h, const struct dpc_list_query *q,
			struct dpc_list_page *out, struct dpc_error *err)
{
	struct job j = { .d = d, .h = h, .err = err, .max_calls = 2 };
	struct httpc_response resp;
	char *url = NULL;
	int rc;

	memset(err, 0, sizeof(*err));
	err->retry_after_s = -1;
	out->n = 0;
	out->skipped = 0;
	out->more[0] = '\0';
	if (q->project_id == NULL || !valid_api_id(q->project_id)) {
		set_message(err, "invalid project id");
		return ERR_PERMANENT;
	}
	j.exec_id = "-";
	j.max_wait_ms = q->max_wait_ms >= 0 ? q->max_wait_ms : 0;
	rc = list_url(d, q, &url);
	if (rc == 0)
		rc = api_get(&j, url, "list", &resp);
	free(url);
	if (rc)
		return rc;
	rc = defuse_body(&resp);
	if (rc == 0)
		rc = dpc_list_parse(resp.body ? resp.body : "", resp.len, q->project_id,
				    clock_wall_ms(), out);
	httpc_response_free(&resp);
	if (rc == ERR_PARSE) {
		set_message(err, "list: response not understood");
		err->unreadable = 1;
		log_failure(&j, "list");
		return ERR_PERMANENT;
	}
	return rc;
}
