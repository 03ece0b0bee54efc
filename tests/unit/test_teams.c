/* Unit tests for teams.c: the rendered body is parsed back and checked for
 * the Workflows envelope, the triage layout (title, summary and
 * fallbackText, context line, grouped errors, "Show full error", child
 * pipelines, the two buttons), the 28 KB cap at its edge with the order in
 * which things are dropped, the counting of errors not shown, hostile text
 * (only ever inside TextRuns, never backslash-escaped) and the mention
 * rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "summary.h"
#include "target.h"
#include "text.h"

#include "render_fixtures.h"

/* The row under test. */
static const struct target *teams(void)
{
	const struct target *t = target_find("teams");

	assert_non_null(t);
	return t;
}

static cJSON *render(const struct summary *s, const struct render_opts *d, char **raw)
{
	char *out = teams()->render(s, d);
	cJSON *root;

	assert_non_null(out);
	assert_true(strlen(out) <= teams()->limits.max_bytes);
	root = cJSON_Parse(out);
	assert_non_null(root);
	if (raw)
		*raw = out;
	else
		free(out);
	return root;
}

static cJSON *card_of(const cJSON *root)
{
	return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "attachments"), 0),
				   "content");
}

static const char *str(const cJSON *o, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));

	return v ? v : "";
}

/* Item i of array key of o. */
static cJSON *at(const cJSON *o, const char *key, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(o, key), i);
}

/* Checks that RichTextBlock rb holds exactly the n TextRun texts given. */
static void check_runs(const cJSON *rb, size_t n, const char *const *want)
{
	size_t i;

	assert_string_equal(str(rb, "type"), "RichTextBlock");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(rb, "inlines")), n);
	for (i = 0; i < n; i++) {
		assert_string_equal(str(at(rb, "inlines", (int)i), "type"), "TextRun");
		assert_string_equal(str(at(rb, "inlines", (int)i), "text"), want[i]);
	}
}

static void check_envelope(const cJSON *root)
{
	cJSON *att = at(root, "attachments", 0), *card = card_of(root);

	assert_string_equal(str(root, "type"), "message");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "attachments")), 1);
	assert_string_equal(str(att, "contentType"), "application/vnd.microsoft.card.adaptive");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(att, "contentUrl")));
	assert_string_equal(str(card, "type"), "AdaptiveCard");
	assert_string_equal(str(card, "version"), "1.5");
	assert_string_equal(str(card, "$schema"),
			    "http://adaptivecards.io/schemas/adaptive-card.json");
	assert_string_equal(str(cJSON_GetObjectItem(card, "msteams"), "width"), "Full");
	/* The notification and card-less clients show the triage line. */
	assert_string_equal(str(root, "summary"), str(card, "fallbackText"));
	assert_string_equal(
		str(root, "summary"),
		str(at(cJSON_GetArrayItem(cJSON_GetObjectItem(card, "body"), 0), "inlines", 0),
		    "text"));
}

#define RUN_URL "https://app.matillion.com/observability-dashboard/pipeline/"
#define HEAD_2STEPS \
	"\xe2\x9d\x8c prod \xc2\xb7 load_sales failed in 2 steps: Table not found \xc2\xb7 3m"

/* Checks action i of the card: its type, title and (for OpenUrl) url. */
static void check_action(const cJSON *card, int i, const char *type, const char *title,
			 const char *url)
{
	const cJSON *a = at(card, "actions", i);

	assert_non_null(a);
	assert_string_equal(str(a, "type"), type);
	assert_string_equal(str(a, "title"), title);
	if (url != NULL)
		assert_string_equal(str(a, "url"), url);
}

/* The "Show full error" card, or NULL. */
static const cJSON *show_card(const cJSON *card)
{
	const cJSON *a;

	cJSON_ArrayForEach(
		a, cJSON_GetObjectItem(card,
				       "actions")) if (strcmp(str(a, "type"), "Action.ShowCard") ==
						       0) return cJSON_GetObjectItem(a, "card");
	return NULL;
}

/* The triage layout: the headline as title, summary and fallbackText, one
 * context line, the grouped error (bold title, where, the excerpt in
 * monospace), the failed child listed, the others counted, one button to
 * the run, nothing cut so no "Show full error", and no status colour (the
 * theme's default text meets AA contrast in light and dark themes). */
static void test_structure(void **state)
{
	static const char *const title[] = { HEAD_2STEPS };
	static const char *const ctx[] = { "Sales \xc2\xb7 Scheduled", " \xc2\xb7 ",
					   "2024-05-01 10:00\xe2\x80\x93"
					   "10:03 UTC \xc2\xb7 3m \xc2\xb7 run exec-1" };
	static const char *const what[] = { "2 steps failed with the same error",
					    "\nStep 0 \xe2\x80\xa6 1" };
	static const char *const msg[] = { "Table not found" };
	static const char *const child[] = { "\xe2\x80\xa2 child_a", " \xe2\x80\x94 ", "FAILED" };
	struct summary s;
	cJSON *root, *card, *body, *b;
	char *out;

	(void)state;
	make_summary(&s, 2, 0);
	add_child(&s, "c1", "child_a", ST_FAILED);
	add_child(&s, "c2", "child_b", ST_SUCCESS);
	regroup(&s);
	root = render(&s, NULL, &out);
	check_envelope(root);
	assert_string_equal(str(root, "summary"), HEAD_2STEPS);
	card = card_of(root);
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(card, "msteams"), "entities"));
	body = cJSON_GetObjectItem(card, "body");
	assert_int_equal(cJSON_GetArraySize(body), 6);
	b = cJSON_GetArrayItem(body, 0);
	check_runs(b, 1, title);
	assert_string_equal(str(at(b, "inlines", 0), "size"), "Large");
	assert_string_equal(str(at(b, "inlines", 0), "weight"), "Bolder");
	assert_null(strstr(out, "\"color\""));
	b = cJSON_GetArrayItem(body, 1);
	check_runs(b, 3, ctx);
	b = cJSON_GetArrayItem(body, 2);
	assert_string_equal(str(b, "type"), "Container");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(b, "separator")));
	check_runs(at(b, "items", 0), 2, what);
	assert_string_equal(str(at(at(b, "items", 0), "inlines", 0), "weight"), "Bolder");
	check_runs(at(b, "items", 1), 1, msg);
	assert_string_equal(str(at(at(b, "items", 1), "inlines", 0), "fontType"), "Monospace");
	b = cJSON_GetArrayItem(body, 3);
	assert_string_equal(str(b, "type"), "TextBlock");
	assert_string_equal(str(b, "text"), "Other failed child pipelines");
	check_runs(cJSON_GetArrayItem(body, 4), 3, child);
	b = cJSON_GetArrayItem(body, 5);
	assert_string_equal(str(b, "type"), "TextBlock");
	assert_string_equal(str(b, "text"), "1 other child pipeline succeeded");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(card, "actions")), 1);
	check_action(card, 0, "Action.OpenUrl", "Open run in Matillion", RUN_URL "exec-1");
	assert_null(show_card(card));
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

/* Names with Markdown specials are shown exactly as typed: no backslash
 * anywhere in the body; the root pipeline is left out of the error's
 * place; a child named like the root but in another folder is listed. */
static void test_names_shown_literally(void **state)
{
	static const char *const step[] = { "Load [raw]" };
	static const char *const child[] = { "\xe2\x80\xa2 load_dwh (v2) *x*", " \xe2\x80\x94 ",
					     "FAILED" };
	struct summary s;
	cJSON *root, *body, *b;
	char *out;

	(void)state;
	make_summary(&s, 1, 0);
	set(&s.pipeline_name, "load_dwh (v2) *x*");
	set(&s.environment, "dev_1");
	set(&s.failed[0].path, "Finance/load_dwh (v2) *x*" SEP "Load [raw]");
	set(&s.failed[0].message, "column `A_B` #1 ~x~ (see [docs])");
	add_child(&s, "c1", "load_dwh (v2) *x*", ST_FAILED);
	regroup(&s);
	root = render(&s, NULL, &out);
	assert_null(strchr(out, '\\'));
	body = cJSON_GetObjectItem(card_of(root), "body");
	assert_string_equal(str(at(cJSON_GetArrayItem(body, 0), "inlines", 0), "text"),
			    "\xe2\x9d\x8c dev_1 \xc2\xb7 load_dwh (v2) *x* failed at Load [raw]: "
			    "column `A_B` #1 ~x~ (see [docs]) \xc2\xb7 3m");
	b = cJSON_GetArrayItem(body, 2);
	check_runs(at(b, "items", 0), 1, step);
	assert_string_equal(str(at(at(b, "items", 1), "inlines", 0), "text"),
			    "column `A_B` #1 ~x~ (see [docs])");
	check_runs(cJSON_GetArrayItem(body, 4), 3, child);
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

/* The context line: who ran it and the run's short id are TextRuns
 * (literal), no FactSet exists any more, an unknown status is named in the
 * headline with the neutral emoji. */
static void test_context_line(void **state)
{
	static const char *const ctx[] = { "Sales \xc2\xb7 Designer run by a_b", " \xc2\xb7 ",
					   "2024-05-01 10:00\xe2\x80\x93"
					   "10:03 UTC \xc2\xb7 3m \xc2\xb7 run 12. x_*y" };
	struct summary s;
	cJSON *root, *body;
	char *out;

	(void)state;
	make_summary(&s, 0, 0);
	set(&s.trigger, "DESIGNER");
	set(&s.user, "a_b");
	set(&s.execution_id, "12. x_*yz-long");
	s.status = ST_UNKNOWN;
	set(&s.status_text, "HALF-DONE");
	regroup(&s);
	root = render(&s, NULL, &out);
	body = cJSON_GetObjectItem(card_of(root), "body");
	assert_string_equal(str(at(cJSON_GetArrayItem(body, 0), "inlines", 0), "text"),
			    "\xe2\x84\xb9 prod \xc2\xb7 load_sales finished HALF-DONE \xc2\xb7 3m");
	check_runs(cJSON_GetArrayItem(body, 1), 3, ctx);
	assert_null(strstr(out, "FactSet"));
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

/* 1 when t starts with "<prefix><digits><rest>" (sscanf alone would
 * accept a different rest); *v gets the digits. */
static int number_then(const char *t, const char *prefix, const char *rest, unsigned long long *v)
{
	char *end;

	if (strncmp(t, prefix, strlen(prefix)) != 0)
		return 0;
	t += strlen(prefix);
	if (*t < '0' || *t > '9')
		return 0;
	*v = strtoull(t, &end, 10);
	return strncmp(end, rest, strlen(rest)) == 0;
}

/* Returns the N of "+N more problem steps" (0 if absent); *shown gets the
 * steps the error containers account for ("60 steps failed with the same
 * error" counts 60, a single error 1), *errors the containers. */
static uint64_t more_in(const cJSON *root, uint64_t *shown, size_t *errors)
{
	const cJSON *b;
	uint64_t more = 0;
	unsigned long long v;

	*shown = 0;
	*errors = 0;
	cJSON_ArrayForEach(b, cJSON_GetObjectItem(card_of(root), "body"))
	{
		if (strcmp(str(b, "type"), "Container") == 0) {
			(*errors)++;
			*shown += number_then(str(at(at(b, "items", 0), "inlines", 0), "text"), "",
					      " steps ", &v)
					  ? v
					  : 1;
		}
		if (number_then(str(b, "text"), "+", " more problem step", &v)) {
			assert_int_equal(more, 0);
			more = v;
		}
	}
	return more;
}

static uint64_t more_of(const struct summary *s, uint64_t *shown, size_t *errors)
{
	cJSON *root = render(s, NULL, NULL);
	uint64_t more = more_in(root, shown, errors);

	cJSON_Delete(root);
	return more;
}

static void test_size_limits(void **state)
{
	(void)state;
	check_more_counts(more_of, 0);
	check_more_counts(more_of, 1000);
}

/* n copies of piece joined by sep, into a new string. */
static char *repeat(const char *piece, size_t n, const char *sep)
{
	size_t pl = strlen(piece), sl = strlen(sep), i;
	char *out = malloc(n * (pl + sl) + 1), *p = out;

	assert_non_null(out);
	for (i = 0; i < n; i++) {
		if (i && sl) {
			memcpy(p, sep, sl);
			p += sl;
		}
		memcpy(p, piece, pl);
		p += pl;
	}
	*p = '\0';
	return out;
}

/* Renders s with opts d and checks the order in which the card gives way
 * at the 28 KB edge: the body fits (render()); "Show full error" is only
 * there when every error (want_errors) is shown; the errors shown plus
 * "+N more" account for every problem step (total). Returns the error
 * containers; *full says whether the ShowCard is there. */
static size_t check_edge(const struct summary *s, const struct render_opts *d, uint64_t total,
			 size_t want_errors, int *full)
{
	uint64_t shown, more;
	size_t errors;
	cJSON *root = render(s, d, NULL);

	*full = show_card(card_of(root)) != NULL;
	more = more_in(root, &shown, &errors);
	assert_int_equal(shown + more, total);
	if (*full)
		assert_int_equal(errors, want_errors);
	cJSON_Delete(root);
	return errors;
}

/* At the 28 KB edge. Three long errors whose full texts fit: "Show full
 * error" holds each one whole, with its place. Full texts that do not fit
 * (every '<' grows to three bytes): the ShowCard goes first and the three
 * errors stay. Every field at its longest in 4-byte code points, and a
 * long configured mention (the one part the view does not bound): errors
 * go too, from the last, counted in "+N more"; the body never exceeds the
 * cap. Without the mention the same run keeps all three errors. */
static void test_size_edge(void **state)
{
	struct render_opts d = { 0 };
	struct summary s;
	cJSON *root;
	const cJSON *sc;
	char *name, *line, *msg, *path, *other, mention[1001], id[32];
	size_t i, n;
	int full;

	(void)state;
	make_summary(&s, 3, 2000);
	distinct_errors(&s, 3);
	regroup(&s);
	root = render(&s, NULL, NULL);
	sc = show_card(card_of(root));
	assert_non_null(sc);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(sc, "body")), 6);
	for (i = 0; i < 3; i++) {
		assert_string_equal(str(at(at(sc, "body", (int)(2 * i)), "inlines", 0), "text"),
				    s.groups[i].first_path + strlen("Root" SEP));
		assert_string_equal(str(at(at(sc, "body", (int)(2 * i + 1)), "inlines", 0), "text"),
				    s.groups[i].message);
		assert_string_equal(
			str(at(at(sc, "body", (int)(2 * i + 1)), "inlines", 0), "fontType"),
			"Monospace");
	}
	cJSON_Delete(root);
	summary_free(&s);

	make_summary(&s, 3, SUMMARY_MESSAGE_MAX);
	for (i = 0; i < 3; i++)
		memset(s.failed[i].message + 3, '<', SUMMARY_MESSAGE_MAX - 3);
	distinct_errors(&s, 3);
	regroup(&s);
	n = check_edge(&s, NULL, 3, 3, &full);
	assert_false(full);
	assert_int_equal(n, 3);
	summary_free(&s);

	name = repeat("\xf0\x9f\x98\x80", 2100, "");
	line = repeat("\xf0\x9f\x98\x80", 150, "");
	msg = repeat(line, 30, "\n");
	path = repeat(name, 3, SEP);
	other = text_concat3("x", name, NULL); /* not on the error's path: listed */
	assert_non_null(other);
	make_summary(&s, 9, 0);
	set(&s.pipeline_name, name);
	set(&s.environment, name);
	set(&s.project_name, name);
	set(&s.user, name);
	set(&s.trigger, name);
	s.is_test = 1;
	s.incomplete = strdup(name);
	s.degraded = strdup(name);
	for (i = 0; i < s.n_failed; i++) {
		set(&s.failed[i].path, path);
		set(&s.failed[i].message, msg);
		s.failed[i].message[i % 5] = 'A'; /* five distinct errors */
		snprintf(id, sizeof(id), "c%zu", i);
		add_child(&s, id, other, ST_FAILED);
	}
	regroup(&s);
	n = check_edge(&s, NULL, 9, 3, &full);
	assert_int_equal(n, 3);
	memset(mention, 'a', sizeof(mention) - 1);
	mention[sizeof(mention) - 1] = '\0';
	d.mention = mention;
	n = check_edge(&s, &d, 9, 3, &full);
	assert_false(full);
	assert_true(n >= 1 && n < 3);
	summary_free(&s);
	free(other);
	free(name);
	free(line);
	free(msg);
	free(path);
}

/* A 35-line statement with indentation: the container shows it cut by
 * lines, indentation kept as no-break spaces and a "⋯ N lines" gap; the
 * "Show full error" card holds every line, indented too. */
static void test_excerpt_and_full_error(void **state)
{
	struct summary s;
	cJSON *root, *card;
	const cJSON *sc;
	const char *ex, *whole;
	char msg[2048];
	size_t i, n = 0;

	(void)state;
	make_summary(&s, 1, 0);
	n += (size_t)snprintf(msg + n, sizeof(msg) - n, "Failed to execute statement:\nINSERT (");
	for (i = 0; i < 32; i++)
		n += (size_t)snprintf(msg + n, sizeof(msg) - n, "\n    \"col_%02zu\",", i);
	snprintf(msg + n, sizeof(msg) - n, "\nSQL compilation error: invalid identifier 'X'");
	set(&s.failed[0].message, msg);
	regroup(&s);
	root = render(&s, NULL, NULL);
	card = card_of(root);
	ex = str(at(at(at(card, "body", 2), "items", 1), "inlines", 0), "text");
	assert_non_null(strstr(ex,
			       "Failed to execute statement:\nINSERT (\n\xc2\xa0\xc2\xa0\xc2\xa0"
			       "\xc2\xa0\"col_00\","));
	assert_non_null(strstr(ex, "\n\xe2\x8b\xaf "));
	assert_non_null(strstr(ex, "SQL compilation error: invalid identifier 'X'"));
	assert_null(strstr(ex, "col_31"));
	check_action(card, 1, "Action.ShowCard", "Show full error", NULL);
	sc = show_card(card);
	assert_non_null(sc);
	assert_string_equal(str(sc, "type"), "AdaptiveCard");
	whole = str(at(at(sc, "body", 1), "inlines", 0), "text");
	assert_non_null(strstr(whole, "\n\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\"col_31\","));
	assert_null(strstr(whole, "\xe2\x8b\xaf"));
	cJSON_Delete(root);
	summary_free(&s);
}

#define MARKER "QZX"

/* Fails unless every string in node that contains MARKER is the "text" of
 * a TextRun (the only text Teams does not read as Markdown), or a URL of
 * ours with the id percent-encoded; returns how many such runs were
 * seen. */
static size_t marker_only_in_runs(const cJSON *node)
{
	const cJSON *c;
	size_t n = 0;

	for (c = node ? node->child : NULL; c != NULL; c = c->next) {
		if (cJSON_IsString(c) && strstr(c->valuestring, MARKER) != NULL) {
			assert_non_null(c->string);
			if (strcmp(c->string, "url") == 0) {
				assert_memory_equal(c->valuestring, RUN_URL, strlen(RUN_URL));
				assert_int_equal(
					strspn(c->valuestring + strlen(RUN_URL),
					       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					       "0123456789-._~%"),
					strlen(c->valuestring + strlen(RUN_URL)));
				continue;
			}
			assert_string_equal(c->string, "text");
			assert_string_equal(str(node, "type"), "TextRun");
			n++;
		}
		n += marker_only_in_runs(c);
	}
	return n;
}

/* Each hostile string, with a marker, in every untrusted field of an
 * UNKNOWN-status run, of a FAILED one (title, summary and fallbackText
 * "failed in 3 steps: <error>", context line, grouped error with its
 * "first … last" range, a single error, listed child, notes, the failing
 * child's run as first button), of its follow-up, and with errors long
 * enough for "Show full error": no <at> tag or Markdown link can form,
 * the marker is only ever in TextRuns (and percent-encoded in our URLs),
 * summary and fallbackText carry it tag-free, no mention entity appears,
 * the body is valid UTF-8. */
static void test_hostile_text(void **state)
{
	struct summary s;
	size_t i, k, f, runs;
	char *out, *again, *lines, t[128];
	cJSON *root, *card;
	const char *sum;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		snprintf(t, sizeof(t), "%s " MARKER, hostile[i]);
		for (k = 0; k < 4; k++) {
			if (k == 0)
				make_hostile(&s, t);
			else
				make_hostile_failed(&s, t, k == 2);
			if (k == 3) {
				/* Twelve lines of it: cut, so "Show full error". */
				lines = repeat(t, 12, "\n");
				for (f = 0; f < s.n_failed; f++)
					set(&s.failed[f].message, lines);
				s.failed[s.n_failed - 1].message[0] = 'Z'; /* one other error */
				free(lines);
				regroup(&s);
			}
			root = render(&s, NULL, &out);
			card = card_of(root);
			assert_null(strstr(out, "<at>"));
			assert_null(strstr(out, "</at>"));
			assert_null(strstr(out, "<!"));
			assert_null(strstr(out, "<@"));
			assert_null(strstr(out, "<http"));
			assert_null(strstr(out, "<#"));
			sum = str(root, "summary");
			assert_non_null(strstr(sum, MARKER));
			assert_null(strchr(sum, '<'));
			assert_string_equal(sum, str(card, "fallbackText"));
			cJSON_DeleteItemFromObject(root, "summary");
			cJSON_DeleteItemFromObject(card, "fallbackText");
			/* title, context, notes x2, errors, children ... */
			runs = marker_only_in_runs(root);
			assert_true(runs >= (k ? 7 : 5));
			if (k > 0) {
				assert_non_null(strstr(out, "failed in 3 steps"));
				assert_non_null(strstr(out, "2 steps failed with the same error"));
				assert_non_null(strstr(out, "\"Open failed child run\""));
			}
			if (k == 3)
				assert_non_null(show_card(card));
			assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(card, "msteams"),
							"entities"));
			again = text_sanitize(out, strlen(out), 1);
			assert_string_equal(again, out);
			free(again);
			free(out);
			cJSON_Delete(root);
			summary_free(&s);
		}
	}
	/* Literal in a TextRun: the link text shows as typed, the tag does not
	 * form, and no backslash is added. */
	make_hostile(&s, "[x](javascript:alert(1)) <at>CEO</at> " MARKER);
	root = render(&s, NULL, &out);
	assert_non_null(strstr(out, "\"[x](javascript:alert(1)) \xe2\x80\xb9"
				    "at\xe2\x80\xba"
				    "CEO\xe2\x80\xb9/at\xe2\x80\xba " MARKER "\""));
	assert_null(strchr(out, '\\'));
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

/* 1 when the card carries the config mention (and checks its shape and
 * place, right under the title). */
static int has_mention(const struct summary *s, const struct render_opts *d)
{
	cJSON *root = render(s, d, NULL), *card = card_of(root), *ents, *e, *b;
	int found_text = 0, found_entity = 0;

	cJSON_ArrayForEach(b, cJSON_GetObjectItem(
				      card, "body")) if (strcmp(str(b, "text"),
								"<at>oncall@example.com</at>") == 0)
	{
		assert_string_equal(str(b, "type"), "TextBlock");
		assert_ptr_equal(b, at(card, "body", 1));
		found_text = 1;
	}
	ents = cJSON_GetObjectItem(cJSON_GetObjectItem(card, "msteams"), "entities");
	e = cJSON_GetArrayItem(ents, 0);
	if (e != NULL) {
		assert_int_equal(cJSON_GetArraySize(ents), 1);
		assert_string_equal(str(e, "type"), "mention");
		assert_string_equal(str(e, "text"), "<at>oncall@example.com</at>");
		assert_string_equal(str(cJSON_GetObjectItem(e, "mentioned"), "id"),
				    "oncall@example.com");
		assert_string_equal(str(cJSON_GetObjectItem(e, "mentioned"), "name"),
				    "oncall@example.com");
		found_entity = 1;
	}
	cJSON_Delete(root);
	assert_int_equal(found_text, found_entity);
	return found_text;
}

/* Mentions are for failed and forbidden runs only: never for cancelled or
 * cancelling runs, successes, skipped runs, nor the follow-up that
 * completes an earlier notice. */
static void test_mention_only_for_failures(void **state)
{
	struct render_opts d = { 0 };
	struct summary s;

	(void)state;
	d.mention = "oncall@example.com";
	make_summary(&s, 1, 0);
	regroup(&s);
	assert_true(has_mention(&s, &d));
	s.status = ST_FORBIDDEN;
	assert_true(has_mention(&s, &d));
	s.status = ST_CANCELLED;
	assert_false(has_mention(&s, &d));
	s.status = ST_CANCELLING;
	assert_false(has_mention(&s, &d));
	s.status = ST_SUCCESS;
	assert_false(has_mention(&s, &d));
	s.status = ST_SKIPPED;
	assert_false(has_mention(&s, &d));
	s.status = ST_FAILED;
	s.follows_ms = 0;
	assert_false(has_mention(&s, &d));
	s.follows_ms = T0;
	assert_false(has_mention(&s, &d));
	s.follows_ms = -1;
	assert_false(has_mention(&s, NULL));
	summary_free(&s);
}

/* The test flag leads the title and the context line; the notes follow in
 * italic TextRuns without colour (follow-up, degraded reason, incomplete);
 * no link means no actions; an error in a child run gets its own run's
 * button first, then the whole run's. */
static void test_notes_and_links(void **state)
{
	static const char *const follow[] = { "Completes the notice posted at 10:10 UTC: "
					      "Matillion's API is answering again." };
	static const char *const degraded[] = { "dpc-notify couldn't reach Matillion's API." };
	static const char *const incomplete[] = { "API call budget reached" };
	struct summary s;
	cJSON *root, *card, *body;
	int i;

	(void)state;
	make_summary(&s, 0, 0);
	s.is_test = 1;
	s.follows_ms = T0 + 600000;
	s.incomplete = strdup("API call budget reached");
	s.degraded = strdup("dpc-notify couldn't reach Matillion's API.");
	s.degraded_promise = 1;
	free(s.link);
	s.link = NULL;
	regroup(&s);
	root = render(&s, NULL, NULL);
	card = card_of(root);
	body = cJSON_GetObjectItem(card, "body");
	assert_string_equal(str(at(cJSON_GetArrayItem(body, 0), "inlines", 0), "text"),
			    "\xf0\x9f\xa7\xaa TEST \xc2\xb7 \xe2\x9d\x8c prod \xc2\xb7 load_sales "
			    "failed (details follow) \xc2\xb7 3m");
	assert_string_equal(str(at(cJSON_GetArrayItem(body, 1), "inlines", 0), "text"),
			    "Test message sent by dpc-notify send-test \xc2\xb7 ");
	check_runs(cJSON_GetArrayItem(body, 2), 1, follow);
	check_runs(cJSON_GetArrayItem(body, 3), 1, degraded);
	check_runs(cJSON_GetArrayItem(body, 4), 1, incomplete);
	for (i = 2; i <= 4; i++) {
		assert_true(cJSON_IsTrue(cJSON_GetObjectItem(
			at(cJSON_GetArrayItem(body, i), "inlines", 0), "italic")));
		assert_null(cJSON_GetObjectItem(at(cJSON_GetArrayItem(body, i), "inlines", 0),
						"color"));
	}
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(card, "actions")), 0);
	cJSON_Delete(root);
	summary_free(&s);
	make_summary(&s, 1, 0);
	s.failed[0].execution_id = strdup("child-9");
	regroup(&s);
	root = render(&s, NULL, NULL);
	card = card_of(root);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(card, "actions")), 2);
	check_action(card, 0, "Action.OpenUrl", "Open failed child run", RUN_URL "child-9");
	check_action(card, 1, "Action.OpenUrl", "Open whole run", RUN_URL "exec-1");
	cJSON_Delete(root);
	summary_free(&s);
}

/* Failed children off the error's path are listed up to eight, the rest
 * and the ones that succeeded are counted on one line, with a separator
 * only between two counts. */
static void test_children_counted(void **state)
{
	struct summary s;
	cJSON *root, *body;
	char id[16];
	size_t i;
	const char *last;

	(void)state;
	make_summary(&s, 1, 0);
	for (i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "c%zu", i);
		add_child(&s, id, id, ST_FAILED);
	}
	regroup(&s);
	root = render(&s, NULL, NULL);
	body = cJSON_GetObjectItem(card_of(root), "body");
	last = str(cJSON_GetArrayItem(body, cJSON_GetArraySize(body) - 1), "text");
	assert_string_equal(last, "+2 more failed");
	assert_string_equal(str(cJSON_GetArrayItem(body, cJSON_GetArraySize(body) - 2), "type"),
			    "RichTextBlock");
	cJSON_Delete(root);
	add_child(&s, "ok1", "ok1", ST_SUCCESS);
	add_child(&s, "ok2", "ok2", ST_SUCCESS);
	root = render(&s, NULL, NULL);
	body = cJSON_GetObjectItem(card_of(root), "body");
	last = str(cJSON_GetArrayItem(body, cJSON_GetArraySize(body) - 1), "text");
	assert_string_equal(last, "+2 more failed \xc2\xb7 2 other child pipelines succeeded");
	cJSON_Delete(root);
	summary_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_names_shown_literally),
		cmocka_unit_test(test_context_line),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_size_edge),
		cmocka_unit_test(test_excerpt_and_full_error),
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_mention_only_for_failures),
		cmocka_unit_test(test_notes_and_links),
		cmocka_unit_test(test_children_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
