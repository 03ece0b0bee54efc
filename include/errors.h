/* One error convention for every module: 0 is success, a negative ERR_* code
 * is a failure. Constructors return NULL instead. ERR_TRANSIENT keeps "retry
 * later" apart from every other failure: the worker re-queues a job whose
 * Matillion call failed with ERR_TRANSIENT, and after any other failure
 * (ERR_PERMANENT above all) sends a degraded notice or gives the job up. */
#ifndef DPC_ERRORS_H
#define DPC_ERRORS_H

enum err {
	ERR_NOMEM = -1,     /* allocation failed */
	ERR_IO = -2,        /* file, socket or database I/O failed */
	ERR_PARSE = -3,     /* input is not what the format requires */
	ERR_LIMIT = -4,     /* input exceeds a configured cap */
	ERR_TRANSIENT = -5, /* remote failure worth retrying (network, 408, 429, 5xx) */
	ERR_PERMANENT = -6, /* remote failure not worth retrying (other 4xx) */
	ERR_NOTFOUND = -7,  /* nothing matched (no job ready, no such key) */
	ERR_DUPLICATE = -8, /* already present (dedup key seen) */
	ERR_BUDGET = -9,    /* per-job API call budget exhausted */
	ERR_CONFIG = -10,   /* configuration invalid */
	ERR_STOPPED = -11,  /* component is shutting down */
	ERR_INVALID = -12   /* caller passed invalid arguments */
};

/* Returns a static, human-readable name for code (never NULL). */
const char *err_str(int code);

#endif
