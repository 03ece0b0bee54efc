/* Incident threads of a Slack app destination (type = slack-app): where a
 * stored body is posted, decided at post time. See the DESIGN note in
 * src/delivery/thread.c. */
#ifndef DPC_THREAD_H
#define DPC_THREAD_H

#include "config.h"
#include "deliver.h"
#include "httpc.h"
#include "store.h"

/* Posts body (as the destination's row rendered it) to d and fills r as
 * deliver_post() does. Every type but slack-app is deliver_post(h,
 * d->target, d->url, body, o, r). A slack-app body goes through Slack's
 * Web API (d->url, the bot token in d->secret) into d->channel: the
 * problem that opens an incident as the thread's parent (recorded in st
 * right after Slack accepted it), every later message of the incident as
 * a reply under that parent, and its recovery also rewrites the parent as
 * resolved (once; a failure is logged and counted). r->message_id gets
 * the posted message's ts. st NULL (send-test): no thread. A store that
 * cannot be read gives DELIVER_RETRY. Returns 0 when r was filled, or
 * ERR_NOMEM. */
int thread_post(struct store *st, struct httpc *h, const struct destination *d, const char *body,
		const struct deliver_opts *o, struct deliver_result *r);

struct slackapp_meta;

/* The incident record of d for the message m describes (the threads
 * table: a slack-app thread's parent, a Discord incident's first message)
 * into *t, with *have 1 when there is one (free *t with
 * store_thread_free() either way). Nothing is looked up without a store or
 * for a message that belongs to no incident. Returns 0, or the store's
 * error (ERR_IO, ERR_NOMEM, ERR_INVALID). */
int thread_find(struct store *st, const struct destination *d, const struct slackapp_meta *m,
		struct store_thread *t, int *have);

#endif
