/* Printing a configuration: the check-config summary, every key with its
 * value (a loop over the key table), and the redaction of URLs, which are
 * secrets. No secret is ever printed. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config_int.h"
#include "target.h"
#include "memory.h"
#include "route.h"
#include "silence.h"
#include "status.h"

#define HOST_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-:[]"
#define SCHEME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-"

/* Rule: scheme://host[:port]/ then at most two characters of the first
 * path segment (of the one after /services/ for Slack-style URLs), then
 * "…redacted". User info, the rest of the path, query and fragment go.
 * A backslash separates like a slash; a host that holds anything else
 * than host characters (%5C, ;) is cut there and no path shows, so no
 * spelling of the separators lets the secret part pass for the host. */
void config_redact_url(const char *url, char *out, size_t outlen)
{
	const char *sep, *h, *end, *seg = "", *at, *prefix = "";
	size_t hl, sl = 0;

	if (outlen == 0)
		return;
	sep = url != NULL ? strstr(url, "://") : NULL;
	if (sep == NULL || sep == url || sep - url > 10 ||
	    strspn(url, SCHEME_CHARS) != (size_t)(sep - url)) {
		snprintf(out, outlen, "…redacted");
		return;
	}
	h = sep + 3;
	end = h + strcspn(h, "/\\?#");
	/* Drop user:password@ */
	while ((at = memchr(h, '@', (size_t)(end - h))) != NULL)
		h = at + 1;
	hl = strspn(h, HOST_CHARS);
	if (hl > (size_t)(end - h))
		hl = (size_t)(end - h);
	if (hl == (size_t)(end - h) && (*end == '/' || *end == '\\')) {
		seg = end + 1;
		if (strncmp(seg, "services", 8) == 0 && (seg[8] == '/' || seg[8] == '\\')) {
			prefix = "services/";
			seg += 9;
		}
		sl = strcspn(seg, "/\\?#;&=%@");
		if (sl > 2)
			sl = 2;
	}
	snprintf(out, outlen, "%.*s://%.*s/%s%.*s…redacted", (int)(sep - url), url, (int)hl, h,
		 prefix, (int)sl, seg);
}

static void print_list(FILE *out, char *const *v, size_t n, const char *none)
{
	size_t i;

	if (n == 0)
		fputs(none, out);
	for (i = 0; i < n; i++)
		fprintf(out, "%s%s", i > 0 ? "," : "", v[i]);
}

/* Writes the status names of the bits set in mask, comma-separated, then
 * SLOW when its bit is set. */
static void print_mask(FILE *out, unsigned mask)
{
	int st, first = 1;

	for (st = 0; st < ST__MAX; st++) {
		if (mask & STATUS_BIT(st)) {
			fprintf(out, "%s%s", first ? "" : ",", status_names[st]);
			first = 0;
		}
	}
	if (mask & MEM_NOTIFY_SLOW)
		fprintf(out, "%sSLOW", first ? "" : ",");
}

/* Writes the kinds of run in mask (route.h), comma-separated. */
static void print_triggers(FILE *out, unsigned mask)
{
	int t, first = 1;

	for (t = 0; t < TRIG__MAX; t++) {
		if (mask & TRIGGER_BIT(t)) {
			fprintf(out, "%s%s", first ? "" : ",", route_trigger_names[t]);
			first = 0;
		}
	}
}

/* Writes seconds in the largest unit that divides them exactly: "4h",
 * "90d", "90m", "45s". */
static void print_duration(FILE *out, int64_t s)
{
	static const struct {
		int64_t secs;
		char unit;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' } };
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (s > 0 && s % units[i].secs == 0) {
			fprintf(out, "%lld%c", (long long)(s / units[i].secs), units[i].unit);
			return;
		}
	}
	fprintf(out, "%llds", (long long)s);
}

/* The run-memory keys of a route, on one line of the summary. */
static void print_route_memory(const struct project *pr, FILE *out)
{
	const char *repeat =
		(unsigned)pr->on_repeat < N_REPEAT ? cfg_repeat_names[pr->on_repeat] : "?";

	fprintf(out, "    run memory: recovery %s, on_repeat %s, repeat_interval ",
		pr->recovery ? "on" : "off", repeat);
	print_duration(out, pr->repeat_interval_s);
	fprintf(out, ", notify_after %d, duration_alert %.15g%s\n", pr->notify_after,
		pr->duration_alert, pr->duration_alert == 0.0 ? " (off)" : "");
}

static void print_route(const struct project *pr, FILE *out)
{
	if (pr->id[0] != '\0')
		fprintf(out, "  %s%s%s%s\n", pr->id, pr->name != NULL ? " (" : "",
			pr->name != NULL ? pr->name : "", pr->name != NULL ? ")" : "");
	else
		fprintf(out, "  [default]\n");
	fputs("    destinations ", out);
	print_list(out, pr->destinations, pr->n_destinations, "(none)");
	fputs("; notify_on ", out);
	print_mask(out, pr->notify_on);
	fputs("; environments ", out);
	print_list(out, pr->environments, pr->n_environments, "(all)");
	fputc('\n', out);
	if (pr->n_mentions > 0) {
		fputs("    mentions ", out);
		cfg_print_mentions(out, pr->mentions, pr->n_mentions);
		fputc('\n', out);
	}
	print_route_memory(pr, out);
}

/* ---- the routing table ---- */

enum col {
	COL_NO,
	COL_ROUTE,
	COL_PROJECT,
	COL_ENVS,
	COL_PIPES,
	COL_DESTS,
	COL_NOTIFY,
	COL_TRIGGERS,
	COL_MENTIONS,
	COL__MAX
};
static const char *const col_names[COL__MAX] = {
	"#",         "route",    "project", "environments", "pipelines", "destinations",
	"notify_on", "triggers", "mentions"
};
#define CELL 512 /* a longer cell is cut; print-keys shows every value whole */

/* Writes what fn prints into cell, cut to CELL - 1 bytes. */
static void cell_of(char *cell, void (*fn)(FILE *, const struct project *), const struct project *r)
{
	FILE *f = fmemopen(cell, CELL, "w");

	cell[0] = '\0';
	if (f == NULL)
		return;
	setvbuf(f, NULL, _IONBF, 0);
	fn(f, r);
	fclose(f);
	cell[CELL - 1] = '\0';
}

static void put_envs(FILE *f, const struct project *r)
{
	print_list(f, r->environments, r->n_environments, "(all)");
}

static void put_pipes(FILE *f, const struct project *r)
{
	print_list(f, r->pipelines, r->n_pipelines, "(all)");
}

static void put_dests(FILE *f, const struct project *r)
{
	print_list(f, r->destinations, r->n_destinations, "(none)");
}

static void put_notify(FILE *f, const struct project *r)
{
	print_mask(f, r->notify_on);
}

static void put_triggers(FILE *f, const struct project *r)
{
	if (r->triggers == TRIGGERS_ALL)
		fputs("(all)", f);
	else
		print_triggers(f, r->triggers);
}

static void put_mentions(FILE *f, const struct project *r)
{
	cfg_print_mentions(f, r->mentions, r->n_mentions);
}

/* The cells of row no (1-based) for route r: a [route] section (route),
 * or a [project ID] / [default] fallback. */
static void row_of(char cells[COL__MAX][CELL], size_t no, const struct project *r, int route)
{
	snprintf(cells[COL_NO], CELL, "%zu", no);
	if (route)
		snprintf(cells[COL_ROUTE], CELL, "%s", r->id);
	else
		snprintf(cells[COL_ROUTE], CELL, "%s",
			 r->id[0] != '\0' ? "[project]" : "[default]");
	if (route)
		snprintf(cells[COL_PROJECT], CELL, "%s", r->project != NULL ? r->project : "(any)");
	else
		snprintf(cells[COL_PROJECT], CELL, "%s", r->id[0] != '\0' ? r->id : "(other)");
	cell_of(cells[COL_ENVS], put_envs, r);
	cell_of(cells[COL_PIPES], put_pipes, r);
	cell_of(cells[COL_DESTS], put_dests, r);
	cell_of(cells[COL_NOTIFY], put_notify, r);
	cell_of(cells[COL_TRIGGERS], put_triggers, r);
	cell_of(cells[COL_MENTIONS], put_mentions, r);
}

/* Row i of the table: the [route] sections in precedence order, then the
 * [project] sections, then [default]. NULL past the end. */
static const struct project *table_row(const struct config *c, size_t i, int *route)
{
	*route = i < c->n_routes;
	if (i < c->n_routes)
		return &c->routes[i];
	i -= c->n_routes;
	if (i < c->n_projects)
		return &c->projects[i];
	return i == c->n_projects ? c->default_route : NULL;
}

/* Writes one row, each cell padded to its column's width. */
static void put_row(FILE *out, char cells[COL__MAX][CELL], const int width[COL__MAX])
{
	int i;

	fputs("  ", out);
	for (i = 0; i < COL__MAX - 1; i++)
		fprintf(out, "%-*s  ", width[i], cells[i]);
	fprintf(out, "%s\n", cells[COL__MAX - 1]);
}

/* The table check-config prints: which route takes a run, and what it
 * does. Two passes: the widths, then the rows. */
static void print_routing(const struct config *c, FILE *out)
{
	static char cells[COL__MAX][CELL];
	int width[COL__MAX], route, i;
	const struct project *r;
	size_t row;

	for (i = 0; i < COL__MAX; i++)
		width[i] = (int)strlen(col_names[i]);
	for (row = 0; (r = table_row(c, row, &route)) != NULL; row++) {
		row_of(cells, row + 1, r, route);
		for (i = 0; i < COL__MAX; i++)
			if ((int)strlen(cells[i]) > width[i])
				width[i] = (int)strlen(cells[i]);
	}
	fprintf(out, "routing:      a run takes the first row that matches its project,"
		     " environment and pipeline\n");
	for (i = 0; i < COL__MAX; i++)
		snprintf(cells[i], CELL, "%s", col_names[i]);
	put_row(out, cells, width);
	for (row = 0; (r = table_row(c, row, &route)) != NULL; row++) {
		row_of(cells, row + 1, r, route);
		put_row(out, cells, width);
	}
	fprintf(out, "              ([project] and [default] rows take the runs no route"
		     " took; their environments\n"
		     "              only decide whether such a run notifies or is just"
		     " remembered)\n");
}

void config_print_summary(const struct config *c, FILE *out)
{
	size_t i, j;
	char red[256];
	const struct destination *d;

	fprintf(out, "config:       %s\n", c->path);
	if (config_listen_off(c->listen))
		fprintf(out, "listen:       off (no webhook listener)\n");
	else
		fprintf(out, "listen:       %s (webhooks, probes, metrics)\n", c->listen);
	if (!config_listen_off(c->admin_listen))
		fprintf(out, "admin:        %s (probes, metrics; no webhooks)\n", c->admin_listen);
	if (c->n_auth_tokens == 0 && c->n_hmac_secrets == 0)
		fprintf(out, "auth:         UNAUTHENTICATED\n");
	else
		fprintf(out, "auth:         %zu token%s, %zu HMAC secret%s (tolerance %ds)\n",
			c->n_auth_tokens, c->n_auth_tokens == 1 ? "" : "s", c->n_hmac_secrets,
			c->n_hmac_secrets == 1 ? "" : "s", c->signature_tolerance);
	fprintf(out, "store:        %s\n", c->store);
	fprintf(out, "workers:      %d (log %s %s)\n", c->workers, c->log_level,
		log_format_names[c->log_format]);
	fprintf(out, "core dumps:   %s\n",
		c->allow_core_dumps ? "allowed (allow_core_dumps = true)"
				    : "off (the process is not dumpable, core limit 0)");
	fprintf(out, "matillion:    api_base %s\n", c->api_base);
	fprintf(out, "              token_url %s\n", c->token_url);
	fprintf(out, "              client_id %s, client_secret %s\n",
		c->client_id != NULL ? "set" : "MISSING",
		c->client_secret != NULL ? "set" : "MISSING");
	fprintf(out, "delivery:     max_attempts %d, max_age %llds, proxy %s%s\n", c->max_attempts,
		(long long)c->max_age, c->proxy != NULL ? "set" : "none",
		c->allow_http ? ", http allowed" : "");
	fprintf(out, "memory:       history_runs %zu, forget_after ", c->history_runs);
	print_duration(out, c->forget_after_s);
	fputc('\n', out);
	fprintf(out, "projects:     %zu\n", c->n_projects);
	for (i = 0; i < c->n_projects; i++)
		print_route(&c->projects[i], out);
	if (c->default_route != NULL)
		print_route(c->default_route, out);
	else
		fprintf(out, "  (no [default]: runs of other projects are not notified)\n");
	print_routing(c, out);
	fprintf(out, "destinations: %zu\n", c->n_destinations);
	for (j = 0; j < c->n_destinations; j++) {
		d = &c->destinations[j];
		config_redact_url(d->url, red, sizeof(red));
		fprintf(out, "  %-16s %-5s %s rate %.2g/s%s\n", d->name, d->target->name, red,
			d->rate_per_sec, d->mention != NULL ? " mention set" : "");
	}
}

/* The region whose API base c uses, or NULL for another api_base. */
static const char *region_of(const struct config *c)
{
	size_t i;

	for (i = 0; i < N_REGIONS; i++)
		if (c->api_base != NULL && strcmp(c->api_base, cfg_region_api_bases[i]) == 0)
			return cfg_region_names[i];
	return NULL;
}

static void print_text(FILE *out, const struct key *k, const char *s)
{
	char red[256];

	if (s == NULL) {
		fputs("(unset)", out);
	} else if (k->flags & K_URL) {
		config_redact_url(s, red, sizeof(red));
		fputs(red, out);
	} else {
		fputs(k->flags & K_SECRET ? "(set)" : s, out);
	}
}

/* A mute_windows list as it would be written, or "(none)". */
static void print_mute(FILE *out, const char *base, const struct key *k)
{
	char text[MUTE_WINDOWS_MAX * 40];
	size_t n = *(const size_t *)(base + k->n_off);

	mute_format(*(const struct mute_window *const *)(base + k->off), n, text, sizeof(text));
	fputs(n > 0 ? text : "(none)", out);
}

/* A severity map as it would be written: the statuses it gives a level,
 * in status order, or "(default)" when it gives none. */
static void print_severity(FILE *out, const unsigned char *map)
{
	int st, first = 1;

	for (st = 0; map != NULL && st < ST__MAX; st++) {
		if (map[st] >= TSEV__MAX)
			continue;
		fprintf(out, "%s%s:%s", first ? "" : ", ", status_names[st],
			target_severity_names[map[st]]);
		first = 0;
	}
	if (first)
		fputs("(default)", out);
}

/* Writes "name = value" for key k of the section instance at base. */
static void print_key(FILE *out, const struct config *c, const struct key *k, const char *base)
{
	const void *f = base + k->off;
	size_t n;

	fprintf(out, "%s = ", k->name);
	switch (k->type) {
	case V_STR:
	case V_LEVEL: print_text(out, k, *(char *const *)f); break;
	case V_LIST:
		n = *(const size_t *)(base + k->n_off);
		if (k->flags & K_SECRET)
			fprintf(out, "(%zu set)", n);
		else
			print_list(out, *(char **const *)f, n, "(none)");
		break;
	case V_INT: fprintf(out, "%d", *(const int *)f); break;
	case V_DUR: fprintf(out, "%ds", *(const int *)f); break;
	case V_SIZE: fprintf(out, "%zu", *(const size_t *)f); break;
	case V_DUR64: fprintf(out, "%llds", (long long)*(const int64_t *)f); break;
	case V_BOOL: fputs(*(const int *)f ? "true" : "false", out); break;
	case V_ENUM: fputs(k->names[*(const int *)f], out); break;
	case V_REGION: fputs(region_of(c) != NULL ? region_of(c) : "(api_base)", out); break;
	case V_DTYPE: fputs((*(const struct target *const *)f)->name, out); break;
	case V_RATE: fprintf(out, "%.2g", *(const double *)f); break;
	case V_STATUS: print_mask(out, *(const unsigned *)f); break;
	case V_TRIGGERS: print_triggers(out, *(const unsigned *)f); break;
	case V_FACTOR: fprintf(out, "%.15g", *(const double *)f); break;
	case V_MENTIONS:
		cfg_print_mentions(out, *(const struct mention_rule *const *)f,
				   *(const size_t *)(base + k->n_off));
		break;
	case V_MUTE: print_mute(out, base, k); break;
	case V_SEVERITY: print_severity(out, *(const unsigned char *const *)f); break;
	}
	fputc('\n', out);
}

static void print_section(FILE *out, const struct config *c, enum sec sec, const char *base)
{
	size_t i;

	for (i = 0; i < cfg_nkeys; i++)
		if (cfg_keys[i].sec == sec)
			print_key(out, c, &cfg_keys[i], base);
}

void config_print_keys(const struct config *c, FILE *out)
{
	size_t i;
	int sec;

	for (sec = SEC_SERVER; sec <= SEC_LAST_GLOBAL; sec++) {
		fprintf(out, "[%s]\n", cfg_sec_names[sec]);
		print_section(out, c, (enum sec)sec, (const char *)c);
	}
	for (i = 0; i < c->n_destinations; i++) {
		fprintf(out, "[destination %s]\n", c->destinations[i].name);
		print_section(out, c, SEC_DEST, (const char *)&c->destinations[i]);
	}
	for (i = 0; i < c->n_projects; i++) {
		fprintf(out, "[project %s]\n", c->projects[i].id);
		print_section(out, c, SEC_PROJECT, (const char *)&c->projects[i]);
	}
	if (c->default_route != NULL) {
		fputs("[default]\n", out);
		print_section(out, c, SEC_PROJECT, (const char *)c->default_route);
	}
	/* A route's own keys, then those of a project (the inherited values
	 * included) but the display name, which a route does not take. */
	for (i = 0; i < c->n_routes; i++) {
		fprintf(out, "[route %s]\n", c->routes[i].id);
		print_section(out, c, SEC_ROUTE, (const char *)&c->routes[i]);
		for (sec = 0; (size_t)sec < cfg_nkeys; sec++)
			if (cfg_keys[sec].sec == SEC_PROJECT &&
			    strcmp(cfg_keys[sec].name, "name") != 0)
				print_key(out, c, &cfg_keys[sec], (const char *)&c->routes[i]);
	}
}
