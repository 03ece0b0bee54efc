/* The mentions key of [project] and [default]: "glob : mention" pairs that
 * ping a different person or group per pipeline. This file knows the two
 * shapes a mention may have (Slack markup, a Teams UPN), parses and checks
 * a list, and prints one. Which pair a delivery uses is route.c's job.
 *
 * A mention goes into a chat message unescaped (it is the config's trusted
 * markup), so its shape is checked strictly here: exactly one Slack token
 * or one plain address, nothing around it. */
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "errors.h"
#include "text.h"

#define MAX_PAIRS 32
#define GLOB_MAX 256    /* bytes; a pipeline's display name is kept to 256 */
#define MENTION_MAX 254 /* bytes; the longest address RFC 5321 can deliver */
#define SLACK_ID_MAX 32 /* characters of a Slack user or group id */
#define LOCAL_MAX 64
#define LABEL_MAX 63

const char *const mention_kind_names[MENTION__MAX] = {
	[MENTION_NONE] = "none",
	[MENTION_SLACK] = "Slack markup",
	[MENTION_UPN] = "a UPN",
};

static int upper_alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int ascii_alnum(char c)
{
	return upper_alnum(c) || (c >= 'a' && c <= 'z');
}

/* s is prefix, then first, then 1..SLACK_ID_MAX-1 upper-case letters or
 * digits, then '>' and the end. */
static int slack_id(const char *s, const char *prefix, const char *first)
{
	size_t n = strlen(prefix), i;

	if (strncmp(s, prefix, n) != 0 || s[n] == '\0' || strchr(first, s[n]) == NULL ||
	    !upper_alnum(s[n + 1]))
		return 0;
	for (i = n + 1; upper_alnum(s[i]) && i - n < SLACK_ID_MAX; i++)
		;
	return s[i] == '>' && s[i + 1] == '\0';
}

static int slack_markup(const char *s)
{
	return strcmp(s, "<!here>") == 0 || strcmp(s, "<!channel>") == 0 ||
	       slack_id(s, "<@", "UW") || slack_id(s, "<!subteam^", "S");
}

/* One side of an address: runs of allowed characters (at most max each)
 * separated by single dots, no dot first or last; labels = 1 also keeps
 * '-' off a run's ends and '_' '+' out. Returns the number of runs, or 0. */
static size_t dotted(const char *s, size_t len, size_t max, int labels)
{
	size_t i, run = 0, runs = 0;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (run == 0 || (labels && s[i - 1] == '-'))
				return 0;
			run = 0;
			continue;
		}
		if (!ascii_alnum(c) && c != '-' && (labels || (c != '_' && c != '+')))
			return 0;
		if ((labels && run == 0 && c == '-') || ++run > max)
			return 0;
		runs += run == 1;
	}
	if (run == 0 || (labels && s[len - 1] == '-'))
		return 0;
	return runs;
}

static int upn(const char *s)
{
	const char *at = strchr(s, '@');
	size_t local, len = strlen(s);

	if (at == NULL || len > MENTION_MAX)
		return 0;
	local = (size_t)(at - s);
	if (local == 0 || local > LOCAL_MAX || dotted(s, local, LOCAL_MAX, 0) == 0)
		return 0;
	/* A domain has at least two labels; a second '@' fails as a label. */
	return dotted(at + 1, len - local - 1, LABEL_MAX, 1) >= 2;
}

enum mention_kind config_mention_kind(const char *s)
{
	if (s == NULL || *s == '\0')
		return MENTION_NONE;
	if (slack_markup(s))
		return MENTION_SLACK;
	return upn(s) ? MENTION_UPN : MENTION_NONE;
}

/* 1 when s is valid UTF-8 without control characters (C0, DEL, C1). */
static int printable(const char *s)
{
	size_t len = strlen(s), n;
	int32_t cp;

	while (len > 0) {
		n = text_utf8_decode(s, len, &cp);
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			return 0;
		s += n;
		len -= n;
	}
	return 1;
}

void cfg_free_mentions(struct mention_rule *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].glob);
		free(v[i].mention);
	}
	free(v);
}

/* Checks one "glob : mention" item (pair i, 1-based, trimmed, non-empty)
 * and fills r. 0, or ERR_CONFIG after reporting, or ERR_NOMEM. */
static int parse_pair(struct parse *p, size_t i, char *item, struct mention_rule *r)
{
	char *colon = strchr(item, ':'), *glob, *mention;

	if (colon == NULL) {
		cfg_err(p, p->lineno,
			"mentions: pair %zu: expected \"glob : mention\", found no ':'", i);
		return ERR_CONFIG;
	}
	if (strchr(colon + 1, ':') != NULL) {
		cfg_err(p, p->lineno,
			"mentions: pair %zu: more than one ':' (neither a glob nor a mention may"
			" hold one)",
			i);
		return ERR_CONFIG;
	}
	*colon = '\0';
	glob = cfg_trim(item);
	mention = cfg_trim(colon + 1);
	if (*glob == '\0' || *mention == '\0') {
		cfg_err(p, p->lineno, "mentions: pair %zu: empty %s", i,
			*glob == '\0' ? "glob" : "mention");
		return ERR_CONFIG;
	}
	if (strlen(glob) > GLOB_MAX || strlen(mention) > MENTION_MAX) {
		cfg_err(p, p->lineno, "mentions: pair %zu: %s longer than %d bytes", i,
			strlen(glob) > GLOB_MAX ? "glob" : "mention",
			strlen(glob) > GLOB_MAX ? GLOB_MAX : MENTION_MAX);
		return ERR_CONFIG;
	}
	if (!printable(glob)) {
		cfg_err(p, p->lineno,
			"mentions: pair %zu: glob holds a control character or invalid UTF-8", i);
		return ERR_CONFIG;
	}
	r->kind = config_mention_kind(mention);
	if (r->kind == MENTION_NONE) {
		/* Quoted only once known to be printable and short. */
		cfg_err(p, p->lineno,
			"mentions: pair %zu: \"%s\" is neither Slack markup (<@U…>, <@W…>,"
			" <!subteam^S…>, <!here>, <!channel>) nor a Teams UPN (name@example.com)",
			i, printable(mention) ? mention : "(unprintable)");
		return ERR_CONFIG;
	}
	r->glob = strdup(glob);
	r->mention = strdup(mention);
	return r->glob == NULL || r->mention == NULL ? ERR_NOMEM : 0;
}

int cfg_parse_mentions(struct parse *p, char *s, struct mention_rule **out, size_t *n)
{
	struct mention_rule *v = calloc(MAX_PAIRS, sizeof(*v));
	char *item, *comma;
	size_t i = 0;
	int rc = 0;

	if (v == NULL)
		return ERR_NOMEM;
	if (*cfg_trim(s) == '\0') {
		cfg_err(p, p->lineno,
			"mentions: empty; expected \"glob : mention\" pairs separated by commas");
		rc = ERR_CONFIG;
	}
	for (item = s; rc == 0 && item != NULL; item = comma) {
		comma = strchr(item, ',');
		if (comma != NULL)
			*comma++ = '\0';
		item = cfg_trim(item);
		if (i == MAX_PAIRS) {
			cfg_err(p, p->lineno, "mentions: more than %d pairs", MAX_PAIRS);
			rc = ERR_CONFIG;
		} else if (*item == '\0') {
			cfg_err(p, p->lineno,
				"mentions: pair %zu is empty (a stray or trailing comma?)", i + 1);
			rc = ERR_CONFIG;
		} else {
			rc = parse_pair(p, i + 1, item, &v[i]);
			i++;
		}
	}
	if (rc != 0) {
		cfg_free_mentions(v, i);
		return rc;
	}
	*out = v;
	*n = i;
	return 0;
}

void cfg_print_mentions(FILE *out, const struct mention_rule *v, size_t n)
{
	size_t i;

	if (n == 0)
		fputs("(none)", out);
	for (i = 0; i < n; i++)
		fprintf(out, "%s%s : %s", i > 0 ? ", " : "", v[i].glob, v[i].mention);
}
