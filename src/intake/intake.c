/* The HTTP front door on libmicrohttpd: POST /webhook plus the health,
 * readiness and metrics probes. The same code, started a second time by
 * intake_start_admin(), is the admin listener: everything but /webhook.
 * A webhook is checked in a fixed order (type, declared size, read size,
 * auth, decode, route) and only a durable commit to the store earns a
 * 202, so an accepted run is never lost.
 *
 * DESIGN
 * - Threads: POLL_THREADS event-driven threads of libmicrohttpd (poll(),
 *   see below) serve every connection. A webhook ready to be stored
 *   never blocks them: its connection is suspended, the event handed to
 *   store_put_async(), and the store's syncer thread, once the group
 *   commit is durable (or failed), records the result in the request and
 *   resumes the connection; MHD then calls dispatch() again, which answers.
 *   So all waiting requests share one commit without a thread each, and a
 *   slow fsync stalls nobody else. The connection is suspended before the
 *   put is queued, so a resume can never overtake its suspend. intake_stop()
 *   waits for the puts in flight, since MHD may not stop with suspended
 *   connections. The probes do run on the polling threads; /metrics and
 *   /readyz read the store briefly.
 *   Connections are bounded by max_connections (and per IP by
 *   max_connections_per_ip); memory per connection by the MHD pool
 *   (CONN_MEMORY, which also caps header size) plus max_body.
 * - Why poll() and not epoll: libmicrohttpd 0.9.75 watches connections
 *   edge-triggered in epoll mode and stops reading after a short read. A
 *   client whose request bytes and FIN were both queued before the first
 *   read (any client that sends and closes while the threads are busy)
 *   gets no further event, so its end goes unseen and its slot, counted
 *   against both caps, stays taken until connection_timeout. poll() is
 *   level-triggered and sees the end at once. Its cost per wakeup grows
 *   with a thread's open connections (at most max_connections, default
 *   256, shared by the threads), which is small beside a request's work.
 * - Slow clients: libmicrohttpd's connection timeout only counts idle
 *   time, so a client sending one byte a second would hold its connection
 *   slot forever (slowloris). A reaper thread therefore gives each request a
 *   deadline of connection_timeout seconds from the moment the connection
 *   opened (or its previous request finished) until the request is fully
 *   received, and shuts down the sockets that miss it; the polling thread
 *   sees the socket end and closes the connection. Requests being
 *   answered (store commit, metrics) are exempt: the client did its part,
 *   and MHD does not time out a suspended connection either.
 * - Config: each request holds one snapshot from config_get() from its
 *   first callback until MHD reports it complete, so a reload mid-request
 *   cannot change the limits under it. Listener limits are read at start.
 * - Nothing from the request (body, header values) is echoed in replies or
 *   logged; problem details are fixed strings.
 * - Framing: libmicrohttpd 0.9.75 accepts requests whose length a front
 *   proxy may read differently (Content-Length with Transfer-Encoding, two
 *   Content-Lengths, "Transfer-Encoding : chunked", a folded or unknown
 *   Transfer-Encoding), which would let a client hide a second request in
 *   the body. Every request's headers are checked first (framing_ok());
 *   such a request gets a 400 and the connection is closed.
 * - Log volume: a client can send rejected requests as fast as we answer.
 *   Each reason (webhook outcome, libmicrohttpd diagnostic, slow-client
 *   sweep) has a log budget of QUIET_BURST lines per minute; the rest are
 *   counted and the reaper writes one summary line per reason when the
 *   minute ends. Metrics still count every request. Only rejections take
 *   a budget's lock, never an accepted webhook. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "auth.h"
#include "clock.h"
#include "errors.h"
#include "intake.h"
#include "interact.h"
#include "log.h"
#include "metrics.h"
#include "parse.h"
#include "route.h"
#include "webhook.h"

/* MHD's per-connection pool: request line and headers must fit in it. */
#define CONN_MEMORY (32 * 1024)
/* After a body overflows max_body we keep reading (so a 413 can be sent)
 * but only this much more; past it the connection is dropped. */
#define DISCARD_MAX (1024 * 1024)
#define BODY_MIN 1024 /* first buffer for a body of unknown length */
#define RETRY_AFTER "5"
/* How often the reaper looks for requests past their deadline. */
#define REAP_INTERVAL_MS 250
/* libmicrohttpd's polling threads; the work per request is small, the
 * waiting for the disk happens off them. */
#define POLL_THREADS 2
/* Log lines per reason and window that a peer can cause by sending
 * requests we reject; QUIET_SUMMARY must name the same window. */
#define QUIET_BURST 10
#define QUIET_WINDOW_MS 60000
#define QUIET_SUMMARY "intake: rejections not logged in the last 60 s"
/* Unusable webhook bodies whose key names are logged at info. */
#define SHAPE_INFO_MAX 5

/* The log budgets: one per webhook outcome, then libmicrohttpd's
 * diagnostics and the reaper's lines about slow connections. */
enum { QUIET_HTTPD = MW__MAX, QUIET_INTERACT, QUIET_SLOW, QUIET__MAX };

/* One open connection, tracked for the request deadline. Listed from
 * MHD's "started" to its "closed" notification; the socket stays open for
 * that whole time, so shutting it down from the reaper is safe. */
struct conn {
	int fd;
	int64_t deadline_ms; /* monotonic; the request must be in by then */
	int busy;            /* request complete and being answered */
	int shut;            /* already shut down by the reaper */
	struct conn *prev, *next;
};

struct intake {
	struct MHD_Daemon *d;
	struct config_holder *cfg;  /* borrowed */
	_Atomic(struct store *) st; /* borrowed; NULL until the store opens */
	intake_ready_fn ready;
	void *ready_ctx;
	/* POST /-/reload; NULL: none. Set once after start, so atomic. */
	_Atomic(intake_reload_fn) reload;
	void *reload_ctx; /* written before reload */
	/* A webhook naming no run starts a reconciliation; NULL: none. */
	_Atomic(intake_nudge_fn) nudge;
	void *nudge_ctx; /* written before nudge */
	atomic_int draining;
	atomic_uint shapes_logged; /* log_shape() lines at info so far */
	int admin;                 /* the admin listener: probes, metrics, reload, no /webhook */
	unsigned port;
	int64_t request_timeout_ms; /* connection_timeout, read at start */
	pthread_mutex_t mu;         /* guards conns, stopping, closing, puts */
	pthread_cond_t wake;        /* stops the reaper early */
	pthread_cond_t idle;        /* puts reached 0 while closing */
	pthread_t reaper;
	int stopping;
	int closing;   /* intake_stop() began: no new puts */
	unsigned puts; /* store_put_async() calls not yet done */
	struct conn *conns;
	struct log_budget quiet[QUIET__MAX]; /* log lines a client can cause */
	uint64_t slow_unlogged;              /* slow connections closed unlogged; reaper only */
};

/* Where a POST /webhook stands. */
enum phase { PH_READING, PH_STORING, PH_STORED };

/* Per-request state of POST /webhook, freed in request_done(). */
struct req {
	struct intake *in;
	struct MHD_Connection *c;
	const struct config *cfg; /* snapshot held for the request */
	char *body;               /* NULL until data arrives; size bytes */
	size_t len, size;
	size_t cap;       /* cfg->max_body */
	size_t discarded; /* bytes dropped after overflow */
	int too_large;
	enum phase phase;
	struct webhook_event ev; /* decoded; borrowed by the store while storing */
	int put_rc;              /* the store's result, once PH_STORED */
	int interact;            /* a Slack click to interactivity_path (interact.h) */
	int remember_only;       /* a status no route notifies: stored for run
				  * memory (a recovery may follow), answered 200 */
	char **dests;            /* route_intake(): names borrowed from cfg */
	size_t n_dests;
	int64_t job_id;
};

/* One optional extra header on a reply. */
struct hdr {
	const char *name;
	const char *value;
};

static const struct {
	unsigned code;
	const char *title;
} titles[] = {
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 413, "Content Too Large" },
	{ 415, "Unsupported Media Type" },
	{ 422, "Unprocessable Content" },
	{ 500, "Internal Server Error" },
	{ 503, "Service Unavailable" },
};

static const char *title_of(unsigned code)
{
	size_t i;

	for (i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
		if (titles[i].code == code)
			return titles[i].title;
	return "Error";
}

/* Queues body (copied) with status and content type, plus extra if set. */
static enum MHD_Result send_reply(struct MHD_Connection *c, unsigned code, const char *ctype,
				  const char *body, size_t len, struct hdr extra)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (extra.name)
		MHD_add_response_header(r, extra.name, extra.value);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned code, const char *json,
				 struct hdr extra)
{
	return send_reply(c, code, "application/json", json, strlen(json), extra);
}

/* An RFC 9457 problem reply; detail is always one of our fixed strings. */
static enum MHD_Result send_problem(struct MHD_Connection *c, unsigned code, const char *detail,
				    struct hdr extra)
{
	cJSON *o = cJSON_CreateObject();
	enum MHD_Result ret = MHD_NO;
	char *text = NULL;

	if (o == NULL)
		goto out;
	if (!cJSON_AddStringToObject(o, "type", "about:blank") ||
	    !cJSON_AddStringToObject(o, "title", title_of(code)) ||
	    !cJSON_AddNumberToObject(o, "status", code) ||
	    !cJSON_AddStringToObject(o, "detail", detail))
		goto out;
	text = cJSON_PrintUnformatted(o);
	if (text == NULL)
		goto out;
	ret = send_reply(c, code, "application/problem+json", text, strlen(text), extra);
out:
	cJSON_free(text);
	cJSON_Delete(o);
	return ret;
}

static const struct hdr no_hdr = { NULL, NULL };

/* Writes the summary line for n lines that budget i held back; nothing
 * when n is 0. */
static void quiet_report(size_t i, uint64_t n)
{
	const char *reason = "connection_timeout";
	char count[24];

	if (n == 0)
		return;
	if (i < MW__MAX)
		reason = metric_webhook_names[i];
	else if (i == QUIET_HTTPD)
		reason = "httpd";
	else if (i == QUIET_INTERACT)
		reason = "interactivity";
	snprintf(count, sizeof(count), "%" PRIu64, n);
	log_event(LOG_WARN, QUIET_SUMMARY, "reason", reason, "count", count, (char *)NULL);
}

/* 1 when one more line of budget i may be written now, after writing the
 * summary of a window that ended. The level is checked first, so a log
 * level above warn costs rejected requests no lock either. */
static int quiet_allows(struct intake *in, size_t i)
{
	uint64_t ended;
	int ok;

	if (!log_enabled(LOG_WARN))
		return 0;
	ok = log_budget_take(&in->quiet[i], clock_mono_ms(), &ended);
	quiet_report(i, ended);
	return ok;
}

/* The client's address as text, for logs. */
static void remote_ip(struct MHD_Connection *c, char *out, size_t outlen)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;
	const void *addr = NULL;

	snprintf(out, outlen, "?");
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return;
	sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (addr == NULL || inet_ntop(sa->sa_family, addr, out, (socklen_t)outlen) == NULL)
		snprintf(out, outlen, "?");
}

/* Counts, logs (within the outcome's budget) and answers one rejected
 * webhook. */
static enum MHD_Result reject(struct intake *in, struct MHD_Connection *c, unsigned code,
			      enum metric_webhook outcome, const char *detail, struct hdr extra)
{
	char ip[INET6_ADDRSTRLEN], status[8];

	metrics_webhook(outcome);
	if (!quiet_allows(in, outcome))
		return send_problem(c, code, detail, extra);
	remote_ip(c, ip, sizeof(ip));
	snprintf(status, sizeof(status), "%u", code);
	log_event(LOG_WARN, "intake: webhook rejected", "outcome", metric_webhook_names[outcome],
		  "http_status", status, "reason", detail, "remote", ip, (char *)NULL);
	return send_problem(c, code, detail, extra);
}

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* 1 for "application/json", with optional parameters (charset=...). */
static int is_json(const char *ct)
{
	size_t n;

	if (ct == NULL)
		return 0;
	ct += strspn(ct, " \t");
	n = strcspn(ct, "; \t");
	if (n != strlen("application/json") || strncasecmp(ct, "application/json", n) != 0)
		return 0;
	ct += n;
	ct += strspn(ct, " \t");
	return *ct == '\0' || *ct == ';';
}

/* The declared Content-Length: 0 when absent or malformed (MHD itself
 * rejects malformed lengths), ULLONG_MAX when it does not fit. */
static unsigned long long declared_length(struct MHD_Connection *c)
{
	const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long v;
	char *end;

	if (cl == NULL)
		return 0;
	errno = 0;
	v = strtoull(cl, &end, 10);
	if (errno == ERANGE)
		return ULLONG_MAX;
	return end == cl ? 0 : v;
}

/* Matillion does not document its webhook payload, so a body we cannot
 * use shows its top-level key names (never values) in the log: at info
 * for the first SHAPE_INFO_MAX of the process, at debug always. */
static void log_shape(struct intake *in, const struct req *rq)
{
	char keys[WEBHOOK_KEYS_MAX * (WEBHOOK_KEY_MAX + 1) + 1], count[24];
	enum log_level lv = LOG_DEBUG;
	size_t n;

	if (atomic_load(&in->shapes_logged) < SHAPE_INFO_MAX &&
	    atomic_fetch_add(&in->shapes_logged, 1) < SHAPE_INFO_MAX)
		lv = LOG_INFO;
	if (!log_enabled(lv))
		return;
	n = webhook_top_keys(rq->body, rq->len, rq->cfg->max_json_depth, keys, sizeof(keys));
	snprintf(count, sizeof(count), "%zu", n);
	log_event(lv, "intake: unrecognised webhook shape; its top-level keys", "keys", keys,
		  "key_count", count, (char *)NULL);
}

/* First callback of POST /webhook: everything decidable from the headers
 * is decided here, before a byte of the body is read. */
static enum MHD_Result webhook_begin(struct intake *in, struct MHD_Connection *c, void **con_cls)
{
	const struct hdr retry = { MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER };
	const struct config *cfg;
	unsigned long long declared;
	struct req *rq;

	if (atomic_load(&in->draining))
		return reject(in, c, 503, MW_UNAVAILABLE, "shutting down", retry);
	if (!is_json(header(c, MHD_HTTP_HEADER_CONTENT_TYPE)))
		return reject(in, c, 415, MW_UNSUPPORTED, "content type must be application/json",
			      no_hdr);
	cfg = config_get(in->cfg);
	declared = declared_length(c);
	if (declared > cfg->max_body) {
		config_put(in->cfg, cfg);
		return reject(in, c, 413, MW_TOO_LARGE, "body larger than max_body", no_hdr);
	}
	rq = calloc(1, sizeof(*rq));
	if (rq == NULL) {
		config_put(in->cfg, cfg);
		return reject(in, c, 503, MW_UNAVAILABLE, "out of memory", retry);
	}
	rq->in = in;
	rq->c = c;
	rq->cfg = cfg;
	rq->cap = cfg->max_body;
	rq->size = declared > 0 ? (size_t)declared : BODY_MIN;
	*con_cls = rq;
	return MHD_YES;
}

/* Takes one piece of the body. Past the cap the data is dropped and the
 * request remembered as too large; a sender that keeps going far beyond
 * (e.g. an endless chunked body) is cut off. */
static enum MHD_Result webhook_absorb(struct req *rq, const char *data, size_t *size)
{
	size_t n = *size;

	*size = 0;
	if (!rq->too_large && n > rq->cap - rq->len)
		rq->too_large = 1;
	if (rq->too_large) {
		rq->discarded += n;
		return rq->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	if (rq->body == NULL || rq->len + n > rq->size) {
		/* The declared length, or doubling up to the cap without one. */
		size_t want = rq->body == NULL ? rq->size : rq->size * 2;
		char *p;
		if (want < rq->len + n)
			want = rq->len + n;
		if (want > rq->cap)
			want = rq->cap;
		p = realloc(rq->body, want > 0 ? want : 1);
		if (p == NULL)
			return MHD_NO;
		rq->body = p;
		rq->size = want;
	}
	memcpy(rq->body + rq->len, data, n);
	rq->len += n;
	return MHD_YES;
}

/* Authenticates the complete request; 0 when it may proceed, else the
 * reason for the 401. */
static const char *webhook_auth(struct MHD_Connection *c, const struct req *rq)
{
	const struct config *cfg = rq->cfg;
	struct auth_request ar;

	if (cfg->n_auth_tokens == 0 && cfg->n_hmac_secrets == 0)
		return cfg->allow_unauthenticated ? NULL : "no credentials configured";
	memset(&ar, 0, sizeof(ar));
	ar.authorization = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
	ar.query_token = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
	ar.wh_id = header(c, "webhook-id");
	ar.wh_timestamp = header(c, "webhook-timestamp");
	ar.wh_signature = header(c, "webhook-signature");
	ar.hub_signature = header(c, "X-Hub-Signature-256");
	ar.body = rq->body;
	ar.body_len = rq->len;
	switch (auth_check(&ar, cfg->auth_tokens, cfg->n_auth_tokens, cfg->hmac_secrets,
			   cfg->n_hmac_secrets, (int64_t)time(NULL), cfg->signature_tolerance)) {
	case AUTH_OK: return NULL;
	case AUTH_BAD_TOKEN: return "invalid token";
	case AUTH_BAD_SIGNATURE: return "invalid signature";
	case AUTH_STALE: return "signature timestamp outside tolerance";
	default: return "missing credentials";
	}
}

/* Logs and answers a webhook that was decoded fine. */
static enum MHD_Result webhook_answer(struct MHD_Connection *c, enum metric_webhook outcome,
				      const struct webhook_event *ev, const char *job,
				      const char *json)
{
	char ip[INET6_ADDRSTRLEN];

	metrics_webhook(outcome);
	remote_ip(c, ip, sizeof(ip));
	log_event(LOG_INFO, "intake: webhook", "outcome", metric_webhook_names[outcome], "job", job,
		  "project", ev->project_id, "execution", ev->execution_id, "status",
		  ev->status_text, "remote", ip, (char *)NULL);
	return send_json(c, outcome == MW_ACCEPTED ? 202 : 200, json, no_hdr);
}

/* The store's callback, on its syncer thread: records the result and
 * lets MHD call dispatch() again for the reply. */
static void put_done(void *ctx, int rc, int64_t job_id)
{
	struct req *rq = ctx;
	struct intake *in = rq->in;

	rq->put_rc = rc;
	rq->job_id = job_id;
	rq->phase = PH_STORED;
	MHD_resume_connection(rq->c);
	pthread_mutex_lock(&in->mu);
	if (--in->puts == 0 && in->closing)
		pthread_cond_signal(&in->idle);
	pthread_mutex_unlock(&in->mu);
}

/* Suspends the connection and hands the event to the store; put_done()
 * resumes it. If the store refuses at once the result is recorded and the
 * connection resumed here, so the reply takes the same path. */
static enum MHD_Result webhook_store(struct intake *in, struct MHD_Connection *c, struct req *rq,
				     struct store *st)
{
	const struct hdr retry = { MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER };
	int closing, rc;

	pthread_mutex_lock(&in->mu);
	closing = in->closing;
	in->puts += !closing;
	pthread_mutex_unlock(&in->mu);
	if (closing)
		return reject(in, c, 503, MW_UNAVAILABLE, "shutting down", retry);
	rq->phase = PH_STORING;
	MHD_suspend_connection(c);
	rc = store_put_async(st, &rq->ev, rq->dests, rq->n_dests, rq->cfg->dedup_window, put_done,
			     rq);
	if (rc)
		put_done(rq, rc, 0);
	return MHD_YES;
}

/* Routes a decoded event: stored when a route it may take has
 * destinations (runs no route notifies too, for run memory), ignored
 * otherwise. A webhook that does not name the environment or pipeline may
 * fit several routes: it gets one delivery per destination of each, and
 * the worker, told both by the API, posts only to its own route's. */
static enum MHD_Result webhook_enqueue(struct intake *in, struct MHD_Connection *c, struct req *rq)
{
	const struct hdr retry = { MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER };
	const struct webhook_event *ev = &rq->ev;
	struct store *st;
	int notify;

	if (route_intake(rq->cfg, ev->project_id, ev->environment, ev->pipeline_name, ev->status,
			 &rq->dests, &rq->n_dests, &notify) != 0)
		return reject(in, c, 503, MW_UNAVAILABLE, "out of memory", retry);
	if (rq->n_dests == 0)
		return webhook_answer(c, MW_IGNORED, ev, "-", "{\"status\":\"ignored\"}");
	/* A run the routes do not notify is still stored, durably like any
	 * other, so run memory remembers it: a success may close an incident
	 * with a recovery message. The sender is told it was ignored. */
	rq->remember_only = !notify;
	st = atomic_load(&in->st);
	if (st == NULL)
		return reject(in, c, 503, MW_UNAVAILABLE, "store unavailable", retry);
	return webhook_store(in, c, rq, st);
}

/* The store finished with the request: 202, duplicate or 503. */
static enum MHD_Result webhook_stored(struct intake *in, struct MHD_Connection *c,
				      const struct req *rq)
{
	const struct hdr retry = { MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER };
	char job[32], json[96];

	if (rq->put_rc == ERR_DUPLICATE)
		return webhook_answer(c, MW_DUPLICATE, &rq->ev, "-", "{\"status\":\"duplicate\"}");
	if (rq->put_rc) {
		log_msg(LOG_ERROR, "intake: store_put execution %s: %s", rq->ev.execution_id,
			err_str(rq->put_rc));
		return reject(in, c, 503, MW_UNAVAILABLE, "store unavailable", retry);
	}
	snprintf(job, sizeof(job), "%" PRId64, rq->job_id);
	metrics_run_source(MS_WEBHOOK);
	if (rq->remember_only) {
		snprintf(json, sizeof(json),
			 "{\"id\":\"%s\",\"status\":\"ignored\",\"recorded\":true}", job);
		return webhook_answer(c, MW_IGNORED, &rq->ev, job, json);
	}
	snprintf(json, sizeof(json), "{\"id\":\"%s\",\"status\":\"queued\"}", job);
	return webhook_answer(c, MW_ACCEPTED, &rq->ev, job, json);
}

/* An authenticated body that names no run or no project, with polling on:
 * reconciles the project it names (body or ?projectId=), else every
 * project. Returns 0 when a reconciliation was asked for. */
static int webhook_nudge(struct intake *in, struct MHD_Connection *c, const struct req *rq)
{
	intake_nudge_fn fn = atomic_load(&in->nudge);
	char project[WEBHOOK_ID_MAX], ip[INET6_ADDRSTRLEN];
	int rc;

	if (fn == NULL)
		return ERR_STOPPED;
	rc = webhook_project_hint(
		rq->body, rq->len,
		MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "projectId"),
		rq->cfg->max_json_depth, project);
	rc = fn(in->nudge_ctx, rc == 0 ? project : NULL);
	if (rc != 0)
		return rc;
	metrics_webhook(MW_NUDGE);
	remote_ip(c, ip, sizeof(ip));
	log_event(LOG_INFO, "intake: webhook names no run; reconciling by polling", "project",
		  project[0] ? project : "*", "remote", ip, (char *)NULL);
	return 0;
}

/* Last callback of POST /webhook: the body is complete. */
static enum MHD_Result webhook_finish(struct intake *in, struct MHD_Connection *c, struct req *rq)
{
	const struct hdr retry = { MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER };
	const struct hdr bearer = { MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer" };
	const char *why;
	int rc;

	if (rq->too_large)
		return reject(in, c, 413, MW_TOO_LARGE, "body larger than max_body", no_hdr);
	if (atomic_load(&in->draining))
		return reject(in, c, 503, MW_UNAVAILABLE, "shutting down", retry);
	why = webhook_auth(c, rq);
	if (why)
		return reject(in, c, 401, MW_UNAUTHORIZED, why, bearer);
	rc = webhook_parse(rq->body, rq->len,
			   MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "projectId"),
			   rq->cfg->max_json_depth, &rq->ev, &why);
	if (rc == ERR_PARSE)
		return reject(in, c, 400, MW_BAD_REQUEST, why ? why : "invalid JSON", no_hdr);
	if (rc) {
		log_shape(in, rq);
		/* A body naming no run (or no project) may nudge the poller;
		 * one naming a run by an unusable id stays a 422. */
		if (rc == ERR_NOTFOUND && webhook_nudge(in, c, rq) == 0)
			return send_json(c, 202, "{\"status\":\"reconciling\"}", no_hdr);
		return reject(in, c, 422, MW_UNPROCESSABLE, why ? why : "missing ids", no_hdr);
	}
	return webhook_enqueue(in, c, rq);
}

static enum MHD_Result probe_ready(struct intake *in, struct MHD_Connection *c)
{
	struct store *st = atomic_load(&in->st);
	const char *reason = NULL;
	char json[128];

	if (atomic_load(&in->draining))
		reason = "shutting down";
	else if (st == NULL)
		reason = "store unavailable";
	else if (!store_healthy(st))
		reason = "store unhealthy";
	else if (in->ready && !in->ready(in->ready_ctx))
		reason = "workers not running";
	/* A drain that began while the checks above ran stops the workers
	 * too: say why they stopped, not that they did. */
	if (reason != NULL && atomic_load(&in->draining))
		reason = "shutting down";
	if (reason == NULL) {
		/* Paused destinations do not make the service unready: webhooks
		 * are still accepted and kept, and other destinations go on. */
		char paused[512], body[600];

		if (metrics_paused_json(paused, sizeof(paused), 1) <= 2)
			return send_json(c, 200, "{\"status\":\"ready\"}", no_hdr);
		snprintf(body, sizeof(body), "{\"status\":\"ready\",\"paused\":%s}", paused);
		return send_json(c, 200, body, no_hdr);
	}
	snprintf(json, sizeof(json), "{\"status\":\"not ready\",\"reason\":\"%s\"}", reason);
	return send_json(c, 503, json, no_hdr);
}

static enum MHD_Result probe_metrics(struct intake *in, struct MHD_Connection *c)
{
	int64_t counts[JOB__MAX], incidents = 0;
	enum MHD_Result ret;
	char *text;

	struct store *st = atomic_load(&in->st);

	/* Without counts the rest of the metrics are still worth serving. */
	if (st != NULL && store_open_incidents(st, &incidents) == 0)
		metrics_open_incidents(incidents);
	else
		metrics_open_incidents(-1);
	if (st != NULL && store_counts(st, counts) == 0)
		text = metrics_render(job_state_names, counts, JOB__MAX);
	else
		text = metrics_render(NULL, NULL, 0);
	if (text == NULL)
		return send_problem(c, 500, "cannot render metrics", no_hdr);
	ret = send_reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text),
			 no_hdr);
	free(text);
	return ret;
}

/* GET/HEAD probes; 405 for other methods. */
static enum MHD_Result probe(struct intake *in, struct MHD_Connection *c, const char *url,
			     const char *method)
{
	const struct hdr allow = { MHD_HTTP_HEADER_ALLOW, "GET, HEAD" };

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return send_problem(c, 405, "use GET", allow);
	if (strcmp(url, "/healthz") == 0)
		return send_json(c, 200, "{\"status\":\"ok\"}", no_hdr);
	if (strcmp(url, "/readyz") == 0)
		return probe_ready(in, c);
	return probe_metrics(in, c);
}

/* POST /-/reload: 404 unless reload_endpoint is on, so a disabled
 * endpoint looks like any unknown path; then Bearer reload_token. The
 * reload itself runs here, so the answer says whether it took. */
static enum MHD_Result admin_reload(struct intake *in, struct MHD_Connection *c, const char *method)
{
	const struct hdr allow = { MHD_HTTP_HEADER_ALLOW, "POST" };
	const struct hdr bearer = { MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer" };
	const struct config *cfg = config_get(in->cfg);
	const char *got = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
	intake_reload_fn fn = atomic_load(&in->reload);
	int on = cfg->reload_endpoint && cfg->reload_token != NULL && fn != NULL;
	int ok = 0;

	if (on && got != NULL && strncasecmp(got, "Bearer ", 7) == 0)
		ok = auth_equal(got + 7, strlen(got + 7), cfg->reload_token,
				strlen(cfg->reload_token));
	config_put(in->cfg, cfg);
	if (!on)
		return send_problem(c, 404, "no such path", no_hdr);
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return send_problem(c, 405, "use POST", allow);
	if (!ok)
		return send_problem(c, 401, "reload_token required", bearer);
	if (fn(in->reload_ctx) != 0)
		return send_problem(
			c, 500, "config rejected, the running config stays; see the log", no_hdr);
	return send_json(c, 200, "{\"status\":\"reloaded\"}", no_hdr);
}

/* The tracking record of c, or NULL (e.g. if it could not be allocated). */
static struct conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* The request on c is complete: the deadline no longer applies. */
static void conn_answering(struct intake *in, struct MHD_Connection *c)
{
	struct conn *k = conn_of(c);

	if (k == NULL)
		return;
	pthread_mutex_lock(&in->mu);
	k->busy = 1;
	pthread_mutex_unlock(&in->mu);
}

/* A request on c ended; a keep-alive connection gets a fresh deadline for
 * its next one. */
static void conn_next_request(struct intake *in, struct MHD_Connection *c)
{
	struct conn *k = conn_of(c);

	if (k == NULL)
		return;
	pthread_mutex_lock(&in->mu);
	k->busy = 0;
	k->deadline_ms = clock_mono_ms() + in->request_timeout_ms;
	pthread_mutex_unlock(&in->mu);
}

/* MHD's connection notifications: start and stop tracking a socket. */
static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
			enum MHD_ConnectionNotificationCode toe)
{
	struct intake *in = cls;
	const union MHD_ConnectionInfo *ci;
	struct conn *k;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		k = calloc(1, sizeof(*k));
		if (k == NULL || ci == NULL) {
			free(k); /* untracked: MHD's idle timeout still applies */
			return;
		}
		k->fd = ci->connect_fd;
		k->deadline_ms = clock_mono_ms() + in->request_timeout_ms;
		pthread_mutex_lock(&in->mu);
		k->next = in->conns;
		if (in->conns)
			in->conns->prev = k;
		in->conns = k;
		pthread_mutex_unlock(&in->mu);
		*socket_context = k;
		return;
	}
	k = *socket_context;
	if (k == NULL)
		return;
	pthread_mutex_lock(&in->mu);
	if (k->prev)
		k->prev->next = k->next;
	else
		in->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	pthread_mutex_unlock(&in->mu);
	free(k);
	*socket_context = NULL;
}

/* Shuts down the sockets whose request is overdue; MHD then sees the
 * connection end and cleans it up in its own thread. Called with mu held.
 * Returns how many were shut down. */
static unsigned reap_overdue(struct intake *in, int64_t now)
{
	unsigned n = 0;
	struct conn *k;

	for (k = in->conns; k; k = k->next) {
		if (k->busy || k->shut || k->deadline_ms > now)
			continue;
		shutdown(k->fd, SHUT_RDWR);
		k->shut = 1;
		n++;
	}
	return n;
}

/* The summary for the slow connections closed without a line. */
static void slow_report(struct intake *in)
{
	quiet_report(QUIET_SLOW, in->slow_unlogged);
	in->slow_unlogged = 0;
}

/* Logs that the reaper closed n slow connections: one line per sweep, not
 * per socket, and only QUIET_BURST sweeps a minute, so a flood of slow
 * clients cannot flood the log as well. */
static void slow_log(struct intake *in, unsigned n, int64_t now)
{
	char count[16];
	uint64_t ended;
	int ok;

	if (n == 0 || !log_enabled(LOG_WARN))
		return;
	ok = log_budget_take(&in->quiet[QUIET_SLOW], now, &ended);
	if (ended)
		slow_report(in);
	if (!ok) {
		in->slow_unlogged += n;
		return;
	}
	snprintf(count, sizeof(count), "%u", n);
	log_event(LOG_WARN, "intake: closed slow connections (connection_timeout)", "count", count,
		  (char *)NULL);
}

/* Writes the summary of every budget whose window ended by now, so a
 * flood that stopped is reported without waiting for its next line. */
static void quiet_roll(struct intake *in, int64_t now)
{
	size_t i;

	for (i = 0; i < QUIET_SLOW; i++)
		quiet_report(i, log_budget_roll(&in->quiet[i], now));
	if (log_budget_roll(&in->quiet[QUIET_SLOW], now))
		slow_report(in);
}

static void *reaper_main(void *arg)
{
	struct intake *in = arg;
	struct timespec until;
	int64_t now;
	unsigned n;

	pthread_mutex_lock(&in->mu);
	while (!in->stopping) {
		now = clock_mono_ms();
		n = reap_overdue(in, now);
		pthread_mutex_unlock(&in->mu);
		slow_log(in, n, now);
		quiet_roll(in, now);
		pthread_mutex_lock(&in->mu);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += REAP_INTERVAL_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&in->wake, &in->mu, &until);
	}
	pthread_mutex_unlock(&in->mu);
	return NULL;
}

/* Sets up the lock, the condition (on the monotonic clock) and starts the
 * reaper. 0 or ERR_IO. */
static int reaper_start(struct intake *in)
{
	if (clock_cond_init(&in->wake) != 0)
		return ERR_IO;
	if (pthread_create(&in->reaper, NULL, reaper_main, in)) {
		pthread_cond_destroy(&in->wake);
		return ERR_IO;
	}
	return 0;
}

static void reaper_stop(struct intake *in)
{
	pthread_mutex_lock(&in->mu);
	in->stopping = 1;
	pthread_cond_signal(&in->wake);
	pthread_mutex_unlock(&in->mu);
	pthread_join(in->reaper, NULL);
	pthread_cond_destroy(&in->wake);
}

#define CL_NAME MHD_HTTP_HEADER_CONTENT_LENGTH
#define TE_NAME MHD_HTTP_HEADER_TRANSFER_ENCODING

/* What framing_ok() found in a request's headers. */
struct framing {
	unsigned lengths; /* Content-Length headers */
	unsigned codings; /* Transfer-Encoding headers */
	int bad;          /* a name or framing value we refuse */
};

/* 1 for an RFC 9110 token: letters, digits and !#$%&'*+-.^_`|~. */
static int is_token(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '\0')
		return 0;
	for (; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("!#$%&'*+-.^_`|~", *p) != NULL))
			return 0;
	return 1;
}

static int all_digits(const char *s)
{
	return *s != '\0' && s[strspn(s, "0123456789")] == '\0';
}

static enum MHD_Result framing_visit(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct framing *f = cls;

	(void)kind;
	if (key == NULL || !is_token(key)) {
		f->bad = 1;
	} else if (strcasecmp(key, CL_NAME) == 0) {
		f->lengths++;
		f->bad |= value == NULL || !all_digits(value);
	} else if (strcasecmp(key, TE_NAME) == 0) {
		f->codings++;
		f->bad |= value == NULL || strcasecmp(value, "chunked") != 0;
	} else if (strncasecmp(key, CL_NAME, strlen(CL_NAME)) == 0 ||
		   strncasecmp(key, TE_NAME, strlen(TE_NAME)) == 0) {
		/* libmicrohttpd 0.9.75 appends a folded continuation line to
		 * the name ("Transfer-Encoding:\r\n chunked" arrives as
		 * "Transfer-Encodingchunked"), where a proxy that unfolds
		 * sees the framing header itself. */
		f->bad = 1;
	}
	return MHD_YES;
}

/* 1 when every HTTP/1.1 reader finds the same end of the request: header
 * names are tokens (libmicrohttpd keeps the space of "Transfer-Encoding :"
 * in the name, where other parsers trim it), and the body is framed by one
 * Content-Length of digits alone or by one Transfer-Encoding of just
 * "chunked" outside HTTP/1.0, never both (RFC 9112, 6.1 and 6.3). */
static int framing_ok(struct MHD_Connection *c, const char *version)
{
	struct framing f = { 0, 0, 0 };

	MHD_get_connection_values(c, MHD_HEADER_KIND, framing_visit, &f);
	if (f.bad || f.lengths > 1 || f.codings > 1 || (f.lengths && f.codings))
		return 0;
	return f.codings == 0 || version == NULL || strcmp(version, MHD_HTTP_VERSION_1_0) != 0;
}

/* ---- Slack's interactivity requests (interact.h) ---- */

/* 1 for "application/x-www-form-urlencoded", with optional parameters. */
static int is_form(const char *ct)
{
	static const char form[] = "application/x-www-form-urlencoded";
	size_t n;

	if (ct == NULL)
		return 0;
	ct += strspn(ct, " \t");
	n = strcspn(ct, "; \t");
	if (n != sizeof(form) - 1 || strncasecmp(ct, form, n) != 0)
		return 0;
	ct += n;
	ct += strspn(ct, " \t");
	return *ct == '\0' || *ct == ';';
}

/* 1 when url is the buttons' path and a signing secret turns it on. */
static int interact_path(struct intake *in, const char *url)
{
	const struct config *cfg = config_get(in->cfg);
	int yes = cfg->slack_signing_secret != NULL && cfg->slack_interactivity_path != NULL &&
		  strcmp(url, cfg->slack_interactivity_path) == 0;

	config_put(in->cfg, cfg);
	return yes;
}

/* Logs one refused click within its budget; never the secret, the
 * signature or the body. */
static void interact_log(struct intake *in, struct MHD_Connection *c, unsigned code,
			 const char *why)
{
	char ip[INET6_ADDRSTRLEN], status[8];

	if (!quiet_allows(in, QUIET_INTERACT))
		return;
	remote_ip(c, ip, sizeof(ip));
	snprintf(status, sizeof(status), "%u", code);
	log_event(LOG_WARN, "intake: slack click rejected", "http_status", status, "reason", why,
		  "remote", ip, (char *)NULL);
}

/* First callback of a POST to interactivity_path: the form type and the
 * declared size are checked before the body is read into a buffer of at
 * most INTERACT_BODY_MAX bytes. */
static enum MHD_Result interact_begin(struct intake *in, struct MHD_Connection *c, void **con_cls)
{
	const struct hdr retry = { MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER };
	unsigned long long declared = declared_length(c);
	struct req *rq;

	if (atomic_load(&in->draining))
		return send_problem(c, 503, "shutting down", retry);
	if (!is_form(header(c, MHD_HTTP_HEADER_CONTENT_TYPE))) {
		metrics_interaction(MI_BAD_REQUEST);
		interact_log(in, c, 415, "content type must be a form");
		return send_problem(c, 415, "content type must be a form", no_hdr);
	}
	if (declared > INTERACT_BODY_MAX) {
		metrics_interaction(MI_BAD_REQUEST);
		interact_log(in, c, 413, "body too large");
		return send_problem(c, 413, "body too large", no_hdr);
	}
	rq = calloc(1, sizeof(*rq));
	if (rq == NULL)
		return send_problem(c, 503, "out of memory", retry);
	rq->in = in;
	rq->c = c;
	rq->cfg = config_get(in->cfg);
	rq->cap = INTERACT_BODY_MAX;
	rq->size = declared > 0 ? (size_t)declared : BODY_MIN;
	rq->interact = 1;
	*con_cls = rq;
	return MHD_YES;
}

/* Last callback: the click is decided (interact_accept()) and answered,
 * 200 with an empty body once it is stored. */
static enum MHD_Result interact_finish(struct intake *in, struct MHD_Connection *c, struct req *rq)
{
	const struct hdr retry = { MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER };
	struct interact_req r;
	const char *why = NULL;
	unsigned code;

	if (rq->too_large) {
		metrics_interaction(MI_BAD_REQUEST);
		interact_log(in, c, 413, "body too large");
		return send_problem(c, 413, "body too large", no_hdr);
	}
	if (atomic_load(&in->draining))
		return send_problem(c, 503, "shutting down", retry);
	r.timestamp = header(c, "X-Slack-Request-Timestamp");
	r.signature = header(c, "X-Slack-Signature");
	r.body = rq->body != NULL ? rq->body : "";
	r.len = rq->len;
	code = interact_accept(rq->cfg, atomic_load(&in->st), &r, &why);
	if (code == 200)
		return send_reply(c, 200, "text/plain", "", 0, no_hdr);
	interact_log(in, c, code, why ? why : "refused");
	return send_problem(c, code, why ? why : "refused", code == 503 ? retry : no_hdr);
}

static enum MHD_Result dispatch(void *cls, struct MHD_Connection *c, const char *url,
				const char *method, const char *version, const char *data,
				size_t *size, void **con_cls)
{
	const struct hdr allow = { MHD_HTTP_HEADER_ALLOW, "POST" };
	const struct hdr close_hdr = { MHD_HTTP_HEADER_CONNECTION, "close" };
	struct intake *in = cls;
	struct req *rq = *con_cls;

	if (rq && rq->phase == PH_STORED)
		return webhook_stored(in, c, rq);
	if (rq && *size)
		return webhook_absorb(rq, data, size);
	if (rq) {
		conn_answering(in, c);
		return rq->interact ? interact_finish(in, c, rq) : webhook_finish(in, c, rq);
	}
	if (!framing_ok(c, version))
		return reject(in, c, 400, MW_BAD_REQUEST, "ambiguous message framing", close_hdr);
	/* The admin listener serves everything but the webhook, which it
	 * answers like any unknown path. */
	if (strcmp(url, "/webhook") == 0 && !in->admin) {
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return send_problem(c, 405, "use POST", allow);
		return webhook_begin(in, c, con_cls);
	}
	if (interact_path(in, url)) {
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return send_problem(c, 405, "use POST", allow);
		return interact_begin(in, c, con_cls);
	}
	if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 ||
	    strcmp(url, "/metrics") == 0) {
		conn_answering(in, c);
		return probe(in, c, url, method);
	}
	if (strcmp(url, "/-/reload") == 0) {
		conn_answering(in, c);
		return admin_reload(in, c, method);
	}
	return send_problem(c, 404, "no such path", no_hdr);
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct intake *in = cls;
	struct req *rq = *con_cls;

	(void)toe;
	conn_next_request(in, c);
	if (rq == NULL)
		return;
	config_put(in->cfg, rq->cfg);
	free(rq->body);
	free(rq->dests);
	free(rq);
	*con_cls = NULL;
}

/* Routes libmicrohttpd's own diagnostics through our log, within their
 * budget: most are about one connection and a client can cause them. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct intake *in = cls;
	char buf[256];
	size_t n;

	if (!quiet_allows(in, QUIET_HTTPD))
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_msg(LOG_WARN, "intake: httpd: %s", buf);
}

/* Resolves "host:port" ("[v6]:port"; "*" means any), the value of key,
 * into ss. Returns 0 or ERR_CONFIG with err set. */
static int parse_listen(const char *key, const char *listen, struct sockaddr_storage *ss, int *v6,
			char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	struct hostport hp;
	char host[256], port[8];
	int rc;

	if (parse_hostport(listen, &hp) != 0 || hp.host_len >= sizeof(host)) {
		snprintf(err, errlen, "intake: %s %s: expected host:port", key, listen);
		return ERR_CONFIG;
	}
	memcpy(host, hp.host, hp.host_len);
	host[hp.host_len] = '\0';
	snprintf(port, sizeof(port), "%u", hp.port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, port, &hints, &res);
	if (rc || res == NULL || res->ai_addrlen > sizeof(*ss)) {
		snprintf(err, errlen, "intake: %s %s: %s", key, listen,
			 rc ? gai_strerror(rc) : "no address");
		if (res)
			freeaddrinfo(res);
		return ERR_CONFIG;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*v6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	return 0;
}

/* Frees the first n log budgets. */
static void quiet_destroy(struct intake *in, size_t n)
{
	while (n > 0)
		log_budget_destroy(&in->quiet[--n]);
}

/* Sets up the log budgets (all or none). 0 or ERR_IO. */
static int quiet_init(struct intake *in)
{
	size_t i;

	for (i = 0; i < QUIET__MAX; i++) {
		if (log_budget_init(&in->quiet[i], QUIET_BURST, QUIET_WINDOW_MS)) {
			quiet_destroy(in, i);
			return ERR_IO;
		}
	}
	return 0;
}

/* Starts the daemon with the listener limits of cfg, which config_load()
 * has checked and given its defaults. */
static int daemon_start(struct intake *in, const struct config *cfg, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	/* MHD_USE_POLL, not MHD_USE_AUTO (epoll): see DESIGN. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *di;
	const char *key = in->admin ? "admin_listen" : "listen";
	const char *addr = in->admin ? cfg->admin_listen : cfg->listen;
	int v6 = 0, rc;

	rc = parse_listen(key, addr, &ss, &v6, err, errlen);
	if (rc)
		return rc;
	if (v6)
		flags |= MHD_USE_IPv6;
	/* The logger goes first: MHD reports on every option after it, and
	 * before it would print to stderr unfiltered. */
	in->d = MHD_start_daemon(
		flags, 0, NULL, NULL, dispatch, in, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, in,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
		(unsigned)POLL_THREADS, MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_connections_per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, request_done, in, MHD_OPTION_NOTIFY_CONNECTION,
		conn_notify, in, MHD_OPTION_END);
	if (in->d == NULL) {
		snprintf(err, errlen, "intake: cannot listen on %s (%s): %s", addr, key,
			 errno ? strerror(errno) : "libmicrohttpd failed to start");
		return ERR_IO;
	}
	di = MHD_get_daemon_info(in->d, MHD_DAEMON_INFO_BIND_PORT);
	in->port = di ? di->port : 0;
	return 0;
}

/* Both listeners: one code, so the probes, metrics and reload are served
 * the same way on either; admin leaves out the webhook. */
static struct intake *start(struct config_holder *cfg, struct store *st, intake_ready_fn ready,
			    void *ready_ctx, int admin, char *err, size_t errlen)
{
	struct intake *in = calloc(1, sizeof(*in));
	const struct config *c;
	int rc;

	if (in == NULL) {
		snprintf(err, errlen, "intake: out of memory");
		return NULL;
	}
	in->cfg = cfg;
	in->admin = admin;
	atomic_init(&in->st, st);
	in->ready = ready;
	in->ready_ctx = ready_ctx;
	atomic_init(&in->draining, 0);
	if (pthread_mutex_init(&in->mu, NULL)) {
		snprintf(err, errlen, "intake: cannot create a mutex");
		free(in);
		return NULL;
	}
	if (pthread_cond_init(&in->idle, NULL)) {
		snprintf(err, errlen, "intake: cannot create a condition");
		pthread_mutex_destroy(&in->mu);
		free(in);
		return NULL;
	}
	if (quiet_init(in)) {
		snprintf(err, errlen, "intake: cannot create the log budgets");
		pthread_cond_destroy(&in->idle);
		pthread_mutex_destroy(&in->mu);
		free(in);
		return NULL;
	}
	c = config_get(cfg);
	in->request_timeout_ms = 1000LL * c->connection_timeout;
	rc = daemon_start(in, c, err, errlen);
	config_put(cfg, c);
	if (rc == 0 && reaper_start(in)) {
		snprintf(err, errlen, "intake: cannot start the connection reaper");
		MHD_stop_daemon(in->d);
		rc = ERR_IO;
	}
	if (rc) {
		quiet_destroy(in, QUIET__MAX);
		pthread_cond_destroy(&in->idle);
		pthread_mutex_destroy(&in->mu);
		free(in);
		return NULL;
	}
	return in;
}

struct intake *intake_start(struct config_holder *cfg, struct store *st, intake_ready_fn ready,
			    void *ready_ctx, char *err, size_t errlen)
{
	return start(cfg, st, ready, ready_ctx, 0, err, errlen);
}

struct intake *intake_start_admin(struct config_holder *cfg, struct store *st,
				  intake_ready_fn ready, void *ready_ctx, char *err, size_t errlen)
{
	return start(cfg, st, ready, ready_ctx, 1, err, errlen);
}

unsigned intake_port(const struct intake *in)
{
	return in ? in->port : 0;
}

void intake_set_reload(struct intake *in, intake_reload_fn fn, void *ctx)
{
	if (in == NULL)
		return;
	in->reload_ctx = ctx;
	atomic_store(&in->reload, fn);
}

void intake_set_nudge(struct intake *in, intake_nudge_fn fn, void *ctx)
{
	in->nudge_ctx = ctx;
	atomic_store(&in->nudge, fn);
}

void intake_set_store(struct intake *in, struct store *st)
{
	if (in != NULL)
		atomic_store(&in->st, st);
}

void intake_drain(struct intake *in)
{
	if (in)
		atomic_store(&in->draining, 1);
}

void intake_stop(struct intake *in)
{
	if (in == NULL)
		return;
	/* MHD may not stop with a suspended connection: wait for the store
	 * to finish the puts in flight (it does, even while closing). */
	pthread_mutex_lock(&in->mu);
	in->closing = 1;
	while (in->puts > 0)
		pthread_cond_wait(&in->idle, &in->mu);
	pthread_mutex_unlock(&in->mu);
	/* Waits for the polling threads, so no callback runs after this;
	 * every connection has been untracked by then. The reaper runs until
	 * here so it can still end slow clients that delay the shutdown. */
	MHD_stop_daemon(in->d);
	reaper_stop(in);
	/* Ends every window, so the last minute's summaries are written. */
	quiet_roll(in, INT64_MAX);
	quiet_destroy(in, QUIET__MAX);
	pthread_cond_destroy(&in->idle);
	pthread_mutex_destroy(&in->mu);
	free(in);
}
