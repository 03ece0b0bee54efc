/* The configuration keys as data: one row per key with its section, type,
 * field, bounds and default (see the DESIGN note in config_int.h). This is
 * the only place a default or a bound is written. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "errors.h"
#include "log.h"
#include "memory.h"
#include "route.h"
#include "status.h"

const char *const cfg_region_names[N_REGIONS] = { "eu1", "us1" };
const char *const cfg_region_api_bases[N_REGIONS] = {
	"https://eu1.api.matillion.com/dpc",
	"https://us1.api.matillion.com/dpc",
};

const char *const cfg_repeat_names[N_REPEAT] = {
	[MEM_REPEAT_COMPACT] = "compact",
	[MEM_REPEAT_SILENT] = "silent",
	[MEM_REPEAT_FULL] = "full",
};
_Static_assert(MEM_REPEAT_FULL + 1 == N_REPEAT, "one on_repeat name per enum mem_repeat");

const char *const cfg_sec_names[SEC__MAX] = {
	[SEC_NONE] = "",
	[SEC_SERVER] = "server",
	[SEC_MATILLION] = "matillion",
	[SEC_DELIVERY] = "delivery",
	[SEC_MEMORY] = "memory",
	[SEC_SLACK] = "slack",
	[SEC_POLL] = "poll",
	[SEC_DEST] = "destination",
	[SEC_PROJECT] = "project",
	[SEC_DEFAULT] = "default",
	[SEC_ROUTE] = "route",
	[SEC_SKIP] = "?",
};

/* V_ENUM writes the index through an int. */
_Static_assert(sizeof(enum log_format) == sizeof(int), "V_ENUM fields are int-sized");
_Static_assert(sizeof(enum mem_repeat) == sizeof(int), "V_ENUM fields are int-sized");

#define DAY 86400LL
#define FIELD(f) .off = offsetof(struct config, f)
/* A number (V_INT, V_SIZE, V_DUR, V_DUR64) in lo..hi, default d. */
#define NUM(s, n, t, f, lo, hi, d)                                                       \
	{                                                                                \
		.sec = s, .name = n, .type = t, FIELD(f), .min = lo, .max = hi, .def = d \
	}
#define BOOL(s, n, f, d)                                                                    \
	{                                                                                   \
		.sec = s, .name = n, .type = V_BOOL, FIELD(f), .min = 0, .max = 1, .def = d \
	}
/* A string, default d (NULL: none). */
#define STR(s, n, f, d, fl)                                                          \
	{                                                                            \
		.sec = s, .name = n, .type = V_STR, FIELD(f), .sdef = d, .flags = fl \
	}
#define LIST(s, n, f, nf, fl)                                     \
	{                                                         \
		.sec = s, .name = n, .type = V_LIST, FIELD(f),    \
		.n_off = offsetof(struct config, nf), .flags = fl \
	}
#define DEST(n, t, f, fl)                                                                      \
	{                                                                                      \
		.sec = SEC_DEST, .name = n, .type = t, .off = offsetof(struct destination, f), \
		.flags = fl                                                                    \
	}
#define PROJ(n, t, f, d)                                                                      \
	{                                                                                     \
		.sec = SEC_PROJECT, .name = n, .type = t, .off = offsetof(struct project, f), \
		.def = d                                                                      \
	}
/* A number of [project]/[default] in lo..hi, default d. */
#define PNUM(n, t, f, lo, hi, d)                                                              \
	{                                                                                     \
		.sec = SEC_PROJECT, .name = n, .type = t, .off = offsetof(struct project, f), \
		.min = lo, .max = hi, .def = d                                                \
	}
#define PLIST(n, f, nf)                                                                            \
	{                                                                                          \
		.sec = SEC_PROJECT, .name = n, .type = V_LIST, .off = offsetof(struct project, f), \
		.n_off = offsetof(struct project, nf)                                              \
	}

/* Every key of every section. */
const struct key cfg_keys[] = {
	STR(SEC_SERVER, "listen", listen, "127.0.0.1:8080", 0),
	/* Its default depends on listen: check.c gives it. */
	STR(SEC_SERVER, "admin_listen", admin_listen, NULL, 0),
	LIST(SEC_SERVER, "auth_token", auth_tokens, n_auth_tokens, K_SECRET),
	LIST(SEC_SERVER, "hmac_secret", hmac_secrets, n_hmac_secrets, K_SECRET),
	NUM(SEC_SERVER, "signature_tolerance", V_DUR, signature_tolerance, 1, DAY, 300),
	BOOL(SEC_SERVER, "allow_unauthenticated", allow_unauthenticated, 0),
	NUM(SEC_SERVER, "max_body", V_SIZE, max_body, 1024, 64LL << 20, 65536),
	NUM(SEC_SERVER, "max_json_depth", V_INT, max_json_depth, 1, 256, 16),
	NUM(SEC_SERVER, "max_connections", V_INT, max_connections, 1, 100000, 256),
	NUM(SEC_SERVER, "max_connections_per_ip", V_INT, max_connections_per_ip, 1, 100000, 32),
	NUM(SEC_SERVER, "connection_timeout", V_DUR, connection_timeout, 1, 3600, 10),
	STR(SEC_SERVER, "store", store, "/var/lib/dpc-notify/dpc-notify.db", 0),
	NUM(SEC_SERVER, "workers", V_INT, workers, 1, 64, 4),
	NUM(SEC_SERVER, "shutdown_grace", V_DUR, shutdown_grace, 0, 3600, 20),
	BOOL(SEC_SERVER, "allow_core_dumps", allow_core_dumps, 0),
	BOOL(SEC_SERVER, "reload_endpoint", reload_endpoint, 0),
	STR(SEC_SERVER, "reload_token", reload_token, NULL, K_SECRET),
	{ .sec = SEC_SERVER,
	  .name = "log_level",
	  .type = V_LEVEL,
	  FIELD(log_level),
	  .sdef = "info",
	  .names = log_level_names,
	  .n_names = LOG__MAX },
	{ .sec = SEC_SERVER,
	  .name = "log_format",
	  .type = V_ENUM,
	  FIELD(log_format),
	  .def = LOG_FMT_LOGFMT,
	  .names = log_format_names,
	  .n_names = LOG_FMT__MAX },
	{ .sec = SEC_MATILLION,
	  .name = "region",
	  .type = V_REGION,
	  FIELD(api_base),
	  .names = cfg_region_names,
	  .n_names = N_REGIONS },
	STR(SEC_MATILLION, "api_base", api_base, NULL, 0),
	STR(SEC_MATILLION, "token_url", token_url, "https://id.core.matillion.com/oauth/dpc/token",
	    0),
	STR(SEC_MATILLION, "client_id", client_id, NULL, K_SECRET),
	STR(SEC_MATILLION, "client_secret", client_secret, NULL, K_SECRET),
	STR(SEC_MATILLION, "ui_base", ui_base, "https://app.matillion.com", 0),
	NUM(SEC_MATILLION, "requests_per_minute", V_INT, requests_per_minute, 0, 100000, 60),
	NUM(SEC_MATILLION, "burst", V_INT, burst, 1, 10000, 5),
	NUM(SEC_MATILLION, "max_child_depth", V_INT, max_child_depth, 0, 32, 5),
	NUM(SEC_MATILLION, "max_api_calls", V_INT, max_api_calls, 1, 100000, 50),
	NUM(SEC_DELIVERY, "max_attempts", V_INT, max_attempts, 1, 1000, 12),
	NUM(SEC_DELIVERY, "max_age", V_DUR64, max_age, 60, 365 * DAY, DAY),
	NUM(SEC_DELIVERY, "retry_after_max", V_DUR64, retry_after_max, 1, DAY, 300),
	NUM(SEC_DELIVERY, "dedup_window", V_DUR64, dedup_window, 0, 365 * DAY, 7 * DAY),
	BOOL(SEC_DELIVERY, "degraded_notice", degraded_notice, 1),
	BOOL(SEC_DELIVERY, "allow_http", allow_http, 0),
	STR(SEC_DELIVERY, "ca_file", ca_file, NULL, 0),
	STR(SEC_DELIVERY, "proxy", proxy, NULL, K_URL),
	NUM(SEC_DELIVERY, "connect_timeout", V_DUR, connect_timeout, 1, 300, 5),
	NUM(SEC_DELIVERY, "timeout", V_DUR, timeout, 1, 3600, 20),
	DEST("type", V_DTYPE, target, 0),
	DEST("url", V_STR, url, K_SECRET | K_URL),
	DEST("mention", V_STR, mention, 0),
	DEST("secret", V_STR, secret, K_SECRET),
	DEST("rate", V_RATE, rate_per_sec, 0),
	{ .sec = SEC_DEST,
	  .name = "group_threshold",
	  .type = V_INT,
	  .off = offsetof(struct destination, group_threshold),
	  .min = 0,
	  .max = 1000,
	  .def = 3 },
	{ .sec = SEC_DEST,
	  .name = "group_window",
	  .type = V_DUR,
	  .off = offsetof(struct destination, group_window_s),
	  .min = 0,
	  .max = 3600,
	  .def = 30 },
	{ .sec = SEC_DEST,
	  .name = "mute_windows",
	  .type = V_MUTE,
	  .off = offsetof(struct destination, mute_windows),
	  .n_off = offsetof(struct destination, n_mute_windows) },
	{ .sec = SEC_DEST,
	  .name = "severity",
	  .type = V_SEVERITY,
	  .off = offsetof(struct destination, severity) },
	{ .sec = SEC_DEST,
	  .name = "allow_any_host",
	  .type = V_BOOL,
	  .off = offsetof(struct destination, allow_any_host),
	  .max = 1 },
	DEST("channel", V_STR, channel, 0),
	{ .sec = SEC_DEST,
	  .name = "broadcast_recovery",
	  .type = V_BOOL,
	  .off = offsetof(struct destination, broadcast_recovery),
	  .max = 1 },
	{ .sec = SEC_DEST,
	  .name = "forum",
	  .type = V_BOOL,
	  .off = offsetof(struct destination, forum),
	  .max = 1 },
	PROJ("name", V_STR, name, 0),
	PLIST("destinations", destinations, n_destinations),
	PROJ("notify_on", V_STATUS, notify_on, STATUS_BIT(ST_FAILED)),
	PLIST("environments", environments, n_environments),
	{ .sec = SEC_PROJECT,
	  .name = "mentions",
	  .type = V_MENTIONS,
	  .off = offsetof(struct project, mentions),
	  .n_off = offsetof(struct project, n_mentions) },
	/* Run memory, per route (memory.h: struct mem_policy). */
	PNUM("recovery", V_BOOL, recovery, 0, 1, 1),
	{ .sec = SEC_PROJECT,
	  .name = "on_repeat",
	  .type = V_ENUM,
	  .off = offsetof(struct project, on_repeat),
	  .def = MEM_REPEAT_COMPACT,
	  .names = cfg_repeat_names,
	  .n_names = N_REPEAT },
	PNUM("repeat_interval", V_DUR64, repeat_interval_s, 60, 30 * DAY, 4 * 3600),
	PNUM("notify_after", V_INT, notify_after, 1, 100, 1),
	{ .sec = SEC_PROJECT,
	  .name = "duration_alert",
	  .type = V_FACTOR,
	  .off = offsetof(struct project, duration_alert),
	  .fmin = 1.1,
	  .fmax = 100.0,
	  .fdef = 3.0,
	  .flags = K_ZERO_OFF },
	{ .sec = SEC_PROJECT,
	  .name = "mute_windows",
	  .type = V_MUTE,
	  .off = offsetof(struct project, mute_windows),
	  .n_off = offsetof(struct project, n_mute_windows) },
	PROJ("triggers", V_TRIGGERS, triggers, TRIGGERS_ALL),
	/* Long-running runs, per route (longrun.h): both off by default. */
	PNUM("max_duration", V_DUR64, max_duration_s, 0, 365 * DAY, 0),
	{ .sec = SEC_PROJECT,
	  .name = "slow_factor",
	  .type = V_FACTOR,
	  .off = offsetof(struct project, slow_factor),
	  .fmin = 1.1,
	  .fmax = 100.0,
	  .fdef = 0.0,
	  .flags = K_ZERO_OFF },
	PNUM("allow_rerun", V_BOOL, allow_rerun, 0, 1, 0),
	/* [route NAME] only; the rest of a route's keys are [project]'s. */
	{ .sec = SEC_ROUTE,
	  .name = "project",
	  .type = V_STR,
	  .off = offsetof(struct project, project) },
	{ .sec = SEC_ROUTE,
	  .name = "pipelines",
	  .type = V_LIST,
	  .off = offsetof(struct project, pipelines),
	  .n_off = offsetof(struct project, n_pipelines) },
	/* Run memory, global: how much the store keeps. */
	NUM(SEC_MEMORY, "history_runs", V_SIZE, history_runs, 10, 1000, 100),
	NUM(SEC_MEMORY, "forget_after", V_DUR64, forget_after_s, DAY, 3650 * DAY, 90 * DAY),
	/* Slack app buttons (interactivity): one app, one signing secret. */
	STR(SEC_SLACK, "signing_secret", slack_signing_secret, NULL, K_SECRET),
	STR(SEC_SLACK, "interactivity_path", slack_interactivity_path, "/slack/actions", 0),
	BOOL(SEC_SLACK, "response_url_any_host", slack_response_url_any_host, 0),
	/* Who may press Re-run, per route (allow_rerun must be on too). */
	PLIST("rerun_users", rerun_users, n_rerun_users),
	PLIST("rerun_usergroups", rerun_usergroups, n_rerun_usergroups),
	/* Reconciliation by polling (poll.h). */
	BOOL(SEC_POLL, "enabled", poll_enabled, 1),
	NUM(SEC_POLL, "interval", V_DUR, poll_interval_s, 1, DAY, 60),
	NUM(SEC_POLL, "overlap", V_DUR, poll_overlap_s, 0, DAY, 600),
	NUM(SEC_POLL, "poll_share", V_INT, poll_share, 1, 100, 30),
};

const size_t cfg_nkeys = sizeof(cfg_keys) / sizeof(cfg_keys[0]);
_Static_assert(sizeof(cfg_keys) / sizeof(cfg_keys[0]) <= MAX_KEYS,
	       "struct meta holds MAX_KEYS keys");

const struct key *cfg_find_key(enum sec sec, const char *name, size_t len)
{
	size_t i;
	enum sec also = sec;

	if (sec == SEC_DEFAULT)
		sec = also = SEC_PROJECT;
	/* A route takes the keys of a project, but a display name belongs to
	 * the project, not to one of its routes. */
	if (sec == SEC_ROUTE && !(len == 4 && strncmp(name, "name", 4) == 0))
		also = SEC_PROJECT;
	for (i = 0; i < cfg_nkeys; i++)
		if ((cfg_keys[i].sec == sec || cfg_keys[i].sec == also) &&
		    strlen(cfg_keys[i].name) == len && strncmp(cfg_keys[i].name, name, len) == 0)
			return &cfg_keys[i];
	return NULL;
}

void cfg_set_defaults(enum sec sec, char *base)
{
	const struct key *k;
	void *field;
	size_t i;

	for (i = 0; i < cfg_nkeys; i++) {
		k = &cfg_keys[i];
		field = base + k->off;
		if (k->sec != sec)
			continue;
		switch (k->type) {
		case V_INT:
		case V_BOOL:
		case V_DUR:
		case V_ENUM: *(int *)field = (int)k->def; break;
		case V_SIZE: *(size_t *)field = (size_t)k->def; break;
		case V_DUR64: *(int64_t *)field = (int64_t)k->def; break;
		case V_STATUS:
		case V_TRIGGERS: *(unsigned *)field = (unsigned)k->def; break;
		case V_FACTOR: *(double *)field = k->fdef; break;
		default: break; /* strings come after the parse; the rest has none */
		}
	}
}

int cfg_fill_defaults(enum sec sec, char *base)
{
	char **field;
	size_t i;

	for (i = 0; i < cfg_nkeys; i++) {
		if (cfg_keys[i].sec != sec || cfg_keys[i].sdef == NULL)
			continue;
		field = (char **)(base + cfg_keys[i].off);
		if (*field == NULL)
			*field = strdup(cfg_keys[i].sdef);
		if (*field == NULL)
			return ERR_NOMEM;
	}
	return 0;
}

void cfg_share_field(const struct key *k, char *dst, const char *src)
{
	size_t size;

	switch (k->type) {
	case V_INT:
	case V_BOOL:
	case V_DUR:
	case V_ENUM: size = sizeof(int); break;
	case V_SIZE: size = sizeof(size_t); break;
	case V_DUR64: size = sizeof(int64_t); break;
	case V_STATUS:
	case V_TRIGGERS: size = sizeof(unsigned); break;
	case V_FACTOR:
	case V_RATE: size = sizeof(double); break;
	default: size = sizeof(void *); break; /* strings, lists, arrays */
	}
	memcpy(dst + k->off, src + k->off, size);
	if (k->type == V_LIST || k->type == V_MENTIONS || k->type == V_MUTE)
		memcpy(dst + k->n_off, src + k->n_off, sizeof(size_t));
}

void cfg_free_fields(enum sec sec, char *base)
{
	cfg_free_fields_except(sec, base, 0);
}

uint64_t cfg_key_bit(const struct key *k)
{
	size_t i, n = 0;

	for (i = 0; i < cfg_nkeys && &cfg_keys[i] != k; i++)
		n += cfg_keys[i].sec == k->sec;
	return n < 64 ? 1ull << n : 0;
}

void cfg_free_fields_except(enum sec sec, char *base, uint64_t borrowed)
{
	const struct key *k;
	size_t i;

	for (i = 0; i < cfg_nkeys; i++) {
		k = &cfg_keys[i];
		if (k->sec != sec || (borrowed & cfg_key_bit(k)) != 0)
			continue;
		if (k->type == V_STR || k->type == V_LEVEL)
			free(*(char **)(base + k->off));
		else if (k->type == V_SEVERITY)
			free(*(unsigned char **)(base + k->off));
		else if (k->type == V_LIST)
			cfg_free_list(*(char ***)(base + k->off), *(size_t *)(base + k->n_off));
		else if (k->type == V_MUTE)
			free(*(struct mute_window **)(base + k->off));
		else if (k->type == V_MENTIONS)
			cfg_free_mentions(*(struct mention_rule **)(base + k->off),
					  *(size_t *)(base + k->n_off));
	}
}

/* Levenshtein distance of a and b (each at most 64 bytes, as key names
 * are), with transpositions counted as one edit ("notfiy"). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, best;
	size_t prev2[66], prev[66], cur[66];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			best = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			cur[j] = best;
		}
		memcpy(prev2, prev, sizeof(prev));
		memcpy(prev, cur, sizeof(cur));
	}
	return prev[lb];
}

const char *cfg_nearest(const char *word, const char *const *names, size_t n)
{
	size_t i, d, best = SIZE_MAX, limit = strlen(word) < 6 ? 1 : 2;
	const char *near = NULL;

	for (i = 0; i < n; i++) {
		d = edit_distance(word, names[i]);
		if (d <= limit && d < best) {
			best = d;
			near = names[i];
		}
	}
	return near;
}

void cfg_unknown_key(struct parse *p, const char *name)
{
	enum sec sec = p->sec == SEC_DEFAULT ? SEC_PROJECT : p->sec;
	const struct key *near = NULL, *elsewhere = NULL;
	size_t i, d, best = SIZE_MAX, len = strlen(name);
	/* One edit in a short name, two in a longer one: a closer guess than
	 * that is more often wrong than helpful. */
	size_t limit = len < 6 ? 1 : 2;

	for (i = 0; i < cfg_nkeys; i++) {
		if (cfg_keys[i].sec != sec) {
			if (elsewhere == NULL && strcmp(cfg_keys[i].name, name) == 0)
				elsewhere = &cfg_keys[i];
			continue;
		}
		d = edit_distance(name, cfg_keys[i].name);
		if (d <= limit && d < best) {
			best = d;
			near = &cfg_keys[i];
		}
	}
	if (near != NULL)
		cfg_err(p, p->lineno, "unknown key \"%s\" in [%s]; did you mean %s?", name,
			cfg_sec_names[p->sec], near->name);
	else if (elsewhere != NULL)
		cfg_err(p, p->lineno, "unknown key \"%s\" in [%s]; it belongs in [%s]", name,
			cfg_sec_names[p->sec], cfg_sec_names[elsewhere->sec]);
	else
		cfg_err(p, p->lineno, "unknown key \"%s\" in [%s]", name, cfg_sec_names[p->sec]);
}
