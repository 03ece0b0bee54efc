/* The reference-counted holder of the running snapshot: readers take a
 * reference under a short lock, a reload swaps in a new snapshot, and the
 * old one is freed when its last reader gives it back. */
#include <pthread.h>
#include <stdlib.h>

#include "config.h"

struct snap {
	struct config *c;
	unsigned refs;     /* readers plus one while current */
	struct snap *next; /* retired snapshots still referenced */
};

struct config_holder {
	pthread_mutex_t mu;
	struct snap *cur;
	struct snap *retired;
};

static struct snap *snap_new(struct config *c)
{
	struct snap *s = calloc(1, sizeof(*s));

	if (s != NULL) {
		s->c = c;
		s->refs = 1;
	}
	return s;
}

struct config_holder *config_holder_new(struct config *c)
{
	struct config_holder *h;

	if (c == NULL)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL || pthread_mutex_init(&h->mu, NULL) != 0)
		goto fail;
	h->cur = snap_new(c);
	if (h->cur == NULL) {
		pthread_mutex_destroy(&h->mu);
		goto fail;
	}
	return h;
fail:
	free(h);
	config_free(c);
	return NULL;
}

void config_holder_free(struct config_holder *h)
{
	struct snap *s, *next;

	if (h == NULL)
		return;
	for (s = h->retired; s != NULL; s = next) {
		next = s->next;
		config_free(s->c);
		free(s);
	}
	config_free(h->cur->c);
	free(h->cur);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

const struct config *config_get(struct config_holder *h)
{
	const struct config *c;

	pthread_mutex_lock(&h->mu);
	h->cur->refs++;
	c = h->cur->c;
	pthread_mutex_unlock(&h->mu);
	return c;
}

/* Drops one reference of s; called with the lock held. */
static void snap_unref(struct config_holder *h, struct snap *s)
{
	struct snap **pp;

	if (--s->refs > 0 || s == h->cur)
		return;
	for (pp = &h->retired; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	config_free(s->c);
	free(s);
}

void config_put(struct config_holder *h, const struct config *c)
{
	struct snap *s;

	if (c == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	s = h->cur->c == c ? h->cur : NULL;
	for (struct snap *r = h->retired; s == NULL && r != NULL; r = r->next)
		if (r->c == c)
			s = r;
	if (s != NULL)
		snap_unref(h, s);
	pthread_mutex_unlock(&h->mu);
}

void config_swap(struct config_holder *h, struct config *c)
{
	struct snap *s = c != NULL ? snap_new(c) : NULL;
	struct snap *old;

	if (s == NULL) {
		config_free(c); /* the header promises the holder takes c */
		return;
	}
	pthread_mutex_lock(&h->mu);
	old = h->cur;
	h->cur = s;
	old->next = h->retired;
	h->retired = old;
	snap_unref(h, old);
	pthread_mutex_unlock(&h->mu);
}
