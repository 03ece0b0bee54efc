/* Text hygiene for untrusted strings: the one UTF-8 decoder, strict UTF-8
 * repair, code-point-safe truncation, id checks, and the tag defence for
 * Teams text (Slack's escaping lives with its renderer).
 *
 * Teams cards put untrusted text in RichTextBlock TextRuns, which Teams
 * documents as not processed as Markdown; text_teams_plain() then only has
 * to stop tags: '<' and '>' become U+2039 and U+203A, so "<at>x</at>"
 * (mentions) and any HTML-ish tag can never form, and an '&' that starts
 * something entity-like ("&lt;", "&#60;") becomes the fullwidth U+FF06, so
 * an entity cannot decode into '<'. A plain "R&D" stays as it is. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "text.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */
#define ELLIPSIS "\xe2\x80\xa6"    /* U+2026 */

size_t text_utf8_decode(const char *str, size_t len, int32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char b = s[0];
	size_t need, i;
	unsigned char lo = 0x80, hi = 0xbf;
	int32_t v;

	*cp = -1;
	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b >= 0xc2 && b <= 0xdf) {
		need = 1;
		v = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		need = 2;
		v = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0; /* overlong */
		if (b == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (b >= 0xf0 && b <= 0xf4) {
		need = 3;
		v = b & 0x07;
		if (b == 0xf0)
			lo = 0x90; /* overlong */
		if (b == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 1;
	}
	for (i = 1; i <= need; i++) {
		if (i >= len || s[i] < lo || s[i] > hi)
			return i;
		v = (v << 6) | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = v;
	return need + 1;
}

/* 1 when code point cp must not reach a reader as is. */
/* C0, DEL and C1 controls, plus the bidirectional embedding, override and
 * isolate controls (U+202A-202E, U+2066-2069): those can make a hostile name
 * display reversed or reorder the text around it ("Trojan Source"). */
static int is_control(int32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

char *text_sanitize(const char *s, size_t len, int keep_newlines)
{
	const unsigned char *in = (const unsigned char *)s;
	char *out;
	size_t i = 0, o = 0, n;
	int32_t cp;

	if (s == NULL)
		len = 0;
	/* Worst case every byte becomes a 3-byte U+FFFD. */
	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(len * 3 + 1);
	if (out == NULL)
		return NULL;
	while (i < len) {
		n = text_utf8_decode(s + i, len - i, &cp);
		if (cp == 0) {
			/* NUL bytes are dropped: they would cut C strings. */
		} else if (cp == '\n' || cp == '\t') {
			out[o++] = keep_newlines ? (char)cp : ' ';
		} else if (cp < 0 || is_control(cp)) {
			memcpy(out + o, REPLACEMENT, 3);
			o += 3;
		} else {
			memcpy(out + o, in + i, n);
			o += n;
		}
		i += n;
	}
	out[o] = '\0';
	return out;
}

/* Length of the code point starting with lead byte b (1 for stray bytes, so
 * walking invalid input still terminates). */
static size_t cp_len(unsigned char b)
{
	if (b >= 0xf0 && b <= 0xf7)
		return 4;
	if (b >= 0xe0)
		return b <= 0xef ? 3 : 1;
	if (b >= 0xc0)
		return 2;
	return 1;
}

size_t text_utf8_prefix(const char *s, size_t max_bytes)
{
	size_t i = 0, n, k;

	if (s == NULL)
		return 0;
	while (s[i] != '\0') {
		n = cp_len((unsigned char)s[i]);
		for (k = 1; k < n; k++)
			if (s[i + k] == '\0')
				return i; /* truncated sequence: stop before it */
		if (i + n > max_bytes)
			break;
		i += n;
	}
	return i;
}

/* Number of code points in valid UTF-8 s. */
static size_t utf8_count(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Byte offset just past the first max_chars code points of s. */
static size_t chars_to_bytes(const char *s, size_t max_chars)
{
	size_t i = 0, c = 0;

	while (s[i] != '\0' && c < max_chars) {
		i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		c++;
	}
	return i;
}

char *text_truncate(const char *s, size_t max_chars)
{
	size_t cut;
	char *out;

	if (s == NULL)
		s = "";
	if (utf8_count(s) <= max_chars)
		return strdup(s);
	if (max_chars == 0)
		return strdup("");
	cut = chars_to_bytes(s, max_chars - 1);
	out = malloc(cut + sizeof(ELLIPSIS));
	if (out == NULL)
		return NULL;
	memcpy(out, s, cut);
	memcpy(out + cut, ELLIPSIS, sizeof(ELLIPSIS));
	return out;
}

/* 1 when s (just after '&') looks like an HTML entity body "name;" or "#60;". */
static int entity_like(const char *s)
{
	size_t i;

	for (i = 0; i < 12 && s[i] != '\0'; i++) {
		if (s[i] == ';')
			return i > 0;
		if (!(s[i] == '#' || (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z')))
			return 0;
	}
	return 0;
}

/* Writes the look-alike of s[i] to out at *o when it is '<', '>' or an
 * entity-like '&' and returns 1; returns 0 (writing nothing) otherwise. */
static int teams_lookalike(const char *s, size_t i, char *out, size_t *o)
{
	const char *rep = NULL;

	if (s[i] == '<')
		rep = "\xe2\x80\xb9"; /* U+2039 */
	else if (s[i] == '>')
		rep = "\xe2\x80\xba"; /* U+203A */
	else if (s[i] == '&' && entity_like(s + i + 1))
		rep = "\xef\xbc\x86"; /* U+FF06 fullwidth & */
	if (rep == NULL)
		return 0;
	memcpy(out + *o, rep, 3);
	*o += 3;
	return 1;
}

/* Room for s (NULL: "") with every byte turned into three, and its NUL;
 * *len gets strlen(s). NULL on ERR_NOMEM. */
static char *alloc_tripled(const char *s, size_t *len)
{
	*len = s ? strlen(s) : 0;
	if (*len > (SIZE_MAX - 1) / 3)
		return NULL;
	return malloc(*len * 3 + 1);
}

char *text_teams_plain(const char *s)
{
	size_t len, i, o = 0;
	char *out = alloc_tripled(s, &len); /* 3-byte look-alikes are the worst case */

	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		if (!teams_lookalike(s, i, out, &o))
			out[o++] = s[i];
	out[o] = '\0';
	return out;
}

void text_duration(int64_t ms, char *out, size_t outlen)
{
	if (out == NULL || outlen == 0)
		return;
	if (ms < 0)
		snprintf(out, outlen, "?");
	else if (ms < 1000)
		snprintf(out, outlen, "%lldms", (long long)ms);
	else if (ms < 60000)
		snprintf(out, outlen, "%lld.%llds", (long long)(ms / 1000),
			 (long long)(ms % 1000 / 100));
	else if (ms < 3600000)
		snprintf(out, outlen, "%lldm %02llds", (long long)(ms / 60000),
			 (long long)(ms % 60000 / 1000));
	else
		snprintf(out, outlen, "%lldh %02lldm", (long long)(ms / 3600000),
			 (long long)(ms % 3600000 / 60000));
}

/* ASCII-only test, independent of the process locale. */
static int url_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

char *text_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n, i, o = 0;
	char *out = alloc_tripled(s, &n); /* "%XX" for every byte at worst */

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (url_unreserved(c)) {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '%';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	out[o] = '\0';
	return out;
}

char *text_concat3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = c != NULL ? strlen(c) : 0;
	char *out = malloc(la + lb + lc + 1);

	if (out == NULL)
		return NULL;
	memcpy(out, a, la);
	memcpy(out + la, b, lb);
	if (lc > 0)
		memcpy(out + la + lb, c, lc);
	out[la + lb + lc] = '\0';
	return out;
}

int text_id_valid(const char *id)
{
	size_t i, n;

	if (id == NULL)
		return 0;
	n = strlen(id);
	if (n == 0 || n > TEXT_ID_MAX - 1)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

int text_json_has_nul(const char *body, size_t len)
{
	const char *p = body, *end = body + len;

	while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
		if (end - p >= 6 && memcmp(p + 1, "u0000", 5) == 0)
			return 1;
		p++;
	}
	return 0;
}

int text_json_defuse_nul(char *json, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (json[i] == '\0')
			return ERR_PARSE;
		if (json[i] != '\\' || i + 1 >= len)
			continue;
		/* A backslash and the byte after it are one escape, so stepping
		 * over both keeps "\\u0000" (an escaped backslash, then plain
		 * text) as it is. Outside strings a backslash is no JSON at all. */
		if (json[i + 1] == 'u' && len - i >= 6 && memcmp(json + i + 2, "0000", 4) == 0)
			memcpy(json + i + 2, "FFFD", 4);
		i++;
	}
	return 0;
}
