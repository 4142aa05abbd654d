/* gzout.c — see gzout.h. */
#include "editor/container/gzout.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <isa-l/igzip_lib.h>

#include "editor/container/bits.h"
#include "editor/container/inflate.h"
#include "editor/container/sparse.h"

#define CHUNK (1u << 20)
#define SUB (128u << 10)              /* a block boundary every 128 KiB (index) */
#define NSUB (CHUNK / SUB)
#define DICT 32768u
#define MAX_THREADS 8
#define COPY_BUF (4u << 20)

struct job {
	unsigned char *in;      /* DICT bytes of dictionary room, then the chunk */
	size_t dict_len, in_len;
	bool last;
	unsigned prime_bits;    /* bits of the stream's last byte, written first */
	unsigned prime_val;
	unsigned char *out;
	size_t out_cap, out_len;
	uint32_t crc;
	/* block boundaries inside the chunk: bit offset in out, input offset,
	 * CRC of the input before it */
	uint64_t in_start;      /* offset of the chunk in the whole input */
	unsigned npts;
	uint64_t pt_bit[NSUB];
	size_t pt_in[NSUB];
	uint32_t pt_crc[NSUB];
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
	unsigned pend_bits, pend_val;   /* a partial byte left by a copy, not yet written */
	struct gm_gzindex *ix;          /* block boundaries of the output, or NULL */
	unsigned char *copy_in, *copy_out;
	bool no_cfr;                    /* copy_file_range refused: copy by hand */
	uint64_t unsynced;              /* bytes copied in the kernel since the last sync_file_range */
	int err;
	bool finished;
};

/* write(2) in full; every 64 MiB the kernel is asked to start writing
 * what came before, so the caller's final fsync waits for little. */
static int write_all(int fd, const void *p, size_t n)
{
	static _Thread_local uint64_t since;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p = (const char *)p + w;
		n -= (size_t)w;
		since += (uint64_t)w;
	}
	if (since >= (64u << 20)) {
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		since = 0;
	}
	return 0;
}

static void compress_job_zlib(struct job *j, int level, z_stream *zs, bool *zs_ready);

/* GM_GZOUT_FAST: ISA-L's level 1, its own deflate (about 5x zlib's level 1
 * here). Block boundaries: a sync flush every 128 KiB (ISA-L has no
 * Z_BLOCK). It cannot be primed with bits: gm_gzout_copy() leaves the
 * stream byte aligned for it instead. */
static void compress_job_isal(struct job *j)
{
	struct isal_zstream zs;
	uint8_t *lvl = malloc(ISAL_DEF_LVL1_DEFAULT);
	size_t off = 0;

	if (!lvl) {
		j->rc = -ENOMEM;
		return;
	}
	isal_deflate_init(&zs);
	zs.level = 1;
	zs.level_buf = lvl;
	zs.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
	zs.gzip_flag = IGZIP_DEFLATE;
	if (j->dict_len && isal_deflate_set_dict(&zs, j->in + DICT - j->dict_len,
						 (uint32_t)j->dict_len) != COMP_OK) {
		j->rc = -EIO;
		goto out;
	}
	zs.next_out = j->out;
	zs.avail_out = (uint32_t)j->out_cap;
	j->npts = 0;
	j->crc = (uint32_t)crc32(0L, Z_NULL, 0);
	do {
		size_t n = j->in_len - off < SUB ? j->in_len - off : SUB;
		bool end = off + n == j->in_len;

		zs.next_in = j->in + DICT + off;
		zs.avail_in = (uint32_t)n;
		zs.end_of_stream = end && j->last;
		zs.flush = SYNC_FLUSH;
		if (isal_deflate(&zs) != COMP_OK || zs.avail_in || !zs.avail_out ||
		    (zs.end_of_stream && zs.internal_state.state != ZSTATE_END)) {
			j->rc = -EIO;
			goto out;
		}
		j->crc = (uint32_t)crc32(j->crc, j->in + DICT + off, (uInt)n);
		off += n;
		if (!end) {
			j->pt_bit[j->npts] = (uint64_t)zs.total_out * 8;
			j->pt_in[j->npts] = off;
			j->pt_crc[j->npts] = j->crc;
			j->npts++;
		}
	} while (off < j->in_len);
	j->out_len = zs.total_out;
	j->rc = 0;
out:
	free(lvl);
}

static void compress_job(struct job *j, int level, z_stream *zs, bool *zs_ready)
{
	if (level == GM_GZOUT_FAST) {
		compress_job_isal(j);
		return;
	}
	compress_job_zlib(j, level, zs, zs_ready);
}

static void compress_job_zlib(struct job *j, int level, z_stream *zs, bool *zs_ready)
{
	size_t off = 0;
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
	if (j->prime_bits && deflatePrime(zs, (int)j->prime_bits, (int)j->prime_val) != Z_OK) {
		j->rc = -EIO;
		return;
	}
	zs->next_out = j->out;
	zs->avail_out = (uInt)j->out_cap;
	j->npts = 0;
	j->crc = (uint32_t)crc32(0L, Z_NULL, 0);
	do {
		size_t n = j->in_len - off < SUB ? j->in_len - off : SUB;
		bool end = off + n == j->in_len;
		int flush = !end ? Z_BLOCK : j->last ? Z_FINISH : Z_SYNC_FLUSH;

		zs->next_in = j->in + DICT + off;
		zs->avail_in = (uInt)n;
		zr = deflate(zs, flush);
		if ((flush == Z_FINISH && zr != Z_STREAM_END) || (flush != Z_FINISH && zr != Z_OK) ||
		    zs->avail_in || !zs->avail_out) {   /* a full buffer may hide pending output */
			j->rc = -EIO;   /* out_cap is deflateBound: cannot happen */
			return;
		}
		j->crc = (uint32_t)crc32(j->crc, j->in + DICT + off, (uInt)n);
		off += n;
		if (!end) {
			unsigned pending = 0;
			int bits = 0;

			deflatePending(zs, &pending, &bits);
			j->pt_bit[j->npts] = (uint64_t)(j->out_cap - zs->avail_out + pending) * 8 +
					     (uint64_t)bits;
			j->pt_in[j->npts] = off;
			j->pt_crc[j->npts] = j->crc;
			j->npts++;
		}
	} while (off < j->in_len);
	j->out_len = j->out_cap - zs->avail_out;
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

/* Adds the block boundaries of job j (about to be written at out_total) to
 * the output's index. */
static int index_job(struct gm_gzout *g, const struct job *j)
{
	struct gm_gzpoint pt = {
		.cbit = g->out_total * 8 + j->prime_bits, .uoff = j->in_start, .crc = g->crc,
	};
	int rc = gm_gzindex_add(g->ix, &pt);

	for (unsigned k = 0; !rc && k < j->npts; k++) {
		pt.cbit = g->out_total * 8 + j->pt_bit[k];
		pt.uoff = j->in_start + j->pt_in[k];
		pt.crc = (uint32_t)crc32_combine(g->crc, j->pt_crc[k], (z_off_t)j->pt_in[k]);
		rc = gm_gzindex_add(g->ix, &pt);
	}
	return rc;
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
	if (!rc && g->ix && (j->in_len || !j->last))
		rc = index_job(g, j);
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
	j->in_start = g->in_total - j->in_len;
	j->prime_bits = g->pend_bits;   /* the partial byte a copy left */
	j->prime_val = g->pend_val;
	g->pend_bits = g->pend_val = 0;
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
	free(g->copy_in);
	free(g->copy_out);
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv_work);
	pthread_cond_destroy(&g->cv_done);
	free(g);
}

int gm_gzip_verify(int fd, uint64_t *in_bytes, uint32_t *crc_out)
{
	struct gm_inflate *z = NULL;
	const unsigned char *p;
	unsigned char tr[8];
	uint64_t total = 0;
	ssize_t n;
	off_t end;
	int rc;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	if ((rc = gm_inflate_new(fd, NULL, 0, &z)))
		return rc;
	while ((n = gm_inflate_read(z, &p)) > 0)
		total += (uint64_t)n;
	rc = n < 0 ? (int)n : gm_inflate_members(z) == 1 ? 0 : -EINVAL;   /* one member, nothing after */
	gm_inflate_free(z);
	if (rc)
		return rc;
	/* ISA-L checked the data against the trailer: the CRC is the trailer's */
	end = lseek(fd, 0, SEEK_END);
	if (end < 8 || pread(fd, tr, 8, end - 8) != 8)
		return -EIO;
	if (in_bytes)
		*in_bytes = total;
	if (crc_out)
		*crc_out = (uint32_t)tr[0] | (uint32_t)tr[1] << 8 | (uint32_t)tr[2] << 16 |
			   (uint32_t)tr[3] << 24;
	return 0;
}

void gm_gzout_set_index(struct gm_gzout *g, struct gm_gzindex *ix)
{
	g->ix = ix;
}

/* Appends nbits (<= 57) bits of v to the stream at the pending partial
 * byte, writing the bytes completed. */
static int put_bits(struct gm_gzout *g, uint64_t v, unsigned nbits)
{
	uint64_t acc = g->pend_val | (v << g->pend_bits);
	unsigned n = g->pend_bits + nbits;
	unsigned char b[8];
	size_t k = 0;
	int rc;

	while (n >= 8) {
		b[k++] = (unsigned char)acc;
		acc >>= 8;
		n -= 8;
	}
	if (k && (rc = write_all(g->fd, b, k)))
		return rc;
	g->out_total += k;
	g->pend_bits = n;
	g->pend_val = (unsigned)(acc & 0xff);
	return 0;
}

/* An empty deflate block with fixed codes: 10 bits (BFINAL 0, BTYPE 01,
 * end-of-block code 0000000). */
static int put_empty_fixed(struct gm_gzout *g)
{
	return put_bits(g, 0x002, 10);
}

/* Appends a Huffman code (MSB first, as deflate packs codes). */
static int put_code(struct gm_gzout *g, unsigned code, unsigned len)
{
	unsigned rev = 0;

	for (unsigned i = 0; i < len; i++)
		rev |= ((code >> i) & 1) << (len - 1 - i);
	return put_bits(g, rev, len);
}

/* An empty deflate block with dynamic codes, 99 bits long (an odd length,
 * which fixed and stored blocks cannot give). Every code is complete:
 * literal/length {0: 1 bit, 256: 2, 257: 2}, distance {0: 1, 1: 1}, code
 * lengths {18: 1, 1: 2, 2: 2}. */
static int put_empty_dynamic(struct gm_gzout *g)
{
	/* code length code lengths, in the order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1 */
	static const unsigned char cl[18] = { 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2 };
	int rc = put_bits(g, 0x4, 3);                 /* BFINAL 0, BTYPE 10 */

	rc = rc ? rc : put_bits(g, 1, 5);             /* HLIT: 258 codes */
	rc = rc ? rc : put_bits(g, 1, 5);             /* HDIST: 2 codes */
	rc = rc ? rc : put_bits(g, 14, 4);            /* HCLEN: 18 code length codes */
	for (int i = 0; !rc && i < 18; i++)
		rc = put_bits(g, cl[i], 3);
	/* lengths: 1, 255 zeros (18+127, 18+106), 2, 2; distances 1, 1.
	 * Codes: 18 = 0, 1 = 10, 2 = 11. */
	rc = rc ? rc : put_code(g, 2, 2);
	rc = rc ? rc : put_code(g, 0, 1);
	rc = rc ? rc : put_bits(g, 127, 7);
	rc = rc ? rc : put_code(g, 0, 1);
	rc = rc ? rc : put_bits(g, 106, 7);
	rc = rc ? rc : put_code(g, 3, 2);
	rc = rc ? rc : put_code(g, 3, 2);
	rc = rc ? rc : put_code(g, 2, 2);
	rc = rc ? rc : put_code(g, 2, 2);
	return rc ? rc : put_code(g, 2, 2);           /* end of block: 256 = 10 */
}

/* Empty blocks until the stream's bit position is bit (mod 8): fixed ones
 * add 2 bits mod 8, the dynamic one 3. */
static int align_to(struct gm_gzout *g, unsigned bit)
{
	unsigned delta = (bit + 8 - g->pend_bits) % 8;
	int rc = 0;

	if (delta % 2) {
		rc = put_empty_dynamic(g);
		delta = (delta + 8 - 3) % 8;
	}
	for (; !rc && delta; delta -= 2)
		rc = put_empty_fixed(g);
	return rc;
}

/* Index points of the copied blocks, as they land in the output. */
static int index_copy(struct gm_gzout *g, const struct gm_gzpoint *from,
		      const struct gm_gzpoint *to)
{
	uint64_t e0 = g->out_total * 8 + g->pend_bits;
	int rc = 0;

	for (const struct gm_gzpoint *q = from; !rc && q < to; q++) {
		struct gm_gzpoint pt = {
			.cbit = e0 + (q->cbit - from->cbit),
			.uoff = g->in_total + (q->uoff - from->uoff),
			.crc = (uint32_t)crc32_combine(g->crc, gm_gzindex_crc_between(from, q),
						       (z_off_t)(q->uoff - from->uoff)),
		};

		rc = gm_gzindex_add(g->ix, &pt);
	}
	return rc;
}

/* Appends n bytes of src_fd from offset off to the output, in the kernel
 * when it can (copy_file_range: one copy, none through this process), else
 * read and written here (a stream output, another filesystem on an old
 * kernel). */
static int copy_bytes(struct gm_gzout *g, int src_fd, uint64_t off, uint64_t n)
{
	while (n && !g->no_cfr) {
		loff_t in = (loff_t)off;
		ssize_t k = copy_file_range(src_fd, &in, g->fd, NULL, n < (1u << 30) ? (size_t)n : 1u << 30, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			      errno == EOPNOTSUPP || errno == EBADF || errno == ESPIPE)) {
			g->no_cfr = true;      /* not here: the plain way from now on */
			break;
		}
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EIO;           /* the original is shorter than its index */
		off += (uint64_t)k;
		n -= (uint64_t)k;
		g->out_total += (uint64_t)k;
		g->unsynced += (uint64_t)k;
	}
	while (n) {
		size_t want = n < COPY_BUF ? (size_t)n : COPY_BUF;
		ssize_t got = gm_pread_full(src_fd, g->copy_in, want, off);
		int rc;

		if (got != (ssize_t)want)
			return got < 0 ? (int)got : -EIO;
		if ((rc = write_all(g->fd, g->copy_in, want)))
			return rc;
		off += want;
		n -= want;
		g->out_total += want;
	}
	if (g->unsynced >= (64u << 20)) {   /* as write_all does for its own */
		sync_file_range(g->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		g->unsynced = 0;
	}
	return 0;
}

int gm_gzout_copy(struct gm_gzout *g, int src_fd, const struct gm_gzpoint *from,
		  const struct gm_gzpoint *to, const unsigned char *dict, size_t dict_len)
{
	uint64_t pos = from->cbit, clear = to->end ? (to - 1)->cbit : UINT64_MAX;
	uint64_t ulen = to->uoff - from->uoff;
	struct job *j = filling(g);
	unsigned pb;
	int rc = g->err;

	if (rc)
		return rc;
	if (from >= to || from->member != to->member || dict_len > DICT)
		return g->err = -EINVAL;
	if (!g->copy_in) {
		g->copy_in = malloc(COPY_BUF + 16);
		g->copy_out = malloc(COPY_BUF + 16);
		if (!g->copy_in || !g->copy_out)
			return g->err = -ENOMEM;
	}
	/* everything before the copy goes out first, ended on a byte boundary */
	if (j->in_len && (rc = submit(g, false)))
		return g->err = rc;
	pthread_mutex_lock(&g->mu);
	while (!rc && g->inflight)
		rc = retire_oldest(g);
	pthread_mutex_unlock(&g->mu);
	/* reach the copied block's bit alignment with empty blocks: stored
	 * blocks inside the copy then keep their padding, and the bytes copy
	 * as they are */
	if (!rc)
		rc = align_to(g, (unsigned)(pos % 8));
	if (!rc && g->ix)
		rc = index_copy(g, from, to);
	if (rc)
		return g->err = rc;
	/* the alignments are equal now: the first byte is merged (our bits
	 * below, the block's above), the BFINAL byte changed, everything else
	 * is the original's bytes */
	pb = g->pend_bits;
	while (!rc && pos < to->cbit) {
		uint64_t byte0 = pos / 8, stop = to->cbit / 8;
		unsigned char c;

		if (clear >= pos && clear < to->cbit && clear / 8 < stop)
			stop = clear / 8;
		if (pos % 8 || stop <= byte0) {
			/* one byte by hand: merged, cleared, or the partial last one */
			uint64_t endbit = (byte0 + 1) * 8 < to->cbit ? (byte0 + 1) * 8 : to->cbit;
			unsigned eb;
			size_t done;

			if (gm_pread_full(src_fd, &c, 1, byte0) != 1)
				return g->err = -EIO;
			if (clear >= pos && clear < endbit)
				c &= (unsigned char)~(1u << (clear % 8));
			g->copy_out[0] = (unsigned char)g->pend_val;
			done = gm_bits_append(g->copy_out, pb, &c, (unsigned)(pos % 8), endbit - pos, &eb);
			if (done && (rc = write_all(g->fd, g->copy_out, done)))
				return g->err = rc;
			g->out_total += done;
			g->pend_val = eb ? g->copy_out[done] : 0;
			pb = eb;
			pos = endbit;
			continue;
		}
		/* whole bytes [byte0, stop), byte aligned on both sides */
		rc = copy_bytes(g, src_fd, byte0, stop - byte0);
		pos = stop * 8;
	}
	if (rc)
		return g->err = rc;
	g->pend_bits = pb;
	g->pend_val = pb ? g->pend_val : 0;
	if (g->level == GM_GZOUT_FAST && (rc = align_to(g, 0)))   /* ISA-L cannot be primed */
		return g->err = rc;
	g->crc = (uint32_t)crc32_combine(g->crc, gm_gzindex_crc_between(from, to), (z_off_t)ulen);
	g->in_total += ulen;
	/* the next chunk's dictionary: the uncompressed bytes just copied */
	j = filling(g);
	memcpy(j->in + DICT - dict_len, dict, dict_len);
	j->dict_len = dict_len;
	j->in_len = 0;
	return 0;
}
