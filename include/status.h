/* Run and step statuses as Matillion reports them, normalised. Pure. */
#ifndef DPC_STATUS_H
#define DPC_STATUS_H

enum run_status {
	ST_UNKNOWN, /* absent or a value we do not know; shown as sent */
	ST_RUNNING,
	ST_SUCCESS,
	ST_FAILED, /* also FAILURE, FAIL, ERROR (any case) */
	ST_CANCELLING,
	ST_CANCELLED, /* also CANCELED */
	ST_SKIPPED,
	ST_FORBIDDEN, /* seen in the wild; treated as a failure */
	ST_QUEUED,
	ST__MAX
};

/* Upper-case canonical names, indexed by enum run_status. */
extern const char *const status_names[ST__MAX];

/* Parses s case-insensitively (NULL or "" gives ST_UNKNOWN). */
enum run_status status_parse(const char *s);

/* 1 for statuses a person should hear about as a problem
 * (FAILED, CANCELLED, FORBIDDEN), else 0. */
int status_is_problem(enum run_status st);

/* Bit for st in a notify_on mask. */
#define STATUS_BIT(st) (1u << (unsigned)(st))

#endif
