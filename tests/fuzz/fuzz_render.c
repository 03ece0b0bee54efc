/* libFuzzer target for the renderers alone: a struct summary is built
 * straight from the input bytes (random identity, counts, failed steps and
 * child runs with arbitrary bytes as names and messages, random caveats)
 * and rendered for every target and plain text. Byte 0: bit 0 no link,
 * bit 1 a mention (bits 2 and 5 pick its form), bit 4 makes every failed step a
 * copy of the first (large output from a small input), bit 3 picks how the
 * strings are made: "clean" mode sanitises and caps them the way summary.c
 * promises (the renderers' contract), raw mode passes any bytes, which
 * Slack and Teams must still survive because they sanitise again; plain
 * text is only held to its output rules in clean mode. Every output must
 * meet fuzz_render_check.h; with no mention configured no Slack control
 * sequence and no Teams <at> may appear. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_render_check.h"
#include "fuzz_util.h"
#include "render.h"
#include "summary.h"
#include "text.h"

#define STR_MAX 4096   /* a few KB: past every renderer cap */
#define ID_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-"
#define MAX_TIME 253402300799999LL /* 9999-12-31T23:59:59.999Z */

/* summary.c's caps on what it keeps (its NAME_MAX_BYTES and
 * SHORT_MAX_BYTES; a path is up to five names joined). */
#define CAP_NAME 256
#define CAP_SHORT 128
#define CAP_PATH (5 * (CAP_NAME + 5))

static int clean_mode;
static int clone_mode; /* failed steps after the first copy it: big output from a small input */

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		abort();
	return d;
}

/* A string from the input; in clean mode sanitised and cut to cap bytes on
 * a code point boundary, as the summary hands strings to renderers. */
static char *field(struct fz_reader *r, size_t max, size_t cap, int keep_newlines)
{
	char *raw = fz_str(r, max), *c;

	if (!clean_mode)
		return raw;
	c = text_sanitize(raw, strlen(raw), keep_newlines);
	if (c == NULL)
		abort();
	c[text_utf8_prefix(c, cap)] = '\0';
	free(raw);
	return c;
}

static void replace(char **dst, char *s)
{
	free(*dst);
	*dst = s;
}

/* An id as the webhook parser lets through: [A-Za-z0-9._:-], 1-127. */
static char *id_str(struct fz_reader *r)
{
	size_t n = 1 + fz_u8(r) % 127, i;
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	for (i = 0; i < n; i++)
		s[i] = ID_CHARS[fz_u8(r) % (sizeof(ID_CHARS) - 1)];
	s[n] = '\0';
	return s;
}

/* A time in ms as summary_parse_time can return: -1 or within 0..9999. */
static int64_t time_ms(struct fz_reader *r)
{
	uint64_t v = fz_u64(r);

	return (v & 1) ? -1 : (int64_t)((v >> 1) % (MAX_TIME + 1));
}

static enum run_status status(struct fz_reader *r)
{
	return (enum run_status)(fz_u8(r) % ST__MAX);
}

/* summary.c keeps only problem steps in detail (summary.h); renderers may
 * rely on that, e.g. to show the canonical word instead of status_text. */
static enum run_status problem_status(struct fz_reader *r)
{
	static const enum run_status problems[] = { ST_FAILED, ST_CANCELLED, ST_FORBIDDEN };

	return problems[fz_u8(r) % 3];
}

static void build_failed(struct summary *s, struct fz_reader *r)
{
	size_t n = fz_u8(r) % (SUMMARY_MAX_FAILED + 1), i;

	s->failed = calloc(n ? n : 1, sizeof(*s->failed));
	if (s->failed == NULL)
		abort();
	for (i = 0; i < n; i++) {
		struct failed_step *f = &s->failed[i];
		uint64_t dur;

		if (clone_mode && i > 0) {
			f->path = xstrdup(s->failed[0].path);
			f->step_id = xstrdup(s->failed[0].step_id);
			f->status = s->failed[0].status;
			f->status_text = xstrdup(s->failed[0].status_text);
			f->message = xstrdup(s->failed[0].message);
			f->duration_ms = s->failed[0].duration_ms;
			f->depth = s->failed[0].depth;
			f->seq = i;
			s->n_failed = i + 1;
			continue;
		}
		dur = fz_u64(r);
		f->path = field(r, STR_MAX, CAP_PATH, 0);
		f->step_id = field(r, 64, CAP_SHORT, 0);
		f->status = problem_status(r);
		f->status_text = field(r, 64, CAP_SHORT, 0);
		f->message = field(r, STR_MAX, SUMMARY_MESSAGE_MAX, 1);
		f->duration_ms = (dur & 1) ? -1 : (int64_t)((dur >> 1) % (MAX_TIME + 1));
		f->depth = fz_u8(r) % 16;
		f->seq = i;
		s->n_failed = i + 1; /* counted as built, so summary_free frees it */
	}
	s->failed_more = fz_u8(r) ? fz_u32(r) : 0;
}

static void build_children(struct summary *s, struct fz_reader *r)
{
	size_t n = fz_u8(r) % 64, i;

	s->children = calloc(n ? n : 1, sizeof(*s->children));
	if (s->children == NULL)
		abort();
	for (i = 0; i < n; i++) {
		struct child_run *c = &s->children[i];

		c->execution_id = id_str(r);
		c->name = field(r, 512, CAP_NAME, 0);
		c->path = field(r, 512, CAP_PATH, 0);
		c->status = status(r);
		c->depth = 1 + fz_u8(r) % 8;
		c->visited = fz_u8(r) & 1;
		s->n_children = i + 1;
	}
	s->children_more = fz_u8(r) ? fz_u32(r) : 0;
}

static void build_identity(struct summary *s, struct fz_reader *r)
{
	size_t i;

	replace(&s->project_name, field(r, 512, CAP_NAME, 0));
	replace(&s->pipeline_name, field(r, 1024, CAP_NAME, 0));
	replace(&s->environment, field(r, 512, CAP_NAME, 0));
	s->status = status(r);
	replace(&s->status_text, field(r, 128, CAP_SHORT, 0));
	replace(&s->trigger, field(r, 128, CAP_SHORT, 0));
	replace(&s->user, field(r, 512, CAP_NAME, 0));
	replace(&s->message, field(r, STR_MAX, SUMMARY_MESSAGE_MAX, 1));
	s->started_ms = time_ms(r);
	s->finished_ms = time_ms(r);
	for (i = 0; i < ST__MAX; i++)
		s->counts[i] = fz_u32(r);
	s->total_steps = fz_u8(r) & 1 ? fz_u64(r) >> 24 : s->counts[ST_SUCCESS];
	s->is_test = fz_u8(r) & 1;
	if (fz_u8(r) & 1)
		s->incomplete = field(r, 1024, SUMMARY_MESSAGE_MAX, 0);
	if (fz_u8(r) & 1)
		s->degraded = field(r, 1024, SUMMARY_MESSAGE_MAX, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_reader r = { data, size };
	struct render_opts d = { .mention = NULL };
	struct summary s;
	uint8_t flags = fz_u8(&r);
	char *pid = id_str(&r), *eid = id_str(&r);

	if (summary_init(&s, pid, eid, (flags & 1) ? NULL : "https://app.matillion.com") != 0)
		abort();
	free(pid);
	free(eid);
	/* The mention is trusted config; with none, the output must be free of
	 * any mention the untrusted strings might try to form. */
	if (flags & 2)
		d.mention = (flags & 4) ? "<!subteam^S0123|oncall>" : "oncall@example.com";
	/* Bit 5: a mention in Discord and Mattermost markup instead, with a
	 * user, a role, a broadcast and a token Discord does not know. */
	if ((flags & 2) && (flags & 32))
		d.mention = (flags & 4) ? "@here <@&456> @oncall" : "<@123> <@!789> @channel";
	clean_mode = (flags & 8) != 0;
	clone_mode = (flags & 16) != 0;
	build_identity(&s, &r);
	build_failed(&s, &r);
	build_children(&s, &r);
	fz_check_renders(&s, &d, clean_mode);
	summary_free(&s);
	return 0;
}
