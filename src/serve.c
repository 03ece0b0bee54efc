/* serve: the running service. It wires intake, store and workers
 * together, waits for signals (SIGHUP reloads the config, SIGTERM and
 * SIGINT drain and stop; POST /-/reload reloads too), prunes the store
 * hourly, looks every few seconds for silences that ended with runs held
 * back, and retries a store that could not be opened. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "clock.h"
#include "config.h"
#include "errors.h"
#include "intake.h"
#include "log.h"
#include "metrics.h"
#include "parse.h"
#include "poll.h"
#include "retry.h"
#include "route.h"
#include "serve.h"
#include "store.h"
#include "worker.h"

#ifndef DPC_VERSION
#define DPC_VERSION "dev"
#endif
#define PRUNE_EVERY_S 3600
#define HELD_EVERY_S 5     /* looks for ended silences with runs held back */
#define HELD_LIST_MAX 4096 /* notes summarised per look at most; more wait for the next */

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
struct config *serve_load(const char *path)
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
	const struct {
		const char *key;
		int changed;
	} k[] = {
		{ "listen", differs(o->listen, n->listen) },
		{ "admin_listen", differs(o->admin_listen, n->admin_listen) },
		{ "store", differs(o->store, n->store) },
		{ "workers", o->workers != n->workers },
		{ "max_connections", o->max_connections != n->max_connections },
		{ "max_connections_per_ip",
		  o->max_connections_per_ip != n->max_connections_per_ip },
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

/* A short SHA-256 of the config file's bytes, for dpc_notify_config_info:
 * enough to tell versions apart, too short to test guesses of a secret
 * written in the file against. "" when the file cannot be read. */
#define CONFIG_HASH_HEX 16
static void config_hash(const char *path, char out[METRICS_HASH_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[8192];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	FILE *f = fopen(path, "rb");
	size_t n;
	int ok = ctx != NULL && f != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

	while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		ok = EVP_DigestUpdate(ctx, buf, n) == 1;
	ok = ok && !ferror(f) && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	out[0] = '\0';
	for (i = 0; ok && i < mdlen && i < CONFIG_HASH_HEX / 2; i++)
		snprintf(out + 2 * i, METRICS_HASH_MAX - 2 * i, "%02x", md[i]);
	if (f != NULL)
		fclose(f);
	EVP_MD_CTX_free(ctx);
}

/* Records a load attempt in the metrics; the hash only when it took. */
static void note_load(const char *path, int ok)
{
	char hash[METRICS_HASH_MAX];

	if (ok)
		config_hash(path, hash);
	metrics_config_loaded(ok, (int64_t)time(NULL), ok ? hash : NULL);
}

/* SIGHUP or POST /-/reload: load the file again; install it only if
 * valid. Returns 0 when installed. */
static int reload(struct config_holder *h, const char *path)
{
	struct diags d = { 0 };
	struct config *c = config_load(path, &d);
	const struct config *old;

	log_diags(&d, "config: reload: ");
	diags_free(&d);
	if (c == NULL) {
		log_event(LOG_ERROR, "config reload rejected, keeping the running config", NULL);
		note_load(path, 0);
		return 1;
	}
	old = config_get(h);
	/* A single-file bind mount pins the inode it was started with: an
	 * edit on the host that writes a new file (sed -i, most editors) never
	 * reaches the container, which then reloads the old text. */
	if (config_same_file(old, c))
		log_event(LOG_WARN,
			  "config: reload: the file did not change since the last load; if you"
			  " edited it, a single-file bind mount does not follow edits that replace"
			  " the file (sed -i, most editors): mount its directory instead",
			  "path", path, NULL);
	note_restart_only(old, c);
	config_put(h, old);
	log_setup(c->log_level, c->log_format);
	config_swap(h, c);
	note_load(path, 1);
	log_event(LOG_INFO, "config reloaded", NULL);
	return 0;
}

/* 1 inside a container: Docker's /.dockerenv, Podman's
 * /run/.containerenv, a Kubernetes pod's environment, or a runtime's name
 * in PID 1's cgroup path. DPC_NOTIFY_CONTAINER=1 or 0 overrides the guess
 * (tests, and runtimes that leave no trace); it is read for nothing else. */
static int in_container(void)
{
	static const char *const hints[] = { "docker", "kubepods", "containerd", "libpod", "lxc" };
	const char *force = getenv("DPC_NOTIFY_CONTAINER");
	char buf[4096];
	size_t i, n = 0;
	FILE *f;

	if (force != NULL && *force != '\0')
		return strcmp(force, "0") != 0;
	if (access("/.dockerenv", F_OK) == 0 || access("/run/.containerenv", F_OK) == 0 ||
	    getenv("KUBERNETES_SERVICE_HOST") != NULL)
		return 1;
	f = fopen("/proc/1/cgroup", "r");
	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (strstr(buf, hints[i]) != NULL)
			return 1;
	return 0;
}

static int is_loopback(const struct hostport *hp)
{
	char host[64];

	if (hp->host_len >= sizeof(host))
		return 0;
	memcpy(host, hp->host, hp->host_len);
	host[hp->host_len] = '\0';
	return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
	       strcmp(host, "::1") == 0 || strncmp(host, "::ffff:127.", 11) == 0;
}

/* Writes where a listener (configured as addr; in: NULL when off) is
 * bound, with the port it really got, into out ("off" when it is off).
 * Returns 1 when it is bound to loopback. */
static int bound_address(const char *addr, const struct intake *in, char *out, size_t len)
{
	struct hostport hp;

	snprintf(out, len, "off");
	if (in == NULL || parse_hostport(addr, &hp) != 0) /* checked by config_load() */
		return 0;
	snprintf(out, len, "%s%.*s%s:%u", hp.bracketed ? "[" : "", (int)hp.host_len, hp.host,
		 hp.bracketed ? "]" : "", intake_port(in));
	return is_loopback(&hp);
}

/* Logs the addresses the listeners are bound to, and warns once about a
 * loopback address in a container: the container's own healthcheck
 * (dpc-notify healthcheck) passes while nothing outside can connect, so
 * webhooks never arrive, or Kubernetes probes and Prometheus cannot reach
 * the admin listener. Outside a container loopback is what an admin
 * listener should be. */
static void log_listen(const struct config *c, const struct intake *in, const struct intake *admin)
{
	char addr[300], admin_addr[300], port_s[16];
	int loop = bound_address(c->listen, in, addr, sizeof(addr));
	int admin_loop = bound_address(c->admin_listen, admin, admin_addr, sizeof(admin_addr));
	int boxed = (loop || admin_loop) && in_container();

	snprintf(port_s, sizeof(port_s), "%u", intake_port(in != NULL ? in : admin));
	log_event(LOG_INFO, "dpc-notify started", "version", DPC_VERSION, "listen", addr,
		  "admin_listen", admin_addr, "port", port_s, NULL);
	if (loop && boxed)
		log_event(LOG_WARN,
			  "listen address is loopback inside a container: unless it shares the"
			  " host's network, only the container itself can connect (its healthcheck"
			  " passes, webhooks never arrive); set [server] listen = 0.0.0.0:8080 and"
			  " publish the port",
			  "listen", addr, NULL);
	if (admin_loop && boxed)
		log_event(LOG_WARN,
			  "admin_listen address is loopback inside a container: the image's"
			  " healthcheck passes, but Kubernetes probes and Prometheus cannot"
			  " connect; set [server] admin_listen = 0.0.0.0:9091 and use that port",
			  "admin_listen", admin_addr, NULL);
}

/* The running service. The store may be missing (corrupt or unreadable
 * file): intake then answers 503 and /readyz says why, while the main loop
 * retries opening it and starts the workers once it opens. */
struct service {
	const char *path; /* config file, for reloads */
	struct config_holder *h;
	struct store *st;
	_Atomic(struct workers *) w; /* NULL until the store opened */
	struct intake *in;           /* the webhook listener; NULL with listen = off */
	struct intake *admin;        /* the admin listener; NULL with admin_listen = off */
	pthread_mutex_t reload_mu;   /* one reload at a time: SIGHUP or /-/reload */
	pthread_mutex_t poll_mu;     /* guards poll against a nudge while it stops */
	struct poller *poll;         /* NULL until the workers run */
};

/* The poller's way to the workers' Matillion client (poll.h). */
static struct dpc *service_dpc_get(void *ctx, const struct config *c, void **ref)
{
	struct service *sv = ctx;
	struct workers *w = atomic_load(&sv->w);

	*ref = NULL;
	return w != NULL ? workers_dpc_get(w, c, ref) : NULL;
}

static void service_dpc_put(void *ctx, void *ref)
{
	struct service *sv = ctx;

	workers_dpc_put(atomic_load(&sv->w), ref);
}

/* A webhook that names no run (on a listener thread). */
static int service_nudge(void *ctx, const char *project_id)
{
	struct service *sv = ctx;
	int rc;

	pthread_mutex_lock(&sv->poll_mu);
	rc = poll_nudge(sv->poll, project_id);
	pthread_mutex_unlock(&sv->poll_mu);
	return rc;
}

/* Starts the poller once the workers run; a failure is logged and the
 * service goes on with webhooks only. */
static void service_poll_start(struct service *sv)
{
	const struct poll_api api = { service_dpc_get, service_dpc_put, sv };
	struct poller *p = poll_start(sv->h, sv->st, &api);

	if (p == NULL)
		log_event(LOG_ERROR, "cannot start the poller; webhooks only", NULL);
	pthread_mutex_lock(&sv->poll_mu);
	sv->poll = p;
	pthread_mutex_unlock(&sv->poll_mu);
}

static void service_poll_stop(struct service *sv)
{
	struct poller *p;

	pthread_mutex_lock(&sv->poll_mu);
	p = sv->poll;
	sv->poll = NULL;
	pthread_mutex_unlock(&sv->poll_mu);
	poll_stop(p);
}

/* A reload from SIGHUP (main thread) or POST /-/reload (a listener
 * thread), one at a time. */
static int service_reload(void *ctx)
{
	struct service *sv = ctx;
	int rc;

	pthread_mutex_lock(&sv->reload_mu);
	rc = reload(sv->h, sv->path);
	pthread_mutex_unlock(&sv->reload_mu);
	return rc;
}

/* /readyz beyond the store (which intake checks): the workers run. This
 * is the hook for anything else a ready service needs, such as a poller
 * that finds runs when no webhook listener does (listen = off). */
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
		if (clock_wall_ms() >= *next_log) {
			log_event(LOG_ERROR, "cannot open store; webhooks get 503 until it opens",
				  "path", c->store, "error", err, NULL);
			*next_log = clock_wall_ms() + 60 * 1000;
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
	service_poll_start(sv);
	intake_set_store(sv->in, sv->st);
	intake_set_store(sv->admin, sv->st);
	log_event(LOG_INFO, "store open, workers started", "path", c->store, NULL);
	rc = 0;
out:
	config_put(sv->h, c);
	return rc;
}

/* ---- summaries of what silences held back ---- */

/* One due note, copied out of the store's callback. */
struct held_key {
	char project_id[WEBHOOK_ID_MAX];
	char environment[WEBHOOK_TEXT_MAX];
	char pipeline[WEBHOOK_TEXT_MAX];
	enum run_status status;
};

struct held_list {
	struct held_key *k;
	size_t n, cap;
};

static void held_add(void *ctx, const struct mem_key *k, const struct held_note *n, uint32_t count)
{
	struct held_list *l = ctx;
	struct held_key *nk;
	size_t cap;

	(void)count;
	if (l->n == l->cap) {
		if (l->cap >= HELD_LIST_MAX)
			return;
		cap = l->cap ? l->cap * 2 : 16;
		nk = realloc(l->k, cap * sizeof(*nk));
		if (nk == NULL)
			return; /* the rest waits for the next look */
		l->k = nk;
		l->cap = cap;
	}
	nk = &l->k[l->n++];
	snprintf(nk->project_id, sizeof(nk->project_id), "%s", k->project_id);
	snprintf(nk->environment, sizeof(nk->environment), "%s", k->environment);
	snprintf(nk->pipeline, sizeof(nk->pipeline), "%s", k->pipeline);
	nk->status = n->status;
}

/* Whether pipeline k is silenced now by another silence or p's mute
 * windows: its summary then waits until nothing covers it. */
static int still_silenced(struct store *st, const struct project *p, const struct mem_key *k,
			  int64_t now)
{
	int yes = 0;

	if (p != NULL && mute_windows_active(p->mute_windows, p->n_mute_windows, now))
		return 1;
	return store_silenced(st, k, now, &yes) != 0 || yes;
}

/* One note due: summarised to the destinations of the route the held
 * run takes (by project, environment and pipeline) when that route
 * notifies its status (none: the note is dropped). */
static void held_one(struct service *sv, const struct config *c, const struct held_key *hk,
		     int64_t now)
{
	const struct mem_key k = { hk->project_id, hk->environment, hk->pipeline };
	const struct project *p =
		route_select(c, hk->project_id, hk->environment, hk->pipeline, NULL);
	int routed = p != NULL && route_match(p, hk->status, hk->environment);
	int64_t jid = 0;
	int rc;

	if (still_silenced(sv->st, p, &k, now))
		return;
	rc = store_held_summarise(sv->st, &k, routed ? p->destinations : NULL,
				  routed ? p->n_destinations : 0, now, &jid);
	if (rc == 0 && jid > 0)
		log_event(LOG_INFO, "silence ended: summary of held runs queued", NULL);
	else if (rc == 0)
		log_event(LOG_INFO, "silence ended: incident closed or not routed, nothing to post",
			  NULL);
	else if (rc != ERR_NOTFOUND)
		log_event(LOG_ERROR, "silence ended: summary failed", "error", err_str(rc), NULL);
}

/* Summarises every note whose silence or mute windows ended (the store
 * makes each summary once, however many services look). */
static void held_summaries(struct service *sv)
{
	const struct config *c = config_get(sv->h);
	struct held_list l = { NULL, 0, 0 };
	int64_t now = clock_wall_ms();
	size_t i;

	if (store_held_due(sv->st, now, held_add, &l) == 0)
		for (i = 0; i < l.n; i++)
			held_one(sv, c, &l.k[i], now);
	free(l.k);
	config_put(sv->h, c);
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
		struct timespec ts = { sv->st != NULL ? HELD_EVERY_S : 5, 0 };
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGHUP)
			service_reload(sv);
		else if (sig == SIGTERM || sig == SIGINT)
			return sig;
		if (sv->st == NULL && service_open_store(sv, &next_log) != 0)
			continue;
		if (clock_wall_ms() >= next_prune) {
			const struct config *c = config_get(sv->h);
			store_prune(sv->st, c->dedup_window);
			/* Run memory forgets pipelines unseen for forget_after. */
			store_memory_prune(
				sv->st,
				retry_sat_add(clock_wall_ms(), -retry_s_to_ms(c->forget_after_s)),
				NULL);
			config_put(sv->h, c);
			next_prune = clock_wall_ms() + PRUNE_EVERY_S * 1000LL;
		}
		held_summaries(sv);
	}
}

/* Starts the listeners c turns on (the webhook one, the admin one, or
 * both; config_load() makes sure there is one) and logs where they are.
 * 0, or 1 after logging why not, with none left running. */
static int service_listen(struct service *sv, const struct config *c)
{
	char err[256];

	if (!config_listen_off(c->listen)) {
		sv->in = intake_start(sv->h, sv->st, service_ready, sv, err, sizeof(err));
		if (sv->in == NULL)
			goto fail;
		intake_set_reload(sv->in, service_reload, sv);
		intake_set_nudge(sv->in, service_nudge, sv);
	}
	if (!config_listen_off(c->admin_listen)) {
		sv->admin = intake_start_admin(sv->h, sv->st, service_ready, sv, err, sizeof(err));
		if (sv->admin == NULL)
			goto fail;
		intake_set_reload(sv->admin, service_reload, sv);
	}
	log_listen(c, sv->in, sv->admin);
	return 0;
fail:
	log_event(LOG_ERROR, "cannot start HTTP listener", "error", err, NULL);
	intake_stop(sv->in);
	sv->in = NULL;
	return 1;
}

int serve_run(struct config *c, const char *path)
{
	struct service sv = { .path = path,
			      .reload_mu = PTHREAD_MUTEX_INITIALIZER,
			      .poll_mu = PTHREAD_MUTEX_INITIALIZER };
	int64_t next_log = 0;
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
		log_event(LOG_WARN, "webhook authentication is OFF (allow_unauthenticated = true)",
			  NULL);
	atomic_init(&sv.w, NULL);
	note_load(path, 1); /* the config serve_load() read */
	sv.h = config_holder_new(c);
	if (sv.h == NULL) {
		config_free(c);
		return 1;
	}
	service_open_store(&sv, &next_log);
	if (service_listen(&sv, c) != 0) {
		service_poll_stop(&sv);
		workers_stop(atomic_load(&sv.w), 0);
		store_close(sv.st);
		config_holder_free(sv.h);
		return 1;
	}
	sig = serve_loop(&sv);
	log_event(LOG_INFO, "shutting down", "signal", sig == SIGTERM ? "TERM" : "INT", NULL);
	intake_drain(sv.in);
	intake_drain(sv.admin);
	/* The poller uses the workers' client: it stops first. */
	service_poll_stop(&sv);
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
	intake_stop(sv.admin);
	store_close(sv.st);
	config_holder_free(sv.h);
	return 0;
}
