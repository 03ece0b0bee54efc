/* Wording of the plain-text rendering (plaintext.c): the title, status
 * words and emoji, the step counts line, times and the run facts; status
 * words are shared with the chat targets, whose wording is the view's
 * (view.c). Raw text only. Pure. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render_int.h"
#include "text.h"

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
	case ST_FORBIDDEN: return "\xe2\x9d\x8c"; /* U+274C cross mark */
	case ST_CANCELLED:
	case ST_CANCELLING: return "\xe2\x9a\xa0\xef\xb8\x8f"; /* U+26A0 warning sign */
	case ST_SUCCESS: return "\xe2\x9c\x85";                /* U+2705 check mark */
	default: return "\xe2\x84\xb9\xef\xb8\x8f";            /* U+2139 information */
	}
}

char *render_title(const struct summary *s)
{
	const char *name = *s->pipeline_name ? s->pipeline_name : "Pipeline run";
	const char *word = render_status_word(s->status, s->status_text);
	size_t len =
		strlen(name) + strlen(word) + strlen(s->environment) + strlen(s->project_name) + 16;
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
	{ ST_SUCCESS, "succeeded" },     { ST_FAILED, "failed" },   { ST_CANCELLED, "cancelled" },
	{ ST_FORBIDDEN, "forbidden" },   { ST_SKIPPED, "skipped" }, { ST_RUNNING, "running" },
	{ ST_CANCELLING, "cancelling" }, { ST_QUEUED, "queued" },   { ST_UNKNOWN, "unknown" },
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
		n += (size_t)snprintf(out + n, outlen - n, "%s%llu %s", sep, (unsigned long long)c,
				      count_words[i].word);
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
__attribute__((format(printf, 3, 4))) static void fact(struct render_fact *f, const char *title,
						       const char *fmt, ...)
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
