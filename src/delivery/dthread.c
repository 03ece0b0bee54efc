/* Incident threads of a Discord destination (dthread.h): the one place
 * that decides, when a discord delivery is posted, whether its body opens
 * an incident, follows it, or stands alone, and that edits the
 * incident's first message when it is resolved.
 *
 * DESIGN
 * The incident record is the Slack app's (store.h, "Slack threads"): one
 * row per destination, pipeline and incident start, holding the first
 * message's id in ts and, in channel, the id of the forum post's thread
 * it opened, or DISCORD_NOT_IN_THREAD for a message in the channel
 * itself. A body the discord row rendered names its incident and role
 * (slackapp_meta()); the row is looked up when the body is posted.
 *  - A problem (role open) of an incident with no row here is its first
 *    message, posted with ?wait=true so Discord answers with the message
 *    (id, channel_id); both ids are checked (digits only, at most 20)
 *    and recorded at once, before the worker records the delivery. A
 *    reply without usable ids records nothing: the incident then has no
 *    row and its messages still post, each on its own. Crash and race
 *    are as for a Slack parent: at least once, the first row wins.
 *  - forum = true: the webhook's channel is a forum, where every post
 *    needs a thread. A message with the incident's thread goes into it
 *    (?thread_id=, an id we checked); any other message opens a forum
 *    post titled with the environment and pipeline (thread_name), whose
 *    thread is the channel_id of the reply. Without forum every message
 *    goes into the channel: a text channel's webhook cannot open threads.
 *  - A recovery of an incident with a row first edits the first message
 *    (PATCH {url}/messages/{id}, ?thread_id= when it is in a thread): the
 *    resolved line leads its embed's title, the details stay. Then the
 *    row is marked resolved and the recovery is posted as any message,
 *    so a retried recovery does not edit again. A failed edit is logged
 *    and counted, tried again only with a retry of the recovery; a
 *    permanent failure (404 Unknown Message: deleted) marks the row
 *    resolved so it is not tried again. */
#include "dthread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discord.h"
#include "errors.h"
#include "log.h"
#include "metrics.h"
#include "thread.h"

#define PARAM_MAX (sizeof("thread_id=") + DISCORD_ID_DIGITS)
#define TAIL_MAX (sizeof("/messages/") + DISCORD_ID_DIGITS)

/* The thread of t, when it names one we may put into a URL. */
static const char *thread_of(const struct store_thread *t)
{
	if (t == NULL || strcmp(t->channel, DISCORD_NOT_IN_THREAD) == 0 ||
	    !discord_id_valid(t->channel))
		return NULL;
	return t->channel;
}

void dthread_plan(int forum, enum slackapp_role role, const struct store_thread *t,
		  struct dthread_plan *p)
{
	memset(p, 0, sizeof(*p));
	if (role == SLACKAPP_PLAIN)
		t = NULL;
	p->thread_id = forum ? thread_of(t) : NULL;
	p->thread_name = forum && p->thread_id == NULL;
	p->record = t == NULL && role == SLACKAPP_OPEN;
	p->edit = t != NULL && role == SLACKAPP_RECOVERY && !t->resolved && discord_id_valid(t->ts);
	p->edit_thread = p->edit ? thread_of(t) : NULL;
}

int dthread_record_channel(int forum_post, const struct deliver_result *r, char *out, size_t cap)
{
	const char *ch = forum_post ? r->channel_id : DISCORD_NOT_IN_THREAD;

	if (r->cls != DELIVER_OK || !discord_id_valid(r->message_id) ||
	    (forum_post && !discord_id_valid(ch)) || strlen(ch) >= cap)
		return 0;
	snprintf(out, cap, "%s", ch);
	return 1;
}

int dthread_is(const struct destination *d)
{
	return d != NULL && discord_is(d->target);
}

/* Records the incident's first message, posted as msg and accepted (r). */
static void record_first(struct store *st, const struct destination *d,
			 const struct slackapp_meta *m, int forum_post,
			 const struct deliver_result *r, const char *msg)
{
	struct store_thread t;
	int rc;

	memset(&t, 0, sizeof(t));
	if (!dthread_record_channel(forum_post, r, t.channel, sizeof(t.channel))) {
		log_event(LOG_WARN,
			  "discord: reply named no usable message id; incident not"
			  " threaded",
			  "destination", d->name, NULL);
		return;
	}
	t.dest = d->name;
	t.project_id = (char *)m->project_id;
	t.environment = (char *)m->environment;
	t.pipeline = (char *)m->pipeline;
	t.since_ms = m->since_ms;
	snprintf(t.ts, sizeof(t.ts), "%s", r->message_id);
	t.parent = (char *)msg;
	rc = store_thread_put(st, &t);
	if (rc == ERR_DUPLICATE)
		log_event(LOG_INFO, "discord: another message opened the incident first",
			  "destination", d->name, "message_id", t.ts, NULL);
	else if (rc != 0)
		log_event(LOG_ERROR, "discord: cannot record the incident's first message",
			  "destination", d->name, "error", err_str(rc), NULL);
}

/* The URL of the first message of t (an id checked by dthread_plan()),
 * in its thread when p says so. Caller frees; NULL on ERR_NOMEM. */
static char *edit_url(const struct destination *d, const struct store_thread *t,
		      const struct dthread_plan *p)
{
	char tail[TAIL_MAX], param[PARAM_MAX];

	snprintf(tail, sizeof(tail), "/messages/%.*s", DISCORD_ID_DIGITS, t->ts);
	if (p->edit_thread != NULL)
		snprintf(param, sizeof(param), "thread_id=%.*s", DISCORD_ID_DIGITS, p->edit_thread);
	return deliver_url(d->url, tail, p->edit_thread != NULL ? param : NULL);
}

/* Counts and logs the edit's outcome; what the row then says. */
static int edit_done(struct store *st, const struct destination *d, const struct store_thread *t,
		     const struct deliver_result *e, const char *upd)
{
	metrics_message_update(d->name, e->cls == DELIVER_OK);
	if (e->cls == DELIVER_OK) {
		log_event(LOG_INFO, "discord: incident's first message marked resolved",
			  "destination", d->name, "message_id", t->ts, NULL);
		return store_thread_resolved(st, t->id, upd);
	}
	log_event(LOG_WARN, "discord: edit of the incident's first message failed", "destination",
		  d->name, "message_id", t->ts, "error", e->detail, NULL);
	return e->cls == DELIVER_PERMANENT ? store_thread_resolved(st, t->id, NULL) : 0;
}

/* Edits the first message of t as resolved by the recovery body. */
static int resolve(struct store *st, struct httpc *h, const struct destination *d,
		   const struct store_thread *t, const struct dthread_plan *p, const char *recovery)
{
	char *upd = t->parent != NULL ? discord_resolved(t->parent, recovery) : NULL;
	char *url = upd != NULL ? edit_url(d, t, p) : NULL;
	struct deliver_result e;
	int rc;

	if (url == NULL) {
		metrics_message_update(d->name, 0);
		log_event(LOG_WARN, "discord: cannot edit the incident's first message",
			  "destination", d->name, "message_id", t->ts, NULL);
		free(upd);
		return store_thread_resolved(st, t->id, NULL);
	}
	rc = deliver_edit(h, d->target, url, upd, &e);
	if (rc == 0)
		rc = edit_done(st, d, t, &e, upd);
	free(url);
	free(upd);
	return rc;
}

/* Posts msg as p says, into r; the incident's first message is recorded. */
static int post(struct store *st, struct httpc *h, const struct destination *d,
		const struct slackapp_meta *m, const struct dthread_plan *p, const char *msg,
		const struct deliver_opts *o, struct deliver_result *r)
{
	char param[PARAM_MAX], *url = NULL;
	int rc;

	if (p->thread_id != NULL) {
		snprintf(param, sizeof(param), "thread_id=%.*s", DISCORD_ID_DIGITS, p->thread_id);
		url = deliver_url(d->url, NULL, param);
		if (url == NULL)
			return ERR_NOMEM;
	}
	rc = deliver_post(h, d->target, url != NULL ? url : d->url, msg, o, r);
	free(url);
	if (rc == 0 && r->cls == DELIVER_OK && p->record && st != NULL)
		record_first(st, d, m, p->thread_name, r, msg);
	return rc;
}

int dthread_post(struct store *st, struct httpc *h, const struct destination *d, const char *body,
		 const struct deliver_opts *o, struct deliver_result *r)
{
	char name[DISCORD_THREAD_NAME_BYTES];
	struct slackapp_meta m;
	struct dthread_plan p;
	struct store_thread t;
	char *msg = NULL;
	int have = 0, rc, parsed;

	memset(r, 0, sizeof(*r));
	r->retry_after_s = -1;
	parsed = slackapp_meta(body, &m) == 0;
	rc = thread_find(st, d, &m, &t, &have);
	dthread_plan(d->forum, m.role, have ? &t : NULL, &p);
	if (rc == 0 && p.edit)
		rc = resolve(st, h, d, &t, &p, body);
	if (rc == ERR_NOMEM)
		goto out;
	if (rc != 0) {
		r->cls = DELIVER_RETRY;
		snprintf(r->detail, sizeof(r->detail), "store: incident of the message: %s",
			 err_str(rc));
		rc = 0;
		goto out;
	}
	if (p.thread_name)
		rc = discord_thread_name(&m, name, sizeof(name));
	msg = rc == 0 ? discord_message(body, p.thread_name ? name : NULL) : NULL;
	/* A body that is no JSON object is posted as it is, and Discord
	 * says what it makes of it. */
	if (msg == NULL && rc == 0 && !parsed)
		rc = deliver_post(h, d->target, d->url, body != NULL ? body : "", o, r);
	else if (msg == NULL)
		rc = ERR_NOMEM;
	else
		rc = post(st, h, d, &m, &p, msg, o, r);
out:
	free(msg);
	store_thread_free(&t);
	return rc == ERR_NOMEM ? ERR_NOMEM : 0;
}
