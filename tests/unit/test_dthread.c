/* Unit tests for dthread.c's pure decisions: where each message of an
 * incident goes on a Discord destination (forum post or channel, first
 * message, follow-up, recovery with its edit), and what a reply lets us
 * record, with hostile ids from the reply and from the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "discord.h"
#include "dthread.h"

/* A thread row as the store would give it back. */
static struct store_thread row(const char *channel, const char *ts, int resolved)
{
	struct store_thread t;

	memset(&t, 0, sizeof(t));
	snprintf(t.channel, sizeof(t.channel), "%s", channel);
	snprintf(t.ts, sizeof(t.ts), "%s", ts);
	t.resolved = resolved;
	return t;
}

static void test_forum(void **state)
{
	struct store_thread t = row("1300000000000000001", "1300000000000000002", 0);
	struct dthread_plan p;

	(void)state;
	/* The first problem opens a forum post and is recorded. */
	dthread_plan(1, SLACKAPP_OPEN, NULL, &p);
	assert_null(p.thread_id);
	assert_true(p.thread_name && p.record && !p.edit);
	/* A repeat goes into its thread; nothing new is recorded. */
	dthread_plan(1, SLACKAPP_OPEN, &t, &p);
	assert_string_equal(p.thread_id, "1300000000000000001");
	assert_false(p.thread_name || p.record || p.edit);
	/* The recovery edits the first message, in its thread, then follows. */
	dthread_plan(1, SLACKAPP_RECOVERY, &t, &p);
	assert_string_equal(p.thread_id, "1300000000000000001");
	assert_true(p.edit);
	assert_string_equal(p.edit_thread, "1300000000000000001");
	assert_false(p.thread_name || p.record);
	/* Once resolved, a retried recovery does not edit again. */
	t.resolved = 1;
	dthread_plan(1, SLACKAPP_RECOVERY, &t, &p);
	assert_false(p.edit);
	assert_null(p.edit_thread);
	/* A recovery of an incident with no record: a post of its own. */
	dthread_plan(1, SLACKAPP_RECOVERY, NULL, &p);
	assert_true(p.thread_name);
	assert_false(p.record || p.edit);
	/* A message outside an incident: its own post, no record, even if
	 * a row were passed. */
	dthread_plan(1, SLACKAPP_PLAIN, &t, &p);
	assert_true(p.thread_name);
	assert_null(p.thread_id);
	assert_false(p.record || p.edit);
}

static void test_text_channel(void **state)
{
	struct store_thread t = row(DISCORD_NOT_IN_THREAD, "1300000000000000002", 0);
	struct dthread_plan p;

	(void)state;
	dthread_plan(0, SLACKAPP_OPEN, NULL, &p);
	assert_true(p.record);
	assert_false(p.thread_name || p.edit);
	assert_null(p.thread_id);
	dthread_plan(0, SLACKAPP_OPEN, &t, &p);
	assert_false(p.thread_name || p.record || p.edit);
	assert_null(p.thread_id);
	dthread_plan(0, SLACKAPP_RECOVERY, &t, &p);
	assert_true(p.edit);
	assert_null(p.edit_thread);
	assert_null(p.thread_id);
	/* A row recorded in a forum post (forum later turned off): the edit
	 * still goes where the message is; posts stay in the channel. */
	t = row("1300000000000000001", "1300000000000000002", 0);
	dthread_plan(0, SLACKAPP_RECOVERY, &t, &p);
	assert_null(p.thread_id);
	assert_string_equal(p.edit_thread, "1300000000000000001");
	/* And the other way: a forum destination whose row has no thread
	 * opens a new post rather than posting without one. */
	t = row(DISCORD_NOT_IN_THREAD, "1300000000000000002", 0);
	dthread_plan(1, SLACKAPP_OPEN, &t, &p);
	assert_true(p.thread_name);
	assert_false(p.record);
}

/* Ids a store row may hold that are no Discord ids never reach a URL. */
static void test_hostile_row(void **state)
{
	static const char *const bad[] = { "1.2", "abc", "999999999999999999999", "", "0x10" };
	struct store_thread t;
	struct dthread_plan p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = row(bad[i], "1300000000000000002", 0);
		dthread_plan(1, SLACKAPP_RECOVERY, &t, &p);
		assert_null(p.thread_id);
		assert_null(p.edit_thread);
		assert_true(p.thread_name);
		t = row("1300000000000000001", bad[i], 0);
		dthread_plan(1, SLACKAPP_RECOVERY, &t, &p);
		assert_false(p.edit);
		assert_null(p.edit_thread);
	}
}

static int record(int forum_post, enum deliver_class cls, const char *id, const char *channel,
		  char *out)
{
	struct deliver_result r;

	memset(&r, 0, sizeof(r));
	r.cls = cls;
	snprintf(r.message_id, sizeof(r.message_id), "%s", id);
	snprintf(r.channel_id, sizeof(r.channel_id), "%s", channel);
	out[0] = '\0';
	return dthread_record_channel(forum_post, &r, out, STORE_SLACK_ID_MAX);
}

static void test_record_channel(void **state)
{
	char out[STORE_SLACK_ID_MAX];

	(void)state;
	assert_int_equal(record(1, DELIVER_OK, "12", "34", out), 1);
	assert_string_equal(out, "34");
	assert_int_equal(record(0, DELIVER_OK, "12", "34", out), 1);
	assert_string_equal(out, DISCORD_NOT_IN_THREAD);
	assert_int_equal(record(1, DELIVER_OK, "99999999999999999999", "99999999999999999999", out),
			 1);
	/* A reply without usable ids records nothing. */
	assert_int_equal(record(1, DELIVER_OK, "12", "", out), 0);
	assert_int_equal(record(0, DELIVER_OK, "", "34", out), 0);
	assert_int_equal(record(1, DELIVER_OK, "", "34", out), 0);
	assert_int_equal(record(1, DELIVER_OK, "12", "3/4", out), 0);
	assert_int_equal(record(1, DELIVER_OK, "1?2", "34", out), 0);
	assert_int_equal(record(1, DELIVER_OK, "12", "999999999999999999999", out), 0);
	assert_int_equal(record(1, DELIVER_RETRY, "12", "34", out), 0);
	assert_int_equal(record(0, DELIVER_PERMANENT, "12", "34", out), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forum),
		cmocka_unit_test(test_text_channel),
		cmocka_unit_test(test_hostile_row),
		cmocka_unit_test(test_record_channel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
