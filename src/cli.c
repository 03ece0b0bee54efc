/* The command line's subcommands other than serve: check-config, preview,
 * send-test, jobs, dead, incidents, history, silence and healthcheck. Each loads what it needs, does
 * one thing and returns the process exit code. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "cli.h"
#include "clock.h"
#include "config.h"
#include "deliver.h"
#include "dpc.h"
#include "errors.h"
#include "httpc.h"
#include "log.h"
#include "memory.h"
#include "parse.h"
#include "render.h"
#include "route.h"
#include "silence.h"
#include "slackapi.h"
#include "slackapp.h"
#include "store.h"
#include "summary.h"
#include "target.h"
#include "text.h"
#include "thread.h"

const char cli_usage[] =
	"usage: dpc-notify [-c FILE] [serve]\n"
	"       dpc-notify [-c FILE] check-config [--online]\n"
	"       dpc-notify [-c FILE] preview PROJECT_ID EXECUTION_ID [--format TYPE|text]\n"
	"       dpc-notify [-c FILE] send-test DESTINATION\n"
	"       dpc-notify [-c FILE] jobs [--state queued|running|delivered|dead|ignored]\n"
	"       dpc-notify [-c FILE] dead list | dead retry ID|--all | dead purge [--older-than 7d]\n"
	"       dpc-notify [-c FILE] incidents [--open] [--json]\n"
	"       dpc-notify [-c FILE] history PROJECT_ID PIPELINE [--environment ENV] [--limit N]"
	" [--json]\n"
	"       dpc-notify [-c FILE] silence add --project ID|--pipeline GLOB [--project ID]\n"
	"                  [--environment GLOB] --for 2h|--until TIME --reason TEXT\n"
	"       dpc-notify [-c FILE] silence list [--all] [--json] | silence remove ID\n"
	"       dpc-notify [-c FILE] healthcheck\n"
	"       dpc-notify --help | --version\n"
	"\n"
	"Receives Matillion pipeline-run webhooks and posts failure summaries to\n"
	"Slack and Microsoft Teams. The config file defaults to $DPC_NOTIFY_CONFIG,\n"
	"then " CLI_DEFAULT_CONFIG ". See dpc-notify(8) and dpc-notify.ini(5).\n";

/* 1 for the commands that only read or change the store: they need
 * neither the Matillion credentials nor the webhook URLs. */
static int store_only(const char *cmd)
{
	static const char *const cmds[] = { "jobs", "dead", "incidents", "history", "silence" };
	size_t i;

	for (i = 0; cmd != NULL && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i]) == 0)
			return 1;
	return 0;
}

struct config *cli_load(const char *path, const char *cmd, FILE *out)
{
	struct diags d = { 0 };
	struct config *c = config_load_flags(path, store_only(cmd) ? CONFIG_READ_ONLY : 0, &d);
	size_t i;

	for (i = 0; i < d.n; i++)
		fprintf(out, "%s\n", d.lines[i]);
	diags_free(&d);
	return c;
}

/* check-config --online: asks Slack about every slack-app destination
 * (token and channel); 1 when one of them cannot be posted to. */
static int check_online(const struct config *c)
{
	struct httpc *h = httpc_from_config(c);
	const struct destination *d;
	char why[320];
	size_t i;
	int rc, bad = 0;

	if (h == NULL)
		return 1;
	for (i = 0; i < c->n_destinations; i++) {
		d = &c->destinations[i];
		if (!slackapp_is(d->target))
			continue;
		rc = slackapi_check(h, d->url, d->secret, d->channel, why, sizeof(why));
		printf("[destination %s] %s: %s\n", d->name,
		       rc == 0 ? "online ok" : "online FAILED", why);
		bad |= rc != 0;
	}
	httpc_free(h);
	return bad;
}

int cli_check_config(const char *path, int argc, char **argv)
{
	struct config *c;
	int online = argc == 1 && strcmp(argv[0], "--online") == 0, rc = 0;

	if (argc > 1 || (argc == 1 && !online)) {
		fputs(cli_usage, stderr);
		return 2;
	}
	c = cli_load(path, "check-config", stdout);
	if (c == NULL) {
		printf("%s: invalid\n", path);
		return 1;
	}
	config_print_summary(c, stdout);
	if (online) {
		httpc_global_init();
		rc = check_online(c);
		httpc_global_cleanup();
	}
	printf("%s: %s\n", path, rc == 0 ? "valid" : "valid, but a destination cannot be reached");
	config_free(c);
	return rc;
}

/* A stored string for a terminal: control characters, bidi overrides
 * and invalid UTF-8 replaced, newlines made spaces (one run per line).
 * Caller frees; NULL when out of memory. */
static char *for_tty(const char *s)
{
	return text_sanitize(s != NULL ? s : "-", s != NULL ? strlen(s) : 1, 0);
}

/* The target row a preview format names, or NULL for "text" (and for an
 * unknown name, which the caller has refused). Exact case, as ever. */
static const struct target *preview_target(const char *fmt)
{
	const struct target *t = target_find(fmt);

	return t != NULL && strcmp(t->name, fmt) == 0 ? t : NULL;
}

/* A preview has no destination, so no mention and the default severity. */
static char *render_format(const struct summary *s, const char *fmt)
{
	static const struct render_opts none = { .mention = NULL };
	const struct target *t = preview_target(fmt);

	return t != NULL ? t->render(s, &none) : plaintext_render(s);
}

/* Run memory for a preview: what the service would decide for this run
 * now, without remembering it. Its context goes into s; what it would
 * not post is said on stderr. A store that cannot be opened (or a run
 * without a pipeline name) previews without memory. */
static void preview_memory(const struct config *c, const char *project_id, const char *execution_id,
			   struct summary *s)
{
	static const char *const held[] = {
		[MEM_RECORD] = "only remembered (not posted)",
		[MEM_HOLD] = "held back (not posted)",
	};
	const struct project *p =
		route_select(c, project_id, s->environment, s->pipeline_name, NULL);
	const struct mem_key k = { project_id, s->environment, s->pipeline_name };
	struct mem_run ev;
	struct mem_policy pol;
	struct mem_decision d;
	struct store *st;
	char err[256];

	if (*s->pipeline_name == '\0')
		return;
	st = store_open(c->store, err, sizeof(err));
	if (st == NULL) {
		fprintf(stderr, "preview: no run memory (%s)\n", err);
		return;
	}
	/* Previewed now: now stands for the run's arrival, as in the service. */
	mem_run_of(s, (int64_t)time(NULL) * 1000, &ev);
	route_run_policy(p, s->environment, &pol);
	pol.record_only = !route_trigger_allows(p, s->trigger);
	if (store_memory_preview(st, &k, execution_id, &ev, &pol, &d) != 0)
		fprintf(stderr, "preview: run memory could not be read\n");
	else if (d.action == MEM_DUPLICATE)
		fprintf(stderr, "preview: run memory already has this run\n");
	else if (d.action == MEM_RECORD || d.action == MEM_HOLD)
		fprintf(stderr, "preview: run memory: the service would keep this run %s\n",
			held[d.action]);
	else
		mem_context_fill(&d, &s->memory);
	store_close(st);
}

/* The status names of mask, comma-separated, into out (SLOW last). */
static void mask_names(unsigned mask, char *out, size_t cap)
{
	size_t len = 0;
	int st, w;

	out[0] = '\0';
	for (st = 0; st <= ST__MAX; st++) {
		if (st < ST__MAX ? !(mask & STATUS_BIT(st)) : !(mask & MEM_NOTIFY_SLOW))
			continue;
		w = snprintf(out + len, cap - len, "%s%s", len ? "," : "",
			     st < ST__MAX ? status_names[st] : "SLOW");
		if (w < 0 || (size_t)w >= cap - len)
			return;
		len += (size_t)w;
	}
}

/* The kinds of run in a triggers mask, comma-separated. */
static void trigger_names(unsigned mask, char *out, size_t cap)
{
	size_t len = 0;
	int t, w;

	out[0] = '\0';
	for (t = 0; t < TRIG__MAX; t++) {
		if (!(mask & TRIGGER_BIT(t)))
			continue;
		w = snprintf(out + len, cap - len, "%s%s", len ? "," : "", route_trigger_names[t]);
		if (w < 0 || (size_t)w >= cap - len)
			return;
		len += (size_t)w;
	}
}

/* A list of globs as written, comma-separated, or "(all)". */
static void list_names(char *const *v, size_t n, char *out, size_t cap)
{
	size_t i, len = 0;
	int w;

	snprintf(out, cap, "(all)");
	for (i = 0; i < n; i++) {
		w = snprintf(out + len, cap - len, "%s%s", i ? "," : "", v[i]);
		if (w < 0 || (size_t)w >= cap - len)
			return;
		len += (size_t)w;
	}
}

/* The destinations of a notifying route, one line each, with the mention
 * a problem run would carry. */
static void preview_destinations(const struct config *c, const struct project *p,
				 const struct summary *s)
{
	const struct destination *d;
	const char *mention;
	size_t i;

	for (i = 0; i < p->n_destinations; i++) {
		d = config_destination(c, p->destinations[i]);
		if (d == NULL)
			continue;
		mention = route_mention(p, d, s->pipeline_name);
		fprintf(stderr, "preview: route: -> %s (%s), %s%s\n", d->name, d->target->name,
			mention ? "mention " : "no mention", mention ? mention : "");
	}
}

/* Says on stderr what the service would do with this run: which section
 * routes it, notify or ignore and why, and to which destinations with
 * which mention. Run memory may still hold a message back (said apart). */
static void preview_route(const struct config *c, const struct summary *s)
{
	const struct project *p =
		route_select(c, s->project_id, s->environment, s->pipeline_name, NULL);
	int is_route =
		p != NULL && c->n_routes > 0 && p >= c->routes && p < c->routes + c->n_routes;
	char *id = for_tty(is_route ? p->id : s->project_id), *env = for_tty(s->environment);
	char *trig = for_tty(s->trigger);
	char where[192], on[160], envs[512], kinds[64];
	size_t i;
	int env_ok = p != NULL && (*s->environment == '\0' || p->n_environments == 0);

	if (id == NULL || env == NULL || trig == NULL)
		goto out;
	if (p == NULL) {
		fprintf(stderr,
			"preview: route: ignore: no [project %s] section and no [default]\n", id);
		goto out;
	}
	snprintf(where, sizeof(where),
		 is_route   ? "[route %s]"
		 : p->id[0] ? "[project %s]"
			    : "[default]",
		 id);
	mask_names(p->notify_on, on, sizeof(on));
	list_names(p->environments, p->n_environments, envs, sizeof(envs));
	for (i = 0; !env_ok && i < p->n_environments; i++)
		env_ok = route_glob(p->environments[i], s->environment);
	trigger_names(p->triggers, kinds, sizeof(kinds));
	if (!route_trigger_allows(p, s->trigger)) {
		fprintf(stderr,
			"preview: route: not notified via %s: trigger %s excluded by triggers (%s);"
			" the run is only remembered\n",
			where, trig, kinds);
	} else if (route_match(p, s->status, s->environment)) {
		fprintf(stderr,
			"preview: route: notify via %s: status %s is in notify_on (%s), environment"
			" %s in environments %s\n",
			where, status_names[s->status], on, *env ? env : "(unknown)", envs);
		if (p->triggers != TRIGGERS_ALL)
			fprintf(stderr, "preview: route: trigger %s is in triggers (%s)%s\n", trig,
				kinds,
				route_trigger_kind(s->trigger) == TRIG__MAX
					? ", or has no kind: such a run always notifies"
					: "");
		preview_destinations(c, p, s);
	} else if (!env_ok) {
		fprintf(stderr,
			"preview: route: ignore via %s: environment %s matches none of environments"
			" %s\n",
			where, env, envs);
	} else {
		fprintf(stderr,
			"preview: route: ignore via %s: status %s is not in notify_on (%s)\n",
			where, status_names[s->status], on);
	}
out:
	free(id);
	free(env);
	free(trig);
}

static int cmd_preview(struct config *c, int argc, char **argv)
{
	const char *fmt = "text";
	char names[256];
	struct dpc *d = NULL;
	struct httpc *h = NULL;
	struct summary s;
	struct dpc_error e = { .retry_after_s = -1 };
	char *out = NULL;
	int rc = 1, i;

	memset(&s, 0, sizeof(s));
	if (argc < 2) {
		fputs(cli_usage, stderr);
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
	if (preview_target(fmt) == NULL && strcmp(fmt, "text") != 0) {
		target_names(names, sizeof(names), "text");
		fprintf(stderr, "preview: --format must be %s\n", names);
		return 2;
	}
	d = dpc_new(c);
	h = httpc_from_config(c);
	if (d == NULL || h == NULL || summary_init(&s, argv[0], argv[1], c->ui_base))
		goto out;
	if (summary_set_project_name(&s, route_project_name(c, argv[0])) != 0)
		goto out;
	if (dpc_fetch_summary(d, h, argv[0], argv[1], &s, &e) != 0) {
		fprintf(stderr, "preview: %s\n",
			e.message[0] ? e.message : "Matillion API request failed");
		goto out;
	}
	preview_route(c, &s);
	preview_memory(c, argv[0], argv[1], &s);
	out = render_format(&s, fmt);
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

/* "no HTTP response from HOST[:PORT]: detail" into out. The URL's path
 * and query are its secret, so only the host and port are named. */
static void no_response(const char *url, const char *detail, char *out, size_t cap)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *shown = NULL;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
	shown = host != NULL ? for_tty(host) : NULL;
	if (shown != NULL)
		snprintf(out, cap, "no HTTP response from %s%s%s: %s", shown, port ? ":" : "",
			 port ? port : "", detail);
	else
		snprintf(out, cap, "no HTTP response: %s", detail);
	free(shown);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

static int cmd_send_test(struct config *c, int argc, char **argv)
{
	struct deliver_opts po = { NULL, NULL };
	char post_id[48];
	const struct destination *d;
	struct deliver_result r;
	struct summary s;
	struct httpc *h = NULL;
	char *body = NULL, what[320];
	int rc = 1;

	memset(&s, 0, sizeof(s));
	if (argc != 1) {
		fputs(cli_usage, stderr);
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
	body = d->target->render(
		&s, &(const struct render_opts){ .mention = d->mention, .severity = d->severity });
	/* Each test its own id: a receiver that drops a webhook-id it has
	 * seen would drop every test after the first. */
	snprintf(post_id, sizeof(post_id), "dpc-send-test-%lld", (long long)clock_wall_ms());
	po.secret = d->secret;
	po.post_id = post_id;
	if (body == NULL || thread_post(NULL, h, d, body, &po, &r) != 0) {
		fprintf(stderr, "send-test: cannot build the test message\n");
		goto out;
	}
	/* deliver's detail usually starts with the status already. */
	if (strncmp(r.detail, "HTTP ", 5) == 0)
		snprintf(what, sizeof(what), "%s", r.detail);
	else if (r.http_status > 0)
		snprintf(what, sizeof(what), "HTTP %ld %s", r.http_status, r.detail);
	else
		no_response(d->url, r.detail, what, sizeof(what));
	printf("send-test %s (%s): %s, %s, %.3fs\n", d->name, d->target->name,
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
	char when[32], note[48] = "";
	time_t t = (time_t)(j->received_ms / 1000);
	struct tm tm;

	(void)ctx;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* A follow-up of a degraded notice says whose; its own error is the
	 * API's technical reason, as on the job it completes. */
	if (j->followup_of > 0)
		snprintf(note, sizeof(note), "[follow-up of %lld] ", (long long)j->followup_of);
	printf("%-8lld %-9s %-3d %s  %-36s %-36s %-10s %s%s\n", (long long)j->id,
	       job_state_names[j->state], j->attempts, when, j->ev.project_id, j->ev.execution_id,
	       status_names[j->ev.status], note, j->last_error);
}

static int parse_state(const char *s)
{
	int i;

	for (i = 0; i < JOB__MAX; i++)
		if (strcmp(s, job_state_names[i]) == 0)
			return i;
	return -2;
}

/* "7d", "12h", "30m", "45s" or plain seconds, as in the config file; -1
 * when invalid or too large to count in seconds. */
static int64_t parse_age(const char *s)
{
	int64_t v;

	return parse_duration(s, &v) == 0 ? v : -1;
}

/* ms since the epoch as UTC "2026-11-30T02:00:00Z" into buf; "-" when it
 * is no date a struct tm can hold. */
static void fmt_utc(int64_t ms, char *buf, size_t cap)
{
	time_t t;
	struct tm tm;

	snprintf(buf, cap, "-");
	if (ms < 0 || ms / 1000 > (int64_t)253402300799LL) /* past 9999-12-31 */
		return;
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) != NULL)
		strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* jobs --state NAME with an unknown NAME: says which exist; returns 2. */
static int unknown_state(const char *name)
{
	char *shown = for_tty(name);
	int i;

	fprintf(stderr, "jobs: no state \"%s\"; the states are", shown ? shown : "?");
	for (i = 0; i < JOB__MAX; i++)
		fprintf(stderr, "%s %s", i ? "," : "", job_state_names[i]);
	fputc('\n', stderr);
	free(shown);
	return 2;
}

/* Prints a listing's JSON array and frees it; 1 when it cannot. */
static int json_print(cJSON *arr)
{
	char *text = arr != NULL ? cJSON_Print(arr) : NULL;
	int rc = text == NULL;

	if (text != NULL)
		printf("%s\n", text);
	free(text);
	cJSON_Delete(arr);
	return rc;
}

/* Adds a time as ms and as UTC text (null when no date). */
static void json_time(cJSON *o, const char *name, int64_t ms)
{
	char key[48], when[32];

	fmt_utc(ms, when, sizeof(when));
	snprintf(key, sizeof(key), "%s_ms", name);
	cJSON_AddNumberToObject(o, key, (double)ms);
	if (strcmp(when, "-") == 0)
		cJSON_AddNullToObject(o, name);
	else
		cJSON_AddStringToObject(o, name, when);
}

static void print_incident(void *ctx, const struct mem_incident_row *r)
{
	char since[32], last[32];
	char *proj, *env, *pipe;
	cJSON *arr = ctx, *o;

	if (arr == NULL) {
		fmt_utc(r->inc.since_ms, since, sizeof(since));
		fmt_utc(r->inc.last_ms, last, sizeof(last));
		proj = for_tty(r->project_id);
		env = for_tty(r->environment);
		pipe = for_tty(r->pipeline);
		if (proj != NULL && env != NULL && pipe != NULL)
			printf("%-36s %-12s %-32s %8lu %-20s %6lu  %s\n", proj, env, pipe,
			       (unsigned long)r->inc.failures, since, (unsigned long)r->inc.held,
			       last);
		free(proj);
		free(env);
		free(pipe);
		return;
	}
	o = cJSON_CreateObject();
	if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return;
	}
	cJSON_AddStringToObject(o, "project_id", r->project_id);
	cJSON_AddStringToObject(o, "environment", r->environment);
	cJSON_AddStringToObject(o, "pipeline", r->pipeline);
	cJSON_AddBoolToObject(o, "open", r->inc.open);
	cJSON_AddNumberToObject(o, "failures", r->inc.failures);
	cJSON_AddNumberToObject(o, "held", r->inc.held);
	cJSON_AddBoolToObject(o, "posted", r->inc.posted);
	json_time(o, "since", r->inc.since_ms);
	json_time(o, "last_failure", r->inc.last_ms);
	cJSON_AddStringToObject(o, "opened_by", r->opened_by);
}

#define CLI_ACTIONS_MAX 20 /* Slack clicks `incidents` lists */

/* One Slack button click, as `incidents` lists them under the incidents. */
static void count_action(void *ctx, const struct action *a)
{
	(void)a;
	(*(int *)ctx)++;
}

static void print_action(void *ctx, const struct action *a)
{
	char when[32], *user = for_tty(a->user_id), *pipe = for_tty(a->pipeline);
	char *detail = for_tty(a->detail);

	(void)ctx;
	fmt_utc(a->received_ms, when, sizeof(when));
	if (user != NULL && pipe != NULL && detail != NULL)
		printf("%-20s %-14s %-7s %-8s %-32s %s\n", when, user, action_names[a->kind],
		       a->result[0] ? a->result : "pending", pipe[0] ? pipe : "-", detail);
	free(user);
	free(pipe);
	free(detail);
}

/* The newest clicks, when there are any (text output only). */
static int list_actions(struct store *st)
{
	int n = 0;

	if (store_actions(st, 1, count_action, &n) != 0)
		return 1;
	if (n == 0)
		return 0;
	printf("\n%-20s %-14s %-7s %-8s %-32s %s\n", "SLACK CLICK", "USER", "ACTION", "RESULT",
	       "PIPELINE", "DETAIL");
	return store_actions(st, CLI_ACTIONS_MAX, print_action, NULL) ? 1 : 0;
}

/* incidents [--open] [--json]: the open incidents, newest first, then
 * (text only) the newest Slack button clicks with user, action and
 * result. Closed incidents are not kept, so --open changes nothing
 * today. */
static int cmd_incidents(struct store *st, int argc, char **argv)
{
	cJSON *arr = NULL;
	int i, json = 0, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--open") != 0)
			return 2;
	}
	if (json && (arr = cJSON_CreateArray()) == NULL)
		return 1;
	if (!json)
		printf("%-36s %-12s %-32s %8s %-20s %6s  %s\n", "PROJECT", "ENVIRONMENT",
		       "PIPELINE", "FAILURES", "SINCE", "HELD", "LAST FAILURE");
	rc = store_incidents(st, 1, print_incident, arr) ? 1 : 0;
	if (json)
		rc = json_print(arr) || rc;
	else
		rc = list_actions(st) || rc;
	return rc;
}

static void print_run(void *ctx, const struct mem_run_row *r)
{
	const struct mem_run *m = &r->run;
	int64_t took = m->started_ms >= 0 && m->finished_ms >= m->started_ms
			       ? m->finished_ms - m->started_ms
			       : -1;
	char when[32], dur[32] = "-";
	char *trig, *exec;
	cJSON *arr = ctx, *o;

	if (arr == NULL) {
		fmt_utc(m->finished_ms, when, sizeof(when));
		if (took >= 0)
			text_duration(took, dur, sizeof(dur));
		trig = for_tty(r->trigger);
		exec = for_tty(r->execution_id);
		if (trig != NULL && exec != NULL)
			printf("%-20s %-10s %-9s %-12s %s\n", when, status_names[m->status], dur,
			       trig, exec);
		free(trig);
		free(exec);
		return;
	}
	o = cJSON_CreateObject();
	if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return;
	}
	cJSON_AddStringToObject(o, "execution_id", r->execution_id);
	cJSON_AddStringToObject(o, "status", status_names[m->status]);
	json_time(o, "started", m->started_ms);
	json_time(o, "finished", m->finished_ms);
	if (took >= 0)
		cJSON_AddNumberToObject(o, "duration_ms", (double)took);
	else
		cJSON_AddNullToObject(o, "duration_ms");
	if (r->trigger != NULL)
		cJSON_AddStringToObject(o, "trigger", r->trigger);
	else
		cJSON_AddNullToObject(o, "trigger");
	json_time(o, "recorded", r->recorded_ms);
}

/* history PROJECT_ID PIPELINE [--environment ENV] [--limit N] [--json]:
 * a pipeline's remembered runs, newest finished first (every environment
 * unless one is named; 20 unless a limit is given). */
static int cmd_history(struct store *st, int argc, char **argv)
{
	struct mem_key k = { NULL, NULL, NULL };
	int64_t limit = 20;
	cJSON *arr = NULL;
	int i, json = 0, rc;

	if (argc < 2 || argv[0][0] == '-' || argv[1][0] == '-')
		return 2;
	k.project_id = argv[0];
	k.pipeline = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--environment") == 0 && i + 1 < argc)
			k.environment = argv[++i];
		else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc &&
			 parse_int64(argv[++i], &limit) == 0 && limit >= 1 && limit <= 100000)
			continue;
		else
			return 2;
	}
	if (json && (arr = cJSON_CreateArray()) == NULL)
		return 1;
	if (!json)
		printf("%-20s %-10s %-9s %-12s %s\n", "FINISHED", "STATUS", "DURATION", "TRIGGER",
		       "EXECUTION");
	rc = store_history(st, &k, (size_t)limit, print_run, arr) ? 1 : 0;
	if (json)
		rc = json_print(arr) || rc;
	return rc;
}

/* ---- silence add | list | remove ---- */

/* The options of silence add, as given. */
struct silence_args {
	const char *project, *pipeline, *environment, *for_, *until, *reason;
};

/* Takes "--NAME VALUE" pairs into a; each option at most once. 0 or 2. */
static int silence_opts(int argc, char **argv, struct silence_args *a)
{
	static const char *const names[] = { "--project", "--pipeline", "--environment",
					     "--for",     "--until",    "--reason" };
	const char **slot[] = { &a->project, &a->pipeline, &a->environment,
				&a->for_,    &a->until,    &a->reason };
	size_t k;
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < argc; i += 2) {
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strcmp(argv[i], names[k]) == 0)
				break;
		if (k == sizeof(names) / sizeof(names[0]) || i + 1 >= argc || *slot[k] != NULL)
			return 2;
		*slot[k] = argv[i + 1];
	}
	return 0;
}

/* Says on stderr why silence add refuses its arguments; returns 2. */
static int refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int refuse(const char *fmt, ...)
{
	va_list ap;

	fputs("silence add: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

/* Checks a and fills x (strings borrowed from a, but the reason: caller
 * frees *reason). 0, or 2 after saying what is wrong. */
static int silence_build(const struct silence_args *a, int64_t now, struct silence *x,
			 char **reason)
{
	int64_t span = 0, until = 0;

	memset(x, 0, sizeof(*x));
	if (a->project == NULL && a->pipeline == NULL)
		return refuse("give --project, --pipeline or both");
	if ((a->for_ == NULL) == (a->until == NULL))
		return refuse("give either --for or --until");
	if (a->reason == NULL)
		return refuse("--reason is required");
	if ((a->project && !silence_glob_valid(a->project)) ||
	    (a->pipeline && !silence_glob_valid(a->pipeline)) ||
	    (a->environment && !silence_glob_valid(a->environment)))
		return refuse("a project, pipeline or environment is empty,"
			      " longer than %d bytes or holds control characters",
			      SILENCE_GLOB_MAX - 1);
	if (a->for_ != NULL && silence_parse_for(a->for_, &span) != 0)
		return refuse("--for must be 1s to 90d (e.g. 30m, 2h, 7d)");
	if (a->until != NULL && (silence_parse_time(a->until, &until) != 0 || until <= now ||
				 until - now > SILENCE_FOR_MAX_S * 1000))
		return refuse("--until must be a UTC time (\"YYYY-MM-DD HH:MM\""
			      " or RFC 3339) in the next 90 days");
	*reason = silence_reason_clean(a->reason);
	if (*reason == NULL)
		return refuse("--reason must be 1 to %d characters", SILENCE_REASON_MAX);
	x->project_id = a->project ? a->project : "";
	x->pipeline = a->pipeline ? a->pipeline : "";
	x->environment = a->environment ? a->environment : "";
	x->start_ms = x->created_ms = now;
	x->end_ms = a->for_ != NULL ? now + span : until;
	x->reason = *reason;
	x->removed_ms = -1;
	return 0;
}

static int silence_add(struct store *st, int argc, char **argv)
{
	struct silence_args a;
	struct silence x;
	char *reason = NULL, until[32];
	int64_t now = clock_wall_ms(), id = 0;
	int rc;

	if (silence_opts(argc, argv, &a) != 0)
		return 2;
	rc = silence_build(&a, now, &x, &reason);
	if (rc == 0 && store_silence_add(st, &x, &id) != 0) {
		fprintf(stderr, "silence add: cannot store the silence\n");
		rc = 1;
	}
	if (rc == 0) {
		fmt_utc(x.end_ms, until, sizeof(until));
		printf("%lld\n", (long long)id);
		fprintf(stderr, "silence %lld added, until %s\n", (long long)id, until);
	}
	free(reason);
	return rc == 2 ? 3 : rc;
}

/* What a silence is at now: active, future, expired or removed. */
static const char *silence_state(const struct silence *x, int64_t now)
{
	if (x->removed_ms >= 0)
		return "removed";
	if (now >= x->end_ms)
		return "expired";
	return now < x->start_ms ? "future" : "active";
}

struct silence_list {
	cJSON *arr; /* NULL: text */
	int64_t now;
};

static void print_silence_text(const struct silence *x, const char *state)
{
	char from[32], until[32];
	char *proj = for_tty(x->project_id[0] ? x->project_id : "*");
	char *env = for_tty(x->environment[0] ? x->environment : "*");
	char *pipe = for_tty(x->pipeline[0] ? x->pipeline : "*");
	char *why = for_tty(x->reason);

	fmt_utc(x->start_ms, from, sizeof(from));
	fmt_utc(x->end_ms, until, sizeof(until));
	if (proj != NULL && env != NULL && pipe != NULL && why != NULL)
		printf("%-6lld %-8s %-20s %-20s %-36s %-12s %-24s %s\n", (long long)x->id, state,
		       from, until, proj, env, pipe, why);
	free(proj);
	free(env);
	free(pipe);
	free(why);
}

static void print_silence(void *ctx, const struct silence *x)
{
	struct silence_list *l = ctx;
	const char *state = silence_state(x, l->now);
	cJSON *o;

	if (l->arr == NULL) {
		print_silence_text(x, state);
		return;
	}
	o = cJSON_CreateObject();
	if (o == NULL || !cJSON_AddItemToArray(l->arr, o)) {
		cJSON_Delete(o);
		return;
	}
	cJSON_AddNumberToObject(o, "id", (double)x->id);
	cJSON_AddStringToObject(o, "state", state);
	cJSON_AddStringToObject(o, "project_id", x->project_id);
	cJSON_AddStringToObject(o, "pipeline", x->pipeline);
	cJSON_AddStringToObject(o, "environment", x->environment);
	json_time(o, "start", x->start_ms);
	json_time(o, "end", x->end_ms);
	cJSON_AddStringToObject(o, "reason", x->reason);
	json_time(o, "created", x->created_ms);
	if (x->removed_ms >= 0)
		json_time(o, "removed", x->removed_ms);
	else
		cJSON_AddNullToObject(o, "removed");
}

static int silence_list(struct store *st, int argc, char **argv)
{
	struct silence_list l = { NULL, clock_wall_ms() };
	int i, all = 0, json = 0, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--all") == 0)
			all = 1;
		else
			return 2;
	}
	if (json && (l.arr = cJSON_CreateArray()) == NULL)
		return 1;
	if (!json)
		printf("%-6s %-8s %-20s %-20s %-36s %-12s %-24s %s\n", "ID", "STATE", "FROM",
		       "UNTIL", "PROJECT", "ENVIRONMENT", "PIPELINE", "REASON");
	rc = store_silences(st, all, l.now, print_silence, &l) ? 1 : 0;
	if (json)
		rc = json_print(l.arr) || rc;
	return rc;
}

static int silence_remove(struct store *st, int argc, char **argv)
{
	int64_t id;
	int rc;

	if (argc != 1 || parse_int64(argv[0], &id) != 0 || id <= 0)
		return 2;
	rc = store_silence_remove(st, id, clock_wall_ms());
	if (rc == ERR_NOTFOUND) {
		fprintf(stderr, "silence remove: no active or future silence %lld\n",
			(long long)id);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "silence remove: cannot store the change\n");
		return 1;
	}
	printf("removed silence %lld\n", (long long)id);
	return 0;
}

/* silence add | list | remove. Returns the exit code; 2 for usage. A
 * usage problem silence_add() has already explained comes back as 3, so
 * the caller does not print the whole usage after it. */
static int cmd_silence(struct store *st, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "add") == 0)
		return silence_add(st, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "list") == 0)
		return silence_list(st, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "remove") == 0)
		return silence_remove(st, argc - 1, argv + 1);
	return 2;
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
	if (strcmp(cmd, "silence") == 0) {
		rc = cmd_silence(st, argc, argv);
		if (rc == 2)
			goto usage;
		if (rc == 3)
			rc = 2;
	} else if (strcmp(cmd, "incidents") == 0 || strcmp(cmd, "history") == 0) {
		rc = cmd[0] == 'i' ? cmd_incidents(st, argc, argv) : cmd_history(st, argc, argv);
		if (rc == 2)
			goto usage;
	} else if (strcmp(cmd, "jobs") == 0) {
		if (argc == 2 && strcmp(argv[0], "--state") == 0)
			state = parse_state(argv[1]);
		else if (argc != 0)
			goto usage;
		if (state == -2) {
			store_close(st);
			return unknown_state(argv[1]);
		}
		printf("%-8s %-9s %-3s %-20s  %-36s %-36s %-10s %s\n", "ID", "STATE", "TRY",
		       "RECEIVED", "PROJECT", "EXECUTION", "STATUS", "LAST ERROR");
		rc = store_list(st, state, 1000, print_job, NULL) ? 1 : 0;
	} else if (argc >= 1 && strcmp(argv[0], "list") == 0 && argc == 1) {
		printf("%-8s %-9s %-3s %-20s  %-36s %-36s %-10s %s\n", "ID", "STATE", "TRY",
		       "RECEIVED", "PROJECT", "EXECUTION", "STATUS", "LAST ERROR");
		rc = store_list(st, JOB_DEAD, 1000, print_job, NULL) ? 1 : 0;
	} else if (argc == 2 && strcmp(argv[0], "retry") == 0) {
		char *end = NULL;
		long long id = strcmp(argv[1], "--all") == 0 ? -1 : strtoll(argv[1], &end, 10);
		if (end != NULL && (*end != '\0' || id < 0))
			goto usage;
		rc = store_dead_retry(st, id, &count);
		/* One id that moved nothing: no such job, or it is not dead. */
		if (id >= 0 && (rc == ERR_NOTFOUND || (rc == 0 && count == 0))) {
			fprintf(stderr, "dead retry: no dead letter %lld\n", id);
			rc = 1;
		} else if (rc == 0) {
			printf("re-queued %zu dead job(s)\n", count);
		} else {
			rc = 1;
		}
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
	fputs(cli_usage, stderr);
	return 2;
}

/* For container HEALTHCHECKs (no curl in the image): GET /healthz on the
 * configured listen address, or on admin_listen when listen = off (both
 * serve it when both are on); exit 0 on HTTP 200. */
static int cmd_healthcheck(const struct config *c)
{
	struct httpc_opts o = { .connect_timeout_ms = 2000, .timeout_ms = 3000, .allow_http = 1 };
	struct httpc_response r;
	struct httpc *h = httpc_new(&o);
	const char *addr = config_listen_off(c->listen) ? c->admin_listen : c->listen;
	struct hostport hp;
	char host[128], url[256];
	int ok;

	if (h == NULL || parse_hostport(addr, &hp) != 0) {
		httpc_free(h);
		return 1;
	}
	snprintf(host, sizeof(host), "%s%.*s%s", hp.bracketed ? "[" : "", (int)hp.host_len, hp.host,
		 hp.bracketed ? "]" : "");
	/* A wildcard address is reached through loopback. */
	if (strcmp(host, "0.0.0.0") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	else if (strcmp(host, "[::]") == 0)
		snprintf(host, sizeof(host), "[::1]");
	snprintf(url, sizeof(url), "http://%s:%u/healthz", host, hp.port);
	ok = httpc_request(h, "GET", url, NULL, NULL, 0, &r) == 0 && r.status == 200;
	printf("healthz: %s\n", ok ? "ok" : (r.error[0] ? r.error : "unhealthy"));
	httpc_response_free(&r);
	httpc_free(h);
	return ok ? 0 : 1;
}

int cli_run(struct config *c, const char *cmd, int argc, char **argv)
{
	if (strcmp(cmd, "preview") == 0)
		return cmd_preview(c, argc, argv);
	if (strcmp(cmd, "healthcheck") == 0)
		return cmd_healthcheck(c);
	if (strcmp(cmd, "send-test") == 0)
		return cmd_send_test(c, argc, argv);
	return cmd_store(c, cmd, argc, argv);
}

int cli_is_command(const char *cmd)
{
	static const char *const cmds[] = { "preview",   "send-test", "jobs",    "dead",
					    "incidents", "history",   "silence", "healthcheck" };
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i]) == 0)
			return 1;
	return 0;
}
