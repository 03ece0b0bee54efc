/* The slack-app target's bodies: a run's message as a Slack app posts it
 * with chat.postMessage, in the incident's thread, and the rewrite of the
 * thread's parent by chat.update when the incident is resolved. Pure: JSON
 * in, JSON out; the thread itself is looked up at post time
 * (src/delivery/thread.c), so a stored body is posted correctly even when
 * its parent was posted after it was rendered.
 *
 * The body the row renders (and the store keeps) is the slack target's
 * Block Kit message with, on a problem of an open incident, an actions
 * block of buttons (block_id SLACKAPP_ACTIONS_BLOCK), plus one member of
 * our own, "dpc_thread", naming the incident; slackapp_message() removes
 * it before anything is posted. */
#ifndef DPC_SLACKAPP_H
#define DPC_SLACKAPP_H

#include <stdint.h>

#include "target.h"
#include "webhook.h"

#define SLACKAPP_ACTIONS_BLOCK "dpc_actions" /* block_id of the buttons */
#define SLACKAPP_STATUS_BLOCK "dpc_status"   /* block_id of the clicks' lines (act.c) */
#define SLACKAPP_ACTION_ACK "dpc_ack"        /* button: Acknowledge */
#define SLACKAPP_ACTION_MUTE "dpc_mute"      /* static_select: 1h, 24h, 7d */
#define SLACKAPP_ACTION_RERUN "dpc_rerun"    /* button: Re-run (allow_rerun only) */

/* What a message is to its incident's thread. */
enum slackapp_role {
	SLACKAPP_PLAIN,    /* no incident known: posted in the channel */
	SLACKAPP_OPEN,     /* a problem: opens the thread, or replies in it */
	SLACKAPP_RECOVERY, /* the recovery: replies, and resolves the parent */
	SLACKAPP__MAX
};

/* The incident a stored body belongs to. */
struct slackapp_meta {
	enum slackapp_role role;
	char project_id[WEBHOOK_ID_MAX];
	char environment[WEBHOOK_TEXT_MAX];
	char pipeline[WEBHOOK_TEXT_MAX];
	int64_t since_ms; /* the incident's start (mem_context.incident_since_ms) */
};

/* 1 when t is the slack-app row. */
int slackapp_is(const struct target *t);

/* The incident stored (a body the row rendered) belongs to, into *m.
 * A body without our member, or with one that does not read, is
 * SLACKAPP_PLAIN. Returns 0, or ERR_PARSE when stored is not a JSON
 * object (m is SLACKAPP_PLAIN then too). */
int slackapp_meta(const char *stored, struct slackapp_meta *m);

/* How slackapp_message() posts a stored body. */
struct slackapp_send {
	const char *channel;   /* the destination's channel id */
	const char *thread_ts; /* the parent's ts: a reply in its thread; NULL: none */
	int keep_actions;      /* keep the buttons (a parent); else they are removed */
	int broadcast;         /* a reply also shown in the channel (reply_broadcast) */
};

/* The chat.postMessage body for stored: our member removed, channel (and
 * thread_ts, reply_broadcast) set, the actions block kept only when asked.
 * Returns a new string (caller frees) or NULL (ERR_NOMEM, or stored is not
 * a JSON object). */
char *slackapp_message(const char *stored, const struct slackapp_send *how);

/* The chat.update body that marks a thread's parent resolved: parent (its
 * body as last posted or rewritten) with ts set, its first block replaced
 * by the "Resolved after ..." block the recovery's stored body carries,
 * the actions block removed, everything else kept (the clicks' lines,
 * SLACKAPP_STATUS_BLOCK, among it). Returns a new string, or NULL when out
 * of memory, when either body is not a JSON object or the recovery
 * carries no such block. */
char *slackapp_resolved(const char *parent, const char *recovery, const char *ts);

#endif
