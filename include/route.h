/* Routing: which destinations hear about a run. Pure.
 *
 * A run is routed by (project id, environment, pipeline name). The routes
 * are the [route NAME] sections, most specific first (c->routes): one that
 * names a project before one that does not, then one that lists pipelines
 * before one that does not, then one that lists environments before one
 * that does not, and among equals the one written first. The first route
 * whose project, environments and pipelines all match takes the run. When
 * none does, the run's [project ID] section takes it, else [default] (their
 * environments then only decide whether it notifies, as route_match()
 * says). An environment or pipeline not known yet (NULL or "") may match
 * any list, so a webhook without them can leave several routes open. */
#ifndef DPC_ROUTE_H
#define DPC_ROUTE_H

#include "config.h"
#include "memory.h"
#include "status.h"

/* The [project ID] section for project_id, else [default], else NULL.
 * Borrowed from c. */
const struct project *route_find(const struct config *c, const char *project_id);

/* Every route run (project_id, env, pipeline) may take, in precedence
 * order: the routes that may match up to and including the first that
 * surely matches, then (when no route surely matches) the [project] or
 * [default] fallback. Writes at most max of them to out (borrowed from c)
 * and returns how many there are, so 1 means the route is decided and
 * c->n_routes + 1 always suffices. 0: no route at all. */
size_t route_candidates(const struct config *c, const char *project_id, const char *env,
			const char *pipeline, const struct project **out, size_t max);

/* The route whose settings apply to the run: the first of
 * route_candidates(), or NULL when there is none. *open (may be NULL) gets
 * 1 when other routes remain possible because env or pipeline is unknown. */
const struct project *route_select(const struct config *c, const char *project_id, const char *env,
				   const char *pipeline, int *open);

/* What intake stores for a webhook: the names of every destination of
 * every route_candidates() route, once each, in the order first met
 * (*out: a new array the caller frees, the names borrowed from c; NULL
 * when there are none), and *notify: whether any of those routes would
 * notify status st (route_match()). 0 or ERR_NOMEM. */
int route_intake(const struct config *c, const char *project_id, const char *env,
		 const char *pipeline, enum run_status st, char ***out, size_t *n, int *notify);

/* 1 when any route_candidates() route would notify status st
 * (route_match()), so the run deserves its steps. */
int route_may_notify(const struct config *c, const char *project_id, const char *env,
		     const char *pipeline, enum run_status st);

/* 1 when route r lists destination name. */
int route_has_destination(const struct project *r, const char *name);

/* NULL when glob may be used in a route's pipelines list, else why not (a
 * static string): an unclosed "[" class or a trailing backslash, which
 * fnmatch(3) would silently take as plain characters. */
const char *route_glob_problem(const char *glob);

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

/* The kinds of run a route's triggers key chooses among. Matillion's API
 * reports a run's trigger as DESIGNER, API, SCHEDULE, SCHEDULE_RUN_NOW
 * or UNKNOWN: SCHEDULE_RUN_NOW (a schedule started at once by hand) runs
 * the schedule's pipeline as the schedule would, so it counts as
 * SCHEDULE; UNKNOWN, a missing trigger (a degraded notice, the API
 * unreachable) and any word the API may add later count as no kind, and
 * such a run always notifies: routing never silences a run the operator
 * could not classify. */
enum run_trigger { TRIG_SCHEDULE, TRIG_API, TRIG_DESIGNER, TRIG__MAX };
extern const char *const route_trigger_names[TRIG__MAX];
#define TRIGGER_BIT(t) (1u << (t))
#define TRIGGERS_ALL ((1u << TRIG__MAX) - 1u)

/* The kind trigger (as the API sent it, any case; NULL allowed) counts
 * as, or TRIG__MAX for none. Pure. */
enum run_trigger route_trigger_kind(const char *trigger);

/* 1 when route p (NULL: no route, the defaults) notifies a run with this
 * trigger: its kind is in p->triggers, or it has no kind. Pure. */
int route_trigger_allows(const struct project *p, const char *trigger);

/* Names route p of c for people, into out: "[route NAME]", "[project
 * ID]" or "[default]" ("(none)" for NULL). */
void route_label(const struct config *c, const struct project *p, char *out, size_t len);

/* Shell-style glob (*, ?) match of s against pattern; 1 on match. */
int route_glob(const char *pattern, const char *s);

#endif
