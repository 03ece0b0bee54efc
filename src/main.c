/* dpc-notify: the process entry point. It hardens the process, parses
 * the global options and hands over to serve (serve.c) or a subcommand
 * (cli.c); the work happens in the subsystems under src/. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "cli.h"
#include "config.h"
#include "httpc.h"
#include "log.h"
#include "serve.h"

#ifndef DPC_VERSION
#define DPC_VERSION "dev"
#endif

/* What core_dumps_off() changed, so allow_core_dumps can put it back. */
struct core_state {
	int have_limit; /* limit holds the RLIMIT_CORE found at start */
	struct rlimit limit;
	int dumpable; /* PR_GET_DUMPABLE at start (-1: unknown) */
};

/* A core file, or a debugger of the same user, would see the client
 * secret, OAuth tokens and webhook URLs in memory. Before the config (and
 * its secrets) is read, the process becomes non-dumpable (no core file,
 * no ptrace by other processes of the user, /proc/PID files owned by
 * root) and its soft core limit 0. The hard limit stays, so
 * allow_core_dumps can restore what was there. Failures only warn: the
 * service still works. */
static void core_dumps_off(struct core_state *st)
{
	struct rlimit none;

	st->have_limit = getrlimit(RLIMIT_CORE, &st->limit) == 0;
	st->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (st->have_limit) {
		none = st->limit;
		none.rlim_cur = 0;
		if (setrlimit(RLIMIT_CORE, &none) != 0)
			fprintf(stderr, "dpc-notify: warning: cannot set the core limit to 0: %s\n",
				strerror(errno));
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fprintf(stderr, "dpc-notify: warning: cannot make the process non-dumpable: %s\n",
			strerror(errno));
}

/* allow_core_dumps = true: the limit and the dumpable flag as they were. */
static void core_dumps_restore(const struct core_state *st)
{
	if (st->have_limit)
		setrlimit(RLIMIT_CORE, &st->limit);
	if (st->dumpable >= 0)
		prctl(PR_SET_DUMPABLE, (unsigned long)st->dumpable, 0, 0, 0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("DPC_NOTIFY_CONFIG");
	const char *cmd = "serve";
	struct core_state core;
	struct config *c;
	int ch, rc;

	core_dumps_off(&core); /* first: nothing secret has been read yet */
	if (path == NULL || *path == '\0')
		path = CLI_DEFAULT_CONFIG;
	/* "+" stops at the first command word so its own options pass through. */
	while ((ch = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'h': fputs(cli_usage, stdout); return 0;
		case 'V': printf("dpc-notify %s\n", DPC_VERSION); return 0;
		default: fputs(cli_usage, stderr); return 2;
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	if (strcmp(cmd, "check-config") == 0)
		return cli_check_config(path, argc - optind, argv + optind);
	if (strcmp(cmd, "serve") != 0 && !cli_is_command(cmd)) {
		fprintf(stderr, "dpc-notify: unknown command \"%s\"\n%s", cmd, cli_usage);
		return 2;
	}
	c = strcmp(cmd, "serve") == 0 ? serve_load(path) : cli_load(path, cmd, stderr);
	if (c == NULL)
		return 1;
	if (c->allow_core_dumps)
		core_dumps_restore(&core);
	/* log_level is the service's; a command's output is its answer, so
	 * only warnings and errors join it. */
	log_setup(strcmp(cmd, "serve") == 0 ? c->log_level : "warn", c->log_format);
	httpc_global_init();
	if (strcmp(cmd, "serve") == 0) {
		rc = serve_run(c, path); /* takes c */
		httpc_global_cleanup();
		return rc;
	}
	rc = cli_run(c, cmd, argc - optind, argv + optind);
	config_free(c);
	httpc_global_cleanup();
	return rc;
}
