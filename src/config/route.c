/* Routing: picks the [project] (or [default]) section for a run and decides
 * whether its status and environment should produce a notification. Pure. */
#include <string.h>

#include "route.h"

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
