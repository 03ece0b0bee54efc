/* The command line's subcommands other than serve (check-config, preview,
 * send-test, jobs, dead, incidents, history, silence, healthcheck). Each returns a process exit code:
 * 0 success, 1 failure, 2 usage error. */
#ifndef DPC_CLI_H
#define DPC_CLI_H

#include <stdio.h>
#include "config.h"

/* Where the config file is when neither -c nor $DPC_NOTIFY_CONFIG says. */
#define CLI_DEFAULT_CONFIG "/etc/dpc-notify/dpc-notify.ini"

/* The usage text, for --help and usage errors. */
extern const char cli_usage[];

/* Loads the config at path for command cmd, printing every problem to out
 * as "file:line: message". Commands that only read the store load it
 * CONFIG_READ_ONLY, without the service's secrets. Returns a new snapshot
 * (caller frees) or NULL. */
struct config *cli_load(const char *path, const char *cmd, FILE *out);

/* check-config [--online] (argv[0..argc) after the command word):
 * prints problems and a redacted summary; with --online also asks Slack
 * about every slack-app destination (auth.test, conversations.info) and
 * fails when one cannot be posted to. */
int cli_check_config(const char *path, int argc, char **argv);

/* 1 when cmd names a subcommand cli_run() handles. */
int cli_is_command(const char *cmd);

/* Runs subcommand cmd with its arguments; c is borrowed. */
int cli_run(struct config *c, const char *cmd, int argc, char **argv);

#endif
