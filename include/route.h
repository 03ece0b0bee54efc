/* Routing: which destinations hear about a run. Pure. */
#ifndef DPC_ROUTE_H
#define DPC_ROUTE_H

#include "config.h"
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

/* Shell-style glob (*, ?) match of s against pattern; 1 on match. */
int route_glob(const char *pattern, const char *s);

#endif
