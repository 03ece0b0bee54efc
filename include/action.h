/* A button press in a Slack app message, as the interactivity endpoint
 * (src/intake/interact.c) reads it, the store keeps it and a worker
 * carries it out (src/delivery/act.c). Shared vocabulary: no I/O. */
#ifndef DPC_ACTION_H
#define DPC_ACTION_H

#include <stdint.h>

/* What the button asks for; the action_id of each is in action_ids[]. */
enum action_kind {
	ACT_ACK,    /* dpc_ack: someone takes the incident */
	ACT_MUTE,   /* dpc_mute: a silence of 1h, 24h or 7d */
	ACT_UNMUTE, /* dpc_unmute: ends the silence a mute made */
	ACT_RERUN,  /* dpc_rerun: starts the pipeline again */
	ACT__MAX
};
extern const char *const action_names[ACT__MAX]; /* "ack", "mute", ... */
extern const char *const action_ids[ACT__MAX];   /* "dpc_ack", "dpc_mute", ... */

#define ACTION_ID_MAX 32     /* bytes of a Slack id or a ts, with the NUL */
#define ACTION_NAME_MAX 81   /* bytes of a user's name as kept, with the NUL */
#define ACTION_VALUE_MAX 24  /* bytes of a button's value, with the NUL */
#define ACTION_URL_MAX 512   /* bytes of a response_url, with the NUL */
#define ACTION_RESULT_MAX 32 /* bytes of a result word, with the NUL */
#define ACTION_DETAIL_MAX 256

/* One press. Every string has been checked by interact_parse(). */
struct action {
	int64_t id;     /* the store's id; 0 before it is stored */
	int64_t job_id; /* the job that carries it out */
	enum action_kind kind;
	char user_id[ACTION_ID_MAX];     /* U… or W… */
	char user_name[ACTION_NAME_MAX]; /* username (sanitised), may be "" */
	char value[ACTION_VALUE_MAX];    /* mute: 1h|24h|7d; unmute: silence id; else "" */
	char channel[ACTION_ID_MAX];     /* the message's channel id */
	char message_ts[ACTION_ID_MAX];  /* the message's ts */
	char response_url[ACTION_URL_MAX];
	char action_ts[ACTION_ID_MAX];
	int64_t received_ms;
	/* As the worker finished it ("" while pending). */
	char result[ACTION_RESULT_MAX]; /* done | refused | failed */
	char detail[ACTION_DETAIL_MAX]; /* one line saying what happened */
	char project_id[128];           /* the incident it acted on, once known */
	char environment[512];
	char pipeline[512];
	int64_t done_ms; /* 0 while pending */
};

/* The kind named by action_id, or ACT__MAX. */
enum action_kind action_kind_of(const char *action_id);

#endif
