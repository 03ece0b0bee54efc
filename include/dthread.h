/* Incident threads of a Discord destination (type = discord): where a
 * stored body is posted, decided at post time, through the same incident
 * record (store.h, "Slack threads") a Slack app uses. See the DESIGN
 * note in src/delivery/dthread.c. */
#ifndef DPC_DTHREAD_H
#define DPC_DTHREAD_H

#include <stddef.h>

#include "config.h"
#include "deliver.h"
#include "httpc.h"
#include "slackapp.h"
#include "store.h"

/* Where one message of an incident goes. Strings are borrowed from the
 * thread row the plan was made from. */
struct dthread_plan {
	const char *thread_id;   /* post in this thread (?thread_id=); NULL: none */
	int thread_name;         /* post with thread_name: opens a forum post */
	int record;              /* the incident's first message: record it */
	int edit;                /* first edit that message as resolved */
	const char *edit_thread; /* the edit's ?thread_id=; NULL: none */
};

/* The plan for a message of role to a destination (forum: its forum
 * key) whose incident has the thread row t (NULL: none recorded). Ids of
 * t that are not Discord ids (discord_id_valid()) count as none. Pure. */
void dthread_plan(int forum, enum slackapp_role role, const struct store_thread *t,
		  struct dthread_plan *p);

/* What a thread row records of an accepted post (r), the message having
 * been posted with thread_name (forum_post) or not: 1 with the row's
 * channel in out (the new thread's id, or DISCORD_NOT_IN_THREAD) and its
 * message id in r->message_id; 0 when the reply named no usable ids, so
 * nothing is recorded. Pure. */
int dthread_record_channel(int forum_post, const struct deliver_result *r, char *out, size_t cap);

/* 1 when d's messages go through dthread_post(). */
int dthread_is(const struct destination *d);

/* Posts body (as the discord row rendered it) to d and fills r as
 * deliver_post() does: a message opening an incident is recorded (st)
 * right after Discord accepted it; later ones of the incident go into
 * its forum post's thread (forum); the recovery first edits the first
 * message as resolved (once; a failure is logged and counted). st NULL
 * (send-test): no incident. A store that cannot be read gives
 * DELIVER_RETRY. Returns 0 when r was filled, or ERR_NOMEM. */
int dthread_post(struct store *st, struct httpc *h, const struct destination *d, const char *body,
		 const struct deliver_opts *o, struct deliver_result *r);

#endif
