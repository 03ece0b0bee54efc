/* Incident threads of a Slack app (thread.h): the one place that decides,
 * when a slack-app delivery is posted, whether its body opens a thread,
 * replies in one, or stands alone.
 *
 * DESIGN
 * A body the slack-app row rendered names its incident (slackapp_meta():
 * pipeline and start since_ms) and its role. The thread is looked up when
 * the body is posted, not when it is rendered: a stored body retried
 * later, or a run whose message waited for a grouped one, replies under a
 * parent posted after it was rendered.
 *  - A problem (role open) of an incident with no thread for this
 *    destination is posted as the parent, with its buttons; Slack's reply
 *    gives its channel and ts, recorded with store_thread_put() at once,
 *    before the worker records the delivery. A crash in between posts the
 *    parent again on the retry (at least once, as every delivery) and the
 *    first recorded one is the thread. Two workers posting parents of one
 *    incident at once: the first recorded wins, the other stays a
 *    message of its own.
 *  - Every later message of the incident (repeats, reminders, the held
 *    summary, a degraded notice's follow-up, the recovery) is a reply with
 *    thread_ts, without buttons; broadcast_recovery also shows the
 *    recovery in the channel.
 *  - A recovery with a thread first rewrites the parent (chat.update: the
 *    resolved line first, details kept, buttons gone) and marks the
 *    thread resolved, then posts its reply; so a retried reply does not
 *    rewrite again, and nothing but the reply's own post lies between its
 *    2xx and the worker's record of it. A failed rewrite is logged and
 *    counted, and is tried again only with a retry of the reply; a
 *    permanent failure marks the thread resolved so it is not tried again.
 *  - Anything else (no incident known, a grouped message) is posted in the
 *    channel as it is. */
#include "thread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dthread.h"
#include "errors.h"
#include "log.h"
#include "metrics.h"
#include "slackapi.h"
#include "slackapp.h"

/* The Web API's reply as a delivery's result. */
static void to_result(const struct slackapi_reply *a, struct deliver_result *r)
{
	memset(r, 0, sizeof(*r));
	r->cls = a->cls;
	r->http_status = a->http_status;
	r->retry_after_s = a->retry_after_s;
	snprintf(r->detail, sizeof(r->detail), "%s", a->detail);
	if (strlen(a->ts) < sizeof(r->message_id))
		snprintf(r->message_id, sizeof(r->message_id), "%s", a->ts);
}

int thread_find(struct store *st, const struct destination *d, const struct slackapp_meta *m,
		struct store_thread *t, int *have)
{
	const struct mem_key k = { m->project_id, m->environment, m->pipeline };
	int rc;

	*have = 0;
	memset(t, 0, sizeof(*t));
	if (st == NULL || m->role == SLACKAPP_PLAIN)
		return 0;
	rc = store_thread_get(st, d->name, &k, m->since_ms, t);
	if (rc == 0)
		*have = 1;
	return rc == ERR_NOTFOUND ? 0 : rc;
}

/* Records the parent Slack accepted (a, posted as msg) as the incident's
 * thread to d. */
static void record_parent(struct store *st, const struct destination *d,
			  const struct slackapp_meta *m, const struct slackapi_reply *a,
			  const char *msg)
{
	struct store_thread t;
	int rc;

	if (a->ts[0] == '\0') {
		log_event(LOG_WARN, "slack: reply named no message; incident not threaded",
			  "destination", d->name, NULL);
		return;
	}
	memset(&t, 0, sizeof(t));
	t.dest = d->name;
	t.project_id = (char *)m->project_id;
	t.environment = (char *)m->environment;
	t.pipeline = (char *)m->pipeline;
	t.since_ms = m->since_ms;
	snprintf(t.channel, sizeof(t.channel), "%s", a->channel[0] ? a->channel : d->channel);
	snprintf(t.ts, sizeof(t.ts), "%s", a->ts);
	t.parent = (char *)msg;
	rc = store_thread_put(st, &t);
	if (rc == ERR_DUPLICATE)
		log_event(LOG_INFO, "slack: another parent opened the incident's thread first",
			  "destination", d->name, "ts", a->ts, NULL);
	else if (rc != 0)
		log_event(LOG_ERROR, "slack: cannot record the incident's thread", "destination",
			  d->name, "error", err_str(rc), NULL);
}

/* Rewrites the parent of thread t as resolved by the recovery body. */
static int resolve(struct store *st, struct httpc *h, const struct destination *d,
		   const struct store_thread *t, const char *recovery)
{
	char *upd = t->parent != NULL ? slackapp_resolved(t->parent, recovery, t->ts) : NULL;
	struct slackapi_reply a;
	int rc;

	if (upd == NULL) {
		metrics_slack_update(0);
		metrics_message_update(d->name, 0);
		log_event(LOG_WARN, "slack: cannot rewrite the parent as resolved", "destination",
			  d->name, "ts", t->ts, NULL);
		return store_thread_resolved(st, t->id, NULL);
	}
	rc = slackapi_call(h, d->url, d->secret, "chat.update", upd, &a);
	if (rc == 0 && a.cls == DELIVER_OK) {
		metrics_slack_update(1);
		metrics_message_update(d->name, 1);
		log_event(LOG_INFO, "slack: incident parent marked resolved", "destination",
			  d->name, "ts", t->ts, NULL);
		rc = store_thread_resolved(st, t->id, upd);
	} else if (rc == 0) {
		metrics_slack_update(0);
		metrics_message_update(d->name, 0);
		log_event(LOG_WARN, "slack: chat.update of the parent failed", "destination",
			  d->name, "error", a.detail, NULL);
		if (a.cls == DELIVER_PERMANENT)
			rc = store_thread_resolved(st, t->id, NULL);
	}
	free(upd);
	return rc;
}

/* Posts msg with chat.postMessage into r; a parent is recorded. */
static int post(struct store *st, struct httpc *h, const struct destination *d,
		const struct slackapp_meta *m, const struct slackapp_send *how, const char *msg,
		struct deliver_result *r)
{
	struct slackapi_reply a;
	int rc = slackapi_call(h, d->url, d->secret, "chat.postMessage", msg, &a);

	if (rc == ERR_NOMEM)
		return rc;
	if (rc != 0) {
		r->cls = DELIVER_PERMANENT;
		snprintf(r->detail, sizeof(r->detail), "cannot be sent: %s", err_str(rc));
		return 0;
	}
	to_result(&a, r);
	if (a.cls == DELIVER_OK && how->keep_actions && st != NULL)
		record_parent(st, d, m, &a, msg);
	return 0;
}

int thread_post(struct store *st, struct httpc *h, const struct destination *d, const char *body,
		const struct deliver_opts *o, struct deliver_result *r)
{
	struct slackapp_meta m;
	struct slackapp_send how;
	struct store_thread t;
	char *msg = NULL;
	int have = 0, rc, parsed;

	if (dthread_is(d))
		return dthread_post(st, h, d, body, o, r);
	if (!slackapp_is(d->target))
		return deliver_post(h, d->target, d->url, body, o, r);
	memset(r, 0, sizeof(*r));
	r->retry_after_s = -1;
	parsed = slackapp_meta(body, &m) == 0;
	rc = thread_find(st, d, &m, &t, &have);
	if (rc == 0 && have && m.role == SLACKAPP_RECOVERY && !t.resolved)
		rc = resolve(st, h, d, &t, body);
	if (rc != 0) {
		r->cls = DELIVER_RETRY;
		snprintf(r->detail, sizeof(r->detail), "store: thread of the incident: %s",
			 err_str(rc));
		goto out;
	}
	how.channel = have ? t.channel : d->channel;
	how.thread_ts = have ? t.ts : NULL;
	how.keep_actions = !have && m.role == SLACKAPP_OPEN;
	how.broadcast = have && m.role == SLACKAPP_RECOVERY && d->broadcast_recovery;
	msg = parsed && how.channel != NULL ? slackapp_message(body, &how) : NULL;
	if (msg != NULL)
		rc = post(st, h, d, &m, &how, msg, r);
	else if (parsed && how.channel != NULL)
		rc = ERR_NOMEM;
	else
		snprintf(r->detail, sizeof(r->detail), "cannot be sent: %s",
			 parsed ? "no channel" : "not a Slack message");
	if (msg == NULL && rc == 0)
		r->cls = DELIVER_PERMANENT;
out:
	free(msg);
	store_thread_free(&t);
	return rc == ERR_NOMEM ? ERR_NOMEM : 0;
}
