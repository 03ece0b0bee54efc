/* Plain-text rendering of a run summary (for `preview --format text` and
 * logs), plus the wording every renderer shares: title, status words,
 * step counts and run facts. Pure. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render.h"
#include "text.h"

#define PLAIN_MAX 65536 /* cap of a plain-text rendering */

const char *render_status_word(enum run_status st, const char *status_text)
{
	if (st == ST_UNKNOWN && status_text != NULL && *status_text != '\0')
		return status_text;
	if ((unsigned)st >= ST__MAX)
		return "UNKNOWN";
	return status_names[st];
}

const char *render_status_emoji(enum run_status st)
{
	switch (st) {
	case ST_FAILED:
	case ST_FORBIDDEN:
		return "\xe2\x9d\x8c"; /* U+274C cross mark */
	case ST_CANCELLED:
	case ST_CANCELLING:
		return "\xe2\x9a\xa0\xef\xb8\x8f"; /* U+26A0 warning sign */
	case ST_SUCCESS:
		return "\xe2\x9c\x85"; /* U+2705 check mark */
	default:
		return "\xe2\x84\xb9\xef\xb8\x8f"; /* U+2139 information */
	}
}

char *render_title(const struct summary *s)
{
	const char *name = *s->pipeline_name ? s->pipeline_name : "Pipeline run";
	const char *word = render_status_word(s->status, s->status_text);
	size_t len = strlen(name) + strlen(word) + strlen(s->environment) +
		     strlen(s->project_name) + 16;
	char *out = malloc(len);
	int n;

	if (out == NULL)
		return NULL;
	n = snprintf(out, len, "%s %s", name, word);
	if (*s->environment)
		n += snprintf(out + n, len - (size_t)n, " in %s", s->environment);
	if (*s->project_name)
		snprintf(out + n, len - (size_t)n, " (%s)", s->project_name);
	return out;
}

/* Words for the counts line, in the order a reader wants them. */
static const struct {
	enum run_status st;
	const char *word;
} count_words[] = {
	{ ST_SUCCESS, "succeeded" },   { ST_FAILED, "failed" },
	{ ST_CANCELLED, "cancelled" }, { ST_FORBIDDEN, "forbidden" },
	{ ST_SKIPPED, "skipped" },     { ST_RUNNING, "running" },
	{ ST_CANCELLING, "cancelling" }, { ST_QUEUED, "queued" },
	{ ST_UNKNOWN, "unknown" },
};

void render_counts_line(const struct summary *s, char *out, size_t outlen)
{
	size_t i, n;
	const char *sep = ": ";

	if (out == NULL || outlen == 0)
		return;
	out[0] = '\0';
	if (s->degraded != NULL && s->total_steps == 0)
		return; /* no step was seen: "0 steps" would mislead */
	n = (size_t)snprintf(out, outlen, "%llu step%s", (unsigned long long)s->total_steps,
			     s->total_steps == 1 ? "" : "s");
	for (i = 0; i < sizeof(count_words) / sizeof(count_words[0]) && n < outlen; i++) {
		uint64_t c = s->counts[count_words[i].st];

		if (c == 0)
			continue;
		n += (size_t)snprintf(out + n, outlen - n, "%s%llu %s", sep,
				      (unsigned long long)c, count_words[i].word);
		sep = ", ";
	}
}

void render_time(int64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (out == NULL || outlen == 0)
		return;
	if (ms < 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, outlen, "?");
}

/* Appends a fact; the value is formatted then cut on a code point boundary. */
__attribute__((format(printf, 3, 4)))
static void fact(struct render_fact *f, const char *title, const char *fmt, ...)
{
	va_list ap;

	f->title = title;
	va_start(ap, fmt);
	vsnprintf(f->value, sizeof(f->value), fmt, ap);
	va_end(ap);
	f->value[text_utf8_prefix(f->value, sizeof(f->value) - 1)] = '\0';
}

size_t render_facts(const struct summary *s, struct render_fact *f, size_t max)
{
	struct render_fact all[RENDER_MAX_FACTS];
	const char *project = *s->project_name ? s->project_name : s->project_id;
	size_t n = 0;

	if (*project)
		fact(&all[n++], "Project", "%s", project);
	if (*s->environment)
		fact(&all[n++], "Environment", "%s", s->environment);
	fact(&all[n++], "Status", "%s", render_status_word(s->status, s->status_text));
	if (*s->trigger)
		fact(&all[n++], "Trigger", "%s%s%s", s->trigger, *s->user ? " by " : "", s->user);
	else if (*s->user)
		fact(&all[n++], "User", "%s", s->user);
	if (s->started_ms >= 0) {
		all[n].title = "Started";
		render_time(s->started_ms, all[n++].value, RENDER_FACT_MAX);
	}
	if (s->started_ms >= 0 && s->finished_ms >= s->started_ms) {
		all[n].title = "Duration";
		text_duration(s->finished_ms - s->started_ms, all[n++].value, RENDER_FACT_MAX);
	}
	if (*s->execution_id)
		fact(&all[n++], "Execution", "%s", s->execution_id);
	if (n > max)
		n = max;
	memcpy(f, all, n * sizeof(*f));
	return n;
}

/* Bounded output buffer: once an append would pass the cap, the text is
 * cut at the last whole code point that fits and later appends are
 * dropped, so the result stays valid UTF-8. */
struct pbuf {
	char *p;
	size_t len;
	int full;
};

__attribute__((format(printf, 2, 3)))
static void put(struct pbuf *b, const char *fmt, ...)
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
	put_steps(&b, s);
	put_children(&b, s);
	if (s->link && *s->execution_id)
		put(&b, "\nOpen run in Matillion: %s\n", s->link);
out:
	free(title);
	return b.p;
}
