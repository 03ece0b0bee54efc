/* dpc-notify: command line entry point. It only parses arguments and wires
 * the modules together; the work happens in intake, store, worker, dpc,
 * summary, the renderers and deliver. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "deliver.h"
#include "dpc.h"
#include "errors.h"
#include "httpc.h"
#include "intake.h"
#include "log.h"
#include "render.h"
#include "route.h"
#include "store.h"
#include "summary.h"
#include "worker.h"

#ifndef DPC_VERSION
#define DPC_VERSION "dev"
#endif
#define DEFAULT_CONFIG "/etc/dpc-notify/dpc-notify.ini"
#define PRUNE_EVERY_S 3600

static const char usage[] =
	"usage: dpc-notify [-c FILE] [serve]\n"
	"       dpc-notify [-c FILE] check-config\n"
	"       dpc-notify [-c FILE] preview PROJECT_ID EXECUTION_ID [--format slack|teams|text]\n"
	"       dpc-notify [-c FILE] send-test DESTINATION\n"
	"       dpc-notify [-c FILE] jobs [--state queued|running|delivered|dead|ignored]\n"
	"       dpc-notify [-c FILE] dead list | dead retry ID|--all | dead purge [--older-than 7d]\n"
	"       dpc-notify [-c FILE] healthcheck\n"
	"       dpc-notify --help | --version\n"
	"\n"
	"Receives Matillion pipeline-run webhooks and posts failure summaries to\n"
	"Slack and Microsoft Teams. The config file defaults to $DPC_NOTIFY_CONFIG,\n"
	"then " DEFAULT_CONFIG ". See dpc-notify(8) and dpc-notify.ini(5).\n";

/* What core_dumps_off() changed, so allow_core_dumps can put it back. */
struct core_state {
	int have_limit;          /* limit holds the RLIMIT_CORE found at start */
	struct rlimit limit;
	int dumpable;            /* PR_GET_DUMPABLE at start (-1: unknown) */
};

/* A core file, or a debugger of the same user, would see the client
 * secret, OAuth tokens and webhook URLs in memory. Before the config (and
 * its secrets) is read, the process becomes non-dumpable (no core file,
 * no ptrace by other processes of the user, /proc/PID files owned by
 * root) and its soft core limit 0. The hard limit stays, so
 * allow_core_dumps can restore what was there. Failures only warn: the
 * service still works. */
static void core_dumps_off(struct core_state *st)
{
	struct rlimit none;

	st->have_limit = getrlimit(RLIMIT_CORE, &st->limit) == 0;
	st->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (st->have_limit) {
		none = st->limit;
		none.rlim_cur = 0;
		if (setrlimit(RLIMIT_CORE, &none) != 0)
			fprintf(stderr, "dpc-notify: warning: cannot set the core limit to 0: %s\n",
				strerror(errno));
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fprintf(stderr, "dpc-notify: warning: cannot make the process non-dumpable: %s\n",
			strerror(errno));
}

/* allow_core_dumps = true: the limit and the dumpable flag as they were. */
static void core_dumps_restore(const struct core_state *st)
{
	if (st->have_limit)
		setrlimit(RLIMIT_CORE, &st->limit);
	if (st->dumpable >= 0)
		prctl(PR_SET_DUMPABLE, (unsigned long)st->dumpable, 0, 0, 0);
}

/* Loads the config, printing every problem as file:line: message. */
static struct config *load(const char *path, FILE *out)
{
	struct diags d = { 0 };
	struct config *c = config_load(path, &d);
	size_t i;

	for (i = 0; i < d.n; i++)
		fprintf(out, "%s\n", d.lines[i]);
	diags_free(&d);
	return c;
}

/* Logs each config problem as one event; a warning stays a warning even
 * when errors elsewhere make the file invalid. */
static void log_diags(const struct diags *d, const char *prefix)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		log_msg(strstr(d->lines[i], ": warning: ") ? LOG_WARN : LOG_ERROR, "%s%s", prefix,
			d->lines[i]);
}

/* The same for serve: its output is a log, so every problem becomes one log
 * event, in the configured format once the file has loaded. */
static struct config *load_logged(const char *path)
{
	struct diags d = { 0 };
	struct config *c = config_load(path, &d);

	if (c != NULL)
		log_setup(c->log_level, c->log_format);
	log_diags(&d, "config: ");
	diags_free(&d);
	if (c == NULL)
		log_event(LOG_ERROR, "config invalid, not starting", "path", path, NULL);
	return c;
}

static int cmd_check_config(const char *path)
{
	struct config *c = load(path, stdout);

	if (c == NULL) {
		printf("%s: invalid\n", path);
		return 1;
	}
	config_print_summary(c, stdout);
	printf("%s: valid\n", path);
	config_free(c);
	return 0;
}

static char *render_format(const struct summary *s, const char *fmt, const struct destination *d)
{
	static const struct destination plain = { .name = "preview", .type = DEST_SLACK };

	if (d == NULL)
		d = &plain;
	if (strcmp(fmt, "slack") == 0)
		return slack_render(s, d);
	if (strcmp(fmt, "teams") == 0)
		return teams_render(s, d);
	return plaintext_render(s);
}

static int cmd_preview(struct config *c, int argc, char **argv)
{
	const char *fmt = "text";
	struct dpc *d = NULL;
	struct httpc *h = NULL;
	struct summary s;
	struct dpc_error e = { .retry_after_s = -1 };
	char *out = NULL;
	int rc = 1, i;

	memset(&s, 0, sizeof(s));
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
			fmt = argv[++i];
		else if (strncmp(argv[i], "--format=", 9) == 0)
			fmt = argv[i] + 9;
		else {
			fprintf(stderr, "preview: unexpected argument\n");
			return 2;
		}
	}
	if (strcmp(fmt, "slack") && strcmp(fmt, "teams") && strcmp(fmt, "text")) {
		fprintf(stderr, "preview: --format must be slack, teams or text\n");
		return 2;
	}
	d = dpc_new(c);
	h = httpc_from_config(c);
	if (d == NULL || h == NULL || summary_init(&s, argv[0], argv[1], c->ui_base))
		goto out;
	if (summary_set_project_name(&s, route_project_name(c, argv[0])) != 0)
		goto out;
	if (dpc_fetch_summary(d, h, argv[0], argv[1], &s, &e) != 0) {
		fprintf(stderr, "preview: %s\n", e.message[0] ? e.message : "Matillion API request failed");
		goto out;
	}
	out = render_format(&s, fmt, NULL);
	if (out == NULL)
		goto out;
	printf("%s\n", out);
	rc = 0;
out:
	free(out);
	summary_free(&s);
	httpc_free(h);
	dpc_free(d);
	return rc;
}

/* A clearly marked sample failure, so a destination can be tested without a
 * real run. */
static int sample_summary(struct summary *s, const struct config *c)
{
	static const char page[] =
		"{\"page\":0,\"size\":100,\"total\":3,\"results\":["
		"{\"id\":\"s1\",\"name\":\"Start\",\"result\":{\"status\":\"SUCCESS\"}},"
		"{\"id\":\"s2\",\"name\":\"Load orders\",\"result\":{\"status\":\"FAILED\","
		"\"message\":\"SQL compilation error: table ORDERS_STAGE does not exist (sample)\","
		"\"startedAt\":\"2026-01-01T10:00:00Z\",\"finishedAt\":\"2026-01-01T10:00:42Z\"}},"
		"{\"id\":\"s3\",\"name\":\"Notify\",\"result\":{\"status\":\"SKIPPED\"}}]}";
	static const char exec[] =
		"{\"pipelineName\":\"dpc-notify test.orch.yaml\",\"environmentName\":\"test\","
		"\"status\":\"FAILED\",\"trigger\":\"API\",\"startedAt\":\"2026-01-01T10:00:00Z\","
		"\"finishedAt\":\"2026-01-01T10:00:45Z\"}";
	struct page_ctx ctx = { .pipeline_path = "dpc-notify test", .depth = 0 };
	struct page_info info;
	int rc;

	rc = summary_init(s, "00000000-0000-0000-0000-000000000000",
			  "00000000-0000-0000-0000-000000000000", c->ui_base);
	if (rc == 0)
		rc = summary_set_execution(s, exec, sizeof(exec) - 1);
	if (rc == 0)
		rc = summary_add_page(s, &ctx, page, sizeof(page) - 1, &info);
	if (rc == 0)
		summary_finish(s);
	s->is_test = 1;
	return rc;
}

static int cmd_send_test(struct config *c, int argc, char **argv)
{
	const struct destination *d;
	struct deliver_result r;
	struct summary s;
	struct httpc *h = NULL;
	char *body = NULL, what[320];
	int rc = 1;

	memset(&s, 0, sizeof(s));
	if (argc != 1) {
		fputs(usage, stderr);
		return 2;
	}
	d = config_destination(c, argv[0]);
	if (d == NULL) {
		fprintf(stderr, "send-test: no destination named \"%s\"\n", argv[0]);
		return 1;
	}
	h = httpc_from_config(c);
	if (h == NULL || sample_summary(&s, c) != 0)
		goto out;
	body = d->type == DEST_TEAMS ? teams_render(&s, d) : slack_render(&s, d);
	if (body == NULL || deliver_post(h, d->url, body, &r) != 0) {
		fprintf(stderr, "send-test: cannot build the test message\n");
		goto out;
	}
	/* deliver's detail usually starts with the status already. */
	if (strncmp(r.detail, "HTTP ", 5) == 0)
		snprintf(what, sizeof(what), "%s", r.detail);
	else if (r.http_status > 0)
		snprintf(what, sizeof(what), "HTTP %ld %s", r.http_status, r.detail);
	else
		snprintf(what, sizeof(what), "no HTTP response: %s", r.detail);
	printf("send-test %s (%s): %s, %s, %.3fs\n", d->name, dest_type_names[d->type],
	       deliver_class_names[r.cls], what, r.seconds);
	rc = r.cls == DELIVER_OK ? 0 : 1;
out:
	free(body);
	summary_free(&s);
	httpc_free(h);
	return rc;
}

static void print_job(void *ctx, const struct job *j)
{
	char when[32];
	time_t t = (time_t)(j->received_ms / 1000);
	struct tm tm;

	(void)ctx;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%-8lld %-9s %-3d %s  %-36s %-36s %-10s %s\n", (long long)j->id, job_state_names[j->state],
	       j->attempts, when, j->ev.project_id, j->ev.execution_id,
	       status_names[j->ev.status], j->last_error);
}

static int parse_state(const char *s)
{
	int i;

	for (i = 0; i < JOB__MAX; i++)
		if (strcmp(s, job_state_names[i]) == 0)
			return i;
	return -2;
}

/* "7d", "12h", "30m", "45s" or plain seconds; -1 when invalid. */
static int64_t parse_age(const char *s)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': v *= 60; break;
	case 'h': v *= 3600; break;
	case 'd': v *= 86400; break;
	default: return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	return v;
}

static int cmd_store(struct config *c, const char *cmd, int argc, char **argv)
{
	char err[256];
	struct store *st = store_open(c->store, err, sizeof(err));
	size_t count = 0;
	int rc = 2, state = -1;

	if (st == NULL) {
		fprintf(stderr, "%s: store %s: %s\n", cmd, c->store, err);
		return 1;
	}
	if (strcmp(cmd, "jobs") == 0) {
		if (argc == 2 && strcmp(argv[0], "--state") == 0)
			state = parse_state(argv[1]);
		else if (argc != 0)
			state = -2;
		if (state == -2)
			goto usage;
		printf("%-8s %-9s %-3s %-20s  %-36s %-36s %-10s %s\n", "ID", "STATE", "TRY", "RECEIVED",
		       "PROJECT", "EXECUTION", "STATUS", "LAST ERROR");
		rc = store_list(st, state, 1000, print_job, NULL) ? 1 : 0;
	} else if (argc >= 1 && strcmp(argv[0], "list") == 0 && argc == 1) {
		printf("%-8s %-9s %-3s %-20s  %-36s %-36s %-10s %s\n", "ID", "STATE", "TRY", "RECEIVED",
		       "PROJECT", "EXECUTION", "STATUS", "LAST ERROR");
		rc = store_list(st, JOB_DEAD, 1000, print_job, NULL) ? 1 : 0;
	} else if (argc == 2 && strcmp(argv[0], "retry") == 0) {
		char *end = NULL;
		long long id = strcmp(argv[1], "--all") == 0 ? -1 : strtoll(argv[1], &end, 10);
		if (end != NULL && (*end != '\0' || id < 0))
			goto usage;
		rc = store_dead_retry(st, id, &count) ? 1 : 0;
		if (rc == 0)
			printf("re-queued %zu dead job(s)\n", count);
	} else if (argc >= 1 && strcmp(argv[0], "purge") == 0) {
		int64_t age = 7 * 86400;
		if (argc == 3 && strcmp(argv[1], "--older-than") == 0)
			age = parse_age(argv[2]);
		else if (argc != 1)
			goto usage;
		if (age < 0)
			goto usage;
		rc = store_dead_purge(st, age, &count) ? 1 : 0;
		if (rc == 0)
			printf("purged %zu dead job(s)\n", count);
	} else {
		goto usage;
	}
	store_close(st);
	return rc;
usage:
	store_close(st);
	fputs(usage, stderr);
	return 2;
}

/* For container HEALTHCHECKs (no curl in the image): GET /healthz on the
 * configured listen address; exit 0 on HTTP 200. */
static int cmd_healthcheck(const struct config *c)
{
	struct httpc_opts o = { .connect_timeout_ms = 2000, .timeout_ms = 3000, .allow_http = 1 };
	struct httpc_response r;
	struct httpc *h = httpc_new(&o);
	const char *colon = strrchr(c->listen, ':');
	char host[128], url[256];
	size_t hl;
	int ok;

	if (h == NULL || colon == NULL) {
		httpc_free(h);
		return 1;
	}
	hl = (size_t)(colon - c->listen);
	if (hl >= sizeof(host))
		hl = sizeof(host) - 1;
	memcpy(host, c->listen, hl);
	host[hl] = '\0';
	if (strcmp(host, "0.0.0.0") == 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "127.0.0.1");
	else if (strcmp(host, "[::]") == 0)
		snprintf(host, sizeof(host), "[::1]");
	snprintf(url, sizeof(url), "http://%s:%s/healthz", host, colon + 1);
	ok = httpc_request(h, "GET", url, NULL, NULL, 0, &r) == 0 && r.status == 200;
	printf("healthz: %s\n", ok ? "ok" : (r.error[0] ? r.error : "unhealthy"));
	httpc_response_free(&r);
	httpc_free(h);
	return ok ? 0 : 1;
}

static int differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* Some settings are read once at start: the listener, the store, the worker
 * threads with their HTTP clients, and the Matillion client. A reload keeps
 * their old values, so say which changed ones (names only, never values)
 * need a restart. */
static void note_restart_only(const struct config *o, const struct config *n)
{
	const struct { const char *key; int changed; } k[] = {
		{ "listen", differs(o->listen, n->listen) },
		{ "store", differs(o->store, n->store) },
		{ "workers", o->workers != n->workers },
		{ "max_connections", o->max_connections != n->max_connections },
		{ "max_connections_per_ip", o->max_connections_per_ip != n->max_connections_per_ip },
		{ "connection_timeout", o->connection_timeout != n->connection_timeout },
		{ "allow_core_dumps", o->allow_core_dumps != n->allow_core_dumps },
	};
	char keys[512];
	size_t i, len = 0;

	keys[0] = '\0';
	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		int w;
		if (!k[i].changed)
			continue;
		w = snprintf(keys + len, sizeof(keys) - len, "%s%s", len ? "," : "", k[i].key);
		if (w < 0 || (size_t)w >= sizeof(keys) - len)
			break;
		len += (size_t)w;
	}
	if (len > 0)
		log_event(LOG_WARN, "config: changed settings take effect only after a restart",
			  "keys", keys, NULL);
}

/* SIGHUP: load the file again; install it only if valid. */
static void reload(struct config_holder *h, const char *path)
{
	struct diags d = { 0 };
	struct config *c = config_load(path, &d);
	const struct config *old;

	log_diags(&d, "config: reload: ");
	diags_free(&d);
	if (c == NULL) {
		log_event(LOG_ERROR, "config reload rejected, keeping the running config", NULL);
		return;
	}
	old = config_get(h);
	note_restart_only(old, c);
	config_put(h, old);
	log_setup(c->log_level, c->log_format);
	config_swap(h, c);
	log_event(LOG_INFO, "config reloaded", NULL);
}

/* The running service. The store may be missing (corrupt or unreadable
 * file): intake then answers 503 and /readyz says why, while the main loop
 * retries opening it and starts the workers once it opens. */
struct service {
	const char *path;            /* config file, for reloads */
	struct config_holder *h;
	struct store *st;
	_Atomic(struct workers *) w; /* NULL until the store opened */
	struct intake *in;
};

static int service_ready(void *ctx)
{
	struct service *sv = ctx;

	return workers_running(atomic_load(&sv->w));
}

/* Opens the store and starts the workers; logs why not (at most once a
 * minute, the cause rarely changes). Returns 0 when both are up. */
static int service_open_store(struct service *sv, int64_t *next_log)
{
	const struct config *c = config_get(sv->h);
	struct workers *w;
	char err[256];
	int rc = 1;

	sv->st = store_open(c->store, err, sizeof(err));
	if (sv->st == NULL) {
		if (store_now_ms() >= *next_log) {
			log_event(LOG_ERROR, "cannot open store; webhooks get 503 until it opens",
				  "path", c->store, "error", err, NULL);
			*next_log = store_now_ms() + 60 * 1000;
		}
		goto out;
	}
	w = workers_start(sv->h, sv->st);
	if (w == NULL) {
		log_event(LOG_ERROR, "cannot start workers", NULL);
		store_close(sv->st);
		sv->st = NULL;
		goto out;
	}
	atomic_store(&sv->w, w);
	if (sv->in != NULL)
		intake_set_store(sv->in, sv->st);
	log_event(LOG_INFO, "store open, workers started", "path", c->store, NULL);
	rc = 0;
out:
	config_put(sv->h, c);
	return rc;
}

/* Waits for signals; reloads on SIGHUP, prunes hourly, retries a missing
 * store every few seconds. Returns the signal that asked to stop. */
static int serve_loop(struct service *sv)
{
	sigset_t set;
	int64_t next_prune = 0, next_log = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	for (;;) {
		struct timespec ts = { sv->st != NULL ? 60 : 5, 0 };
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGHUP)
			reload(sv->h, sv->path);
		else if (sig == SIGTERM || sig == SIGINT)
			return sig;
		if (sv->st == NULL && service_open_store(sv, &next_log) != 0)
			continue;
		if (store_now_ms() >= next_prune) {
			const struct config *c = config_get(sv->h);
			store_prune(sv->st, c->dedup_window);
			config_put(sv->h, c);
			next_prune = store_now_ms() + PRUNE_EVERY_S * 1000LL;
		}
	}
}

static int cmd_serve(struct config *c, const char *path)
{
	struct service sv = { .path = path };
	int64_t next_log = 0;
	char err[256], port[16];
	sigset_t set;
	int grace = c->shutdown_grace, sig, left;

	/* Signals are taken synchronously by the main thread only. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (c->allow_unauthenticated && c->n_auth_tokens == 0 && c->n_hmac_secrets == 0)
		log_event(LOG_WARN, "webhook authentication is OFF (allow_unauthenticated = true)", NULL);
	atomic_init(&sv.w, NULL);
	sv.h = config_holder_new(c);
	if (sv.h == NULL) {
		config_free(c);
		return 1;
	}
	service_open_store(&sv, &next_log);
	sv.in = intake_start(sv.h, sv.st, service_ready, &sv, err, sizeof(err));
	if (sv.in == NULL) {
		log_event(LOG_ERROR, "cannot start HTTP listener", "error", err, NULL);
		workers_stop(atomic_load(&sv.w), 0);
		store_close(sv.st);
		config_holder_free(sv.h);
		return 1;
	}
	snprintf(port, sizeof(port), "%u", intake_port(sv.in));
	log_event(LOG_INFO, "dpc-notify started", "version", DPC_VERSION, "port", port, NULL);
	sig = serve_loop(&sv);
	log_event(LOG_INFO, "shutting down", "signal", sig == SIGTERM ? "TERM" : "INT", NULL);
	intake_drain(sv.in);
	left = workers_stop(atomic_load(&sv.w), grace);
	if (left > 0) {
		/* Threads still inside a job may use the store and the HTTP
		 * clients: exit without tearing them down. Their jobs stay
		 * "running" in the store and are queued again at the next
		 * start. */
		log_event(LOG_WARN, "shutdown grace expired, jobs left for restart", NULL);
		_exit(0);
	}
	intake_stop(sv.in);
	store_close(sv.st);
	config_holder_free(sv.h);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("DPC_NOTIFY_CONFIG");
	const char *cmd = "serve";
	struct core_state core;
	struct config *c;
	int ch, rc;

	core_dumps_off(&core); /* first: nothing secret has been read yet */
	if (path == NULL || *path == '\0')
		path = DEFAULT_CONFIG;
	/* "+" stops at the first command word so its own options pass through. */
	while ((ch = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': printf("dpc-notify %s\n", DPC_VERSION); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	if (strcmp(cmd, "check-config") == 0)
		return cmd_check_config(path);
	if (strcmp(cmd, "serve") && strcmp(cmd, "preview") && strcmp(cmd, "send-test") &&
	    strcmp(cmd, "jobs") && strcmp(cmd, "dead") && strcmp(cmd, "healthcheck")) {
		fprintf(stderr, "dpc-notify: unknown command \"%s\"\n%s", cmd, usage);
		return 2;
	}
	c = strcmp(cmd, "serve") == 0 ? load_logged(path) : load(path, stderr);
	if (c == NULL)
		return 1;
	if (c->allow_core_dumps)
		core_dumps_restore(&core);
	log_setup(c->log_level, c->log_format);
	httpc_global_init();
	if (strcmp(cmd, "serve") == 0) {
		rc = cmd_serve(c, path); /* takes c */
		httpc_global_cleanup();
		return rc;
	}
	if (strcmp(cmd, "preview") == 0)
		rc = cmd_preview(c, argc - optind, argv + optind);
	else if (strcmp(cmd, "healthcheck") == 0)
		rc = cmd_healthcheck(c);
	else if (strcmp(cmd, "send-test") == 0)
		rc = cmd_send_test(c, argc - optind, argv + optind);
	else
		rc = cmd_store(c, cmd, argc - optind, argv + optind);
	config_free(c);
	httpc_global_cleanup();
	return rc;
}
