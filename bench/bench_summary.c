/* Growth benchmark of the summary builder: feeds one run of N steps and C
 * child pipelines through summary_add_page() page by page (100 steps a
 * page), the way the Matillion client does, and prints the CPU time spent
 * in the summary code and the process's peak RSS as one JSON line.
 *
 * DESIGN: pages are generated into one reused buffer, so the generator's own
 * memory does not grow with N and any growth in peak RSS is the summary's.
 * CPU is CLOCK_PROCESS_CPUTIME_ID summed over the summary calls only (page
 * generation is excluded). Run one size per process: ru_maxrss is a
 * high-water mark and would carry over between sizes.
 *
 * usage: bench_summary STEPS CHILDREN */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "summary.h"
#include "target.h"

#define PAGE 100
#define PAGE_BUF (PAGE * 1024)

struct gen {
	char *buf;
	size_t len;
	uint64_t cpu_ns;     /* inside summary_* calls */
	uint64_t render_ns;  /* inside slack_render + teams_render */
	size_t pages;
};

static uint64_t cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Peak resident set in kB from /proc (VmHWM); ru_maxrss as a fallback. */
static long peak_rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	struct rusage ru;

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	if (kb < 0 && getrusage(RUSAGE_SELF, &ru) == 0)
		kb = ru.ru_maxrss;
	return kb;
}

static void put(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct gen *g, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(g->buf + g->len, PAGE_BUF - g->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= PAGE_BUF - g->len) {
		fprintf(stderr, "bench_summary: page buffer too small\n");
		exit(2);
	}
	g->len += (size_t)n;
}

/* Step i of pipeline p (0 = root). child > 0 makes it call child pipeline
 * number child; failed makes it a FAILED step with a SQL error. */
static void step(struct gen *g, int p, uint64_t i, int child, int failed, int first)
{
	unsigned s = (unsigned)(i % 86400);

	put(g, "%s{\"id\":\"%08" PRIx64 "-%04x-4000-8000-000000000000\",\"name\":\"%s %" PRIu64
	    "\",\"result\":{\"status\":\"%s\",\"message\":\"%s\",\"startedAt\":"
	    "\"2024-05-01T%02u:%02u:%02u.000Z\",\"finishedAt\":\"2024-05-01T%02u:%02u:%02u.500Z\"}",
	    first ? "" : ",", i, (unsigned)p, child ? "Run stage" : "Transform", i,
	    failed || child ? "FAILED" : "SUCCESS",
	    failed ? "SQL compilation error: Object 'ORDERS_STG' does not exist or not authorized."
		   : child ? "Child pipeline failed" : "\\\"Rewrite Table\\\": Success",
	    s / 3600, s / 60 % 60, s % 60, s / 3600, s / 60 % 60, s % 60);
	if (child)
		put(g, ",\"childPipeline\":{\"id\":\"c0000000-0000-4000-8000-%012x\","
		    "\"name\":\"Finance/stage_%d.orch.yaml\"}", (unsigned)child, child);
	put(g, "}");
}

/* Feeds every page of one pipeline's n steps. In the root, the children
 * calls are spread evenly; every pipeline's last step fails. */
static int feed(struct gen *g, struct summary *s, const char *path, int depth, int p,
		uint64_t n, int children)
{
	struct page_ctx ctx = { .pipeline_path = path, .depth = depth };
	uint64_t i, every = children ? n / (uint64_t)(children + 1) : 0;
	int next_child = 1;
	uint64_t page;

	for (page = 0; page * PAGE < n; page++) {
		struct page_info info;
		uint64_t t;
		int rc;

		g->len = 0;
		put(g, "{\"page\":%" PRIu64 ",\"size\":%d,\"total\":%" PRIu64 ",\"results\":[",
		    page, PAGE, n);
		for (i = page * PAGE; i < n && i < (page + 1) * PAGE; i++) {
			int child = 0;

			if (every && next_child <= children && i == every * (uint64_t)next_child)
				child = next_child++;
			step(g, p, i, child, i == n - 1, i == page * PAGE);
		}
		put(g, "]}");
		t = cpu_now();
		rc = summary_add_page(s, &ctx, g->buf, g->len, &info);
		g->cpu_ns += cpu_now() - t;
		g->pages++;
		if (rc != 0) {
			fprintf(stderr, "bench_summary: summary_add_page failed (%d)\n", rc);
			return rc;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const char exec_json[] =
		"{\"pipelineExecutionId\":\"be000000-0000-4000-8000-000000000001\","
		"\"projectId\":\"3f1c9a52-7d4e-4b8a-9c61-0e2f5a7b8c90\",\"pipelineName\":"
		"\"Finance/load_dwh.orch.yaml\",\"environmentName\":\"prod\",\"status\":\"FAILED\","
		"\"trigger\":\"SCHEDULE\",\"startedAt\":\"2024-05-01T00:00:00.000Z\","
		"\"finishedAt\":\"2024-05-01T03:00:00.000Z\"}";
	struct render_opts d = { .mention = NULL };
	struct gen g = { 0 };
	struct summary s;
	uint64_t steps, root, per_child, t;
	long base_kb, peak_kb;
	int children, c, rc;
	char path[128];
	char *a, *b;

	if (argc != 3 || (steps = strtoull(argv[1], NULL, 10)) < 1 ||
	    (children = atoi(argv[2])) < 0 || (uint64_t)children * 2 > steps) {
		fprintf(stderr, "usage: bench_summary STEPS CHILDREN\n");
		return 2;
	}
	/* Half the steps in the root, the other half shared by the children. */
	per_child = children ? steps / 2 / (uint64_t)children : 0;
	root = steps - per_child * (uint64_t)children;
	g.buf = malloc(PAGE_BUF);
	if (!g.buf)
		return 1;
	memset(g.buf, 0, PAGE_BUF); /* touch it so it counts in the baseline */
	base_kb = peak_rss_kb();

	t = cpu_now();
	rc = summary_init(&s, "3f1c9a52-7d4e-4b8a-9c61-0e2f5a7b8c90",
			  "be000000-0000-4000-8000-000000000001", "https://app.matillion.com");
	if (rc == 0)
		rc = summary_set_execution(&s, exec_json, sizeof(exec_json) - 1);
	g.cpu_ns += cpu_now() - t;
	if (rc == 0)
		rc = feed(&g, &s, "Finance/load_dwh", 0, 0, root, children);
	for (c = 1; rc == 0 && c <= children; c++) {
		snprintf(path, sizeof(path), "Finance/load_dwh" SUMMARY_PATH_SEP "Finance/stage_%d", c);
		rc = feed(&g, &s, path, 1, c, per_child, 0);
	}
	if (rc != 0)
		return 1;
	t = cpu_now();
	summary_finish(&s);
	g.cpu_ns += cpu_now() - t;
	t = cpu_now();
	a = target_find("slack")->render(&s, &d);
	b = target_find("teams")->render(&s, &d);
	g.render_ns = cpu_now() - t;
	peak_kb = peak_rss_kb();
	printf("{\"steps\":%" PRIu64 ",\"children\":%d,\"pages\":%zu,\"counted\":%" PRIu64
	       ",\"failed_kept\":%zu,\"failed_more\":%" PRIu64 ",\"children_kept\":%zu"
	       ",\"cpu_ms\":%.3f,\"cpu_us_per_step\":%.3f,\"render_ms\":%.3f"
	       ",\"base_rss_kb\":%ld,\"peak_rss_kb\":%ld,\"slack_bytes\":%zu,\"teams_bytes\":%zu}\n",
	       steps, children, g.pages, s.total_steps, s.n_failed, s.failed_more, s.n_children,
	       (double)g.cpu_ns / 1e6, (double)g.cpu_ns / 1e3 / (double)steps,
	       (double)g.render_ns / 1e6, base_kb, peak_kb, a ? strlen(a) : 0, b ? strlen(b) : 0);
	rc = s.total_steps == steps ? 0 : 1;
	free(a);
	free(b);
	summary_free(&s);
	free(g.buf);
	return rc;
}
