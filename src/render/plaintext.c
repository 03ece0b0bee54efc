/* Plain-text rendering of a run summary, for `preview --format text` and
 * logs: the operator's full listing (every kept failed step), not the chat
 * layout. Pure. Its wording is in wording.c. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "render_int.h"
#include "text.h"

#define PLAIN_MAX 65536 /* cap of a plain-text rendering */

/* Bounded output buffer: once an append would pass the cap, the text is
 * cut at the last whole code point that fits and later appends are
 * dropped, so the result stays valid UTF-8. */
struct pbuf {
	char *p;
	size_t len;
	int full;
};

__attribute__((format(printf, 2, 3))) static void put(struct pbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, PLAIN_MAX - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < PLAIN_MAX - b->len) {
		b->len += (size_t)n;
		return;
	}
	b->full = 1;
	b->len = text_utf8_prefix(b->p, PLAIN_MAX - 1);
	b->p[b->len] = '\0';
}

/* Writes a multi-line message with every line indented by indent. */
static void put_indented(struct pbuf *b, const char *msg, const char *indent)
{
	const char *nl;

	while (*msg) {
		nl = strchr(msg, '\n');
		if (nl == NULL) {
			put(b, "%s%s\n", indent, msg);
			return;
		}
		put(b, "%s%.*s\n", indent, (int)(nl - msg), msg);
		msg = nl + 1;
	}
}

static void put_header(struct pbuf *b, const struct summary *s, const char *title)
{
	struct render_fact facts[RENDER_MAX_FACTS];
	size_t n, i;
	char line[256];

	if (s->is_test)
		put(b, "*** TEST MESSAGE \xe2\x80\x94 sent by dpc-notify send-test ***\n");
	put(b, "%s %s\n", render_status_emoji(s->status), title);
	n = render_facts(s, facts, RENDER_MAX_FACTS);
	for (i = 0; i < n; i++)
		put(b, "%s: %s\n", facts[i].title, facts[i].value);
	if (*s->message) {
		put(b, "Message:\n");
		put_indented(b, s->message, "  ");
	}
	if (s->incomplete)
		put(b, "Note: %s\n", s->incomplete);
	if (s->degraded)
		put(b, "Note: %s\n", s->degraded);
	render_counts_line(s, line, sizeof(line));
	if (line[0] != '\0')
		put(b, "%s\n", line);
}

static void put_steps(struct pbuf *b, const struct summary *s)
{
	char d[32], dur[40];
	size_t i;

	if (s->n_failed == 0 && s->failed_more == 0)
		return;
	put(b, "\nFailed steps (deepest first):\n");
	for (i = 0; i < s->n_failed; i++) {
		const struct failed_step *f = &s->failed[i];

		/* An unknown duration is left out rather than shown as "?". */
		dur[0] = '\0';
		if (f->duration_ms >= 0) {
			text_duration(f->duration_ms, d, sizeof(d));
			snprintf(dur, sizeof(dur), " (%s)", d);
		}
		put(b, "%zu. %s \xe2\x80\x94 %s%s\n", i + 1, f->path,
		    render_status_word(f->status, f->status_text), dur);
		put_indented(b, f->message, "   ");
	}
	if (s->failed_more)
		put(b, "+%llu more failed steps\n", (unsigned long long)s->failed_more);
}

static void put_children(struct pbuf *b, const struct summary *s)
{
	size_t i, shown = s->n_children < RENDER_MAX_CHILDREN_SHOWN ? s->n_children
								    : RENDER_MAX_CHILDREN_SHOWN;
	uint64_t more = s->n_children - shown + s->children_more;

	if (s->n_children == 0 && more == 0)
		return;
	put(b, "\nChild pipelines:\n");
	for (i = 0; i < shown; i++)
		put(b, "- %s \xe2\x80\x94 %s\n", *s->children[i].name ? s->children[i].name : "?",
		    render_status_word(s->children[i].status, NULL));
	if (more)
		put(b, "+%llu more child pipelines\n", (unsigned long long)more);
}

/* A still-running notice's line: "Still running after 2h 05m (usually
 * 22m; limit 1h 06m from slow_factor)". */
static void put_long_running(struct pbuf *b, const struct summary *s)
{
	const struct run_context *m = &s->memory;
	char ran[32], usual[32], lim[32];

	if (!m->known || m->form != FORM_LONG_RUNNING)
		return;
	ran[0] = '\0';
	if (s->started_ms >= 0 && m->long_at_ms >= s->started_ms)
		render_compact_duration(m->long_at_ms - s->started_ms, ran, sizeof(ran));
	render_compact_duration(m->usual_ms, usual, sizeof(usual));
	render_compact_duration(m->long_limit_ms, lim, sizeof(lim));
	put(b, "\xe2\x8f\xb3 Still running%s%s (%s%s%slimit %s from %s)\n", *ran ? " after " : "",
	    ran, *usual ? "usually " : "", usual, *usual ? "; " : "", lim,
	    m->long_slow ? "slow_factor" : "max_duration");
}

char *plaintext_render(const struct summary *s)
{
	struct pbuf b = { NULL, 0, 0 };
	char *title = render_title(s);

	if (title == NULL)
		return NULL;
	b.p = malloc(PLAIN_MAX);
	if (b.p == NULL)
		goto out;
	b.p[0] = '\0';
	put_header(&b, s, title);
	put_long_running(&b, s);
	put_steps(&b, s);
	put_children(&b, s);
	if (s->link && *s->execution_id)
		put(&b, "\nOpen run in Matillion: %s\n", s->link);
out:
	free(title);
	return b.p;
}
