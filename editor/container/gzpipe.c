/* gzpipe.c — see gzpipe.h. */
#include "editor/container/gzpipe.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUF 4
#define BUF_LEN (1u << 20)   /* the default */

struct gm_gzpipe {
	struct gm_inflate *z;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *buf[NBUF];    /* made when first filled */
	size_t buf_len;
	ssize_t len[NBUF];
	unsigned head, tail, filled;   /* the thread fills tail, the reader takes head */
	bool held;                     /* the reader still has buf[head] */
	bool stop;
	char msg[160];
	_Atomic uint64_t in_bytes, spacing;
};

static void *pipe_main(void *arg)
{
	struct gm_gzpipe *p = arg;

	for (;;) {
		uint64_t sp;
		unsigned slot;
		ssize_t n;

		pthread_mutex_lock(&p->mu);
		while (!p->stop && p->filled == NBUF)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		slot = p->tail;
		pthread_mutex_unlock(&p->mu);
		if ((sp = atomic_exchange(&p->spacing, 0)))
			gm_inflate_set_spacing(p->z, sp);
		if (!p->buf[slot] && !(p->buf[slot] = malloc(p->buf_len))) {
			snprintf(p->msg, sizeof(p->msg), "out of memory");
			n = -ENOMEM;
		} else {
			n = gm_inflate_read_into(p->z, p->buf[slot], p->buf_len);
		}
		atomic_store(&p->in_bytes, gm_inflate_in_bytes(p->z));
		pthread_mutex_lock(&p->mu);
		if (n < 0 && n != -ENOMEM)
			snprintf(p->msg, sizeof(p->msg), "%s", gm_inflate_errmsg(p->z));
		p->len[slot] = n;
		p->tail = (p->tail + 1) % NBUF;
		p->filled++;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (n <= 0)
			break;             /* the end or an error: it stays in its slot */
	}
	return NULL;
}

int gm_gzpipe_start(struct gm_inflate *z, size_t buf_len, struct gm_gzpipe **out)
{
	struct gm_gzpipe *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	p->z = z;
	p->buf_len = buf_len ? buf_len : BUF_LEN;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	atomic_init(&p->in_bytes, 0);
	atomic_init(&p->spacing, 0);
	if ((rc = pthread_create(&p->th, NULL, pipe_main, p))) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		free(p);
		return -rc;
	}
	*out = p;
	return 0;
}

ssize_t gm_gzpipe_next(struct gm_gzpipe *p, const unsigned char **buf)
{
	ssize_t n;

	pthread_mutex_lock(&p->mu);
	if (p->held) {
		p->head = (p->head + 1) % NBUF;
		p->filled--;
		p->held = false;
		pthread_cond_broadcast(&p->cv);
	}
	while (p->filled == 0)
		pthread_cond_wait(&p->cv, &p->mu);
	n = p->len[p->head];
	if (n > 0) {
		p->held = true;
		*buf = p->buf[p->head];
	}
	pthread_mutex_unlock(&p->mu);
	return n;
}

const char *gm_gzpipe_errmsg(struct gm_gzpipe *p)
{
	return p->msg[0] ? p->msg : "corrupt data";
}

uint64_t gm_gzpipe_in_bytes(struct gm_gzpipe *p)
{
	return atomic_load(&p->in_bytes);
}

void gm_gzpipe_set_spacing(struct gm_gzpipe *p, uint64_t spacing)
{
	atomic_store(&p->spacing, spacing);
}

void gm_gzpipe_stop(struct gm_gzpipe *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->th, NULL);
	for (unsigned i = 0; i < NBUF; i++)
		free(p->buf[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}
