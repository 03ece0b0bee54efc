/* Failure signatures (memory.h): two failures are "the same error" when the
 * deepest failed step's path and its error text match once the parts that
 * change from run to run are masked: numbers, hex ids and UUIDs (and so
 * timestamps), and quoted literals. Pure. */
#include <stdint.h>
#include <string.h>

#include "memory.h"

#define QUOTE_MAX 200 /* a quoted literal longer than this is kept as text */

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_word(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_';
}

/* Length of a hex id at s (hex digits and dashes, at least 8, holding a
 * digit, not inside a longer word), or 0. */
static size_t hex_id(const char *s)
{
	size_t i = 0, digits = 0, hex = 0;

	for (; is_hex(s[i]) || s[i] == '-'; i++) {
		digits += s[i] >= '0' && s[i] <= '9';
		hex += s[i] != '-';
	}
	if (hex < 8 || digits == 0 || is_word(s[i]))
		return 0;
	while (i > 0 && s[i - 1] == '-')
		i--;
	return i;
}

/* Length of a quoted literal at s ('…' or "…" on one line), or 0. */
static size_t quoted(const char *s)
{
	size_t i;

	if (*s != '\'' && *s != '"')
		return 0;
	for (i = 1; i < QUOTE_MAX && s[i] && s[i] != '\n'; i++)
		if (s[i] == *s)
			return i + 1;
	return 0;
}

/* Appends c to out[*o] while there is room for it and a NUL. */
static void emit(char *out, size_t outlen, size_t *o, char c)
{
	if (*o + 1 < outlen)
		out[(*o)++] = c;
}

void mem_mask(const char *error, char *out, size_t outlen)
{
	const char *s = error ? error : "";
	size_t o = 0, k;
	int space = 0, prev_word = 0;

	if (out == NULL || outlen == 0)
		return;
	while (*s) {
		if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
			space = 1;
			prev_word = 0;
			s++;
			continue;
		}
		if (space && o > 0)
			emit(out, outlen, &o, ' ');
		space = 0;
		if ((k = quoted(s)) > 0) {
			emit(out, outlen, &o, '?');
			s += k;
			prev_word = 0;
			continue;
		}
		if (!prev_word && (k = hex_id(s)) > 0) {
			emit(out, outlen, &o, '#');
			s += k;
			prev_word = 0;
			continue;
		}
		if (*s >= '0' && *s <= '9') {
			while ((*s >= '0' && *s <= '9') ||
			       (*s == '.' && s[1] >= '0' && s[1] <= '9'))
				s++;
			emit(out, outlen, &o, '#');
			prev_word = 0;
			continue;
		}
		prev_word = is_word(*s);
		emit(out, outlen, &o, *s++);
	}
	out[o] = '\0';
}

/* FNV-1a, 64 bits: stable across builds and machines, which the stored
 * signatures need; not a defence against crafted collisions, which would
 * only merge two errors' repeat counting. */
static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

uint64_t mem_signature(const char *path, const char *error)
{
	char masked[4096];
	uint64_t h = 14695981039346656037ULL;

	mem_mask(error, masked, sizeof(masked));
	h = fnv(h, path ? path : "");
	h = fnv(h, "\n");
	h = fnv(h, masked);
	return h ? h : 1;
}
