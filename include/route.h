/* Routing: which destinations hear about a run. Pure. */
#ifndef DPC_ROUTE_H
#define DPC_ROUTE_H

#include "config.h"
#include "memory.h"
#include "status.h"

/* The [project ID] section for project_id, else [default], else NULL.
 * Borrowed from c. */
const struct project *route_find(const struct config *c, const char *project_id);

/* The display name configured for project_id ([project ID] name), or NULL
 * when it has none. Borrowed from c. */
const char *route_project_name(const struct config *c, const char *project_id);

/* 1 when a run with status st (ST_UNKNOWN: not known yet, matches) in
 * environment env (NULL or "": unknown, matches) should notify p's
 * destinations; 0 otherwise. */
int route_match(const struct project *p, enum run_status st, const char *env);

/* The kind of mention the messages of target t take, from a small table
 * keyed by the target's name (slack: Slack markup, teams: a UPN);
 * MENTION_NONE for a target the table does not name, or NULL. */
enum mention_kind route_target_mention_kind(const struct target *t);

/* 1 when glob matches pipeline, a display name that may hold folders
 * ("Finance/load_dwh"). A glob with a '/' is matched against the whole
 * name, one without against its last segment ("load_dwh"), with
 * fnmatch(3) and no flags: '*' and '?' also match '/', "[...]" classes
 * and backslash escapes work. NULL on either side: 0. */
int route_pipeline_match(const char *glob, const char *pipeline);

/* The mention for a message about pipeline (display name; NULL or "" when
 * unknown) posted to d for a run routed by p (route_find(); may be NULL):
 * the mention of the first pair of p->mentions whose glob matches the
 * pipeline and whose kind fits d's target; with no such pair, d->mention.
 * NULL when there is none. Borrowed from the config. Renderers still add
 * it on problem runs only. */
const char *route_mention(const struct project *p, const struct destination *d,
			  const char *pipeline);

/* The run-memory choices of p (route_find(); NULL: the defaults of the
 * key table): notify_on (with MEM_NOTIFY_SLOW when SLOW is listed),
 * recovery, on_repeat, repeat_interval, notify_after, duration_alert. */
void route_policy(const struct project *p, struct mem_policy *out);

/* route_policy() for a run in environment env: an environment no route of
 * p takes (or no p at all) notifies nothing, so notify_on is 0 and the
 * run is only remembered. */
void route_run_policy(const struct project *p, const char *env, struct mem_policy *out);

/* Shell-style glob (*, ?) match of s against pattern; 1 on match. */
int route_glob(const char *pattern, const char *s);

#endif
