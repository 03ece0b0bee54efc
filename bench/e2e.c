/* End-to-end load tool for `make bench`: in one single-threaded epoll loop it
 * (a) offers webhooks to the service under test at a fixed rate, (b) plays
 * the Matillion API (token, execution, steps) answering at once, and (c) is
 * the Slack sink that timestamps each chat message. Latency of a run is the
 * sink's receive time minus the run's scheduled send time, matched by the
 * execution id embedded in the message.
 *
 * DESIGN: sends are scheduled at start + i/rate and latency is measured from
 * that scheduled time, so a stalled server cannot hide its backlog by slowing
 * the sender (no coordinated omission). Both sides live in one process so
 * both timestamps come from one CLOCK_MONOTONIC. The process serves
 * from start-up, writes its port to --port-file, and begins offering load
 * when a line arrives on stdin; when the load is over and every accepted
 * run was delivered (or --drain seconds passed) it prints one JSON object.
 *
 * usage: e2e --port-file F --target HOST:PORT --mode dpc|am --rate R
 *            --duration S [--conns N] [--drain S] [--token T] */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 4096
#define RBUF_MAX (4 * 1024 * 1024) /* largest request/response we accept */
#define ROOT_STEPS 50
#define CHILD_STEPS 10
#define N_CHILDREN 2
/* Runs are spread over N_PROJECTS project ids, PROJECT_PREFIX + one digit,
 * each routed by the bench config to its own destination: every destination
 * is paced (at most 1000 messages/s each), so spreading keeps the pacing out
 * of the way of the load, as a limiter that is "off" would. */
#define PROJECT_PREFIX "3f1c9a52-7d4e-4b8a-9c61-0e2f5a7b8c9"
#define N_PROJECTS 4
#define ROOT_PREFIX "be000000-0000-4000-8000-" /* + 12 hex digits = sequence */
#define CHILD_PREFIX "c%d000000-0000-4000-8000-"

enum kind { K_LISTEN, K_STDIN, K_SERVER, K_CLIENT };

struct buf {
	char *p;
	size_t len, cap;
};

struct conn {
	enum kind kind;
	int fd;
	struct buf in, out;
	size_t out_off;
	int busy;         /* client: a request is in flight */
	uint64_t seq;     /* client: sequence number in flight */
	int want_close;   /* server: close after the reply is written */
	int connected;    /* client: connect() finished */
};

struct opts {
	const char *port_file, *mode, *token;
	char host[64];
	int port;
	double rate, duration, drain;
	int conns;
};

struct bench {
	struct opts o;
	int ep;
	struct conn *clients;
	uint64_t total;       /* webhooks to offer */
	uint64_t scheduled;   /* handed to the send queue so far */
	uint64_t *queue;      /* sequence numbers waiting for a free connection */
	uint64_t q_head, q_tail;
	int inflight;         /* webhooks sent and not yet answered */
	int64_t t0;           /* ns, load start; 0 until "go" */
	int64_t *recv_ns;     /* per sequence: first chat message, 0 = none */
	int *status;          /* per sequence: HTTP status of the webhook */
	uint64_t sent_ok, sent_fail, delivered, dup_msgs, api_calls, bad_msgs;
	int64_t done_sending_ns;
	int finished;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void buf_put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			die("realloc");
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_consume(struct buf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	b->p[b->len] = '\0';
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die("fcntl");
}

static void ep_add(struct bench *b, struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	if (epoll_ctl(b->ep, EPOLL_CTL_ADD, c->fd, &e) < 0)
		die("epoll_ctl add");
}

static void ep_mod(struct bench *b, struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	if (epoll_ctl(b->ep, EPOLL_CTL_MOD, c->fd, &e) < 0)
		die("epoll_ctl mod");
}

/* Case-insensitive header lookup in the lines of [head, end), end just past
 * the last header line's "\r\n"; returns the value's start or NULL. */
static const char *header(const char *head, const char *end, const char *name)
{
	size_t n = strlen(name);
	const char *p = head;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			break;
		if ((size_t)(eol - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			return p;
		}
		p = eol + 1;
	}
	return NULL;
}

/* Length of a complete HTTP message at the start of b (headers + body), or 0
 * while incomplete. Supports Content-Length and, for replies, chunked. */
static size_t message_len(const struct buf *b, int *expect_continue)
{
	const char *hend = b->len ? strstr(b->p, "\r\n\r\n") : NULL;
	const char *v, *p;
	size_t hlen, clen = 0;

	if (!hend)
		return 0;
	hlen = (size_t)(hend - b->p) + 4;
	hend += 2;
	if (expect_continue)
		*expect_continue = header(b->p, hend, "Expect") != NULL;
	v = header(b->p, hend, "Transfer-Encoding");
	if (v && strncasecmp(v, "chunked", 7) == 0) {
		p = b->p + hlen;
		for (;;) { /* walk chunk headers until the 0-size chunk */
			char *e;
			unsigned long n = strtoul(p, &e, 16);
			const char *crlf = strstr(p, "\r\n");

			if (!crlf)
				return 0;
			p = crlf + 2;
			if (n == 0) {
				crlf = strstr(p, "\r\n");
				return crlf ? (size_t)(crlf + 2 - b->p) : 0;
			}
			if ((size_t)(p - b->p) + n + 2 > b->len)
				return 0;
			p += n + 2;
		}
	}
	v = header(b->p, hend, "Content-Length");
	if (v)
		clen = strtoul(v, NULL, 10);
	return b->len >= hlen + clen ? hlen + clen : 0;
}

/* ---- the Matillion API and Slack sink ---- */

static void iso(char *out, size_t n, int64_t epoch)
{
	time_t t = (time_t)epoch;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

static void step_json(struct buf *o, const char *exec, int i, const char *status,
		      const char *msg, int child)
{
	char line[1024], a[32], z[32];
	int n;

	iso(a, sizeof(a), 1714557600 + i * 7);
	iso(z, sizeof(z), 1714557600 + i * 7 + 5);
	n = snprintf(line, sizeof(line),
		     "%s{\"id\":\"%.8x-1111-4000-8000-%.12s\",\"name\":\"%s %d\","
		     "\"result\":{\"status\":\"%s\",\"message\":\"%s\",\"startedAt\":\"%s\","
		     "\"finishedAt\":\"%s\"}",
		     i ? "," : "", (unsigned)i, exec + 24,
		     child ? "Run child" : "Transform", i, status, msg, a, z);
	buf_put(o, line, (size_t)n);
	if (child) {
		n = snprintf(line, sizeof(line),
			     ",\"childPipeline\":{\"id\":\"" CHILD_PREFIX "%.12s\","
			     "\"name\":\"Finance/stage_%d.orch.yaml\"}",
			     child, exec + 24, child);
		buf_put(o, line, (size_t)n);
	}
	buf_put(o, "}", 1);
}

/* Steps of the root (50: 2 child calls and 1 SQL failure) or of a child
 * (10: the last one fails). Only page 0 has results. */
static void steps_body(struct buf *o, const char *exec, int page)
{
	int root = strncmp(exec, "be", 2) == 0;
	int n = root ? ROOT_STEPS : CHILD_STEPS, i;
	char head[128];

	snprintf(head, sizeof(head), "{\"page\":%d,\"size\":100,\"total\":%d,\"results\":[",
		 page, n);
	buf_put(o, head, strlen(head));
	for (i = 0; page == 0 && i < n; i++) {
		if (root && i >= 20 && i < 20 + N_CHILDREN)
			step_json(o, exec, i, "FAILED", "Child pipeline failed", i - 19);
		else if (i == n - 1)
			step_json(o, exec, i, "FAILED",
				  "SQL compilation error: Object 'ORDERS_STG' does not exist "
				  "or not authorized.", 0);
		else
			step_json(o, exec, i, "SUCCESS", "\\\"Rewrite Table\\\": Success", 0);
	}
	buf_put(o, "]}", 2);
}

static void exec_body(struct buf *o, const char *project, const char *exec)
{
	char s[1024];
	int n = snprintf(s, sizeof(s),
			 "{\"pipelineExecutionId\":\"%.36s\",\"projectId\":\"%.36s\","
			 "\"pipelineName\":\"Finance/load_dwh.orch.yaml\",\"pipelineType\":"
			 "\"ORCHESTRATION\",\"environmentName\":\"prod\",\"status\":\"FAILED\","
			 "\"trigger\":\"SCHEDULE\",\"startedAt\":\"2024-05-01T02:00:00.000Z\","
			 "\"finishedAt\":\"2024-05-01T02:14:07.000Z\",\"message\":\"Pipeline failed\"}",
			 exec, project);
	buf_put(o, s, (size_t)n);
}

static void reply(struct conn *c, int code, const char *ctype, const char *body, size_t len)
{
	char h[256];
	int n = snprintf(h, sizeof(h),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
			 code, code == 200 ? "OK" : "Not Found", ctype, len);

	buf_put(&c->out, h, (size_t)n);
	buf_put(&c->out, body, len);
}

/* Records the first arrival of the run whose id the chat body carries. */
static void sink(struct bench *b, const char *body, size_t len)
{
	const char *p = body, *end = body + len;
	size_t pl = strlen(ROOT_PREFIX);

	(void)len;
	while ((p = strstr(p, ROOT_PREFIX)) != NULL && p + pl + 12 <= end) {
		char hex[13], *e;
		uint64_t seq;

		memcpy(hex, p + pl, 12);
		hex[12] = '\0';
		seq = strtoull(hex, &e, 16);
		if (*e == '\0' && seq < b->total) {
			if (b->recv_ns[seq]) {
				b->dup_msgs++;
			} else {
				b->recv_ns[seq] = now_ns();
				b->delivered++;
			}
			return;
		}
		p += pl;
	}
	b->bad_msgs++;
}

static void serve(struct bench *b, struct conn *c, const char *req, size_t hlen, size_t total)
{
	static const char base[] = "/dpc/v1/projects/";
	static const char mid[] = "/pipeline-executions/";
	const size_t bl = sizeof(base) - 1, ml = sizeof(mid) - 1;
	char path[512];
	const char *sp = strchr(req, ' '), *q;
	size_t n;
	struct buf o = { 0 };
	int get = strncmp(req, "GET ", 4) == 0;

	n = sp ? strcspn(sp + 1, " ") : 0;
	if (n >= sizeof(path))
		n = sizeof(path) - 1;
	memcpy(path, sp ? sp + 1 : "", n);
	path[n] = '\0';
	if (strncmp(path, "/oauth/", 7) == 0) {
		static const char tok[] = "{\"access_token\":\"bench-token\",\"token_type\":"
					  "\"Bearer\",\"expires_in\":1800}";
		b->api_calls++;
		reply(c, 200, "application/json", tok, sizeof(tok) - 1);
	} else if (get && strncmp(path, base, bl) == 0 && strlen(path) >= bl + 36 + ml + 36 &&
		   strncmp(path + bl + 36, mid, ml) == 0) {
		const char *project = path + bl, *exec = path + bl + 36 + ml;

		b->api_calls++;
		q = strstr(exec, "/steps");
		if (q) {
			const char *pg = strstr(q, "page=");

			steps_body(&o, exec, pg ? atoi(pg + 5) : 0);
		} else {
			exec_body(&o, project, exec);
		}
		reply(c, 200, "application/json", o.p, o.len);
	} else if (strncmp(path, "/slack/", 7) == 0) {
		sink(b, req + hlen, total - hlen);
		reply(c, 200, "text/plain", "ok", 2);
	} else {
		if (getenv("E2E_DEBUG"))
			fprintf(stderr, "e2e: 404 for %.200s\n", req);
		reply(c, 404, "text/plain", "not found", 9);
	}
	free(o.p);
}

/* ---- connections ---- */

static void close_conn(struct bench *b, struct conn *c)
{
	epoll_ctl(b->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->in.len = c->out.len = c->out_off = 0;
	if (c->kind == K_SERVER) {
		free(c->in.p);
		free(c->out.p);
		free(c);
	}
}

static int flush_out(struct bench *b, struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t w = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ep_mod(b, c, EPOLLIN | EPOLLOUT);
			return 0;
		}
		if (w <= 0)
			return -1;
		c->out_off += (size_t)w;
	}
	c->out.len = c->out_off = 0;
	ep_mod(b, c, EPOLLIN);
	return 0;
}

static int fill_in(struct conn *c)
{
	char tmp[65536];

	for (;;) {
		ssize_t r = recv(c->fd, tmp, sizeof(tmp), 0);

		if (r > 0) {
			buf_put(&c->in, tmp, (size_t)r);
			if (c->in.len > RBUF_MAX)
				return -1;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1; /* closed or failed */
	}
}

static void on_server(struct bench *b, struct conn *c, uint32_t ev)
{
	size_t len;
	int expect = 0;

	if ((ev & EPOLLOUT) && flush_out(b, c) < 0)
		goto gone;
	if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	if (fill_in(c) < 0 && c->in.len == 0)
		goto gone;
	while ((len = message_len(&c->in, &expect)) > 0) {
		size_t hlen = (size_t)(strstr(c->in.p, "\r\n\r\n") - c->in.p) + 4;
		const char *cl = header(c->in.p, c->in.p + hlen, "Connection");

		/* serve() reads the message as a C string: terminate it in place. */
		char save = c->in.p[len];

		c->in.p[len] = '\0';
		serve(b, c, c->in.p, hlen, len);
		c->in.p[len] = save;
		if (cl && strncasecmp(cl, "close", 5) == 0)
			c->want_close = 1;
		buf_consume(&c->in, len);
	}
	if (expect && c->in.len > 0 && c->out.len == 0)
		buf_put(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	if (flush_out(b, c) < 0 || (c->want_close && c->out.len == 0))
		goto gone;
	return;
gone:
	close_conn(b, c);
}

static void on_listen(struct bench *b, struct conn *l)
{
	for (;;) {
		int fd = accept(l->fd, NULL, NULL), one = 1;
		struct conn *c;

		if (fd < 0)
			return;
		set_nonblock(fd);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (!c)
			die("calloc");
		c->kind = K_SERVER;
		c->fd = fd;
		ep_add(b, c, EPOLLIN);
	}
}

static void client_connect(struct bench *b, struct conn *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)b->o.port) };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		die("socket");
	set_nonblock(c->fd);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	inet_pton(AF_INET, b->o.host, &sa.sin_addr);
	c->connected = 0;
	c->busy = 0;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		die("connect");
	ep_add(b, c, EPOLLIN | EPOLLOUT);
}

static void send_one(struct bench *b, struct conn *c, uint64_t seq)
{
	char body[1024], req[2048];
	int bl, rl;

	if (strcmp(b->o.mode, "am") == 0) {
		bl = snprintf(body, sizeof(body),
			      "[{\"labels\":{\"alertname\":\"PipelineFailed\",\"project\":\""
			      PROJECT_PREFIX "%d\",\"pipeline\":\"Finance/load_dwh\",\"environment\":\"prod\","
			      "\"exec\":\"" ROOT_PREFIX "%012" PRIx64 "\"},\"annotations\":{\"summary\":"
			      "\"Finance/load_dwh FAILED in prod\",\"description\":\"Pipeline failed\"},"
			      "\"generatorURL\":\"https://app.matillion.com/observability-dashboard/"
			      "pipeline/" ROOT_PREFIX "%012" PRIx64 "\"}]",
			      (int)(seq % N_PROJECTS), seq, seq);
		rl = snprintf(req, sizeof(req),
			      "POST /api/v2/alerts HTTP/1.1\r\nHost: %s\r\nContent-Type: "
			      "application/json\r\nContent-Length: %d\r\n\r\n%s",
			      b->o.host, bl, body);
	} else {
		bl = snprintf(body, sizeof(body),
			      "{\"event\":\"pipeline.execution.finished\",\"projectId\":\""
			      PROJECT_PREFIX "%d\",\"pipelineExecutionId\":\"" ROOT_PREFIX "%012" PRIx64 "\","
			      "\"pipelineName\":\"Finance/load_dwh.orch.yaml\",\"environmentName\":"
			      "\"prod\",\"status\":\"Failure\",\"startedAt\":\"2024-05-01T02:00:00.000Z\","
			      "\"finishedAt\":\"2024-05-01T02:14:07.000Z\",\"trigger\":\"SCHEDULE\"}",
			      (int)(seq % N_PROJECTS), seq);
		rl = snprintf(req, sizeof(req),
			      "POST /webhook HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
			      "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			      b->o.host, b->o.token, bl, body);
	}
	c->busy = 1;
	c->seq = seq;
	b->inflight++;
	buf_put(&c->out, req, (size_t)rl);
	if (flush_out(b, c) < 0) {
		b->inflight--;
		b->status[seq] = -1;
		b->sent_fail++;
		close_conn(b, c);
		client_connect(b, c);
	}
}

static void dispatch(struct bench *b)
{
	int i;

	for (i = 0; i < b->o.conns && b->q_head < b->q_tail; i++) {
		struct conn *c = &b->clients[i];

		if (c->connected && !c->busy && c->fd >= 0)
			send_one(b, c, b->queue[b->q_head++]);
	}
}

static void on_client(struct bench *b, struct conn *c, uint32_t ev)
{
	size_t len;

	if (!c->connected && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int err = 0;
		socklen_t sl = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
		if (err) {
			fprintf(stderr, "e2e: connect: %s\n", strerror(err));
			exit(2);
		}
		c->connected = 1;
		ep_mod(b, c, EPOLLIN);
		dispatch(b);
		return;
	}
	if ((ev & EPOLLOUT) && flush_out(b, c) < 0)
		goto broken;
	if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	if (fill_in(c) < 0 && message_len(&c->in, NULL) == 0)
		goto broken;
	while ((len = message_len(&c->in, NULL)) > 0) {
		int code = atoi(c->in.p + 9);

		if (c->busy) {
			b->status[c->seq] = code;
			if (code >= 200 && code < 300)
				b->sent_ok++;
			else
				b->sent_fail++;
			c->busy = 0;
			b->inflight--;
		}
		buf_consume(&c->in, len);
	}
	dispatch(b);
	return;
broken:
	if (c->busy) {
		b->status[c->seq] = -1;
		b->sent_fail++;
		b->inflight--;
	}
	close_conn(b, c);
	client_connect(b, c);
}

/* ---- schedule and report ---- */

static void schedule(struct bench *b, int64_t now)
{
	double due = (double)(now - b->t0) / 1e9 * b->o.rate;

	while (b->scheduled < b->total && (double)b->scheduled <= due)
		b->queue[b->q_tail++] = b->scheduled++;
	if (b->scheduled == b->total && !b->done_sending_ns && b->q_head == b->q_tail &&
	    b->inflight == 0)
		b->done_sending_ns = now;
}

static int cmp_i64(const void *a, const void *c)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)c;

	return (x > y) - (x < y);
}

/* Latency percentile q of the n sorted values in ms; an accepted run that
 * never reached the sink counts as infinitely late and prints as null. */
static void pct(char *out, size_t len, const int64_t *lat, uint64_t n, double q)
{
	uint64_t i = (uint64_t)((double)n * q);

	if (n == 0 || i >= n || lat[i] == INT64_MAX)
		snprintf(out, len, "null");
	else
		snprintf(out, len, "%.2f", (double)lat[i] / 1e6);
}

static void report(struct bench *b)
{
	int64_t *lat = malloc((b->total + 1) * sizeof(*lat)), last = 0;
	uint64_t i, n = 0, got = 0, in_window = 0;
	double dur = (double)b->total / b->o.rate, span;
	char p50[32], p90[32], p99[32], pmax[32];

	if (!lat)
		die("malloc");
	for (i = 0; i < b->total; i++) {
		int64_t sched = b->t0 + (int64_t)((double)i * 1e9 / b->o.rate);

		if (b->status[i] < 200 || b->status[i] >= 300)
			continue; /* not accepted: nothing to deliver */
		if (!b->recv_ns[i]) {
			lat[n++] = INT64_MAX;
			continue;
		}
		lat[n++] = b->recv_ns[i] - sched;
		got++;
		if (b->recv_ns[i] > last)
			last = b->recv_ns[i];
		if (b->recv_ns[i] - b->t0 <= (int64_t)(dur * 1e9))
			in_window++;
	}
	qsort(lat, n, sizeof(*lat), cmp_i64);
	pct(p50, sizeof(p50), lat, n, 0.50);
	pct(p90, sizeof(p90), lat, n, 0.90);
	pct(p99, sizeof(p99), lat, n, 0.99);
	pct(pmax, sizeof(pmax), lat, n, (double)(n - 1) / (double)(n ? n : 1));
	span = got ? (double)(last - b->t0) / 1e9 : 0;
	printf("{\"mode\":\"%s\",\"rate\":%.1f,\"duration_s\":%.2f,\"offered\":%" PRIu64
	       ",\"accepted\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"delivered\":%" PRIu64
	       ",\"duplicates\":%" PRIu64 ",\"unmatched\":%" PRIu64 ",\"api_calls\":%" PRIu64
	       ",\"p50_ms\":%s,\"p90_ms\":%s,\"p99_ms\":%s,\"max_ms\":%s"
	       ",\"delivered_per_s\":%.1f,\"delivered_in_window\":%" PRIu64 "}\n",
	       b->o.mode, b->o.rate, dur, b->total, b->sent_ok, b->sent_fail, b->delivered,
	       b->dup_msgs, b->bad_msgs, b->api_calls, p50, p90, p99, pmax,
	       span > 0 ? (double)got / span : 0.0, in_window);
	fflush(stdout);
	free(lat);
}

static void parse_args(struct opts *o, int argc, char **argv)
{
	int i;

	*o = (struct opts){ .mode = "dpc", .token = "", .rate = 100, .duration = 5,
			    .drain = 30, .conns = 32, .port = 0 };
	for (i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (strcmp(k, "--port-file") == 0) {
			o->port_file = v;
		} else if (strcmp(k, "--target") == 0) {
			const char *colon = strrchr(v, ':');

			if (!colon || (size_t)(colon - v) >= sizeof(o->host))
				goto usage;
			memcpy(o->host, v, (size_t)(colon - v));
			o->host[colon - v] = '\0';
			o->port = atoi(colon + 1);
		} else if (strcmp(k, "--mode") == 0) {
			o->mode = v;
		} else if (strcmp(k, "--rate") == 0) {
			o->rate = atof(v);
		} else if (strcmp(k, "--duration") == 0) {
			o->duration = atof(v);
		} else if (strcmp(k, "--drain") == 0) {
			o->drain = atof(v);
		} else if (strcmp(k, "--conns") == 0) {
			o->conns = atoi(v);
		} else if (strcmp(k, "--token") == 0) {
			o->token = v;
		} else {
			goto usage;
		}
	}
	if (i != argc || !o->port_file || o->rate <= 0 || o->conns < 1 || o->conns > MAX_CONNS)
		goto usage;
	return;
usage:
	fprintf(stderr, "usage: e2e --port-file F --target HOST:PORT --mode dpc|am --rate R "
			"--duration S [--conns N] [--drain S] [--token T]\n");
	exit(2);
}

static void start_listen(struct bench *b, struct conn *l)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	char tmp[4096];
	FILE *f;
	int one = 1;

	l->kind = K_LISTEN;
	l->fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l->fd, 1024) < 0)
		die("bind/listen");
	getsockname(l->fd, (struct sockaddr *)&sa, &sl);
	set_nonblock(l->fd);
	ep_add(b, l, EPOLLIN);
	snprintf(tmp, sizeof(tmp), "%s.tmp", b->o.port_file);
	f = fopen(tmp, "w");
	if (!f)
		die("port file");
	fprintf(f, "%d\n", ntohs(sa.sin_port));
	fclose(f);
	if (rename(tmp, b->o.port_file) < 0)
		die("rename");
}

static void on_stdin(struct bench *b, struct conn *s)
{
	char tmp[64];
	ssize_t r = read(s->fd, tmp, sizeof(tmp));
	int i;

	if (r <= 0) { /* the driver went away: stop */
		epoll_ctl(b->ep, EPOLL_CTL_DEL, s->fd, NULL);
		if (!b->t0)
			exit(1);
		return;
	}
	if (b->t0)
		return;
	for (i = 0; i < b->o.conns; i++)
		client_connect(b, &b->clients[i]);
	b->t0 = now_ns();
}

int main(int argc, char **argv)
{
	struct bench b = { 0 };
	struct conn lst = { 0 }, in = { .kind = K_STDIN, .fd = 0 };
	struct epoll_event evs[256];
	int i;

	signal(SIGPIPE, SIG_IGN);
	parse_args(&b.o, argc, argv);
	b.total = (uint64_t)(b.o.rate * b.o.duration + 0.5);
	b.queue = calloc(b.total + 1, sizeof(*b.queue));
	b.recv_ns = calloc(b.total + 1, sizeof(*b.recv_ns));
	b.status = calloc(b.total + 1, sizeof(*b.status));
	b.clients = calloc((size_t)b.o.conns, sizeof(*b.clients));
	if (!b.queue || !b.recv_ns || !b.status || !b.clients)
		die("calloc");
	for (i = 0; i < b.o.conns; i++) {
		b.clients[i].kind = K_CLIENT;
		b.clients[i].fd = -1;
	}
	b.ep = epoll_create1(0);
	if (b.ep < 0)
		die("epoll_create1");
	start_listen(&b, &lst);
	ep_add(&b, &in, EPOLLIN);
	for (;;) {
		int64_t now = now_ns();
		int n, timeout = 1;

		if (b.t0) {
			schedule(&b, now);
			dispatch(&b);
			if (b.done_sending_ns &&
			    (b.delivered >= b.sent_ok ||
			     now - b.done_sending_ns > (int64_t)(b.o.drain * 1e9)))
				break;
		} else {
			timeout = 100;
		}
		n = epoll_wait(b.ep, evs, 256, timeout);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			switch (c->kind) {
			case K_LISTEN: on_listen(&b, c); break;
			case K_STDIN: on_stdin(&b, c); break;
			case K_SERVER: on_server(&b, c, evs[i].events); break;
			case K_CLIENT: on_client(&b, c, evs[i].events); break;
			}
		}
	}
	report(&b);
	return 0;
}
