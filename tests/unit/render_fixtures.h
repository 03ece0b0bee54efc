/* Summary fixtures shared by the renderer tests (test_slack.c,
 * test_teams.c): one FAILED run with n failed steps, children, and the
 * hostile strings every untrusted field is filled with. Static, so each
 * test binary gets its own copy; include after summary.h and cmocka.h. */
#ifndef DPC_TESTS_RENDER_FIXTURES_H
#define DPC_TESTS_RENDER_FIXTURES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "summary.h"

#define SEP SUMMARY_PATH_SEP
#define T0 1714557600000LL

/* A FAILED run "load_sales" in prod with n failed steps whose messages are
 * msg_len bytes of 'x' (or "Table not found" when msg_len is 0). */
static void make_summary(struct summary *s, size_t n, size_t msg_len)
{
	size_t i;

	assert_int_equal(summary_init(s, "proj-1", "exec-1", "https://app.matillion.com"), 0);
	free(s->pipeline_name);
	s->pipeline_name = strdup("load_sales");
	free(s->environment);
	s->environment = strdup("prod");
	free(s->project_name);
	s->project_name = strdup("Sales");
	free(s->trigger);
	s->trigger = strdup("SCHEDULE");
	s->status = ST_FAILED;
	s->started_ms = T0;
	s->finished_ms = T0 + 185000;
	s->total_steps = 48;
	s->counts[ST_SUCCESS] = 45;
	s->counts[ST_FAILED] = 2;
	s->counts[ST_CANCELLED] = 1;
	s->failed = calloc(n ? n : 1, sizeof(*s->failed));
	assert_non_null(s->failed);
	for (i = 0; i < n; i++) {
		struct failed_step *f = &s->failed[i];
		char path[64];

		snprintf(path, sizeof(path), "Root" SEP "Step %zu", i);
		f->path = strdup(path);
		f->step_id = strdup("");
		f->status = ST_FAILED;
		f->status_text = strdup("FAILED");
		f->message = malloc(msg_len ? msg_len + 1 : 16);
		if (msg_len) {
			memset(f->message, 'x', msg_len);
			f->message[msg_len] = '\0';
		} else {
			memcpy(f->message, "Table not found", 16);
		}
		f->duration_ms = 185000;
		f->seq = i;
	}
	s->n_failed = n;
}

/* Rebuilds s->groups from the kept failed steps the way summary_add_page()
 * groups steps it reads: one group per (message, status, calls_child),
 * first and last step names, counts. For fixtures that fill failed[] by
 * hand. */
static __attribute__((unused)) void regroup(struct summary *s)
{
	size_t i, k;

	for (i = 0; i < s->n_groups; i++) {
		free(s->groups[i].message);
		free(s->groups[i].first_path);
		free(s->groups[i].first_step);
		free(s->groups[i].last_step);
		free(s->groups[i].execution_id);
	}
	free(s->groups);
	s->groups = calloc(SUMMARY_MAX_GROUPS, sizeof(*s->groups));
	s->n_groups = 0;
	s->groups_more = 0;
	assert_non_null(s->groups);
	for (i = 0; i < s->n_failed; i++) {
		const struct failed_step *f = &s->failed[i];
		const char *name = strrchr(f->path, ' ');
		struct error_group *g = NULL;

		name = name ? name + 1 : f->path;
		for (k = 0; k < s->n_groups && g == NULL; k++)
			if (strcmp(s->groups[k].message, f->message) == 0 &&
			    s->groups[k].status == f->status)
				g = &s->groups[k];
		if (g != NULL) {
			g->count++;
			free(g->last_step);
			g->last_step = strdup(name);
			continue;
		}
		if (s->n_groups == SUMMARY_MAX_GROUPS) {
			s->groups_more++;
			continue;
		}
		g = &s->groups[s->n_groups++];
		g->message = strdup(f->message);
		g->first_path = strdup(f->path);
		g->first_step = strdup(name);
		g->last_step = strdup(name);
		g->execution_id = strdup(f->execution_id ? f->execution_id : "");
		g->status = f->status;
		g->depth = f->depth;
		g->count = 1;
		g->seq = f->seq;
	}
	s->groups_more += s->failed_more;
}

static void add_child(struct summary *s, const char *id, const char *name, enum run_status st)
{
	struct child_run *c;

	s->children = realloc(s->children, (s->n_children + 1) * sizeof(*c));
	assert_non_null(s->children);
	c = &s->children[s->n_children++];
	memset(c, 0, sizeof(*c));
	c->execution_id = strdup(id);
	c->name = strdup(name);
	c->path = strdup("Root");
	c->status = st;
	c->depth = 1;
}

static void set(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
}

static const char *const hostile[] = {
	"<!channel>",
	"<@U123>",
	"<https://evil|click>",
	"<at>CEO</at>",
	"[x](javascript:alert(1))",
	"*bold*",
	"bad\xff\xfe utf8 \xed\xa0\x80",
	"<!here> & <!everyone> <#C1>",
	"*b* _i_ ~s~ `c` ```pre``` >quote",
};

/* Fills every untrusted string of s with text t. */
static void make_hostile(struct summary *s, const char *t)
{
	size_t i;

	make_summary(s, 3, 0);
	set(&s->pipeline_name, t);
	set(&s->environment, t);
	set(&s->project_name, t);
	set(&s->trigger, t);
	set(&s->user, t);
	set(&s->message, t);
	set(&s->status_text, t);
	set(&s->execution_id, t);
	s->status = ST_UNKNOWN;
	s->incomplete = strdup(t);
	s->degraded = strdup(t);
	for (i = 0; i < s->n_failed; i++) {
		set(&s->failed[i].path, t);
		set(&s->failed[i].message, t);
		set(&s->failed[i].status_text, t);
		s->failed[i].status = ST_UNKNOWN;
	}
	add_child(s, "c1", t, ST_FAILED);
}

/* make_hostile() as a FAILED run, so that t reaches every place the
 * triage layout shows text: the headline ("failed in 3 steps: <t>"), the
 * context line (schedule and user), a grouped error ("2 steps failed with
 * the same error" over "<where> <first> … <last>") and a single one, both
 * in a child run whose id holds t (its own run gets the first button),
 * a failed child listed by name, a child on the error's path, and the
 * follow-up note when follow is set. Groups are built (regroup). */
static __attribute__((unused)) void make_hostile_failed(struct summary *s, const char *t,
							int follow)
{
	char *buf;
	size_t i, cap = strlen(t) * 3 + 64;

	make_hostile(s, t);
	s->status = ST_FAILED;
	set(&s->status_text, "FAILED");
	set(&s->trigger, "SCHEDULE");
	set(&s->schedule_name, t);
	buf = malloc(cap);
	assert_non_null(buf);
	for (i = 0; i < s->n_failed; i++) {
		snprintf(buf, cap, "%s%s%s %zu%s", t, SEP, t, i, t);
		set(&s->failed[i].path, buf);
		snprintf(buf, cap, "child-%s", t);
		free(s->failed[i].execution_id);
		s->failed[i].execution_id = strdup(buf);
		s->failed[i].status = ST_FAILED;
		s->failed[i].depth = 1;
	}
	snprintf(buf, cap, "other: %s", t);
	set(&s->failed[s->n_failed - 1].message, buf);
	snprintf(buf, cap, "x%s", t);
	add_child(s, "c2", buf, ST_FAILED);
	add_child(s, "c3", t, ST_SUCCESS);
	free(buf);
	if (follow)
		s->follows_ms = T0 + 600000;
	regroup(s);
}

/* Gives step i of s one of d distinct errors (error i % d): the message
 * keeps its length, its first bytes name the error. d <= 1 leaves every
 * step with the same error. Call regroup() afterwards. */
static __attribute__((unused)) void distinct_errors(struct summary *s, size_t d)
{
	char tag[32];
	size_t i, n, len;

	for (i = 0; i < s->n_failed && d > 1; i++) {
		n = (size_t)snprintf(tag, sizeof(tag), "E%zu ", i % d);
		len = strlen(s->failed[i].message);
		if (len >= n) {
			memcpy(s->failed[i].message, tag, n);
			continue;
		}
		free(s->failed[i].message);
		s->failed[i].message = strdup(tag);
		assert_non_null(s->failed[i].message);
	}
}

/* Renders s, checks the renderer's limits and returns N of its "+N more
 * problem steps" line (0 if none). *shown gets the problem steps the
 * errors shown account for ("300 steps failed with the same error" counts
 * 300, an error without such a line 1) and *errors the errors shown. */
typedef uint64_t (*more_counter)(const struct summary *s, uint64_t *shown, size_t *errors);

/* With 0, 1, 49, 50 and 100 failed steps of msg_len-byte messages sharing
 * 1, 2, 3, 4 or 17 distinct errors (17 is one more than the summary keeps
 * groups for), and a child that succeeded: the steps of the errors shown
 * plus "+N more problem steps" add up to every problem step, at most
 * VIEW_MAX_ERRORS (3) errors are shown and at least one when any step
 * failed, and every error is shown when there are no more than 3. Then
 * steps beyond the summary's cap (failed_more) are part of N. */
static void check_more_counts(more_counter count, size_t msg_len)
{
	const size_t ns[] = { 0, 1, 49, 50, 100 };
	const size_t ds[] = { 1, 2, 3, 4, 17 };
	struct summary s;
	size_t i, k, errors, want;
	uint64_t more, shown;

	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		for (k = 0; k < sizeof(ds) / sizeof(ds[0]); k++) {
			make_summary(&s, ns[i], msg_len);
			distinct_errors(&s, ds[k]);
			add_child(&s, "c1", "child", ST_SUCCESS);
			regroup(&s);
			more = count(&s, &shown, &errors);
			assert_int_equal(shown + more, ns[i]);
			want = ns[i] < ds[k] ? ns[i] : ds[k];
			assert_int_equal(errors, want < 3 ? want : 3);
			if (want <= 3)
				assert_int_equal(more, 0);
			summary_free(&s);
		}
	}
	make_summary(&s, 3, msg_len);
	s.failed_more = 7;
	regroup(&s);
	more = count(&s, &shown, &errors);
	assert_int_equal(shown, 3);
	assert_int_equal(errors, 1);
	assert_int_equal(more, 7);
	summary_free(&s);
}

#endif
