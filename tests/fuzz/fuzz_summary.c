/* libFuzzer target for the summary builder and, through it, the renderers.
 * Input: byte 0 holds flags (bit 0: the first chunk is an execution object;
 * bit 1: no UI base, so no link; bit 2: the destination has a mention;
 * bit 3/4: set incomplete/degraded; bit 5: a send-test sample); the rest
 * is split at 0x1e (ASCII record separator) into chunks, each a steps page
 * fed to the same summary at a growing child depth. The finished summary
 * must meet its caps and ordering, and all three renderings must be valid. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "fuzz_render_check.h"
#include "fuzz_util.h"
#include "render.h"
#include "summary.h"

#define SEP 0x1e
#define MAX_CHUNKS 16

static const char *const paths[] = {
	"daily_load",
	"daily_load" SUMMARY_PATH_SEP "stage_orders",
	"daily_load" SUMMARY_PATH_SEP "stage_orders" SUMMARY_PATH_SEP "load <!here> & more",
	"daily_load" SUMMARY_PATH_SEP "stage_orders" SUMMARY_PATH_SEP "x" SUMMARY_PATH_SEP "y",
};

static void check_summary(const struct summary *s)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < ST__MAX; i++)
		sum += s->counts[i];
	FUZZ_CHECK(sum == s->total_steps, "counts sum %llu != total %llu", (unsigned long long)sum,
		   (unsigned long long)s->total_steps);
	FUZZ_CHECK(s->n_failed <= SUMMARY_MAX_FAILED, "n_failed %zu", s->n_failed);
	FUZZ_CHECK(s->n_children <= SUMMARY_MAX_CHILDREN, "n_children %zu", s->n_children);
	FUZZ_CHECK((unsigned)s->status < ST__MAX, "status");
	for (i = 0; i < s->n_failed; i++) {
		const struct failed_step *f = &s->failed[i];

		FUZZ_CHECK(f->path && f->step_id && f->status_text && f->message,
			   "NULL in step %zu", i);
		FUZZ_CHECK(strlen(f->message) <= SUMMARY_MESSAGE_MAX, "message of %zu bytes",
			   strlen(f->message));
		FUZZ_CHECK(fz_utf8_valid(f->message, strlen(f->message)) &&
				   fz_utf8_valid(f->path, strlen(f->path)),
			   "step %zu text is not valid UTF-8", i);
		FUZZ_CHECK(status_is_problem(f->status), "kept a step that is not a problem");
		FUZZ_CHECK(f->duration_ms >= -1, "duration %lld", (long long)f->duration_ms);
		if (i > 0)
			FUZZ_CHECK(s->failed[i - 1].depth > f->depth ||
					   (s->failed[i - 1].depth == f->depth &&
					    s->failed[i - 1].seq < f->seq),
				   "failed steps not deepest-first/stable at %zu", i);
	}
	for (i = 0; i < s->n_children; i++)
		FUZZ_CHECK(s->children[i].execution_id && s->children[i].name &&
				   s->children[i].path && s->children[i].depth >= 1,
			   "child %zu incomplete", i);
}

/* Helpers on a chunk that are pure string functions. */
static void check_helpers(const uint8_t *p, size_t n)
{
	char buf[80], *d;
	size_t k = n < sizeof(buf) - 1 ? n : sizeof(buf) - 1;
	int64_t t;

	memcpy(buf, p, k);
	buf[k] = '\0';
	t = summary_parse_time(buf);
	/* Year 9999 is the largest a 4-digit RFC 3339 year can give. */
	FUZZ_CHECK(t == -1 || (t >= 0 && t < 253402387200000LL), "parse_time gave %lld",
		   (long long)t);
	d = summary_display_name(buf);
	FUZZ_CHECK(d != NULL && strlen(d) <= strlen(buf), "display name grew");
	free(d);
}

static void feed(struct summary *s, const uint8_t *data, size_t size, int first_is_exec)
{
	size_t start = 0, i, chunk = 0;
	struct page_info pi;
	struct page_ctx ctx;
	int rc;

	for (i = 0; i <= size && chunk < MAX_CHUNKS; i++) {
		if (i < size && data[i] != SEP)
			continue;
		check_helpers(data + start, i - start);
		if (chunk == 0 && first_is_exec) {
			rc = summary_set_execution(s, (const char *)data + start, i - start);
			FUZZ_CHECK(rc == 0 || rc == ERR_PARSE, "set_execution returned %d", rc);
		} else {
			ctx.depth = (int)(chunk % 4);
			ctx.pipeline_path = paths[ctx.depth];
			/* A child's run id with characters a link must encode. */
			ctx.execution_id = ctx.depth ? "child run/<1>?x=y#z" : NULL;
			rc = summary_add_page(s, &ctx, (const char *)data + start, i - start, &pi);
			FUZZ_CHECK(rc == 0 || rc == ERR_PARSE, "add_page returned %d", rc);
			FUZZ_CHECK(pi.total >= -1 && pi.page >= -1, "page info negative");
		}
		chunk++;
		start = i + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct summary s;
	struct render_opts d = { .mention = NULL };
	uint8_t flags;

	if (size == 0)
		return 0;
	flags = data[0];
	if (summary_init(&s, "proj-1", "exec-1",
			 (flags & 2) ? NULL : "https://app.matillion.com/") != 0)
		abort();
	if (flags & 4)
		d.mention = "<!subteam^S0123|oncall>";
	if (flags & 8)
		FUZZ_CHECK(summary_set_incomplete(&s, "API call budget reached; 3 child <!channel> "
						      "pipelines not fetched") == 0,
			   "incomplete");
	if (flags & 16)
		FUZZ_CHECK(summary_set_degraded(&s, "step details unavailable: HTTP 503 <@U1>") ==
				   0,
			   "degraded");
	s.is_test = (flags & 32) != 0;
	feed(&s, data + 1, size - 1, flags & 1);
	summary_finish(&s);
	check_summary(&s);
	fz_check_renders(&s, &d, 1);
	summary_free(&s);
	return 0;
}
