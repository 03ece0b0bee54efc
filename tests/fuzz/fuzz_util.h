/* Helpers shared by the libFuzzer targets: an independent strict UTF-8
 * checker (so a target never trusts the module it is checking) and a
 * failure macro that names the broken invariant before aborting. */
#ifndef DPC_FUZZ_UTIL_H
#define DPC_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints which invariant failed and aborts, so libFuzzer records a crash
 * with the input that caused it. */
#define FUZZ_CHECK(cond, ...)                                              \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz invariant failed at %s:%d: ", \
				__FILE__, __LINE__);                       \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
			abort();                                           \
		}                                                          \
	} while (0)

/* Length of the well-formed UTF-8 sequence at s[0..len), or 0 when it is
 * not one: overlong forms, surrogates and code points past U+10FFFF are
 * rejected. *cp receives the code point. */
static inline size_t fz_utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n, i;
	uint32_t c;

	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* 1 when s[0..len) is entirely well-formed UTF-8. */
static inline int fz_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = fz_utf8_seq(p + i, len - i, &cp);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

/* Number of code points in well-formed s (bytes that are not lead bytes
 * are not counted, so garbage never inflates the count). */
static inline size_t fz_utf8_count(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Case-insensitive search for needle in hay (ASCII folding only). */
static inline const char *fz_strcasestr(const char *hay, const char *needle)
{
	size_t nl = strlen(needle), i;

	for (; *hay; hay++) {
		for (i = 0; i < nl; i++) {
			unsigned char a = (unsigned char)hay[i];
			unsigned char b = (unsigned char)needle[i];

			if (a >= 'A' && a <= 'Z')
				a = (unsigned char)(a + 32);
			if (b >= 'A' && b <= 'Z')
				b = (unsigned char)(b + 32);
			if (a != b)
				break;
		}
		if (i == nl)
			return hay;
	}
	return NULL;
}

/* A cursor over the fuzzer's bytes; reads past the end give zeros so a
 * short input still builds a complete structure. */
struct fz_reader {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz_reader *r)
{
	uint8_t v;

	if (r->n == 0)
		return 0;
	v = *r->p;
	r->p++;
	r->n--;
	return v;
}

static inline uint32_t fz_u32(struct fz_reader *r)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = (v << 8) | fz_u8(r);
	return v;
}

static inline uint64_t fz_u64(struct fz_reader *r)
{
	uint64_t hi = fz_u32(r);

	/* Two statements: the order of calls inside one expression is unspecified. */
	return (hi << 32) | fz_u32(r);
}

/* A new NUL-terminated string of up to max bytes taken from the input;
 * its length comes from two input bytes. NUL bytes become '0' because C
 * strings cannot carry them. Never NULL (aborts on allocation failure,
 * which under the fuzzer means a real leak elsewhere). */
static inline char *fz_str(struct fz_reader *r, size_t max)
{
	size_t want = ((size_t)fz_u8(r) << 8) | fz_u8(r);
	size_t len = want % (max + 1), i;
	char *s;

	if (len > r->n)
		len = r->n;
	s = malloc(len + 1);
	if (s == NULL)
		abort();
	for (i = 0; i < len; i++)
		s[i] = r->p[i] ? (char)r->p[i] : '0';
	s[len] = '\0';
	r->p += len;
	r->n -= len;
	return s;
}

#endif
