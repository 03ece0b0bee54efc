/* Configuration checks across keys: defaults that depend on other keys
 * (api_base from region, a destination's rate from its type), URL rules,
 * references from projects to destinations, authentication, and the file's
 * permissions when it holds secrets. Each problem names the line of the
 * key (or of its section when the key is missing). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "auth.h"
#include "discord.h"
#include "config_int.h"
#include "target.h"
#include "errors.h"
#include "memory.h"
#include "parse.h"
#include "route.h"
#include "slackapi.h"
#include "slackapp.h"

/* The line of key name in the section m describes, or the section's line
 * when the key was not given. */
static int key_line(const struct meta *m, const char *name)
{
	size_t i;

	for (i = 0; i < cfg_nkeys; i++)
		if (strcmp(cfg_keys[i].name, name) == 0 && m->seen[i])
			return m->key_line[i];
	return m->line;
}

static int url_scheme_ok(struct parse *p, const char *url, int line, const char *what)
{
	const unsigned char *u;
	size_t skip;

	/* libcurl takes a backslash as a path separator, a reader of the
	 * config (or of a redacted URL) does not: refuse the ambiguity. */
	for (u = (const unsigned char *)url; *u != '\0'; u++) {
		if (*u == '\\' || *u <= 0x20 || *u == 0x7f) {
			cfg_err(p, line,
				"%s contains a backslash, a space or a control character;"
				" write it with / separators",
				what);
			return 0;
		}
	}
	if (strncasecmp(url, "https://", 8) == 0)
		skip = 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		skip = 7;
	else
		skip = 0;
	if (skip == 0 || url[skip] == '\0' || url[skip] == '/') {
		cfg_err(p, line, "%s must be an http(s) URL", what);
		return 0;
	}
	if (skip == 7 && !p->c->allow_http) {
		cfg_err(p, line, "%s uses http://; set [delivery] allow_http = true to permit it",
			what);
		return 0;
	}
	return 1;
}

#define DEST_MENTION_MAX 254 /* bytes; as a mentions pair (mentions.c) */

/* What each kind of mention looks like, for the warning below. */
static const char *const mention_forms[MENTION__MAX] = {
	[MENTION_SLACK] = "Slack markup (<@U…>, <!subteam^S…>, <!here> or <!channel>)",
	[MENTION_UPN] = "a user principal name (user@domain)",
};

/* A mention the destination's chat cannot resolve posts as plain text and
 * notifies nobody: likely a mistake, so say which shape it needs. */
static void check_mention_shape(struct parse *p, const struct destination *d, int line)
{
	enum mention_kind want = route_target_mention_kind(d->target);

	if (want == MENTION_NONE || want >= MENTION__MAX || mention_forms[want] == NULL ||
	    config_mention_kind(d->mention) == want)
		return;
	cfg_warn(p, line, "[destination %s] mention is not %s, so it would notify nobody", d->name,
		 mention_forms[want]);
}

/* The host each target's webhooks live on; a URL elsewhere is most often
 * a copied wrong URL. allow_any_host = true on the destination accepts a
 * proxy, a relay or a test sink. Targets not listed have no usual host. */
static const struct {
	const char *target;
	const char *host;
} usual_hosts[] = {
	{ "slack", "hooks.slack.com" },
	{ "discord", "discord.com" },
	{ "slack-app", "slack.com" },
};

/* The host of url (after the scheme and any user info, before a port or
 * path) into out; "" when there is none. */
static void url_host(const char *url, char *out, size_t cap)
{
	const char *h = strstr(url, "://"), *end, *at;
	size_t n;

	out[0] = '\0';
	if (h == NULL)
		return;
	h += 3;
	end = h + strcspn(h, "/?#");
	for (at = h; at < end; at++)
		if (*at == '@')
			h = at + 1;
	n = *h == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/?#");
	if (h + n > end)
		n = (size_t)(end - h);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, h, n);
	out[n] = '\0';
}

static void check_usual_host(struct parse *p, const struct destination *d, int line)
{
	char host[256];
	size_t i;

	if (d->allow_any_host)
		return;
	for (i = 0; i < sizeof(usual_hosts) / sizeof(usual_hosts[0]); i++) {
		if (strcmp(d->target->name, usual_hosts[i].target) != 0)
			continue;
		url_host(d->url, host, sizeof(host));
		if (strcasecmp(host, usual_hosts[i].host) != 0)
			cfg_warn(
				p, line,
				"[destination %s] url is not on %s, where its incoming webhooks live;"
				" set allow_any_host = true on the destination if it is meant",
				d->name, usual_hosts[i].host);
	}
}

/* A severity map on a type whose renderer never reads it changes nothing:
 * say so, naming the types that do read one. */
static void warn_severity_unused(struct parse *p, const struct destination *d, int line)
{
	const struct target *t;
	char names[128];
	size_t i, len = 0;
	int w;

	names[0] = '\0';
	for (i = 0; (t = target_at(i)) != NULL; i++) {
		if (!t->takes_severity)
			continue;
		w = snprintf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "", t->name);
		if (w < 0 || (size_t)w >= sizeof(names) - len)
			break;
		len += (size_t)w;
	}
	cfg_warn(p, line,
		 "[destination %s] severity is not used by type = %s (only %s uses severity)",
		 d->name, d->target->name, names);
}

/* A Slack channel id as chat.postMessage answers with it: C (public), G
 * (private) or D (direct), then capitals and digits. A name ("#alerts")
 * would post, but the thread of a parent is kept by the channel's id. */
static int channel_id_ok(const char *c)
{
	size_t i;

	if (!store_slack_id_valid(c) || strchr("CGD", c[0]) == NULL || c[1] == '\0')
		return 0;
	for (i = 1; c[i] != '\0'; i++)
		if (!isupper((unsigned char)c[i]) && !isdigit((unsigned char)c[i]))
			return 0;
	return 1;
}

/* type = slack-app: a bot token (secret) that is no placeholder, and a
 * channel id; the other types take neither channel nor
 * broadcast_recovery. */
static void check_slack_app(struct parse *p, const struct destination *d, const struct meta *m)
{
	if (!slackapp_is(d->target)) {
		if (d->channel != NULL || key_line(m, "broadcast_recovery") != m->line)
			cfg_warn(p,
				 key_line(m, d->channel != NULL ? "channel" : "broadcast_recovery"),
				 "[destination %s] channel and broadcast_recovery are only used by"
				 " type = slack-app",
				 d->name);
		return;
	}
	if (d->channel == NULL)
		cfg_err(p, m->line,
			"[destination %s] type = slack-app needs channel = the channel's id"
			" (C0123ABCDEF: channel details, at the bottom of About)",
			d->name);
	else if (!channel_id_ok(d->channel))
		cfg_err(p, key_line(m, "channel"),
			"[destination %s] channel is not a Slack channel id (C…, G… or D…,"
			" capitals and digits; a #name will not do)",
			d->name);
	if (d->secret == NULL) {
		cfg_err(p, m->line,
			"[destination %s] type = slack-app needs secret (or secret_file): the"
			" app's bot token, xoxb-…",
			d->name);
		return;
	}
	cfg_check_secrets(p, "secret", &d->secret, 1, key_line(m, "secret"));
	if (strncmp(d->secret, "xox", 3) != 0)
		cfg_warn(p, key_line(m, "secret"),
			 "[destination %s] secret does not look like a Slack token (xoxb-…)",
			 d->name);
}

/* 1 unless d's target signs or authenticates each post (its prepare hook)
 * and cannot with d's secret: every post would then be given up, so it is
 * said at load instead. The hook is pure, so a trial call is free. */
static int secret_usable(const struct destination *d)
{
	struct target_post tp;
	int rc;

	memset(&tp, 0, sizeof(tp));
	if (d->target->prepare == NULL)
		return 1;
	rc = d->target->prepare("{}", d->secret, "dpc-check-config", 0, &tp);
	target_post_free(&tp);
	return rc != ERR_INVALID;
}

/* forum = true names a Discord forum channel's webhook: only discord
 * can post forum threads, so anywhere else it is refused, not ignored. */
static void check_forum(struct parse *p, const struct destination *d, const struct meta *m)
{
	if (d->forum && !discord_is(d->target))
		cfg_err(p, key_line(m, "forum"),
			"[destination %s] forum is only used by type = discord (a forum"
			" channel's webhook)",
			d->name);
}

/* The target's own URL rule and default rate, once type and url are known. */
static void check_target(struct parse *p, struct destination *d, const struct meta *m)
{
	const char *warning;

	if (d->target == NULL)
		return; /* reported as missing or invalid */
	warning = d->target->url_warning != NULL ? d->target->url_warning(d->url) : NULL;
	if (warning != NULL)
		cfg_warn(p, key_line(m, "url"), "%s", warning);
	if (d->rate_per_sec == 0.0)
		d->rate_per_sec = d->target->default_rate;
	/* A mention is repeated in a card's text and entity; one longer than
	 * an address can be would only crowd out the run's own text (Teams
	 * has 28 KB for everything). */
	if (d->mention != NULL && strlen(d->mention) > DEST_MENTION_MAX)
		cfg_err(p, key_line(m, "mention"),
			"[destination %s] mention is longer than %d bytes", d->name,
			DEST_MENTION_MAX);
	else if (d->mention != NULL)
		check_mention_shape(p, d, key_line(m, "mention"));
	check_usual_host(p, d, key_line(m, "url"));
	if (d->severity != NULL && !d->target->takes_severity)
		warn_severity_unused(p, d, key_line(m, "severity"));
	check_slack_app(p, d, m);
	check_forum(p, d, m);
	if (!secret_usable(d) && d->secret == NULL)
		cfg_err(p, m->line, "[destination %s] type = %s needs secret (or secret_file)",
			d->name, d->target->name);
	else if (!secret_usable(d))
		/* The secret itself never goes into a message. */
		cfg_err(p, key_line(m, "secret"),
			"[destination %s] secret cannot be used by type = %s"
			" (see dpc-notify.ini(5))",
			d->name, d->target->name);
}

static void check_destinations(struct parse *p)
{
	char names[256];
	size_t i;
	struct destination *d;
	struct meta *m;

	if (p->c->n_destinations == 0)
		cfg_err(p, 0, "no [destination NAME] section; at least one is required");
	for (i = 0; i < p->c->n_destinations; i++) {
		d = &p->c->destinations[i];
		m = &p->dmeta[i];
		if (key_line(m, "type") == m->line) {
			target_names(names, sizeof(names), NULL);
			cfg_err(p, m->line, "[destination %s] needs type = %s", d->name, names);
		}
		/* A Slack app calls Slack's Web API unless told otherwise. */
		if (d->url == NULL && slackapp_is(d->target) && key_line(m, "url") == m->line &&
		    (d->url = strdup(SLACKAPI_BASE_URL)) == NULL)
			cfg_err(p, m->line, "out of memory");
		if (d->url == NULL) {
			/* A url that was given but failed has been reported. */
			if (key_line(m, "url") == m->line)
				cfg_err(p, m->line, "[destination %s] needs url", d->name);
			continue;
		}
		if (!url_scheme_ok(p, d->url, key_line(m, "url"), "url"))
			continue;
		check_target(p, d, m);
	}
}

/* A mentions pair is only ever used by a destination of its kind; one that
 * no destination of the project can take is most likely a mistake. */
static void check_mentions(struct parse *p, const struct project *pr, const struct meta *m,
			   const char *label)
{
	const struct destination *d;
	size_t i, j;
	int fits;

	for (i = 0; i < pr->n_mentions; i++) {
		fits = 0;
		for (j = 0; j < pr->n_destinations && !fits; j++) {
			d = config_destination(p->c, pr->destinations[j]);
			fits = d == NULL || d->target == NULL ||
			       route_target_mention_kind(d->target) == pr->mentions[i].kind;
		}
		if (!fits)
			cfg_warn(p, key_line(m, "mentions"),
				 "project %s: mentions pair %zu (%s) fits none of its destinations",
				 label, i + 1, mention_kind_names[pr->mentions[i].kind]);
	}
}

/* The names of the [destination] sections, comma-separated, into out;
 * "none" when there are none, cut short with "…" when out is full. */
static void defined_destinations(const struct config *c, char *out, size_t cap)
{
	size_t i, len = 0;
	int w;

	snprintf(out, cap, "none");
	for (i = 0; i < c->n_destinations; i++) {
		w = snprintf(out + len, cap - len, "%s%s", i ? ", " : "", c->destinations[i].name);
		if (w < 0 || (size_t)w >= cap - len) {
			snprintf(out + (len < cap - 4 ? len : cap - 4), 4, "…");
			return;
		}
		len += (size_t)w;
	}
}

/* 1 for the 8-4-4-4-12 hex form Matillion gives every project id. */
static int is_uuid(const char *s)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };
	size_t g;
	int i;

	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		for (i = 0; i < groups[g]; i++, s++)
			if (!isxdigit((unsigned char)*s))
				return 0;
		if (*s != (g + 1 < sizeof(groups) / sizeof(groups[0]) ? '-' : '\0'))
			return 0;
		s++;
	}
	return 1;
}

/* what: "project" for [project] and [default], "route" for [route]. */
int config_slack_id_ok(const char *s, const char *firsts)
{
	size_t n;

	if (s == NULL || s[0] == '\0' || strchr(firsts, s[0]) == NULL)
		return 0;
	n = strspn(s + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
	return n >= 2 && n < CONFIG_SLACK_ID_MAX - 1 && s[1 + n] == '\0';
}

/* rerun_users and rerun_usergroups hold Slack ids, checked by shape so a
 * display name or a mention written there is refused instead of never
 * matching a click. */
static void check_rerun(struct parse *p, const struct project *pr, const struct meta *m,
			const char *label)
{
	size_t i;

	for (i = 0; i < pr->n_rerun_users; i++)
		if (!config_slack_id_ok(pr->rerun_users[i], "UW"))
			cfg_err(p, key_line(m, "rerun_users"),
				"%s: rerun_users item %zu is not a Slack user id (U… or W…)", label,
				i + 1);
	for (i = 0; i < pr->n_rerun_usergroups; i++)
		if (!config_slack_id_ok(pr->rerun_usergroups[i], "S"))
			cfg_err(p, key_line(m, "rerun_usergroups"),
				"%s: rerun_usergroups item %zu is not a Slack user group id (S…)",
				label, i + 1);
}

/* The paths the front door serves itself; the buttons need their own. */
static const char *const taken_paths[] = { "/webhook", "/healthz", "/readyz", "/metrics",
					   "/-/reload" };

static void check_slack(struct parse *p)
{
	struct config *c = p->c;
	const struct meta *m = &p->single[SEC_SLACK];
	const char *path = c->slack_interactivity_path;
	size_t i, n = strlen(path);

	if (c->slack_signing_secret != NULL)
		cfg_check_secrets(p, "signing_secret", &c->slack_signing_secret, 1,
				  key_line(m, "signing_secret"));
	if (path[0] != '/' || n > 256 || strcspn(path, "?#%\\ \t") != n) {
		cfg_err(p, key_line(m, "interactivity_path"),
			"interactivity_path must start with / and hold no ? # %% \\ or spaces"
			" (at most 256 bytes)");
		return;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)path[i] < 0x21 || (unsigned char)path[i] >= 0x7f)
			cfg_err(p, key_line(m, "interactivity_path"),
				"interactivity_path must be printable ASCII");
	for (i = 0; i < sizeof(taken_paths) / sizeof(taken_paths[0]); i++)
		if (strcmp(path, taken_paths[i]) == 0)
			cfg_err(p, key_line(m, "interactivity_path"),
				"interactivity_path %s is already served by dpc-notify", path);
}

static void check_route(struct parse *p, const struct project *pr, const struct meta *m,
			const char *what)
{
	size_t i;
	const char *label = pr->id[0] != '\0' ? pr->id : "(default)";
	char names[512];

	if (strcmp(what, "project") == 0 && pr->id[0] != '\0' && !is_uuid(pr->id))
		cfg_warn(p, m->line,
			 "[project %s]: the id is not a UUID; webhooks name a project by its"
			 " UUID, so this section would never match (give the name with name =)",
			 pr->id);
	if (pr->n_destinations == 0)
		cfg_err(p, m->line, "%s %s: destinations is required", what, label);
	for (i = 0; i < pr->n_destinations; i++) {
		if (config_destination(p->c, pr->destinations[i]) != NULL)
			continue;
		defined_destinations(p->c, names, sizeof(names));
		cfg_err(p, key_line(m, "destinations"),
			"%s %s: unknown destination \"%s\" (defined: %s)", what, label,
			pr->destinations[i], names);
	}
	check_rerun(p, pr, m, label);
	/* A route's inherited list was written for its parent's destinations. */
	if (key_line(m, "mentions") != m->line)
		check_mentions(p, pr, m, label);
	/* SLOW needs the slow check: with it off, the word is dead weight
	 * that the operator most likely did not mean. */
	if ((pr->notify_on & MEM_NOTIFY_SLOW) != 0 && pr->duration_alert == 0.0)
		cfg_warn(p, key_line(m, "notify_on"),
			 "project %s: notify_on lists SLOW but duration_alert = 0"
			 " turns the slow check off",
			 label);
}

#define RELOAD_TOKEN_MIN 16 /* bytes: a token anyone could guess reloads nothing */

int config_listen_off(const char *addr)
{
	return addr == NULL || strcasecmp(addr, "off") == 0 || strcasecmp(addr, "none") == 0;
}

static int is_wildcard(const struct hostport *hp)
{
	static const char *const any[] = { "*", "0.0.0.0", "::" };
	size_t i;

	for (i = 0; i < sizeof(any) / sizeof(any[0]); i++)
		if (hp->host_len == strlen(any[i]) && memcmp(hp->host, any[i], hp->host_len) == 0)
			return 1;
	return 0;
}

/* 1 when both listeners would want one socket: the same port (not 0,
 * which picks a free one) on the same host, or on every address. */
static int same_socket(const struct hostport *a, const struct hostport *b)
{
	if (a->port != b->port || a->port == 0)
		return 0;
	if (is_wildcard(a) || is_wildcard(b))
		return 1;
	return a->host_len == b->host_len && strncasecmp(a->host, b->host, a->host_len) == 0;
}

/* Writes "off" over an off value, so it prints one way; 0 or ERR_NOMEM. */
static int set_off(char **field)
{
	char *off = strdup("off");

	if (off == NULL)
		return ERR_NOMEM;
	free(*field);
	*field = off;
	return 0;
}

/* listen and admin_listen: each an address or off (listen = off runs
 * without a webhook listener, admin_listen then defaults to loopback);
 * something must serve the probes, and two listeners need two sockets. */
static void check_listeners(struct parse *p)
{
	struct config *c = p->c;
	const struct meta *m = &p->single[SEC_SERVER];
	struct hostport hp, ha;
	int lok = 0, aok = 0, loff = config_listen_off(c->listen), named = 0;
	size_t i;

	if (c->admin_listen == NULL)
		c->admin_listen = strdup(loff ? CONFIG_ADMIN_LISTEN_DEFAULT : "off");
	if (c->admin_listen == NULL || (loff && set_off(&c->listen) != 0) ||
	    (config_listen_off(c->admin_listen) && set_off(&c->admin_listen) != 0)) {
		cfg_err(p, 0, "out of memory");
		return;
	}
	if (!loff && !(lok = parse_hostport(c->listen, &hp) == 0))
		cfg_err(p, key_line(m, "listen"),
			"listen: expected host:port (port 0..65535, [v6]:port) or off");
	if (!config_listen_off(c->admin_listen) &&
	    !(aok = parse_hostport(c->admin_listen, &ha) == 0))
		cfg_err(p, key_line(m, "admin_listen"),
			"admin_listen: expected host:port (port 0..65535, [v6]:port) or off");
	if (loff && config_listen_off(c->admin_listen))
		cfg_err(p, key_line(m, "admin_listen"),
			"listen = off and admin_listen = off: nothing would serve /healthz, /readyz"
			" and /metrics; give admin_listen a host:port (left out, it is %s)",
			CONFIG_ADMIN_LISTEN_DEFAULT);
	if (loff && !c->poll_enabled)
		cfg_err(p, key_line(&p->single[SEC_POLL], "enabled"),
			"listen = off and [poll] enabled = false: no run could ever arrive;"
			" turn polling on or give listen a host:port");
	for (i = 0; i < c->n_routes && !named; i++)
		named = c->routes[i].project != NULL;
	if (loff && c->poll_enabled && c->n_projects == 0 && !named)
		cfg_warn(p, key_line(m, "listen"),
			 "listen = off: no [project ID] section or route project = names a"
			 " project, so polling lists only projects the store has already seen"
			 " (none in a new store); name the projects to watch");
	if (lok && aok && same_socket(&hp, &ha))
		cfg_err(p, key_line(m, "admin_listen"),
			"admin_listen: same address and port as listen; the admin listener needs"
			" its own port");
}

static void check_server(struct parse *p)
{
	struct config *c = p->c;
	const struct meta *m = &p->single[SEC_SERVER];
	size_t i;

	check_listeners(p);
	cfg_check_secrets(p, "auth_token", c->auth_tokens, c->n_auth_tokens,
			  key_line(m, "auth_token"));
	cfg_check_secrets(p, "hmac_secret", c->hmac_secrets, c->n_hmac_secrets,
			  key_line(m, "hmac_secret"));
	/* A token or secret that was given but failed has been reported. */
	for (i = 0; i < c->n_hmac_secrets; i++) {
		/* The secret itself never goes into a message. */
		if (!auth_secret_ok(c->hmac_secrets[i]))
			cfg_err(p, key_line(m, "hmac_secret"),
				"hmac_secret: a whsec_ secret must be"
				" standard base64 after the prefix (A-Z a-z 0-9 + /, '=' only at the"
				" end, at most 255 bytes); item %zu is not",
				i + 1);
	}
	if (c->reload_endpoint && c->reload_token == NULL && !p->read_only &&
	    key_line(m, "reload_token") == m->line)
		cfg_err(p, key_line(m, "reload_endpoint"),
			"reload_endpoint = true needs reload_token (a long random secret)");
	if (c->reload_token != NULL && strlen(c->reload_token) < RELOAD_TOKEN_MIN)
		cfg_err(p, key_line(m, "reload_token"), "reload_token must be at least %d bytes",
			RELOAD_TOKEN_MIN);
	/* Without a webhook listener no webhook arrives to authenticate. */
	if (c->n_auth_tokens == 0 && c->n_hmac_secrets == 0 && !c->allow_unauthenticated &&
	    !config_listen_off(c->listen) && key_line(m, "auth_token") == m->line &&
	    key_line(m, "hmac_secret") == m->line)
		cfg_err(p, m->line,
			"no webhook authentication configured; set auth_token or allow_unauthenticated = true");
}

static void check_matillion(struct parse *p)
{
	struct config *c = p->c;
	const struct meta *m = &p->single[SEC_MATILLION];
	size_t i;

	if (p->region != NULL && c->api_base != NULL) {
		cfg_err(p, key_line(m, "api_base"), "set region or api_base, not both");
	} else if (c->api_base == NULL) {
		for (i = 0; p->region != NULL && strcmp(cfg_region_names[i], p->region) != 0; i++)
			;
		c->api_base = strdup(cfg_region_api_bases[p->region != NULL ? i : 0]);
		if (c->api_base == NULL)
			cfg_err(p, 0, "out of memory");
	}
	if (c->client_id == NULL && !p->read_only)
		cfg_err(p, m->line, "[matillion] client_id is required");
	if (c->client_secret == NULL && !p->read_only)
		cfg_err(p, m->line, "[matillion] client_secret is required");
	if (c->api_base != NULL)
		url_scheme_ok(p, c->api_base, key_line(m, "api_base"), "api_base");
	url_scheme_ok(p, c->token_url, key_line(m, "token_url"), "token_url");
	url_scheme_ok(p, c->ui_base, key_line(m, "ui_base"), "ui_base");
}

static void check_permissions(struct parse *p)
{
	struct stat st;

	if (p->inline_secret && fstat(fileno(p->f), &st) == 0 &&
	    (st.st_mode & (S_IRGRP | S_IROTH)) != 0)
		cfg_warn(p, 0,
			 "the file is readable by other users and holds secrets; "
			 "chmod 600 it or use ${ENV} / KEY_file");
}

void cfg_validate(struct parse *p)
{
	size_t i;

	if (cfg_fill_defaults(SEC_SERVER, (char *)p->c) != 0 ||
	    cfg_fill_defaults(SEC_MATILLION, (char *)p->c) != 0 ||
	    cfg_fill_defaults(SEC_DELIVERY, (char *)p->c) != 0 ||
	    cfg_fill_defaults(SEC_MEMORY, (char *)p->c) != 0 ||
	    cfg_fill_defaults(SEC_SLACK, (char *)p->c) != 0) {
		cfg_err(p, 0, "out of memory");
		return;
	}
	check_server(p);
	check_matillion(p);
	check_slack(p);
	check_destinations(p);
	for (i = 0; i < p->c->n_projects; i++)
		check_route(p, &p->c->projects[i], &p->pmeta[i], "project");
	if (p->c->default_route != NULL)
		check_route(p, p->c->default_route, &p->defmeta, "project");
	for (i = 0; i < p->c->n_routes; i++)
		check_route(p, &p->c->routes[i], &p->rmeta[i], "route");
	check_permissions(p);
}
