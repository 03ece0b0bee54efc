/* libFuzzer target for the text hygiene functions: sanitised output is
 * valid UTF-8 without control characters, truncation respects its limit,
 * the UTF-8 decoder agrees with an independent reading, Teams escaping
 * leaves no mention tag. Input: byte 0 flags, bytes 1-2 a limit, bytes 3-10 an
 * int64 duration, the rest the string. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "text.h"

static void check_sanitized(const char *out, size_t inlen, int keep_newlines)
{
	const unsigned char *p = (const unsigned char *)out;
	size_t i = 0, n, len = strlen(out);
	uint32_t cp;

	FUZZ_CHECK(fz_utf8_valid(out, len), "text_sanitize output is not valid UTF-8");
	/* Each input byte becomes at most U+FFFD (3 bytes). */
	FUZZ_CHECK(len <= inlen * 3, "text_sanitize grew %zu bytes to %zu", inlen, len);
	while (i < len) {
		n = fz_utf8_seq(p + i, len - i, &cp);
		FUZZ_CHECK(cp >= 0x20 || ((cp == '\n' || cp == '\t') && keep_newlines),
			   "control character U+%04X survived (keep_newlines=%d)", (unsigned)cp,
			   keep_newlines);
		FUZZ_CHECK(cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f),
			   "DEL/C1 character U+%04X survived", (unsigned)cp);
		i += n;
	}
}

static void check_truncate(const char *s, size_t max)
{
	char *t = text_truncate(s, max);
	size_t n;

	FUZZ_CHECK(t != NULL, "text_truncate returned NULL");
	n = strlen(t);
	FUZZ_CHECK(fz_utf8_valid(t, n), "text_truncate output is not valid UTF-8");
	FUZZ_CHECK(fz_utf8_count(t) <= max, "text_truncate(%zu) gave %zu code points", max,
		   fz_utf8_count(t));
	if (fz_utf8_count(s) <= max)
		FUZZ_CHECK(strcmp(s, t) == 0, "text_truncate changed a string within its limit");
	else if (max > 0)
		FUZZ_CHECK(n >= 3 && memcmp(t + n - 3, "\xe2\x80\xa6", 3) == 0,
			   "cut string does not end in an ellipsis");
	free(t);
}

static void check_prefix(const char *s, size_t max)
{
	size_t n = text_utf8_prefix(s, max), len = strlen(s);

	FUZZ_CHECK(n <= max && n <= len, "text_utf8_prefix(%zu) = %zu of %zu", max, n, len);
	FUZZ_CHECK(fz_utf8_valid(s, n), "text_utf8_prefix split a code point");
	/* Longest: the next code point would not have fitted. */
	if (n < len && n < max) {
		uint32_t cp;
		size_t next = fz_utf8_seq((const unsigned char *)s + n, len - n, &cp);

		FUZZ_CHECK(next == 0 || n + next > max, "text_utf8_prefix is not the longest");
	}
}

/* The shared decoder agrees with the harness's own reading of UTF-8 at
 * every position of raw bytes: the same length and code point where a
 * sequence is well formed, otherwise -1 and a maximal subpart of 1 to 3
 * bytes. */
static void check_decode(const char *s, size_t len)
{
	size_t i, n, ref;
	int32_t cp;
	uint32_t want;

	for (i = 0; i < len; i += n) {
		n = text_utf8_decode(s + i, len - i, &cp);
		ref = fz_utf8_seq((const unsigned char *)s + i, len - i, &want);
		if (ref > 0) {
			FUZZ_CHECK(n == ref && cp == (int32_t)want,
				   "text_utf8_decode read %zu bytes as %ld at %zu, want %zu as %lu",
				   n, (long)cp, i, ref, (unsigned long)want);
		} else {
			FUZZ_CHECK(cp == -1 && n >= 1 && n <= 3 && n <= len - i,
				   "text_utf8_decode took %zu bytes as %ld at an ill-formed %zu", n,
				   (long)cp, i);
		}
	}
}

static void check_teams(const char *s, int valid)
{
	char *e = text_teams_plain(s);

	FUZZ_CHECK(e != NULL, "text_teams_plain returned NULL");
	if (valid)
		FUZZ_CHECK(fz_utf8_valid(e, strlen(e)), "Teams text broke UTF-8");
	FUZZ_CHECK(strchr(e, '<') == NULL && strchr(e, '>') == NULL,
		   "a tag bracket survived Teams text");
	free(e);
}

static void check_duration(int64_t ms, size_t outlen)
{
	char buf[64];

	memset(buf, 'Z', sizeof(buf));
	text_duration(ms, buf, outlen);
	FUZZ_CHECK(memchr(buf, '\0', outlen) != NULL, "text_duration output unterminated");
	FUZZ_CHECK(buf[outlen] == 'Z', "text_duration wrote past outlen %zu", outlen);
	if (outlen == sizeof(buf) - 1 && ms < 0)
		FUZZ_CHECK(strcmp(buf, "?") == 0, "negative duration is not \"?\"");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_reader r = { data, size };
	int keep = fz_u8(&r) & 1;
	size_t max = ((size_t)fz_u8(&r) << 8 | fz_u8(&r)) % 4100;
	int64_t ms = (int64_t)fz_u64(&r);
	char *raw, *san;

	check_duration(ms, 1 + (size_t)(max % 63));
	check_duration(ms, 63);

	san = text_sanitize((const char *)r.p, r.n, keep);
	FUZZ_CHECK(san != NULL, "text_sanitize returned NULL");
	check_sanitized(san, r.n, keep);
	check_truncate(san, max);
	check_prefix(san, max);
	check_teams(san, 1);

	/* Escapers also meet unsanitised bytes on some paths (log fields). */
	raw = malloc(r.n + 1);
	if (raw == NULL)
		abort();
	memcpy(raw, r.p, r.n);
	raw[r.n] = '\0';
	check_decode((const char *)r.p, r.n);
	check_teams(raw, 0);
	free(raw);
	free(san);
	return 0;
}
