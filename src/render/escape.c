/* What the chat renderers that count in UTF-16 units share (slack.c,
 * discord.c, mattermost.c): the width of text as the stricter platforms
 * count it, and escaping text one character at a time while cutting it to
 * a budget of those units. Each target supplies only how one character is
 * written (its piece function). Pure. */
#include <stdlib.h>
#include <string.h>

#include "render_int.h"
#include "text.h"

#define ELLIPSIS "\xe2\x80\xa6"

size_t render_cp_bytes(const char *s)
{
	size_t n = 1;

	while (((unsigned char)s[n] & 0xc0) == 0x80)
		n++;
	return n;
}

size_t render_utf16_width(const char *s)
{
	size_t w = 0, n;

	for (; *s; s += n) {
		n = render_cp_bytes(s);
		w += n == 4 ? 2 : 1;
	}
	return w;
}

char *render_escape_cut(const char *raw, size_t max, int lines, render_piece_fn piece, int mode)
{
	char *c = text_sanitize(raw ? raw : "", raw ? strlen(raw) : 0, lines), *out = NULL;
	size_t total = 0, used = 0, o = 0, i, n, w, len;
	char buf[RENDER_PIECE_MAX];

	if (c == NULL || max == 0)
		goto done;
	for (i = 0; c[i]; i += n) {
		n = render_cp_bytes(c + i);
		piece(c + i, n, mode, buf, &w);
		total += w;
	}
	/* A piece is at most RENDER_PIECE_MAX bytes for a character of at
	 * least one. */
	out = malloc(strlen(c) * RENDER_PIECE_MAX + 4);
	if (out == NULL)
		goto done;
	for (i = 0; c[i]; i += n) {
		n = render_cp_bytes(c + i);
		len = piece(c + i, n, mode, buf, &w);
		if (total > max && used + w > max - 1) {
			memcpy(out + o, ELLIPSIS, 3);
			o += 3;
			break;
		}
		memcpy(out + o, buf, len);
		o += len;
		used += w;
	}
	out[o] = '\0';
done:
	free(c);
	return out;
}
