/* Unit tests for discord.c: Discord's embed limits with huge and
 * multi-byte input, hostile text made inert (every Markdown special and
 * mention character escaped outside code, no fence inside it), the
 * mention rule and allowed_mentions, the reading of replies (a 429's JSON
 * retry_after with hostile values, the ids ?wait=true returns), classify
 * and the URL rule; an incident's bodies (discord.h): the stored body's
 * member and the posted body without it, a forum post's title, and the
 * resolved edit within Discord's limits. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "discord.h"
#include "errors.h"
#include "httpc.h"
#include "summary.h"
#include "target.h"

#include "render_fixtures.h"

static const struct target *discord(void)
{
	const struct target *t = target_find("discord");

	assert_non_null(t);
	return t;
}

/* Width in UTF-16 units, as the renderer counts. */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++) {
		unsigned char b = (unsigned char)*s;

		if ((b & 0xc0) != 0x80)
			w += b >= 0xf0 ? 2 : 1;
	}
	return w;
}

static cJSON *render(const struct summary *s, const char *mention)
{
	struct render_opts o = { .mention = mention };
	char *out = discord()->render(s, &o);
	cJSON *root;

	assert_non_null(out);
	root = cJSON_Parse(out);
	assert_non_null(root);
	free(out);
	return root;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Checks every Discord limit of one message body; returns the embed. */
static const cJSON *check_limits(const cJSON *root)
{
	const cJSON *embeds = cJSON_GetObjectItem(root, "embeds"), *e, *f;
	size_t total = 0;

	assert_true(cJSON_IsArray(embeds));
	assert_true(cJSON_GetArraySize(embeds) >= 1);
	assert_true(cJSON_GetArraySize(embeds) <= 10);
	if (str(root, "content"))
		assert_true(width(str(root, "content")) <= 2000);
	cJSON_ArrayForEach(e, embeds)
	{
		assert_non_null(str(e, "title"));
		assert_true(width(str(e, "title")) <= 256);
		total += width(str(e, "title"));
		if (str(e, "description")) {
			assert_true(width(str(e, "description")) <= 4096);
			total += width(str(e, "description"));
		}
		assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(e, "fields")) <= 25);
		cJSON_ArrayForEach(f, cJSON_GetObjectItem(e, "fields"))
		{
			assert_true(width(str(f, "name")) >= 1);
			assert_true(width(str(f, "name")) <= 256);
			assert_true(width(str(f, "value")) >= 1);
			assert_true(width(str(f, "value")) <= 1024);
			total += width(str(f, "name")) + width(str(f, "value"));
		}
	}
	assert_true(total <= 6000);
	return cJSON_GetArrayItem(embeds, 0);
}

/* Outside code blocks, every character Discord's Markdown or mentions
 * give a meaning has a backslash before it; inside, no fence can form.
 * Our own timestamps (<t:DIGITS:f>) are skipped. */
static void inert(const char *t)
{
	const char *p = t, *end;
	size_t n;

	while (*p) {
		if (strncmp(p, "```\n", 4) == 0) {
			end = strstr(p + 4, "\n```");
			assert_non_null(end);
			/* No backtick run of three inside. */
			for (n = 0; p + 4 + n < end; n++)
				assert_false(strncmp(p + 4 + n, "``", 2) == 0);
			p = end + 4;
			continue;
		}
		if (strncmp(p, "<t:", 3) == 0) {
			n = strspn(p + 3, "0123456789");
			assert_true(n > 0);
			assert_true(p[3 + n] == ':' && strchr("ft", p[4 + n]) && p[5 + n] == '>');
			p += 6 + n;
			continue;
		}
		if (*p == '\\') {
			assert_non_null(strchr("\\*_~`|<>#-[]()@", p[1]));
			p += 2;
			continue;
		}
		if (strchr("*_~`|<>#[]()@", *p) != NULL)
			fail_msg("unescaped '%c' at \"%.40s\" in \"%.200s\"", *p, p, t);
		p++;
	}
}

/* Every string a reader sees: title, description, field names and values
 * (but the Links field, which is our own Markdown). */
static void check_inert(const cJSON *root)
{
	const cJSON *e = check_limits(root), *f;

	inert(str(e, "title"));
	inert(str(e, "description"));
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(e, "fields"))
	{
		inert(str(f, "name"));
		if (strcmp(str(f, "name"), "Links") != 0)
			inert(str(f, "value"));
	}
}

static size_t array_size(const cJSON *o, const char *key)
{
	const cJSON *a = cJSON_GetObjectItem(o, key);

	return a == NULL ? 0 : (size_t)cJSON_GetArraySize(a);
}

static void test_hostile_text(void **state)
{
	struct summary s;
	char t[1024] = "";
	size_t i, used = 0, k;
	cJSON *root, *am;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
		used += (size_t)snprintf(t + used, sizeof(t) - used, "%s%s", i ? " | " : "",
					 hostile[i]);
	strncat(t, " @everyone @here <@&99> <#1> <t:1:R> ||spoiler|| # h\n- item\n> q ``` ` \\",
		sizeof(t) - strlen(t) - 1);
	for (k = 0; k < 3; k++) {
		if (k == 0)
			make_hostile(&s, t);
		else
			make_hostile_failed(&s, t, k == 2);
		set(&s.message, t);
		root = render(&s, "<@123456789012345678>");
		check_inert(root);
		am = cJSON_GetObjectItem(root, "allowed_mentions");
		assert_non_null(am);
		assert_int_equal(array_size(am, "parse"), 0);
		assert_int_equal(array_size(am, "roles"), 0);
		if (k == 1) {
			/* A failure carries the configured mention, and only it (a
			 * follow-up, k == 2, carries none). */
			assert_string_equal(str(root, "content"), "<@123456789012345678>");
			assert_int_equal(array_size(am, "users"), 1);
			assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(am, "users"), 0)
						    ->valuestring,
					    "123456789012345678");
		}
		cJSON_Delete(root);
		summary_free(&s);
	}
}

/* The configured mention: users, roles, @everyone; unknown shapes shown
 * escaped and allowed nothing; none on a success. */
static void test_mention(void **state)
{
	struct summary s;
	cJSON *root, *am;

	(void)state;
	make_summary(&s, 1, 0);
	root = render(&s, "<@&456> <@!789>");
	am = cJSON_GetObjectItem(root, "allowed_mentions");
	assert_string_equal(str(root, "content"), "<@&456> <@!789>");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(am, "roles"), 0)->valuestring,
			    "456");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(am, "users"), 0)->valuestring,
			    "789");
	assert_int_equal(array_size(am, "parse"), 0);
	cJSON_Delete(root);

	root = render(&s, "@here");
	am = cJSON_GetObjectItem(root, "allowed_mentions");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(am, "parse"), 0)->valuestring,
			    "everyone");
	cJSON_Delete(root);

	/* Slack markup, a 21-digit id, letters: no mention, shown escaped. */
	root = render(&s, "<!channel> <@123456789012345678901> <@abc>");
	am = cJSON_GetObjectItem(root, "allowed_mentions");
	assert_int_equal(array_size(am, "parse"), 0);
	assert_int_equal(array_size(am, "users"), 0);
	assert_int_equal(array_size(am, "roles"), 0);
	inert(str(root, "content"));
	cJSON_Delete(root);

	s.status = ST_SUCCESS;
	s.counts[ST_FAILED] = 0;
	s.n_failed = 0;
	root = render(&s, "<@123>");
	assert_null(cJSON_GetObjectItem(root, "content"));
	assert_int_equal(array_size(cJSON_GetObjectItem(root, "allowed_mentions"), "users"), 0);
	cJSON_Delete(root);
	s.n_failed = 1;
	summary_free(&s);
}

/* 100 steps of 100 KB errors in 17 distinct groups, 4-byte emoji names
 * 10,000 long, 50 failed children: every limit holds and errors left out
 * are counted. */
static void test_limits_huge(void **state)
{
	struct summary s;
	char *big = malloc(40001), name[32];
	size_t i;
	cJSON *root;
	const cJSON *e;

	(void)state;
	assert_non_null(big);
	for (i = 0; i < 10000; i++)
		memcpy(big + i * 4, "\xf0\x9f\x92\xa5", 4);
	big[40000] = '\0';
	make_summary(&s, 100, 100000);
	distinct_errors(&s, 17);
	set(&s.pipeline_name, big);
	set(&s.environment, big);
	set(&s.user, big);
	set(&s.message, big);
	s.incomplete = strdup(big);
	s.degraded = strdup(big);
	for (i = 0; i < s.n_failed; i++)
		set(&s.failed[i].path, big);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		add_child(&s, name, big, ST_FAILED);
	}
	regroup(&s);
	root = render(&s, "<@1>");
	e = check_limits(root);
	assert_true(array_size(e, "fields") >= 2);
	cJSON_Delete(root);
	summary_free(&s);
	free(big);
}

/* Each error is a field whose value is a fenced excerpt; a long SQL error
 * keeps its fences when cut to 1024. */
static void test_error_field(void **state)
{
	struct summary s;
	cJSON *root;
	const cJSON *f;
	const char *v;

	(void)state;
	make_summary(&s, 1, 5000);
	regroup(&s);
	root = render(&s, NULL);
	f = cJSON_GetArrayItem(cJSON_GetObjectItem(check_limits(root), "fields"), 0);
	v = str(f, "value");
	assert_int_equal(strncmp(v, "```\n", 4), 0);
	assert_string_equal(v + strlen(v) - 4, "\n```");
	cJSON_Delete(root);
	summary_free(&s);
}

static void reply_ch(long status, const char *body, int64_t want_retry, const char *want_id,
		     const char *want_channel)
{
	struct target_reply r = { -1, "", "" };

	discord()->read_reply(status, body, body ? strlen(body) : 0, &r);
	assert_int_equal(r.retry_after_s, want_retry);
	assert_string_equal(r.message_id, want_id);
	assert_string_equal(r.channel_id, want_channel);
}

static void reply(long status, const char *body, int64_t want_retry, const char *want_id)
{
	reply_ch(status, body, want_retry, want_id, "");
}

static void test_read_reply(void **state)
{
	(void)state;
	assert_non_null(discord()->read_reply);
	reply(429, "{\"retry_after\": 1.5, \"global\": false, \"message\": \"x\"}", 2, "");
	reply(429, "{\"retry_after\": 0.01}", 1, "");
	reply(429, "{\"retry_after\": 0}", 0, "");
	reply(429, "{\"retry_after\": -5}", -1, "");
	reply(429, "{\"retry_after\": 1e308}", 3600, "");
	reply(429, "{\"retry_after\": 1e999}", 3600, "");
	reply(429, "{\"retry_after\": NaN}", -1, "");
	reply(429, "{\"retry_after\": \"7\"}", -1, "");
	reply(429, "{\"retry_after\": null}", -1, "");
	reply(429, "error code: 1015", -1, "");
	reply(429, "", -1, "");
	reply(429, NULL, -1, "");
	/* A hint only counts on a 429. */
	reply(500, "{\"retry_after\": 9}", -1, "");
	reply(200, "{\"id\": \"1234567890123456789\", \"type\": 0}", -1, "1234567890123456789");
	reply(200, "{\"id\": \"123456789012345678901\"}", -1, "");
	reply(200, "{\"id\": \"12a\"}", -1, "");
	reply(200, "{\"id\": \"\"}", -1, "");
	reply(200, "{\"id\": 123}", -1, "");
	reply(200, "{\"id\": \"1\\n2\"}", -1, "");
	reply(400, "{\"id\": \"123\"}", -1, "");
	reply(204, "", -1, "");
	/* The channel (a forum post's thread) only with a message, and only
	 * digits, 20 at most: it goes into URLs. */
	reply_ch(200, "{\"id\": \"12\", \"channel_id\": \"99999999999999999999\"}", -1, "12",
		 "99999999999999999999");
	reply_ch(200, "{\"id\": \"12\", \"channel_id\": \"999999999999999999999\"}", -1, "12", "");
	reply_ch(200, "{\"id\": \"12\", \"channel_id\": \"1?thread_id=2\"}", -1, "12", "");
	reply_ch(200, "{\"id\": \"12\", \"channel_id\": \"../1\"}", -1, "12", "");
	reply_ch(200, "{\"id\": \"12\", \"channel_id\": 34}", -1, "12", "");
	reply_ch(200, "{\"id\": \"x\", \"channel_id\": \"34\"}", -1, "", "");
	reply_ch(200, "{\"channel_id\": \"34\"}", -1, "", "");
}

/* ---- an incident: the stored body, the posted one, the resolved edit ---- */

static void test_id_valid(void **state)
{
	(void)state;
	assert_true(discord_id_valid("1"));
	assert_true(discord_id_valid("18446744073709551615"));
	assert_true(discord_id_valid("99999999999999999999"));
	assert_false(discord_id_valid("999999999999999999999"));
	assert_false(discord_id_valid(""));
	assert_false(discord_id_valid(NULL));
	assert_false(discord_id_valid("12a"));
	assert_false(discord_id_valid("-12"));
	assert_false(discord_id_valid("1.2"));
	assert_false(discord_id_valid("1 "));
	assert_false(discord_id_valid("１２")); /* full-width digits */
}

/* The stored body names its incident; the posted one does not, and has
 * thread_name only when asked. */
static void test_stored_and_posted(void **state)
{
	struct summary s;
	struct slackapp_meta m;
	char *stored, *posted;
	cJSON *root;

	(void)state;
	make_summary(&s, 1, 0);
	s.memory.known = 1;
	s.memory.incident_since_ms = 1700000000000;
	stored = discord()->render(&s, NULL);
	assert_non_null(stored);
	assert_int_equal(slackapp_meta(stored, &m), 0);
	assert_int_equal(m.role, SLACKAPP_OPEN);
	assert_true(m.since_ms == 1700000000000);
	assert_string_equal(m.environment, s.environment);
	posted = discord_message(stored, NULL);
	assert_non_null(posted);
	root = cJSON_Parse(posted);
	assert_null(cJSON_GetObjectItem(root, "dpc_thread"));
	assert_null(cJSON_GetObjectItem(root, "thread_name"));
	assert_non_null(cJSON_GetObjectItem(root, "embeds"));
	cJSON_Delete(root);
	free(posted);
	posted = discord_message(stored, "prod \xc2\xb7 x");
	root = cJSON_Parse(posted);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(root, "thread_name")),
			    "prod \xc2\xb7 x");
	cJSON_Delete(root);
	free(posted);
	/* A message outside an incident names its pipeline too, as plain. */
	free(stored);
	s.memory.known = 0;
	stored = discord()->render(&s, NULL);
	assert_int_equal(slackapp_meta(stored, &m), 0);
	assert_int_equal(m.role, SLACKAPP_PLAIN);
	assert_string_equal(m.pipeline, s.pipeline_name);
	free(stored);
	summary_free(&s);
	assert_null(discord_message("[1]", NULL));
	assert_null(discord_message("not json", NULL));
	assert_null(discord_message(NULL, NULL));
}

static void thread_name(const char *env, const char *pipe, const char *want)
{
	struct slackapp_meta m;
	char out[DISCORD_THREAD_NAME_BYTES];

	memset(&m, 0, sizeof(m));
	snprintf(m.environment, sizeof(m.environment), "%s", env);
	snprintf(m.pipeline, sizeof(m.pipeline), "%s", pipe);
	assert_int_equal(discord_thread_name(&m, out, sizeof(out)), 0);
	if (want != NULL)
		assert_string_equal(out, want);
	assert_true(width(out) <= DISCORD_THREAD_NAME_MAX);
	assert_true(out[0] != '\0' && out[0] != ' ');
}

static void test_thread_name(void **state)
{
	char big[400];

	(void)state;
	thread_name("prod", "dwh/load", "prod \xc2\xb7 dwh/load");
	thread_name("", "load", "load");
	thread_name("prod", "", "prod");
	thread_name("", "", "dpc-notify");
	thread_name("   ", "", "dpc-notify");
	/* Line breaks and control characters go; nothing is escaped. */
	thread_name("p\nr",
		    "a\x01"
		    "b\x7f",
		    "p r \xc2\xb7 a\xef\xbf\xbd"
		    "b\xef\xbf\xbd");
	thread_name("prod", "**x** <@1>", "prod \xc2\xb7 **x** <@1>");
	/* 150 astral characters are 300 units: cut to 100 with the ellipsis. */
	memset(big, 0, sizeof(big));
	for (int i = 0; i < 90; i++)
		memcpy(big + 4 * i, "\xf0\x9f\x92\xa5", 4);
	thread_name("prod", big, NULL);
	memset(big, 'x', 300);
	big[300] = '\0';
	thread_name(big, big, NULL);
}

/* The first message's body as posted, and a recovery's stored body. */
static void incident(char **first, char **rec)
{
	struct summary s;
	char *stored;

	make_summary(&s, 1, 0);
	s.memory.known = 1;
	s.memory.incident_since_ms = s.finished_ms - 3600000;
	stored = discord()->render(&s, NULL);
	*first = discord_message(stored, "t");
	free(stored);
	summary_free(&s);
	make_summary(&s, 0, 0);
	s.status = ST_SUCCESS;
	s.memory.known = 1;
	s.memory.form = FORM_RECOVERY;
	s.memory.incident_since_ms = s.finished_ms - 3600000 - 192 * 60000;
	*rec = discord()->render(&s, NULL);
	summary_free(&s);
	assert_non_null(*first);
	assert_non_null(*rec);
}

static void test_resolved(void **state)
{
	char *first, *rec, *out;
	cJSON *root, *e, *old, *parent;

	(void)state;
	incident(&first, &rec);
	out = discord_resolved(first, rec);
	assert_non_null(out);
	root = cJSON_Parse(out);
	parent = cJSON_Parse(first);
	old = cJSON_GetArrayItem(cJSON_GetObjectItem(parent, "embeds"), 0);
	e = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "embeds"), 0);
	assert_non_null(e);
	assert_int_equal(strncmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "title")),
				 "\xe2\x9c\x85 Resolved after ", 16),
			 0);
	assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(e, "title")),
			       cJSON_GetStringValue(cJSON_GetObjectItem(old, "title"))));
	assert_true(cJSON_Compare(cJSON_GetObjectItem(e, "fields"),
				  cJSON_GetObjectItem(old, "fields"), 1));
	assert_true(cJSON_Compare(cJSON_GetObjectItem(e, "description"),
				  cJSON_GetObjectItem(old, "description"), 1));
	assert_int_equal(cJSON_GetObjectItem(e, "color")->valueint, 0x2EA043);
	/* Only the embeds change: content (the mention) is left alone. */
	assert_null(cJSON_GetObjectItem(root, "content"));
	assert_null(cJSON_GetObjectItem(root, "thread_name"));
	assert_null(cJSON_GetObjectItem(root, "dpc_thread"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
				 cJSON_GetObjectItem(root, "allowed_mentions"), "parse")),
			 0);
	cJSON_Delete(parent);
	cJSON_Delete(root);
	free(out);
	/* Nothing to go on: no edit. */
	assert_null(discord_resolved(first, first));
	assert_null(discord_resolved(rec, "{}"));
	assert_null(discord_resolved("{\"embeds\":[]}", rec));
	assert_null(discord_resolved("{\"embeds\":[1]}", rec));
	assert_null(discord_resolved("{\"embeds\":{}}", rec));
	assert_null(discord_resolved("nope", rec));
	assert_null(discord_resolved(NULL, rec));
	assert_null(discord_resolved(first, NULL));
	free(first);
	free(rec);
}

/* A title at Discord's 256 and an embed at its 6000: the edit stays
 * within both, cut between characters and never inside an escape. */
static void test_resolved_limits(void **state)
{
	char *first, *rec, *out, *parent, title[1200], desc[8200];
	const char *t;
	cJSON *root, *e;
	size_t i, n, desc_units;

	(void)state;
	incident(&first, &rec);
	/* 252 units of title; with 5748 of description the embed is at 6000. */
	for (desc_units = 0; desc_units <= 5748; desc_units += 5748) {
		for (i = 0, n = 0; i < 63; i++) {
			/* An escaped underscore, then an astral character. */
			memcpy(title + n, "\\_\xf0\x9f\x92\xa5", 6);
			n += 6;
		}
		title[n] = '\0';
		root = cJSON_Parse(first);
		e = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "embeds"), 0);
		cJSON_ReplaceItemInObject(e, "title", cJSON_CreateString(title));
		memset(desc, 'd', desc_units);
		desc[desc_units] = '\0';
		if (desc_units)
			cJSON_ReplaceItemInObject(e, "description", cJSON_CreateString(desc));
		cJSON_DeleteItemFromObject(e, "fields");
		parent = cJSON_PrintUnformatted(root);
		cJSON_Delete(root);
		out = discord_resolved(parent, rec);
		assert_non_null(out);
		root = cJSON_Parse(out);
		e = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "embeds"), 0);
		t = cJSON_GetStringValue(cJSON_GetObjectItem(e, "title"));
		assert_true(width(t) <= 256);
		if (desc_units)
			assert_true(width(t) + desc_units <= 6000);
		assert_int_equal(strncmp(t, "\xe2\x9c\x85 Resolved", 12), 0);
		/* Cut: ends in the ellipsis, never after a lone backslash. */
		n = strlen(t);
		if (n > 3 && strcmp(t + n - 3, "\xe2\x80\xa6") == 0)
			assert_true(t[n - 4] != '\\');
		cJSON_Delete(root);
		free(out);
		free(parent);
	}
	free(first);
	free(rec);
}

static void test_classify_and_url(void **state)
{
	const struct target *t = discord();
	const long codes[] = { 200, 204, 400, 401, 404, 429, 500, 502 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		assert_int_equal(
			t->classify(codes[i], httpc_classify(codes[i]), "{\"code\": 50035}", 15),
			httpc_classify(codes[i]));
	assert_int_equal(httpc_classify(429), ERR_TRANSIENT);
	assert_int_equal(httpc_classify(400), ERR_PERMANENT);
	assert_null(t->url_warning("https://discord.com/api/webhooks/123/abc"));
	assert_non_null(t->url_warning("https://discord.com/channels/1/2"));
	assert_string_equal(t->url_query, "wait=true");
	assert_true(t->default_rate > 0 && t->default_rate <= 0.5);
	assert_int_equal(t->limits.text_budget, 6000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_text),    cmocka_unit_test(test_mention),
		cmocka_unit_test(test_limits_huge),     cmocka_unit_test(test_error_field),
		cmocka_unit_test(test_read_reply),      cmocka_unit_test(test_classify_and_url),
		cmocka_unit_test(test_id_valid),        cmocka_unit_test(test_stored_and_posted),
		cmocka_unit_test(test_thread_name),     cmocka_unit_test(test_resolved),
		cmocka_unit_test(test_resolved_limits),
	};

	(void)check_more_counts;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
