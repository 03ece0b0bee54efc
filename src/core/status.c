/* Status normalisation: Matillion's webhook may say "Failure" where the REST
 * API says "FAILED"; everything is folded to the API's upper-case names. */
#include <strings.h>
#include <stddef.h>

#include "status.h"

const char *const status_names[ST__MAX] = {
	[ST_UNKNOWN] = "UNKNOWN", [ST_RUNNING] = "RUNNING",       [ST_SUCCESS] = "SUCCESS",
	[ST_FAILED] = "FAILED",   [ST_CANCELLING] = "CANCELLING", [ST_CANCELLED] = "CANCELLED",
	[ST_SKIPPED] = "SKIPPED", [ST_FORBIDDEN] = "FORBIDDEN",   [ST_QUEUED] = "QUEUED",
};

/* Spellings beyond the canonical names. */
static const struct {
	const char *word;
	enum run_status st;
} aliases[] = {
	{ "FAILURE", ST_FAILED },     { "FAIL", ST_FAILED },          { "ERROR", ST_FAILED },
	{ "CANCELED", ST_CANCELLED }, { "CANCELING", ST_CANCELLING }, { "SUCCEEDED", ST_SUCCESS },
	{ "SUCCESSFUL", ST_SUCCESS },
};

enum run_status status_parse(const char *s)
{
	size_t i;

	if (s == NULL || *s == '\0')
		return ST_UNKNOWN;
	for (i = 1; i < ST__MAX; i++)
		if (strcasecmp(s, status_names[i]) == 0)
			return (enum run_status)i;
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(s, aliases[i].word) == 0)
			return aliases[i].st;
	return ST_UNKNOWN;
}

int status_is_problem(enum run_status st)
{
	return st == ST_FAILED || st == ST_CANCELLED || st == ST_FORBIDDEN;
}
