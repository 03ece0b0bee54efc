/* Routing: picks the route of a run ([route NAME], else [project ID], else
 * [default]; route.h says how), decides whether its status and environment
 * should produce a notification, which mention a message to one
 * destination carries, and the route's run-memory policy. Pure, except
 * for the load-time steps that resolve and sort the [route] sections. */
#include <fnmatch.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"
#include "errors.h"
#include "route.h"
#include "target.h"

/* The kind of mention each target's messages take, by target name. The
 * renderers stay unaware of the mentions list: they get one string. */
static const struct {
	const char *target;
	enum mention_kind kind;
} target_kinds[] = {
	{ "slack", MENTION_SLACK },
	{ "teams", MENTION_UPN },
};

const struct project *route_find(const struct config *c, const char *project_id)
{
	size_t i;

	if (c == NULL)
		return NULL;
	for (i = 0; project_id != NULL && i < c->n_projects; i++)
		if (strcmp(c->projects[i].id, project_id) == 0)
			return &c->projects[i];
	return c->default_route;
}

/* Iterative matcher: on a mismatch it retries from the most recent '*'
 * with one more character swallowed. Only the last star needs revisiting,
 * so the work is O(len(pattern) * len(s)) even for "a*a*a*a*b". */
int route_glob(const char *pattern, const char *s)
{
	const char *star = NULL; /* position after the last '*' seen */
	const char *mark = NULL; /* where s resumes when retrying that star */

	if (pattern == NULL || s == NULL)
		return 0;
	while (*s != '\0') {
		if (*pattern == '*') {
			star = ++pattern;
			mark = s;
		} else if (*pattern == '?' || *pattern == *s) {
			pattern++;
			s++;
		} else if (star != NULL) {
			pattern = star;
			s = ++mark;
		} else {
			return 0;
		}
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}

int route_match(const struct project *p, enum run_status st, const char *env)
{
	size_t i;

	if (p == NULL)
		return 0;
	/* Only a known status's own bit counts: notify_on also holds
	 * MEM_NOTIFY_SLOW, which no status may reach, and a value outside the
	 * enum would shift past the mask. */
	if ((unsigned)st >= ST__MAX)
		return 0;
	if (st != ST_UNKNOWN && (p->notify_on & STATUS_BIT(st)) == 0)
		return 0;
	if (env == NULL || *env == '\0' || p->n_environments == 0)
		return 1;
	for (i = 0; i < p->n_environments; i++)
		if (route_glob(p->environments[i], env))
			return 1;
	return 0;
}

const char *route_project_name(const struct config *c, const char *project_id)
{
	const struct project *p = route_find(c, project_id);

	return p != NULL && p->name != NULL && p->name[0] != '\0' ? p->name : NULL;
}

enum mention_kind route_target_mention_kind(const struct target *t)
{
	size_t i;

	for (i = 0;
	     t != NULL && t->name != NULL && i < sizeof(target_kinds) / sizeof(target_kinds[0]);
	     i++)
		if (strcasecmp(t->name, target_kinds[i].target) == 0)
			return target_kinds[i].kind;
	return MENTION_NONE;
}

int route_pipeline_match(const char *glob, const char *pipeline)
{
	const char *last;

	if (glob == NULL || pipeline == NULL)
		return 0;
	/* Without a '/', the glob names a pipeline wherever its folder is. */
	if (strchr(glob, '/') == NULL) {
		last = strrchr(pipeline, '/');
		if (last != NULL)
			pipeline = last + 1;
	}
	return fnmatch(glob, pipeline, 0) == 0;
}

const char *route_mention(const struct project *p, const struct destination *d,
			  const char *pipeline)
{
	enum mention_kind want;
	size_t i;

	if (d == NULL)
		return NULL;
	want = route_target_mention_kind(d->target);
	if (pipeline == NULL)
		pipeline = "";
	for (i = 0; p != NULL && want != MENTION_NONE && i < p->n_mentions; i++)
		if (p->mentions[i].kind == want &&
		    route_pipeline_match(p->mentions[i].glob, pipeline))
			return p->mentions[i].mention;
	return d->mention;
}

void route_policy(const struct project *p, struct mem_policy *out)
{
	struct project defaults;

	if (p == NULL) {
		/* The key table holds the defaults; nothing is allocated. */
		memset(&defaults, 0, sizeof(defaults));
		cfg_set_defaults(SEC_PROJECT, (char *)&defaults);
		p = &defaults;
	}
	memset(out, 0, sizeof(*out));
	out->notify_on = p->notify_on;
	out->recovery = p->recovery != 0;
	/* The loader keeps every value in bounds; a project built another
	 * way is brought into them, so mem_decide() never sees nonsense. */
	out->on_repeat = (unsigned)p->on_repeat < N_REPEAT ? p->on_repeat : MEM_REPEAT_COMPACT;
	if (p->repeat_interval_s <= 0)
		out->repeat_interval_ms = 0;
	else if (p->repeat_interval_s > INT64_MAX / 1000)
		out->repeat_interval_ms = INT64_MAX;
	else
		out->repeat_interval_ms = p->repeat_interval_s * 1000;
	if (p->notify_after < 1)
		out->notify_after = 1;
	else if (p->notify_after > 100)
		out->notify_after = 100;
	else
		out->notify_after = (unsigned)p->notify_after;
	out->duration_alert =
		isfinite(p->duration_alert) && p->duration_alert > 0.0 ? p->duration_alert : 0.0;
}

void route_run_policy(const struct project *p, const char *env, struct mem_policy *out)
{
	route_policy(p, out);
	if (p == NULL || !route_match(p, ST_UNKNOWN, env))
		out->notify_on = 0;
}

/* ---- the kind of run ---- */

const char *const route_trigger_names[TRIG__MAX] = {
	[TRIG_SCHEDULE] = "SCHEDULE",
	[TRIG_API] = "API",
	[TRIG_DESIGNER] = "DESIGNER",
};

enum run_trigger route_trigger_kind(const char *trigger)
{
	int t;

	if (trigger == NULL)
		return TRIG__MAX;
	if (strcasecmp(trigger, "SCHEDULE_RUN_NOW") == 0)
		return TRIG_SCHEDULE;
	for (t = 0; t < TRIG__MAX; t++)
		if (strcasecmp(trigger, route_trigger_names[t]) == 0)
			return (enum run_trigger)t;
	return TRIG__MAX;
}

int route_trigger_allows(const struct project *p, const char *trigger)
{
	enum run_trigger t = route_trigger_kind(trigger);

	if (p == NULL || t == TRIG__MAX)
		return 1;
	return (p->triggers & TRIGGER_BIT(t)) != 0;
}

void route_label(const struct config *c, const struct project *p, char *out, size_t len)
{
	int is_route = c != NULL && p != NULL && c->n_routes > 0 && p >= c->routes &&
		       p < c->routes + c->n_routes;

	if (p == NULL)
		snprintf(out, len, "(none)");
	else if (is_route)
		snprintf(out, len, "[route %s]", p->id);
	else if (p->id[0] != '\0')
		snprintf(out, len, "[project %s]", p->id);
	else
		snprintf(out, len, "[default]");
}

/* ---- choosing a route ---- */

/* How a route's criterion stands for a run: ruled out, open (the run's
 * value is not known yet), or met. Ordered so the weaker of two wins. */
enum fit { FIT_NO, FIT_MAYBE, FIT_YES };

static enum fit list_fit(char *const *globs, size_t n, const char *v,
			 int (*match)(const char *, const char *))
{
	size_t i;

	if (n == 0)
		return FIT_YES;
	if (v == NULL || *v == '\0')
		return FIT_MAYBE;
	for (i = 0; i < n; i++)
		if (match(globs[i], v))
			return FIT_YES;
	return FIT_NO;
}

static enum fit route_fit(const struct project *r, const char *project_id, const char *env,
			  const char *pipeline)
{
	enum fit e, f;

	if (r->project != NULL && (project_id == NULL || strcmp(r->project, project_id) != 0))
		return FIT_NO;
	/* Environments match as in [project] (route_glob), pipelines as in
	 * mentions (route_pipeline_match). */
	e = list_fit(r->environments, r->n_environments, env, route_glob);
	f = list_fit(r->pipelines, r->n_pipelines, pipeline, route_pipeline_match);
	return e < f ? e : f;
}

/* Calls fn(route, ctx) for each route_candidates() route in order and
 * returns how many there are. */
static size_t each_candidate(const struct config *c, const char *project_id, const char *env,
			     const char *pipeline, void (*fn)(const struct project *, void *),
			     void *ctx)
{
	const struct project *fallback;
	size_t i, n = 0;
	enum fit f;

	if (c == NULL)
		return 0;
	for (i = 0; i < c->n_routes; i++) {
		f = route_fit(&c->routes[i], project_id, env, pipeline);
		if (f == FIT_NO)
			continue;
		fn(&c->routes[i], ctx);
		n++;
		if (f == FIT_YES)
			return n;
	}
	fallback = route_find(c, project_id);
	if (fallback != NULL) {
		fn(fallback, ctx);
		n++;
	}
	return n;
}

struct collect {
	const struct project **out;
	size_t n, max;
};

static void collect(const struct project *r, void *ctx)
{
	struct collect *k = ctx;

	if (k->n < k->max)
		k->out[k->n++] = r;
}

size_t route_candidates(const struct config *c, const char *project_id, const char *env,
			const char *pipeline, const struct project **out, size_t max)
{
	struct collect k = { out, 0, out != NULL ? max : 0 };

	return each_candidate(c, project_id, env, pipeline, collect, &k);
}

struct notifies {
	enum run_status st;
	const char *env;
	int any;
};

static void notifies(const struct project *r, void *ctx)
{
	struct notifies *k = ctx;

	k->any = k->any || route_match(r, k->st, k->env);
}

int route_may_notify(const struct config *c, const char *project_id, const char *env,
		     const char *pipeline, enum run_status st)
{
	struct notifies k = { st, env, 0 };

	each_candidate(c, project_id, env, pipeline, notifies, &k);
	return k.any;
}

const struct project *route_select(const struct config *c, const char *project_id, const char *env,
				   const char *pipeline, int *open)
{
	const struct project *first = NULL;
	size_t n = route_candidates(c, project_id, env, pipeline, &first, 1);

	/* One candidate that only may match leaves "no route" open too. */
	if (open != NULL)
		*open = n > 1 || (n == 1 && first != route_find(c, project_id) &&
				  route_fit(first, project_id, env, pipeline) != FIT_YES);
	return first;
}

int route_has_destination(const struct project *r, const char *name)
{
	size_t i;

	for (i = 0; r != NULL && name != NULL && i < r->n_destinations; i++)
		if (strcmp(r->destinations[i], name) == 0)
			return 1;
	return 0;
}

/* Appends name to the n names of v unless it is there already. */
static void add_once(char **v, size_t *n, char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(v[i], name) == 0)
			return;
	v[(*n)++] = name;
}

int route_intake(const struct config *c, const char *project_id, const char *env,
		 const char *pipeline, enum run_status st, char ***out, size_t *n, int *notify)
{
	const struct project **cand = NULL;
	size_t n_cand, i, j;
	char **v = NULL;
	int rc = 0;

	*out = NULL;
	*n = 0;
	*notify = 0;
	n_cand = route_candidates(c, project_id, env, pipeline, NULL, 0);
	if (n_cand == 0)
		return 0;
	cand = calloc(n_cand, sizeof(*cand));
	/* Names are those of the [destination] sections (checked at load),
	 * so there are at most that many distinct ones. */
	v = calloc(c->n_destinations + 1, sizeof(*v));
	if (cand == NULL || v == NULL) {
		rc = ERR_NOMEM;
		goto out;
	}
	route_candidates(c, project_id, env, pipeline, cand, n_cand);
	for (i = 0; i < n_cand; i++) {
		for (j = 0; j < cand[i]->n_destinations && *n < c->n_destinations; j++)
			add_once(v, n, cand[i]->destinations[j]);
	}
	*notify = route_may_notify(c, project_id, env, pipeline, st);
	if (*n > 0) {
		*out = v;
		v = NULL;
	}
out:
	free(cand);
	free(v);
	return rc;
}

/* ---- load time ---- */

const char *route_glob_problem(const char *glob)
{
	const char *s = glob;

	while (*s != '\0') {
		if (*s == '\\') {
			if (s[1] == '\0')
				return "ends in a lone backslash";
			s += 2;
			continue;
		}
		if (*s == '[') {
			/* fnmatch(3): a ']' right after "[" or "[!" is a member. */
			s++;
			if (*s == '!' || *s == '^')
				s++;
			if (*s == ']')
				s++;
			while (*s != '\0' && *s != ']')
				s++;
			if (*s == '\0')
				return "has an unclosed '['";
		}
		s++;
	}
	return NULL;
}

/* The line of key name in the section m describes, or the section's
 * line when the key was not given. */
static int line_of(const struct meta *m, const char *name)
{
	size_t i;

	for (i = 0; i < cfg_nkeys; i++)
		if (strcmp(cfg_keys[i].name, name) == 0 && m->seen[i])
			return m->key_line[i];
	return m->line;
}

/* Shares every [project] key r does not set (its own matching list,
 * environments, excepted) with parent. */
static void inherit(struct project *r, const struct meta *m, const struct project *parent)
{
	size_t i;

	for (i = 0; i < cfg_nkeys; i++) {
		const struct key *k = &cfg_keys[i];

		if (k->sec != SEC_PROJECT || m->seen[i] || strcmp(k->name, "environments") == 0 ||
		    strcmp(k->name, "name") == 0)
			continue;
		cfg_free_fields_except(SEC_PROJECT, (char *)r, ~cfg_key_bit(k));
		cfg_share_field(k, (char *)r, (const char *)parent);
		r->borrowed |= cfg_key_bit(k);
	}
}

void cfg_routes_resolve(struct parse *p)
{
	struct project *r;
	const struct project *parent;
	const char *why;
	size_t i, j;

	for (i = 0; i < p->c->n_routes; i++) {
		r = &p->c->routes[i];
		for (j = 0; j < r->n_pipelines; j++) {
			why = route_glob_problem(r->pipelines[j]);
			if (why != NULL)
				cfg_err(p, line_of(&p->rmeta[i], "pipelines"),
					"route %s: pipelines: \"%s\" %s", r->id, r->pipelines[j],
					why);
		}
		/* A route of a project refines what that project's runs get;
		 * one for every project refines [default]. */
		parent = r->project != NULL ? route_find(p->c, r->project) : p->c->default_route;
		if (parent != NULL)
			inherit(r, &p->rmeta[i], parent);
	}
}

/* Higher is more specific: a project named, then pipelines, then
 * environments. */
static int specificity(const struct project *r)
{
	return (r->project != NULL) * 4 + (r->n_pipelines > 0) * 2 + (r->n_environments > 0);
}

static int by_precedence(const void *a, const void *b)
{
	const struct project *x = a, *y = b;

	if (specificity(x) != specificity(y))
		return specificity(y) - specificity(x);
	return (x->line > y->line) - (x->line < y->line);
}

void cfg_routes_sort(struct config *c)
{
	if (c != NULL && c->n_routes > 1)
		qsort(c->routes, c->n_routes, sizeof(*c->routes), by_precedence);
}
