/* undo.c — see undo.h.
 *
 * Per level: the byte ranges already saved at this level, the ranges
 * allocated from free space inside it (fresh: never saved) and the ranges
 * freed inside it (in use when the level began: not fresh if allocated
 * again). The saved bytes are entries of one log, oldest first; a level
 * owns the entries from its first index on. */
#include "editor/disk/undo.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "editor/rangeset.h"

#define GM_UNDO_MAX_IMAGES 64
#define SPILL_CHUNK (1u << 20)

struct entry {
	uint64_t off, len;      /* disk bytes */
	bool zero;              /* they were all zero: nothing stored */
	bool hole;              /* ... and a hole of the disk file */
	bool in_file;           /* stored in the spill file at where */
	uint64_t where;
	void *mem;              /* or in memory */
};

struct level {
	size_t first;           /* first entry of this level */
	bool exact;             /* save even bytes of blocks allocated from free space */
	struct gm_rangeset saved, fresh, freed;
};

struct gm_undo {
	struct gm_image *img;
	int fd;
	unsigned refs;
	struct entry *e;
	size_t n, cap;
	struct level *lv;
	unsigned depth, lvcap;
	uint64_t mem_used, mem_max, saved_bytes;
	int spill_fd;
	uint64_t spill_end;
	bool mark_taken;        /* the outermost level took the image's dirty mark */
	uint64_t torn_off, torn_len;   /* gm_undo_torn_ok */
	struct gm_image_dirty_mark mark;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gm_undo *table[GM_UNDO_MAX_IMAGES];

int gm_undo_get(struct gm_image *img, struct gm_undo **out)
{
	struct gm_undo *u = NULL;
	int rc = -ENOMEM;

	pthread_mutex_lock(&table_lock);
	for (size_t i = 0; i < GM_UNDO_MAX_IMAGES; i++) {
		if (table[i] && table[i]->img == img) {
			u = table[i];
			u->refs++;
			rc = 0;
			goto out;
		}
	}
	for (size_t i = 0; i < GM_UNDO_MAX_IMAGES; i++) {
		if (table[i])
			continue;
		u = calloc(1, sizeof(*u));
		if (!u)
			goto out;
		u->img = img;
		u->fd = gm_image_fd(img);
		u->refs = 1;
		u->spill_fd = -1;
		u->mem_max = GM_UNDO_MEM_MAX;
		table[i] = u;
		rc = 0;
		goto out;
	}
out:
	pthread_mutex_unlock(&table_lock);
	if (!rc)
		*out = u;
	return rc;
}

static void drop_entries(struct gm_undo *u, size_t from)
{
	for (size_t i = from; i < u->n; i++) {
		u->saved_bytes -= u->e[i].len;
		struct entry *e = &u->e[i];

		if (e->mem) {
			u->mem_used -= e->len;
			free(e->mem);
		}
		if (e->in_file && e->where < u->spill_end)
			u->spill_end = e->where;
	}
	u->n = from;
	if (u->n == 0 && u->spill_fd >= 0) {
		/* give the space back, keep the file for the next level */
		if (ftruncate(u->spill_fd, 0) == 0)
			u->spill_end = 0;
	}
}

static void level_free(struct level *l)
{
	gm_rangeset_free(&l->saved);
	gm_rangeset_free(&l->fresh);
	gm_rangeset_free(&l->freed);
}

void gm_undo_put(struct gm_undo *u)
{
	if (!u)
		return;
	pthread_mutex_lock(&table_lock);
	if (--u->refs > 0) {
		pthread_mutex_unlock(&table_lock);
		return;
	}
	for (size_t i = 0; i < GM_UNDO_MAX_IMAGES; i++)
		if (table[i] == u)
			table[i] = NULL;
	pthread_mutex_unlock(&table_lock);
	drop_entries(u, 0);
	free(u->e);
	for (unsigned i = 0; i < u->depth; i++)
		level_free(&u->lv[i]);
	free(u->lv);
	if (u->mark_taken)
		gm_image_dirty_mark_free(&u->mark);
	if (u->spill_fd >= 0)
		close(u->spill_fd);
	free(u);
}

unsigned gm_undo_depth(const struct gm_undo *u) { return u ? u->depth : 0; }
void gm_undo_set_mem_limit(struct gm_undo *u, uint64_t bytes) { u->mem_max = bytes; }

void gm_undo_torn_ok(struct gm_undo *u, uint64_t off, uint64_t len)
{
	if (!u)
		return;
	u->torn_off = off;
	u->torn_len = len;
}
uint64_t gm_undo_saved_bytes(const struct gm_undo *u) { return u ? u->saved_bytes : 0; }

int gm_undo_begin(struct gm_undo *u, bool exact)
{
	if (u->depth == u->lvcap) {
		unsigned cap = u->lvcap ? u->lvcap * 2 : 4;
		struct level *nl = realloc(u->lv, cap * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		u->lv = nl;
		u->lvcap = cap;
	}
	memset(&u->lv[u->depth], 0, sizeof(u->lv[0]));
	u->lv[u->depth].first = u->n;
	/* exactness is the outermost level's: a block fresh inside an inner
	 * level was free when the outermost one began */
	u->lv[u->depth].exact = u->depth ? u->lv[0].exact : exact;
	u->depth++;
	return 0;
}

/* Whether x lies in a range of s: then *until is that range's end;
 * otherwise *until is the start of the next range (UINT64_MAX if none). */
static bool covered(const struct gm_rangeset *s, uint64_t x, uint64_t *until)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->r[mid].off + s->r[mid].len <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == s->n) {
		*until = UINT64_MAX;
		return false;
	}
	if (s->r[lo].off <= x) {
		*until = s->r[lo].off + s->r[lo].len;
		return true;
	}
	*until = s->r[lo].off;
	return false;
}

/* Calls fn for each piece of [off, off+len) in neither a nor b (b may be
 * NULL). Stops at the first non-zero return. */
static int for_uncovered(const struct gm_rangeset *a, const struct gm_rangeset *b, uint64_t off,
			 uint64_t len, int (*fn)(void *priv, uint64_t off, uint64_t len), void *priv)
{
	uint64_t x = off, end = off + len;
	int rc;

	if (end < off)
		return -EOVERFLOW;
	while (x < end) {
		uint64_t ua, ub = UINT64_MAX, pe;
		bool ca = covered(a, x, &ua), cb = b && covered(b, x, &ub);

		if (ca || cb) {
			uint64_t nx = ca && cb ? (ua > ub ? ua : ub) : ca ? ua : ub;

			x = nx;
			continue;
		}
		pe = ua < ub ? ua : ub;
		if (pe > end)
			pe = end;
		rc = fn(priv, x, pe - x);
		if (rc)
			return rc;
		x = pe;
	}
	return 0;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			memset((char *)buf + done, 0, len - done);   /* past the end: zeros */
			break;
		}
		done += (size_t)n;
	}
	return 0;
}

static int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

static bool all_zero(const char *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

static int entry_reserve(struct gm_undo *u);

/* Appends all-zero [off, off+len) as entries along the disk file's holes
 * (a sparse cache's free space): holes are given back as holes, not as
 * written zeros. */
static int add_zero_entries(struct gm_undo *u, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;

	while (off < end) {
		off_t d = lseek(u->fd, (off_t)off, SEEK_DATA), h;
		uint64_t stop;
		bool hole;
		int rc;

		if (d < 0 && errno != ENXIO)
			d = (off_t)off;                  /* cannot tell: zeros */
		if (d < 0 || (uint64_t)d > off) {
			hole = true;
			stop = d < 0 ? end : (uint64_t)d;
		} else {
			h = lseek(u->fd, (off_t)off, SEEK_HOLE);
			hole = false;
			stop = h < 0 ? end : (uint64_t)h;
		}
		if (stop > end || stop <= off)
			stop = end;
		rc = entry_reserve(u);
		if (rc)
			return rc;
		u->e[u->n++] = (struct entry){ .off = off, .len = stop - off, .zero = true, .hole = hole };
		off = stop;
	}
	return 0;
}

static int spill_open(struct gm_undo *u)
{
	const char *dirs[] = { getenv("TMPDIR"), "/var/tmp", "/tmp" };

	if (u->spill_fd >= 0)
		return 0;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!dirs[i] || dirs[i][0] != '/')
			continue;
		u->spill_fd = open(dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (u->spill_fd >= 0) {
			u->spill_end = 0;
			return 0;
		}
	}
	return -errno ? -errno : -EIO;
}

static int entry_reserve(struct gm_undo *u)
{
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 64;
		struct entry *ne = realloc(u->e, cap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		u->e = ne;
		u->cap = cap;
	}
	return 0;
}

/* Saves the current contents of [off, off+len) as a new entry. */
static int save_piece(void *priv, uint64_t off, uint64_t len)
{
	struct gm_undo *u = priv;
	struct level *l = &u->lv[u->depth - 1];
	struct entry e = { .off = off, .len = len };
	int rc = entry_reserve(u);

	if (rc)
		return rc;
	{
		/* a hole of the disk file (a sparse cache's free space) is
		 * known without reading it */
		off_t d = lseek(u->fd, (off_t)off, SEEK_DATA);

		if ((d < 0 && errno == ENXIO) || (d >= 0 && (uint64_t)d >= off + len)) {
			rc = gm_rangeset_add(&l->saved, off, len);
			if (!rc)
				u->e[u->n++] = (struct entry){ .off = off, .len = len, .zero = true,
							       .hole = true };
			if (!rc)
				u->saved_bytes += len;
			return rc;
		}
	}
	if (len <= SIZE_MAX && u->mem_used + len <= u->mem_max) {
		e.mem = malloc((size_t)len);
		if (!e.mem)
			return -ENOMEM;
		rc = pread_full(u->fd, e.mem, (size_t)len, off);
		if (rc) {
			free(e.mem);
			return rc;
		}
		if (all_zero(e.mem, (size_t)len)) {
			free(e.mem);
			e.mem = NULL;
			e.zero = true;
		} else {
			u->mem_used += len;
		}
	} else {
		char *buf = malloc(SPILL_CHUNK);
		bool zero = true;

		if (!buf)
			return -ENOMEM;
		rc = spill_open(u);
		e.in_file = true;
		e.where = u->spill_end;
		for (uint64_t done = 0; !rc && done < len;) {
			size_t n = len - done > SPILL_CHUNK ? SPILL_CHUNK : (size_t)(len - done);

			rc = pread_full(u->fd, buf, n, off + done);
			if (!rc)
				rc = pwrite_full(u->spill_fd, buf, n, e.where + done);
			zero = zero && all_zero(buf, n);
			done += n;
		}
		free(buf);
		if (rc)
			return rc;
		if (zero) {
			e.in_file = false;
			e.zero = true;
		} else {
			u->spill_end = e.where + len;
		}
	}
	rc = gm_rangeset_add(&l->saved, off, len);
	if (!rc && e.zero)
		rc = add_zero_entries(u, off, len);
	else if (!rc)
		u->e[u->n++] = e;
	if (rc) {
		free(e.mem);
		if (e.mem)
			u->mem_used -= len;
		return rc;
	}
	u->saved_bytes += len;
	return 0;
}

int gm_undo_prepare_write(struct gm_undo *u, uint64_t off, uint64_t len)
{
	struct level *l;
	int rc;

	if (!u || u->depth == 0 || len == 0)
		return 0;
	if (!u->mark_taken) {
		/* the first write of the outermost level: where the image's
		 * dirty state stood before it */
		rc = gm_image_dirty_save(u->img, &u->mark);
		if (rc)
			return rc;
		u->mark_taken = true;
	}
	l = &u->lv[u->depth - 1];
	if (u->torn_len && u->depth == 1 && !l->exact && off >= u->torn_off &&
	    off + len <= u->torn_off + u->torn_len)
		return 0;
	return for_uncovered(&l->saved, l->exact ? NULL : &l->fresh, off, len, save_piece, u);
}

struct add_ctx {
	struct gm_rangeset *to;
};

static int add_piece(void *priv, uint64_t off, uint64_t len)
{
	return gm_rangeset_add(((struct add_ctx *)priv)->to, off, len);
}

/* to += [off, off+len) minus except */
static int add_except(struct gm_rangeset *to, const struct gm_rangeset *except, uint64_t off,
		      uint64_t len)
{
	struct add_ctx c = { to };

	return for_uncovered(except, NULL, off, len, add_piece, &c);
}

struct fresh_ctx {
	struct gm_undo *u;
	unsigned k;             /* next enclosing level to subtract */
};

/* Adds to the innermost level's fresh set what no open level freed: free
 * when each of them began, so its old bytes matter to none of them. */
static int fresh_piece(void *priv, uint64_t off, uint64_t len)
{
	struct fresh_ctx *c = priv, next = *c;

	if (c->k == 0)
		return gm_rangeset_add(&c->u->lv[c->u->depth - 1].fresh, off, len);
	next.k--;
	return for_uncovered(&c->u->lv[next.k].freed, NULL, off, len, fresh_piece, &next);
}

int gm_undo_note_alloc(struct gm_undo *u, uint64_t off, uint64_t len)
{
	struct fresh_ctx c = { u, 0 };

	if (!u || u->depth == 0 || u->lv[0].exact)
		return 0;
	c.k = u->depth;
	return fresh_piece(&c, off, len);
}

int gm_undo_note_free(struct gm_undo *u, uint64_t off, uint64_t len)
{
	struct level *l;

	if (!u || u->depth == 0)
		return 0;
	l = &u->lv[u->depth - 1];
	return add_except(&l->freed, &l->fresh, off, len);
}

/* Ends the outermost level: nothing saved is needed any more. */
static void reset(struct gm_undo *u)
{
	drop_entries(u, 0);
	if (u->mark_taken)
		gm_image_dirty_mark_free(&u->mark);
	u->mark_taken = false;
}

int gm_undo_commit(struct gm_undo *u)
{
	struct level *l, *p;
	int rc = 0;

	if (!u || u->depth == 0)
		return -EINVAL;
	l = &u->lv[--u->depth];
	if (u->depth == 0) {
		level_free(l);
		reset(u);
		return 0;
	}
	/* The parent inherits: what was saved (the content at the child's
	 * start was the parent's start content, or the parent saved it
	 * before), what was allocated from space free at the parent's start,
	 * what was freed of what the parent found in use. */
	p = &u->lv[u->depth - 1];
	for (size_t i = 0; !rc && i < l->saved.n; i++)
		rc = gm_rangeset_add(&p->saved, l->saved.r[i].off, l->saved.r[i].len);
	for (size_t i = 0; !rc && i < l->fresh.n; i++)
		rc = add_except(&p->fresh, &p->freed, l->fresh.r[i].off, l->fresh.r[i].len);
	for (size_t i = 0; !rc && i < l->freed.n; i++)
		rc = add_except(&p->freed, &p->fresh, l->freed.r[i].off, l->freed.r[i].len);
	level_free(l);
	/* Out of memory while merging: the parent may then save again what it
	 * need not, or treat as fresh less than it could; never the reverse
	 * (fresh is only ever added to, from ranges free at the child's start
	 * and not freed in the parent). Report it all the same. */
	return rc;
}

static int restore_entry(struct gm_undo *u, const struct entry *e)
{
	static const char zeros[65536];
	char *buf;
	int rc = 0;

	if (e->mem)
		return pwrite_full(u->fd, e->mem, (size_t)e->len, e->off);
	if (e->hole && fallocate(u->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)e->off,
				 (off_t)e->len) == 0)
		return 0;
	if (e->zero) {
		for (uint64_t done = 0; !rc && done < e->len;) {
			size_t n = e->len - done > sizeof(zeros) ? sizeof(zeros) : (size_t)(e->len - done);

			rc = pwrite_full(u->fd, zeros, n, e->off + done);
			done += n;
		}
		/* no room to write zeros (a full host disk): a hole reads as zeros */
		if (rc == -ENOSPC &&
		    fallocate(u->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)e->off,
			      (off_t)e->len) == 0)
			rc = 0;
		return rc;
	}
	buf = malloc(SPILL_CHUNK);
	if (!buf)
		return -ENOMEM;
	for (uint64_t done = 0; !rc && done < e->len;) {
		size_t n = e->len - done > SPILL_CHUNK ? SPILL_CHUNK : (size_t)(e->len - done);

		rc = pread_full(u->spill_fd, buf, n, e->where + done);
		if (!rc)
			rc = pwrite_full(u->fd, buf, n, e->off + done);
		done += n;
	}
	free(buf);
	return rc;
}

int gm_undo_rollback(struct gm_undo *u, struct gm_error *err)
{
	struct level *l;
	int rc = 0, first_rc = 0;

	if (!u || u->depth == 0)
		return gm_error_set(err, -EINVAL, "undo: no operation in progress");
	l = &u->lv[u->depth - 1];
	/* Newest first: the oldest saved content of a range is what remains. */
	for (size_t i = u->n; i > l->first; i--) {
		rc = restore_entry(u, &u->e[i - 1]);
		if (rc && !first_rc)
			first_rc = rc;
	}
	drop_entries(u, l->first);
	level_free(l);
	u->depth--;
	if (first_rc)
		gm_error_set(err, first_rc, "undo: cannot restore the disk: %s", strerror(-first_rc));
	if (u->depth == 0) {
		if (u->mark_taken && !first_rc) {
			rc = gm_image_dirty_restore(u->img, &u->mark);
			if (rc && !first_rc) {
				first_rc = rc;
				gm_error_set(err, rc, "undo: cannot restore the cache state: %s", strerror(-rc));
			}
		}
		reset(u);
	}
	return first_rc;
}
