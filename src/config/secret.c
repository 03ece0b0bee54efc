/* Weak webhook secrets: refuses a bearer token or HMAC secret that is still
 * the placeholder of an example file, or too short to resist guessing.
 * Compose once read the example env file instead of the filled-in copy, and
 * the service then accepted "Bearer replace-with-a-long-random-token": a
 * secret anyone can read in this repository is no secret. The check runs on
 * the final value, so an inline key, a ${ENV} value and a KEY_file's
 * content are judged alike. A secret never goes into a message. */
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "config_int.h"

#define SECRET_MIN 16 /* bytes: 128 bits even for a hex token */

/* Text that only a template or a hand-typed stand-in holds. A random token
 * meets one of these by chance with negligible odds. */
static const char *const placeholder_words[] = {
	"replace", "changeme",  "change-me", "change_me", "example", "placeholder", "your-",
	"your_",   "yourtoken", "xxxx",      "<",         ">",       "fixme",       "dummy",
};

static int contains_nocase(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (; *s != '\0'; s++)
		if (strncasecmp(s, word, n) == 0)
			return 1;
	return 0;
}

/* The first placeholder word s holds, "one repeated character" when it is
 * nothing else, or NULL. */
static const char *placeholder(const char *s)
{
	size_t i;
	const char *q;

	for (i = 0; i < sizeof(placeholder_words) / sizeof(placeholder_words[0]); i++)
		if (contains_nocase(s, placeholder_words[i]))
			return placeholder_words[i];
	for (q = s; *q != '\0' && *q == *s; q++)
		;
	return *s != '\0' && *q == '\0' ? "one repeated character" : NULL;
}

void cfg_check_secrets(struct parse *p, const char *key, char *const *v, size_t n, int line)
{
	const char *body, *word;
	size_t i;

	for (i = 0; i < n; i++) {
		/* A Standard Webhooks secret is judged by its base64 part. */
		body = strncmp(v[i], "whsec_", 6) == 0 ? v[i] + 6 : v[i];
		if (body != v[i] && !auth_secret_ok(v[i]))
			continue; /* check.c says what a whsec_ secret must be */
		word = placeholder(v[i]);
		if (word != NULL)
			cfg_err(p, line,
				"%s: item %zu looks like a placeholder (\"%s\"); generate one with"
				" `openssl rand -hex 32`",
				key, i + 1, word);
		else if (strlen(body) < SECRET_MIN)
			cfg_err(p, line,
				"%s: item %zu is shorter than %d bytes; generate one with"
				" `openssl rand -hex 32`",
				key, i + 1, SECRET_MIN);
	}
}
