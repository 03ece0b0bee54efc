/* Parsers for the small value syntaxes that the config file and the command
 * line share: integers, durations, host:port and names from a table. Each
 * syntax has one definition here, so a value accepted in one place is
 * accepted everywhere. Pure: no allocation, no I/O. */
#ifndef DPC_PARSE_H
#define DPC_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Parses all of s as a decimal integer (an optional sign, no surrounding
 * space). 0 with *out set, or ERR_PARSE when s holds anything else or the
 * value does not fit int64_t. */
int parse_int64(const char *s, int64_t *out);

/* Parses a duration: whole seconds, or a number with one unit suffix s, m,
 * h or d ("90", "45s", "30m", "12h", "7d"). 0 with *out in seconds, or
 * ERR_PARSE when malformed, negative, or above INT64_MAX seconds once the
 * unit is applied. */
int parse_duration(const char *s, int64_t *out);

/* A split "host:port". host points into the parsed string (borrowed, not
 * NUL-terminated); an IPv6 host is given without its brackets. */
struct hostport {
	const char *host; /* first byte of the host */
	size_t host_len;  /* its length, at least 1 */
	unsigned port;    /* 0..65535 */
	int bracketed;    /* the host was written "[v6]" */
};

/* Parses "host:port" or "[v6]:port" with port 0..65535 (decimal, no sign).
 * An unbracketed host holds no ':' or ']'. 0 with *hp set, or ERR_PARSE. */
int parse_hostport(const char *s, struct hostport *hp);

/* Index of s in names[0..n), compared without regard to case; NULL slots
 * never match. ERR_NOTFOUND when s is none of them. */
int parse_name(const char *const *names, size_t n, const char *s);

#endif
