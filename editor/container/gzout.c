/* gzout.c — see gzout.h. */
#include "editor/container/gzout.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define CHUNK (1u << 20)
#define DICT 32768u
#define MAX_THREADS 8

struct job {
	unsigned char *in;      /* DICT bytes of dictionary room, then the chunk */
	size_t dict_len, in_len;
	bool last;
	unsigned char *out;
	size_t out_cap, out_len;
	uint32_t crc;
	int rc;
	bool queued, done;
};

struct gm_gzout {
	int fd, level;
	unsigned nthreads;
	pthread_t th[MAX_THREADS];
	unsigned started;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_done;
	bool stop;
	struct job *ring;       /* nring jobs, used in order */
	unsigned nring, head, tail;   /* head: oldest in flight; tail: next to fill */
	unsigned inflight;
	uint64_t in_total, out_total;
	uint32_t crc;
	int err;
	bool finished;
};

static int write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

static void compress_job(struct job *j, int level, z_stream *zs, bool *zs_ready)
{
	int zr;

	if (!*zs_ready) {
		memset(zs, 0, sizeof(*zs));
		if (deflateInit2(zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			j->rc = -ENOMEM;
			return;
		}
		*zs_ready = true;
	} else {
		deflateReset(zs);
	}
	if (j->dict_len)
		deflateSetDictionary(zs, j->in + DICT - j->dict_len, (uInt)j->dict_len);
	zs->next_in = j->in + DICT;
	zs->avail_in = (uInt)j->in_len;
	zs->next_out = j->out;
	zs->avail_out = (uInt)j->out_cap;
	zr = deflate(zs, j->last ? Z_FINISH : Z_SYNC_FLUSH);
	if ((j->last && zr != Z_STREAM_END) || (!j->last && zr != Z_OK) || zs->avail_in ||
	    !zs->avail_out) {   /* a full buffer may hide pending output */
		j->rc = -EIO;   /* out_cap is deflateBound: cannot happen */
		return;
	}
	j->out_len = j->out_cap - zs->avail_out;
	j->crc = (uint32_t)crc32(0L, j->in + DICT, (uInt)j->in_len);
	j->rc = 0;
}

static void *worker(void *arg)
{
	struct gm_gzout *g = arg;
	z_stream zs;
	bool ready = false;

	pthread_mutex_lock(&g->mu);
	for (;;) {
		struct job *j = NULL;

		for (unsigned k = 0; k < g->inflight; k++) {
			struct job *c = &g->ring[(g->head + k) % g->nring];

			if (c->queued) {
				j = c;
				break;
			}
		}
		if (!j) {
			if (g->stop)
				break;
			pthread_cond_wait(&g->cv_work, &g->mu);
			continue;
		}
		j->queued = false;
		pthread_mutex_unlock(&g->mu);
		compress_job(j, g->level, &zs, &ready);
		pthread_mutex_lock(&g->mu);
		j->done = true;
		pthread_cond_broadcast(&g->cv_done);
	}
	pthread_mutex_unlock(&g->mu);
	if (ready)
		deflateEnd(&zs);
	return NULL;
}

int gm_gzout_new(int fd, int level, unsigned threads, struct gm_gzout **out)
{
	static const unsigned char hdr[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
	struct gm_gzout *g = calloc(1, sizeof(*g));
	size_t bound = deflateBound(NULL, CHUNK) + 64;
	int rc;

	if (!g)
		return -ENOMEM;
	if (!threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		threads = n > 0 ? (unsigned)n : 1;
	}
	g->nthreads = threads > MAX_THREADS ? MAX_THREADS : threads;
	g->fd = fd;
	g->level = level;
	g->nring = 2 * g->nthreads + 2;
	g->ring = calloc(g->nring, sizeof(*g->ring));
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv_work, NULL);
	pthread_cond_init(&g->cv_done, NULL);
	if (!g->ring) {
		gm_gzout_free(g);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < g->nring; i++) {
		g->ring[i].in = malloc(DICT + CHUNK);
		g->ring[i].out = malloc(bound);
		g->ring[i].out_cap = bound;
		if (!g->ring[i].in || !g->ring[i].out) {
			gm_gzout_free(g);
			return -ENOMEM;
		}
	}
	for (unsigned i = 0; g->nthreads > 1 && i < g->nthreads; i++) {
		if (pthread_create(&g->th[i], NULL, worker, g)) {
			gm_gzout_free(g);
			return -EAGAIN;
		}
		g->started++;
	}
	g->crc = (uint32_t)crc32(0L, Z_NULL, 0);
	rc = write_all(fd, hdr, sizeof(hdr));
	if (rc) {
		gm_gzout_free(g);
		return rc;
	}
	g->out_total = sizeof(hdr);
	*out = g;
	return 0;
}

/* Waits for the oldest job, writes its output. Called with g->mu held. */
static int retire_oldest(struct gm_gzout *g)
{
	struct job *j = &g->ring[g->head];
	int rc;

	if (!g->started && !j->done) {
		z_stream zs;
		bool ready = false;

		j->queued = false;
		compress_job(j, g->level, &zs, &ready);
		if (ready)
			deflateEnd(&zs);
		j->done = true;
	}
	while (!j->done)
		pthread_cond_wait(&g->cv_done, &g->mu);
	rc = j->rc;
	if (!rc) {
		/* only this thread retires jobs: write without holding the lock */
		pthread_mutex_unlock(&g->mu);
		rc = write_all(g->fd, j->out, j->out_len);
		pthread_mutex_lock(&g->mu);
	}
	if (!rc) {
		g->crc = (uint32_t)crc32_combine(g->crc, j->crc, (z_off_t)j->in_len);
		g->out_total += j->out_len;
	}
	j->done = false;
	g->head = (g->head + 1) % g->nring;
	g->inflight--;
	return rc;
}

/* The job being filled (at tail); in_len grows until CHUNK. */
static struct job *filling(struct gm_gzout *g)
{
	return &g->ring[g->tail];
}

static int submit(struct gm_gzout *g, bool last)
{
	struct job *j = filling(g), *next;
	int rc = 0;

	pthread_mutex_lock(&g->mu);
	j->last = last;
	j->queued = true;
	j->done = false;
	g->inflight++;
	g->tail = (g->tail + 1) % g->nring;
	pthread_cond_signal(&g->cv_work);
	/* keep one free slot to fill */
	while (g->inflight >= g->nring - 1 && !rc)
		rc = retire_oldest(g);
	pthread_mutex_unlock(&g->mu);
	if (rc)
		return rc;
	/* prime the next job's dictionary with this chunk's tail */
	next = filling(g);
	next->dict_len = j->in_len < DICT ? j->in_len : DICT;
	memcpy(next->in + DICT - next->dict_len, j->in + DICT + j->in_len - next->dict_len,
	       next->dict_len);
	if (j->in_len < DICT && j->dict_len && next->dict_len < DICT) {
		/* short chunk: carry some of the older dictionary along */
		size_t more = DICT - next->dict_len < j->dict_len ? DICT - next->dict_len : j->dict_len;

		memcpy(next->in + DICT - next->dict_len - more, j->in + DICT - more, more);
		next->dict_len += more;
	}
	next->in_len = 0;
	return 0;
}

int gm_gzout_write(struct gm_gzout *g, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	int rc;

	if (g->err)
		return g->err;
	while (len) {
		struct job *j = filling(g);
		size_t k = CHUNK - j->in_len < len ? CHUNK - j->in_len : len;

		memcpy(j->in + DICT + j->in_len, p, k);
		j->in_len += k;
		p += k;
		len -= k;
		g->in_total += k;
		if (j->in_len == CHUNK && (rc = submit(g, false)))
			return g->err = rc;
	}
	return 0;
}

int gm_gzout_finish(struct gm_gzout *g, uint64_t *in_bytes, uint32_t *crc, uint64_t *out_bytes)
{
	unsigned char tr[8];
	int rc = g->err;

	if (!rc && !g->finished) {
		g->finished = true;
		rc = submit(g, true);
		pthread_mutex_lock(&g->mu);
		while (!rc && g->inflight)
			rc = retire_oldest(g);
		pthread_mutex_unlock(&g->mu);
		for (int i = 0; i < 4 && !rc; i++) {
			tr[i] = (unsigned char)(g->crc >> (8 * i));
			tr[4 + i] = (unsigned char)(g->in_total >> (8 * i));
		}
		if (!rc)
			rc = write_all(g->fd, tr, sizeof(tr));
		if (!rc)
			g->out_total += sizeof(tr);
		g->err = rc;
	}
	if (in_bytes)
		*in_bytes = g->in_total;
	if (crc)
		*crc = g->crc;
	if (out_bytes)
		*out_bytes = g->out_total;
	return rc;
}

void gm_gzout_free(struct gm_gzout *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = true;
	pthread_cond_broadcast(&g->cv_work);
	/* jobs still in flight are finished by the workers before they stop */
	pthread_mutex_unlock(&g->mu);
	for (unsigned i = 0; i < g->started; i++)
		pthread_join(g->th[i], NULL);
	for (unsigned i = 0; g->ring && i < g->nring; i++) {
		free(g->ring[i].in);
		free(g->ring[i].out);
	}
	free(g->ring);
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv_work);
	pthread_cond_destroy(&g->cv_done);
	free(g);
}

int gm_gzip_verify(int fd, uint64_t *in_bytes, uint32_t *crc_out)
{
	unsigned char *ib = malloc(CHUNK), *ob = malloc(CHUNK);
	z_stream zs;
	uint64_t total = 0;
	uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
	off_t pos = 0;
	int rc = 0, zr = Z_OK;
	bool ended = false;

	memset(&zs, 0, sizeof(zs));
	if (!ib || !ob || inflateInit2(&zs, 31) != Z_OK) {
		free(ib);
		free(ob);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = pread(fd, ib, CHUNK, pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		pos += n;
		if (ended) {
			rc = -EINVAL;          /* bytes after the gzip member */
			goto out;
		}
		zs.next_in = ib;
		zs.avail_in = (uInt)n;
		while (zs.avail_in && !ended) {
			zs.next_out = ob;
			zs.avail_out = CHUNK;
			zr = inflate(&zs, Z_NO_FLUSH);
			if (zr != Z_OK && zr != Z_STREAM_END) {
				rc = -EINVAL;
				goto out;
			}
			crc = (uint32_t)crc32(crc, ob, (uInt)(CHUNK - zs.avail_out));
			total += CHUNK - zs.avail_out;
			if (zr == Z_STREAM_END)
				ended = true;
		}
		if (ended && zs.avail_in) {
			rc = -EINVAL;
			goto out;
		}
	}
	if (!ended)
		rc = -EINVAL;                  /* truncated */
	if (in_bytes)
		*in_bytes = total;
	if (crc_out)
		*crc_out = crc;
out:
	inflateEnd(&zs);
	free(ib);
	free(ob);
	return rc;
}
