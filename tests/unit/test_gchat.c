/* Unit tests for gchat.c (type = googlechat): the body is parsed back and
 * checked for its shape (text fallback, thread key, one card with
 * sections and buttons), the 32,000-byte cap with huge runs, hostile text
 * inert in the card (only our own tags, everything else as entities) and in
 * the text fallback (no Chat markup character at all), the mention rule,
 * one thread key for every message of one incident, the reply reading and
 * the URL rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "errors.h"
#include "summary.h"
#include "target.h"
#include "text.h"

#include "render_fixtures.h"

#define MARKER "ZQX"

static const struct target *gchat(void)
{
	const struct target *t = target_find("googlechat");

	assert_non_null(t);
	return t;
}

/* Renders s, checks the byte cap and that the body is JSON and UTF-8. */
static cJSON *render(const struct summary *s, const struct render_opts *o, char **raw)
{
	char *out = gchat()->render(s, o), *again;
	cJSON *root;

	assert_non_null(out);
	assert_true(strlen(out) <= 32000);
	assert_int_equal(gchat()->limits.max_bytes, 32000);
	again = text_sanitize(out, strlen(out), 1);
	assert_string_equal(again, out);
	free(again);
	root = cJSON_Parse(out);
	assert_non_null(root);
	if (raw)
		*raw = out;
	else
		free(out);
	return root;
}

static const char *text_of(const cJSON *root)
{
	const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(root, "text"));

	assert_non_null(t);
	return t;
}

static const char *key_of(const cJSON *root)
{
	const char *k = cJSON_GetStringValue(
		cJSON_GetObjectItem(cJSON_GetObjectItem(root, "thread"), "threadKey"));

	assert_non_null(k);
	return k;
}

static cJSON *card_of(const cJSON *root)
{
	cJSON *c = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "cardsV2"), 0),
				       "card");

	assert_non_null(c);
	return c;
}

/* Every '<' in card text opens one of our own tags and every '&' one of
 * our entities. Returns how many strings hold MARKER. */
static size_t check_card_text(const cJSON *item)
{
	static const char *const tags[] = { "<b>", "</b>", "<i>", "</i>", "<br>" };
	static const char *const ents[] = { "&amp;", "&lt;", "&gt;" };
	const cJSON *c;
	const char *p;
	size_t n = 0, i, ok;

	if (cJSON_IsString(item)) {
		for (p = item->valuestring; *p; p++) {
			ok = 1;
			if (*p == '<')
				for (ok = 0, i = 0; i < 5; i++)
					ok |= strncmp(p, tags[i], strlen(tags[i])) == 0;
			if (*p == '&')
				for (ok = 0, i = 0; i < 3; i++)
					ok |= strncmp(p, ents[i], strlen(ents[i])) == 0;
			if (!ok)
				fail_msg("card text holds live markup: %s", item->valuestring);
		}
		return strstr(item->valuestring, MARKER) != NULL;
	}
	for (c = item ? item->child : NULL; c; c = c->next)
		n += check_card_text(c);
	return n;
}

/* The shape: text fallback with the headline, a thread key, one card whose
 * first paragraph is the bold headline, an error section, the button. */
static void test_layout(void **state)
{
	struct summary s;
	cJSON *root, *card, *secs;
	char *out;

	(void)state;
	make_summary(&s, 2, 0);
	regroup(&s);
	root = render(&s, NULL, &out);
	assert_non_null(strstr(text_of(root), "load"
					      "\xcb\x8d"
					      "sales"));
	assert_int_equal(strncmp(key_of(root), "dpc-notify-", 11), 0);
	assert_int_equal(strlen(key_of(root)), 11 + 32);
	card = card_of(root);
	secs = cJSON_GetObjectItem(card, "sections");
	assert_true(cJSON_GetArraySize(secs) >= 3);
	assert_non_null(strstr(out, "\"<b>\xe2\x9d\x8c prod"));
	assert_non_null(strstr(out, "Table not found"));
	assert_non_null(strstr(out, "\"openLink\":{\"url\":\"https://app.matillion.com/"));
	assert_non_null(strstr(out, "\"text\":\"Open run in Matillion\""));
	check_card_text(card);
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

/* 300 failed steps of 20 KB messages with distinct errors and 40 failed
 * children, and a 1 MB run message: within 32,000 bytes, still a card,
 * and what was dropped is counted. */
static void test_huge(void **state)
{
	struct summary s;
	cJSON *root;
	char *out, id[16];
	size_t i;

	(void)state;
	make_summary(&s, 300, 20000);
	distinct_errors(&s, 17);
	for (i = 0; i < 40; i++) {
		snprintf(id, sizeof(id), "c%zu", i);
		add_child(&s, id, "a child pipeline with a rather long name indeed", ST_FAILED);
	}
	regroup(&s);
	root = render(&s, NULL, &out);
	assert_non_null(strstr(out, "more problem steps"));
	assert_non_null(cJSON_GetObjectItem(card_of(root), "sections"));
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
	/* Wide characters: every code point 4 bytes, escaped nowhere. */
	make_summary(&s, 3, 0);
	free(s.message);
	s.message = malloc(1 << 20);
	assert_non_null(s.message);
	for (i = 0; i + 4 < (1 << 20); i += 4)
		memcpy(s.message + i, "\xf0\x9f\x92\xa5", 4);
	s.message[i] = '\0';
	for (i = 0; i < s.n_failed; i++)
		set(&s.failed[i].message, s.message);
	regroup(&s);
	root = render(&s, NULL, NULL);
	cJSON_Delete(root);
	summary_free(&s);
}

/* check_more_counts()'s counter: the error section's heads (bold
 * paragraphs) and the "+N more problem steps" line. */
static uint64_t count_more(const struct summary *s, uint64_t *shown, size_t *errors)
{
	cJSON *root = render(s, NULL, NULL), *sec, *w;
	const char *t, *h, *m;
	uint64_t more = 0;

	*shown = 0;
	*errors = 0;
	cJSON_ArrayForEach(sec, cJSON_GetObjectItem(card_of(root), "sections"))
	{
		h = cJSON_GetStringValue(cJSON_GetObjectItem(sec, "header"));
		if (h == NULL || strncmp(h, "Error", 5) != 0)
			continue;
		cJSON_ArrayForEach(w, cJSON_GetObjectItem(sec, "widgets"))
		{
			t = cJSON_GetStringValue(cJSON_GetObjectItem(
				cJSON_GetObjectItem(w, "textParagraph"), "text"));
			assert_non_null(t);
			m = strstr(t, " more problem step");
			if (strncmp(t, "<i>+", 4) == 0 && m != NULL) {
				more = strtoull(t + 4, NULL, 10);
			} else if (strncmp(t, "<b>", 3) == 0) {
				(*errors)++;
				m = strstr(t, " steps failed with the same error");
				*shown += m ? strtoull(t + 3, NULL, 10) : 1;
			}
		}
	}
	cJSON_Delete(root);
	return more;
}

/* Errors shown plus "+N more" account for every problem step, with short
 * and with huge messages (the latter drop errors to fit). */
static void test_more_counts(void **state)
{
	(void)state;
	check_more_counts(count_more, 0);
	check_more_counts(count_more, 30000);
}

/* Each hostile string, with a marker, in every untrusted field of an
 * UNKNOWN and a FAILED run and its follow-up: card text only ever holds
 * our tags and entities, the text fallback holds no < > & * _ ~ ` at all,
 * <users/all> never forms. */
static void test_hostile_text(void **state)
{
	static const char *const chat[] = {
		"<users/all>",
		"<users/123456789>",
		"<https://evil.example|click here>",
		"*b* _i_ ~s~ `c` ```pre```",
		"&lt;users/all&gt;",
		"<b>x</b><a href=\"j:x\">y</a>",
		"&#60;users/all&#62;",
	};
	struct summary s;
	char t[160], *out;
	size_t i, k, n, markers;
	cJSON *root;
	const char *text;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]) + sizeof(chat) / sizeof(chat[0]);
	     i++) {
		n = sizeof(hostile) / sizeof(hostile[0]);
		snprintf(t, sizeof(t), "%s " MARKER, i < n ? hostile[i] : chat[i - n]);
		for (k = 0; k < 3; k++) {
			if (k == 0)
				make_hostile(&s, t);
			else
				make_hostile_failed(&s, t, k == 2);
			root = render(&s, NULL, &out);
			text = text_of(root);
			assert_non_null(strstr(text, MARKER));
			assert_null(strpbrk(text, "<>&*_~`"));
			assert_null(strstr(out, "<users"));
			assert_null(strstr(out, "<http"));
			assert_null(strstr(out, "<a "));
			markers = check_card_text(card_of(root));
			assert_true(markers >= (k ? 6 : 4));
			free(out);
			cJSON_Delete(root);
			summary_free(&s);
		}
	}
}

/* The configured mention goes first in the text, on failures only; never
 * into the card. */
static void test_mention(void **state)
{
	const struct render_opts o = { .mention = "<users/112233>" };
	struct summary s;
	cJSON *root;
	char *out;

	(void)state;
	make_summary(&s, 1, 0);
	regroup(&s);
	root = render(&s, &o, &out);
	assert_int_equal(strncmp(text_of(root), "<users/112233> ", 15), 0);
	assert_int_equal(check_card_text(card_of(root)), 0);
	assert_ptr_equal(strstr(out, "<users/112233>"), strstr(out, "\"text\":\"") + 8);
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
	make_summary(&s, 0, 0);
	s.status = ST_SUCCESS;
	root = render(&s, &o, NULL);
	assert_null(strchr(text_of(root), '<'));
	cJSON_Delete(root);
	summary_free(&s);
}

/* The thread key of s with memory form f, incident start since and
 * streak start streak, as a new string. */
static char *key_for(struct summary *s, enum summary_form f, int64_t since, int64_t streak)
{
	cJSON *root;
	char *k;

	s->memory.known = 1;
	s->memory.form = f;
	s->memory.incident_since_ms = since;
	s->memory.streak_since_ms = streak;
	root = render(s, NULL, NULL);
	k = strdup(key_of(root));
	cJSON_Delete(root);
	return k;
}

/* The first message, a compact repeat (its streak start moved on: history
 * is finite) and the recovery of one incident share the key; another
 * incident, environment or pipeline does not; outside an incident the run
 * decides, so a degraded notice and its follow-up share one. */
static void test_thread_key(void **state)
{
	struct summary s;
	char *full, *again, *rec, *other, *env, *k1, *k2;
	cJSON *root;

	(void)state;
	make_summary(&s, 1, 0);
	regroup(&s);
	full = key_for(&s, FORM_FULL, T0, T0);
	again = key_for(&s, FORM_COMPACT, T0, T0 + 3600000);
	other = key_for(&s, FORM_FULL, T0 + 1, T0 + 1);
	set(&s.environment, "dev");
	env = key_for(&s, FORM_FULL, T0, T0);
	set(&s.environment, "prod");
	s.status = ST_SUCCESS;
	rec = key_for(&s, FORM_RECOVERY, T0, -1);
	assert_string_equal(full, again);
	assert_string_equal(full, rec);
	assert_string_not_equal(full, other);
	assert_string_not_equal(full, env);
	/* A decision stored before problems carried the incident's start. */
	s.status = ST_FAILED;
	free(again);
	again = key_for(&s, FORM_COMPACT, -1, T0);
	assert_string_equal(full, again);
	/* No memory: by run. */
	memset(&s.memory, 0, sizeof(s.memory));
	root = render(&s, NULL, NULL);
	k1 = strdup(key_of(root));
	cJSON_Delete(root);
	s.follows_ms = T0;
	root = render(&s, NULL, NULL);
	assert_string_equal(k1, key_of(root));
	cJSON_Delete(root);
	set(&s.execution_id, "exec-2");
	root = render(&s, NULL, NULL);
	k2 = strdup(key_of(root));
	assert_string_not_equal(k1, k2);
	assert_string_not_equal(k1, full);
	cJSON_Delete(root);
	free(full);
	free(again);
	free(rec);
	free(other);
	free(env);
	free(k1);
	free(k2);
	summary_free(&s);
}

/* The status decides: 200 delivered, 429 and 5xx later, 400 given up. */
static void test_classify(void **state)
{
	const char *busy = "{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\"}}";

	(void)state;
	assert_int_equal(gchat()->classify(200, 0, "{\"name\":\"spaces/A/messages/B\"}", 30), 0);
	assert_int_equal(gchat()->classify(429, ERR_TRANSIENT, busy, strlen(busy)), ERR_TRANSIENT);
	assert_int_equal(gchat()->classify(400, ERR_PERMANENT, NULL, 0), ERR_PERMANENT);
	assert_int_equal(gchat()->classify(503, ERR_TRANSIENT, NULL, 0), ERR_TRANSIENT);
	assert_true(gchat()->default_rate > 0.0 && gchat()->default_rate <= 1.0);
}

static void test_url_warning(void **state)
{
	const char *good = "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=k1&token=t1"
			   "&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD";
	const char *bad[] = {
		"https://hooks.slack.com/services/T/B/x",
		"https://chat.googleapis.com/v1/spaces/AAAA/messages?token=t1",
		"https://chat.googleapis.com/v1/spaces/AAAA/messages?key=k1",
		"https://chat.googleapis.com.evil.example/v1/spaces/AAAA/messages?key=k&token=t",
		"https://chat.googleapis.com/v1/spaces//messages?key=k&token=t",
		"https://chat.googleapis.com/v2/spaces/A/messages?key=k&token=t",
		"https://chat.googleapis.com/v1/spaces/A/messages?key=&token=t",
	};
	size_t i;

	(void)state;
	assert_null(gchat()->url_warning(good));
	/* dpc-notify adds the option at post time. */
	assert_null(gchat()->url_warning("https://chat.googleapis.com/v1/spaces/A/"
					 "messages?key=k&token=t"));
	assert_string_equal(gchat()->url_query,
			    "messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD");
	assert_non_null(
		gchat()->url_warning("https://chat.googleapis.com/v1/spaces/A/messages?key=k"
				     "&token=t&messageReplyOption=REPLY_MESSAGE_OR_FAIL"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_non_null(strstr(gchat()->url_warning(bad[i]), "not a Google Chat"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),       cmocka_unit_test(test_huge),
		cmocka_unit_test(test_hostile_text), cmocka_unit_test(test_mention),
		cmocka_unit_test(test_thread_key),   cmocka_unit_test(test_classify),
		cmocka_unit_test(test_url_warning),  cmocka_unit_test(test_more_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
