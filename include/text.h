/* Text hygiene for untrusted strings (pipeline names, step messages) before
 * they reach chat messages or logs. Pure. */
#ifndef DPC_TEXT_H
#define DPC_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Returns a new NUL-terminated copy of s[0..len) where invalid UTF-8
 * sequences and control characters (C0 except \n and \t, DEL, C1, and the
 * bidi overrides/isolates U+202A-202E, U+2066-2069) are replaced with
 * U+FFFD, and NUL bytes are dropped. keep_newlines = 0 turns \n and \t into
 * spaces. Caller frees; NULL on ERR_NOMEM. */
char *text_sanitize(const char *s, size_t len, int keep_newlines);

/* The one UTF-8 decoder. Decodes the sequence at s[0..len), len >= 1:
 * returns the bytes it covers and sets *cp to its code point, or sets
 * *cp = -1 when it is ill-formed (overlong, surrogate, above U+10FFFF, bad
 * lead or continuation byte, cut short); then the return value is the
 * maximal subpart to replace with one U+FFFD (Unicode's recommended
 * practice): the lead byte plus the continuation bytes that were still
 * valid at their position. A NUL is never a continuation byte, so a
 * NUL-terminated string is never read past its end. */
size_t text_utf8_decode(const char *s, size_t len, int32_t *cp);

/* Length in bytes of the longest prefix of s (valid UTF-8) that is at most
 * max_bytes long and does not split a code point. */
size_t text_utf8_prefix(const char *s, size_t max_bytes);

/* New copy of s cut to at most max_chars code points; when cut, the last
 * code point becomes "…" so the result is still <= max_chars. Caller frees. */
char *text_truncate(const char *s, size_t max_chars);

/* Teams TextRun text (RichTextBlock), which Teams does not process as
 * Markdown: only the tag defence is needed. '<' and '>' become U+2039 and
 * U+203A so "<at>…</at>" or any HTML-ish tag can never form, and an '&'
 * that starts something entity-like ("&lt;", "&#60;") becomes U+FF06 so no
 * entity can decode into one. Everything else, backslashes, brackets and
 * asterisks included, is kept as is. Expects sanitised input. Caller frees;
 * NULL on ERR_NOMEM. */
char *text_teams_plain(const char *s);

/* Formats a duration in ms as "1h 02m", "3m 05s", "12.3s", "850ms";
 * "?" for negative. Writes into out. */
void text_duration(int64_t ms, char *out, size_t outlen);

/* The one URL escaper: percent-encodes (%XX, upper case) every byte of s
 * (NULL: "") but the RFC 3986 unreserved ones, ASCII letters and digits and
 * "-._~" whatever the locale, for a form body, a query value or one URL
 * path segment: '/' is encoded too, so a value never adds a segment.
 * Caller frees; NULL on ERR_NOMEM. */
char *text_url_escape(const char *s);

/* New string a + b + c (c may be NULL). Caller frees; NULL on ERR_NOMEM. */
char *text_concat3(const char *a, const char *b, const char *c);

/* Longest run or project id accepted, plus its terminating NUL. */
#define TEXT_ID_MAX 128

/* The one syntax check for run and project ids, from webhooks and from the
 * API alike: 1 to TEXT_ID_MAX-1 bytes of ASCII [A-Za-z0-9._:-], whatever
 * the locale. Ids end up in URL paths, SQL keys and log lines. Dot
 * segments ("." and "..") pass this check; a caller building a URL path
 * must refuse them too. Returns 1 when id (may be NULL) passes, else 0. */
int text_id_valid(const char *id);

/* Prepares len bytes of untrusted JSON for cJSON, which ends a string at
 * an escaped NUL ("e-1\u0000/.." would read as "e-1"): every \u0000
 * escape inside a string becomes \uFFFD in place, same length, so a value
 * that held a NUL keeps its tail and fails any syntax check it should
 * fail. Returns 0, or ERR_PARSE when json holds a raw NUL byte, which no
 * JSON text does. */
int text_json_defuse_nul(char *json, size_t len);

/* 1 when the six bytes \u0000 occur anywhere in body[0..len): a cheap look
 * that spares the copy text_json_defuse_nul() needs when there is none. */
int text_json_has_nul(const char *body, size_t len);

#endif
