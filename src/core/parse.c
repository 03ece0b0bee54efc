/* One definition of each small value syntax (see parse.h). The rules here
 * are the config file's, which its tests pin; the command line uses the
 * same ones so an operator learns one spelling. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errors.h"
#include "parse.h"

#define DURATION_MAX_TEXT 32 /* longer text cannot be a sane duration */

int parse_int64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	/* strtoll would skip leading space; a value with space is a typo. */
	if (*s == '\0' || isspace((unsigned char)*s))
		return ERR_PARSE;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < INT64_MIN || v > INT64_MAX)
		return ERR_PARSE;
	*out = (int64_t)v;
	return 0;
}

int parse_duration(const char *s, int64_t *out)
{
	static const struct {
		char c;
		int64_t mul;
	} units[] = {
		{ 's', 1 },
		{ 'm', 60 },
		{ 'h', 3600 },
		{ 'd', 86400 },
	};
	char num[DURATION_MAX_TEXT];
	size_t len = strlen(s), i;
	int64_t mul = 1, v;

	if (len == 0 || len >= sizeof(num))
		return ERR_PARSE;
	memcpy(num, s, len + 1);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (num[len - 1] == units[i].c) {
			num[--len] = '\0';
			mul = units[i].mul;
			break;
		}
	}
	/* Checked before multiplying: the product must not wrap. */
	if (parse_int64(num, &v) != 0 || v < 0 || v > INT64_MAX / mul)
		return ERR_PARSE;
	*out = v * mul;
	return 0;
}

int parse_hostport(const char *s, struct hostport *hp)
{
	const char *colon = strrchr(s, ':');
	int64_t port;
	size_t hl;

	if (colon == NULL || colon == s || colon[1] == '+' || colon[1] == '-' ||
	    parse_int64(colon + 1, &port) != 0 || port < 0 || port > 65535)
		return ERR_PARSE;
	hl = (size_t)(colon - s);
	if (s[0] == '[') {
		/* "[" host "]" with no other "]" inside, and a host. */
		if (hl <= 2 || s[hl - 1] != ']' || memchr(s + 1, ']', hl - 2) != NULL)
			return ERR_PARSE;
		hp->host = s + 1;
		hp->host_len = hl - 2;
		hp->bracketed = 1;
	} else {
		if (memchr(s, ':', hl) != NULL || memchr(s, ']', hl) != NULL)
			return ERR_PARSE;
		hp->host = s;
		hp->host_len = hl;
		hp->bracketed = 0;
	}
	hp->port = (unsigned)port;
	return 0;
}

int parse_name(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] != NULL && strcasecmp(s, names[i]) == 0)
			return (int)i;
	return ERR_NOTFOUND;
}
