/* Configuration: the INI file, validated once into a read-only snapshot.
 * Values may be ${ENV_VAR}; secret keys also accept KEY_file = PATH (the
 * file's content, trailing newline stripped). Unknown sections or keys are
 * errors reported as "file:line: message". A running service shares the
 * snapshot through a config_holder so SIGHUP can swap in a new one. */
#ifndef DPC_CONFIG_H
#define DPC_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "memory.h"

struct target;      /* target.h */
struct mute_window; /* silence.h */

struct destination {
	char *name;                  /* section suffix: [destination NAME] */
	const struct target *target; /* type = a name in the target table (slack | teams) */
	char *url;                   /* url: a secret; never print it unredacted */
	char *mention; /* mention: optional, added on failures only (Slack markup, or Teams UPN) */
	double rate_per_sec; /* rate: max messages/s (default: the target's) */
	/* Storm grouping: more than group_threshold - 1 problem messages
	 * within group_window seconds, and the rest wait for one grouped
	 * message at the window's end. 0 in either: never grouped. */
	int group_threshold;
	int group_window_s;
	/* mute_windows: recurring UTC quiet hours of this destination; what
	 * falls due in one waits for its end (problems as one grouped
	 * message). */
	struct mute_window *mute_windows;
	size_t n_mute_windows;
	char *secret;       /* secret: the target's own (a signing secret, a routing key);
		       * never print it unredacted */
	int allow_any_host; /* allow_any_host: no warning for a URL off the target's usual host */
	unsigned char *severity; /* severity: ST__MAX levels by status (target.h's
				  * render_opts.severity); NULL when not given */
	char *channel;           /* channel: type = slack-app's channel id (C…, G…) */
	int broadcast_recovery;  /* broadcast_recovery: a slack-app recovery reply is
				  * also shown in the channel */
	int forum;               /* forum: a discord webhook of a forum channel; each
				  * incident is one forum post (its thread) */
};

/* What a mention string is, told by its shape alone. Each chat target takes
 * one kind (route_target_mention_kind()). */
enum mention_kind {
	MENTION_NONE,  /* neither shape: refused by the config */
	MENTION_SLACK, /* Slack markup: <@U…>, <@W…>, <!subteam^S…>, <!here>, <!channel> */
	MENTION_UPN,   /* a Teams user principal name: name@domain */
	MENTION__MAX
};
extern const char *const mention_kind_names[MENTION__MAX];

/* One "glob : mention" pair of a project's mentions list. */
struct mention_rule {
	char *glob;             /* fnmatch(3) pattern over the pipeline's display name */
	char *mention;          /* Slack markup or a UPN, shape checked */
	enum mention_kind kind; /* config_mention_kind(mention), never MENTION_NONE */
};

/* A route: a [project ID] section, [default], or a [route NAME] section
 * (route.h says which one a run takes). */
struct project {
	char *id;         /* section suffix: [project ID] or [route NAME]; "" for [default] */
	int line;         /* line of the section header */
	char *project;    /* [route] project = ID it serves; NULL: every project */
	char **pipelines; /* [route] pipelines: glob list; none = all */
	size_t n_pipelines;
	uint64_t borrowed;   /* [route] keys (bit = the key's place among the
			      * [project] rows of the key table) whose
			      * values are shared with the [project] or [default]
			      * section the route inherits from, not owned */
	char *name;          /* name: display name (optional) */
	char **destinations; /* destinations: names of [destination] sections */
	size_t n_destinations;
	unsigned notify_on;  /* notify_on: mask of STATUS_BIT(), and MEM_NOTIFY_SLOW for SLOW */
	char **environments; /* environments: glob list; none = all */
	size_t n_environments;
	struct mention_rule *mentions; /* mentions: per-pipeline pairs, first match wins */
	size_t n_mentions;
	/* Run memory (route_policy() hands these to mem_decide()). */
	int recovery;              /* recovery: post a recovery when an incident closes */
	enum mem_repeat on_repeat; /* on_repeat = compact|silent|full */
	int64_t repeat_interval_s; /* repeat_interval seconds: a repeat after it is a reminder */
	int notify_after;          /* notify_after: consecutive problems before the first message */
	double duration_alert; /* duration_alert: slow factor over the usual duration, 0 = off */
	struct mute_window *mute_windows; /* mute_windows: recurring UTC quiet hours (silence.h) */
	size_t n_mute_windows;
	unsigned triggers; /* triggers: mask of TRIGGER_BIT() (route.h); runs of other kinds
			    * are remembered, not posted */
	/* Long-running runs (longrun.h). */
	int64_t max_duration_s; /* max_duration seconds: still running after it is told; 0 = off */
	double slow_factor; /* slow_factor: still running past this × usual duration; 0 = off */
	int allow_rerun;    /* allow_rerun: a slack-app parent offers Re-run */
	char **rerun_users; /* rerun_users: Slack user ids who may press Re-run */
	size_t n_rerun_users;
	char **rerun_usergroups; /* rerun_usergroups: Slack user group ids, likewise */
	size_t n_rerun_usergroups;
};

/* Defaults and bounds of every key are written once, in the key table
 * (src/config/keys.c); config_print_keys() shows the values in effect. */
struct config {
	char *path;         /* file it was loaded from */
	uint64_t file_hash; /* FNV-1a of the bytes read: a reload tells an unchanged file */

	/* [server] */
	char *listen;       /* listen = host:port, or "off": no webhook listener */
	char *admin_listen; /* admin_listen = host:port, or "off": probes and metrics
			     * only (never /webhook); after loading never NULL */
	char **auth_tokens; /* auth_token (comma list for rotation) */
	size_t n_auth_tokens;
	char **hmac_secrets; /* hmac_secret (comma list): Standard Webhooks / GitHub signatures */
	size_t n_hmac_secrets;
	int signature_tolerance;    /* signature_tolerance seconds */
	int allow_unauthenticated;  /* allow_unauthenticated */
	size_t max_body;            /* max_body bytes */
	int max_json_depth;         /* max_json_depth */
	int max_connections;        /* max_connections */
	int max_connections_per_ip; /* max_connections_per_ip */
	int connection_timeout;     /* connection_timeout seconds */
	char *store;                /* store = path */
	int workers;                /* workers */
	int shutdown_grace;         /* shutdown_grace seconds */
	int allow_core_dumps;       /* allow_core_dumps: keep the
				       * process dumpable with its core limit */
	int reload_endpoint;        /* reload_endpoint: serve POST /-/reload */
	char *reload_token;         /* reload_token: a secret, Bearer for /-/reload */
	char *log_level;            /* log_level = debug|info|warn|error */
	enum log_format log_format; /* log_format = logfmt|json */

	/* [matillion] */
	char *api_base;          /* api_base, or from region = eu1|us1 */
	char *token_url;         /* token_url */
	char *client_id;         /* client_id (secret-ish: never logged) */
	char *client_secret;     /* client_secret: secret */
	char *ui_base;           /* ui_base */
	int requests_per_minute; /* requests_per_minute (0 = unlimited) */
	int burst;               /* burst */
	int max_child_depth;     /* max_child_depth */
	int max_api_calls;       /* max_api_calls per job */

	/* [delivery] */
	int max_attempts;        /* max_attempts */
	int64_t max_age;         /* max_age seconds */
	int64_t retry_after_max; /* retry_after_max: ceiling on a peer's Retry-After, s */
	int64_t dedup_window;    /* dedup_window seconds */
	int degraded_notice;     /* degraded_notice */
	int allow_http;          /* allow_http: permit http:// URLs */
	char *ca_file;           /* ca_file: optional CA bundle */
	char *proxy;             /* proxy: optional; else HTTPS_PROXY/NO_PROXY apply */
	int connect_timeout;     /* connect_timeout seconds */
	int timeout;             /* timeout seconds, whole request */

	/* [memory] */
	size_t history_runs;    /* history_runs: runs kept per pipeline */
	int64_t forget_after_s; /* forget_after seconds: pipelines unseen this long are pruned */

	/* [slack]: the Slack app's button clicks (src/intake/interact.c) */
	char *slack_signing_secret;     /* signing_secret: a secret; NULL turns the endpoint off */
	char *slack_interactivity_path; /* interactivity_path: where Slack posts clicks */
	int slack_response_url_any_host; /* response_url_any_host: tests only, any response_url host */
	/* [poll] */
	int poll_enabled;    /* enabled: reconcile by listing executions */
	int poll_interval_s; /* interval seconds between reconciliations */
	int poll_overlap_s;  /* overlap seconds listed again below the watermark */
	int poll_share;      /* poll_share: percent of requests_per_minute the poller may use */

	struct destination *destinations;
	size_t n_destinations;
	struct project *projects;
	size_t n_projects;
	struct project *default_route; /* [default], or NULL */
	struct project *routes;        /* [route NAME] sections, most specific first */
	size_t n_routes;
};

/* Problems found while loading: lines "file:line: message". */
struct diags {
	char **lines; /* owned */
	size_t n;
	size_t n_errors;   /* errors make the config invalid */
	size_t n_warnings; /* warnings do not */
};
void diags_free(struct diags *d);

/* Loads and validates path. Returns a new snapshot (caller frees with
 * config_free) or NULL when invalid; every problem is appended to d. */
struct config *config_load(const char *path, struct diags *d);

/* config_load() with flags. CONFIG_READ_ONLY is for commands that only read
 * the store (jobs, dead, incidents, history, silence): secret keys are
 * checked for syntax but their values are neither expanded nor read, so
 * those commands work without the service's secrets in the environment;
 * the secret fields stay NULL (destination urls included). */
#define CONFIG_READ_ONLY 1u
struct config *config_load_flags(const char *path, unsigned flags, struct diags *d);

/* 1 when a and b were read from the same path with the same bytes. */
int config_same_file(const struct config *a, const struct config *b);
void config_free(struct config *c);

/* The kind of mention s is by its shape: MENTION_SLACK for exactly one of
 * <@U…> / <@W…> (a user), <!subteam^S…> (a user group), <!here> or
 * <!channel>, the ids upper-case letters and digits; MENTION_UPN for one
 * name@domain address (at most 254 bytes, ASCII letters, digits and
 * ._+- before the @, dot-separated DNS labels after it); MENTION_NONE for
 * anything else, NULL included. Pure. */
enum mention_kind config_mention_kind(const char *s);

/* 1 when a listen or admin_listen value turns its listener off ("off" or
 * "none", any case; NULL too). Pure. */
int config_listen_off(const char *addr);

/* The default of admin_listen when listen = off and admin_listen is not
 * given: loopback, a port apart from listen's default 8080. */
#define CONFIG_ADMIN_LISTEN_DEFAULT "127.0.0.1:9091"

/* 1 when s is a Slack id: its first character one of firsts ("UW" for a
 * user, "S" for a user group, "C" for a channel), then 2 to
 * CONFIG_SLACK_ID_MAX - 3 upper-case letters and digits. Pure. */
#define CONFIG_SLACK_ID_MAX 32
int config_slack_id_ok(const char *s, const char *firsts);

/* Lookups; results are borrowed from c. NULL when absent. */
const struct destination *config_destination(const struct config *c, const char *name);

/* Writes the one-screen check-config summary with URLs redacted. */
void config_print_summary(const struct config *c, FILE *out);

/* Writes every key with its effective value as INI text, section by
 * section: secrets as "(set)", URLs redacted. */
void config_print_keys(const struct config *c, FILE *out);

/* Writes a redacted form of url into out (scheme, host, first path chars,
 * then "…redacted"). Never fails; truncates to outlen. */
void config_redact_url(const char *url, char *out, size_t outlen);

/* A reference-counted holder for the current snapshot. */
struct config_holder;
struct config_holder *config_holder_new(struct config *c); /* takes c */
void config_holder_free(struct config_holder *h);
/* Returns the current snapshot with a reference; give it back with
 * config_put(). Never NULL. */
const struct config *config_get(struct config_holder *h);
void config_put(struct config_holder *h, const struct config *c);
/* Installs c (taking it); the old snapshot is freed once unreferenced. */
void config_swap(struct config_holder *h, struct config *c);

#endif
