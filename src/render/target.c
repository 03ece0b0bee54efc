/* The target table: the built-in rows in the order check-config and error
 * messages list them, then any rows a unit-test build links in
 * (target_extra). Lookups are loops over it, so adding a target is one new
 * file with its row plus one line here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "render_int.h"

static const struct target *const builtin[] = {
	&target_slack, &target_teams, &target_discord,   &target_mattermost,
	&target_json,  &target_gchat, &target_pagerduty, &target_slackapp,
};

#define N_BUILTIN (sizeof(builtin) / sizeof(builtin[0]))

const char *const target_severity_names[TSEV__MAX] = {
	[TSEV_CRITICAL] = "critical",
	[TSEV_ERROR] = "error",
	[TSEV_WARNING] = "warning",
	[TSEV_INFO] = "info",
};

/* Left undefined in the service, so its address is NULL; a definition in a
 * test object fills it. Declared weak here, not defined with a default: a
 * one-element default would let the compiler assume the array ends there. */
extern const struct target *const target_extra[] __attribute__((weak));

void target_post_free(struct target_post *p)
{
	size_t i;

	if (p == NULL)
		return;
	free(p->body);
	for (i = 0; i < TARGET_HEADERS_MAX; i++)
		free(p->headers[i]);
	memset(p, 0, sizeof(*p));
}

const struct target *target_at(size_t i)
{
	size_t j;

	if (i < N_BUILTIN)
		return builtin[i];
	if (target_extra == NULL)
		return NULL;
	/* Walked entry by entry: the extra array's length is only known by
	 * its NULL end. */
	for (j = 0; target_extra[j] != NULL; j++)
		if (j == i - N_BUILTIN)
			return target_extra[j];
	return NULL;
}

const struct target *target_find(const char *name)
{
	const struct target *t;
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0, t = target_at(0); t != NULL; t = target_at(++i))
		if (strcasecmp(name, t->name) == 0)
			return t;
	return NULL;
}

void target_names(char *out, size_t outlen, const char *last)
{
	size_t i, n = 0, len = 0;
	const struct target *t;
	int w;

	if (out == NULL || outlen == 0)
		return;
	out[0] = '\0';
	while (target_at(n) != NULL)
		n++;
	for (i = 0; i < n + (last != NULL) && len < outlen; i++) {
		t = target_at(i);
		w = snprintf(out + len, outlen - len, "%s%s",
			     i == 0                        ? ""
			     : i + 1 == n + (last != NULL) ? " or "
							   : ", ",
			     t != NULL ? t->name : last);
		if (w < 0)
			return;
		len += (size_t)w;
	}
}
