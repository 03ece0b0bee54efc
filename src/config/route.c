/* Routing: picks the [project] (or [default]) section for a run, decides
 * whether its status and environment should produce a notification, which
 * mention a message to one destination carries, and the route's run-memory
 * policy. Pure. */
#include <fnmatch.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"
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
