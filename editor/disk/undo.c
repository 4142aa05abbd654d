/* undo.c — see undo.h.
 *
 * Per level: the byte ranges already saved at this level, the ranges
 * allocated from free space inside it (fresh: never saved) and the ranges
 * freed inside it (in use when the level began: not fresh if allocated
 * again). The saved bytes are records of the image's write-ahead log
 * (wal.h); in memory an entry per record says where its bytes are, oldest
 * first; a level owns the entries from its first index on. */
#include "editor/disk/undo.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "editor/container/sparse.h"
#include "editor/container/tempfiles.h"
#include "editor/container/wal.h"
#include "editor/rangeset.h"

#define GM_UNDO_MAX_IMAGES 64
#define MEM_MAX (64u << 20)     /* saved-again bytes kept in memory at most */

struct entry {
	uint64_t off, len;      /* disk bytes */
	bool zero;              /* they were all zero: nothing stored */
	bool hole;              /* ... and a hole of the disk file */
	bool in_log;            /* a record of the log (else known in process only) */
	uint64_t where;         /* their copy in the log file, */
	void *mem;              /* or in memory */
};

struct level {
	size_t first;           /* first entry of this level */
	uint64_t wal_tail;      /* the log's end when the level began */
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
	uint64_t saved_bytes;
	uint64_t mem_used;
	/* what the log holds of this operation: a range saved again (by an
	 * inner level) is kept in memory only, the log's older copy being the
	 * one a recovery needs */
	struct gm_rangeset logged;
	struct gm_wal *wal;
	bool begun;             /* the operation's BEGIN is in the log */
	bool mark_taken;        /* the outermost level took the image's dirty mark */
	uint64_t torn_off, torn_len;   /* gm_undo_torn_ok */
	struct gm_image_dirty_mark mark;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gm_undo *table[GM_UNDO_MAX_IMAGES];

int gm_undo_get(struct gm_image *img, struct gm_undo **out, struct gm_error *err)
{
	struct gm_undo *u = NULL;
	char *path = NULL;
	int rc = 0;

	pthread_mutex_lock(&table_lock);
	for (size_t i = 0; i < GM_UNDO_MAX_IMAGES; i++) {
		if (table[i] && table[i]->img == img) {
			u = table[i];
			u->refs++;
			goto out;
		}
	}
	for (size_t i = 0; i < GM_UNDO_MAX_IMAGES; i++) {
		if (table[i])
			continue;
		u = calloc(1, sizeof(*u));
		if (!u) {
			rc = gm_error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		u->img = img;
		/* without waiting for the whole image: every read of old bytes
		 * waits for its range (gm_undo_prepare_write) */
		u->fd = gm_image_disk_fd(img);
		u->refs = 1;
		rc = gm_image_undo_path(img, &path);
		if (!rc)
			rc = gm_wal_open(path, u->fd, &u->wal, err);
		else
			gm_error_set(err, rc, "out of memory");
		free(path);
		if (rc) {
			free(u);
			u = NULL;
			goto out;
		}
		table[i] = u;
		goto out;
	}
	rc = gm_error_set(err, -ENOMEM, "too many images open");
out:
	pthread_mutex_unlock(&table_lock);
	if (!rc)
		*out = u;
	return rc;
}

static void entry_free(struct gm_undo *u, struct entry *e)
{
	u->saved_bytes -= e->len;
	if (e->mem) {
		u->mem_used -= e->len;
		free(e->mem);
		e->mem = NULL;
	}
}

static void drop_entries(struct gm_undo *u, size_t from)
{
	for (size_t i = from; i < u->n; i++)
		entry_free(u, &u->e[i]);
	u->n = from;
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
	gm_rangeset_free(&u->logged);
	gm_wal_close(u->wal);
	free(u);
}

unsigned gm_undo_depth(const struct gm_undo *u) { return u ? u->depth : 0; }

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
	/* (0 before the operation's BEGIN: everything after it) */
	u->lv[u->depth].wal_tail = u->begun ? gm_wal_tail(u->wal) : 0;
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


static int entry_reserve(struct gm_undo *u);

/* Appends all-zero [off, off+len) as entries along the disk file's holes
 * (a sparse cache's free space): holes are given back as holes, not as
 * written zeros. log: as records of the log too. */
static int add_zero_entries(struct gm_undo *u, uint64_t off, uint64_t len, bool log)
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
		if (!rc && log)
			rc = gm_wal_save(u->wal, off, stop - off, hole ? GM_WAL_HOLE : GM_WAL_ZERO, NULL);
		if (rc)
			return rc;
		u->e[u->n++] = (struct entry){ .off = off, .len = stop - off, .zero = true, .hole = hole,
					       .in_log = log };
		off = stop;
	}
	return 0;
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

/* The operation's BEGIN, before its first record (or its first write:
 * a write into fresh blocks saves nothing, yet the log must say that an
 * operation is under way). */
static int begin_op(struct gm_undo *u)
{
	int rc;

	if (u->begun)
		return 0;
	gm_wal_set_sync(u->wal, u->lv[0].exact);
	rc = gm_wal_begin(u->wal);
	if (rc)
		return rc;
	u->begun = true;
	gm_image_set_undo_op(u->img, gm_wal_op(u->wal));
	if (gm_image_info(u->img)->container == GM_CONTAINER_RAW)
		gm_wal_signal_arm(u->wal);   /* the image itself: a signal undoes it at once */
	gm_tempfiles_test_point("undo-begin");
	return 0;
}

/* The disk's [off, off+len) is a hole of the disk file (a sparse cache's
 * free space), known without reading it. */
static bool is_hole(struct gm_undo *u, uint64_t off, uint64_t len)
{
	off_t d = lseek(u->fd, (off_t)off, SEEK_DATA);

	return (d < 0 && errno == ENXIO) || (d >= 0 && (uint64_t)d >= off + len);
}

/* Saves [off, off+len) into the log (its first save in this operation):
 * holes without reading them, the rest in pieces of at most
 * GM_WAL_REC_MAX, all-zero pieces without their bytes. */
static int save_logged(struct gm_undo *u, uint64_t off, uint64_t len)
{
	int rc = 0;

	for (uint64_t end = off + len; !rc && off < end;) {
		uint64_t n = end - off > GM_WAL_REC_MAX ? GM_WAL_REC_MAX : end - off;
		unsigned char *buf = gm_wal_data_buf(u->wal);
		struct entry e = { .off = off, .len = n, .in_log = true };

		if (is_hole(u, off, n)) {
			rc = add_zero_entries(u, off, n, true);
		} else if (!(rc = entry_reserve(u)) && !(rc = gm_pread_zfill(u->fd, buf, (size_t)n, off))) {
			if (gm_is_zero(buf, (size_t)n))
				rc = add_zero_entries(u, off, n, true);
			else if (!(rc = gm_wal_save_buf(u->wal, off, buf, n, &e.where)))
				u->e[u->n++] = e;
		}
		if (!rc)
			rc = gm_rangeset_add(&u->logged, off, n);
		if (!rc)
			u->saved_bytes += n;
		off += n;
	}
	return rc;
}

/* Saves [off, off+len) again (the log has an older copy): in memory, for an
 * undo in process only; past MEM_MAX into the log all the same. */
static int save_again(struct gm_undo *u, uint64_t off, uint64_t len)
{
	struct entry e = { .off = off, .len = len };
	int rc;

	if (len > MEM_MAX || u->mem_used + len > MEM_MAX)
		return save_logged(u, off, len);
	if ((rc = entry_reserve(u)))
		return rc;
	/* (no look for holes: the range was written since its first save) */
	e.mem = malloc((size_t)len);
	if (!e.mem)
		return -ENOMEM;
	if ((rc = gm_pread_zfill(u->fd, e.mem, (size_t)len, off))) {
		free(e.mem);
		return rc;
	}
	if (gm_is_zero(e.mem, (size_t)len)) {
		free(e.mem);
		rc = add_zero_entries(u, off, len, false);
		if (!rc)
			u->saved_bytes += len;
		return rc;
	}
	u->mem_used += len;
	u->saved_bytes += len;
	u->e[u->n++] = e;
	return 0;
}

/* Saves the current contents of [off, off+len) for the innermost level. */
static int save_piece(void *priv, uint64_t off, uint64_t len)
{
	struct gm_undo *u = priv;
	struct level *l = &u->lv[u->depth - 1];
	int rc = gm_rangeset_add(&l->saved, off, len);

	for (uint64_t x = off, end = off + len; !rc && x < end;) {
		uint64_t until, stop;
		bool again = covered(&u->logged, x, &until);

		stop = until < end ? until : end;
		rc = again ? save_again(u, x, stop - x) : save_logged(u, x, stop - x);
		x = stop;
	}
	if (!rc)
		gm_tempfiles_test_point("undo-save");
	return rc;
}

int gm_undo_prepare_write(struct gm_undo *u, uint64_t off, uint64_t len)
{
	struct level *l;
	int rc;

	if (!u || u->depth == 0)
		return len ? gm_image_mark_dirty(u ? u->img : NULL, off, len) : 0;
	if (len == 0)
		return 0;
	/* An image opened lazily is still arriving: the old bytes are read
	 * (and the holes looked for) only once the range is there, or the
	 * log would keep what the reading then writes over. */
	if ((rc = gm_image_wait(u->img, off, len)))
		return rc;
	if (!u->mark_taken) {
		/* the first write of the outermost level: where the image's
		 * dirty state stood before it */
		rc = gm_image_dirty_save(u->img, &u->mark);
		if (rc)
			return rc;
		u->mark_taken = true;
	}
	if ((rc = begin_op(u)))
		return rc;
	l = &u->lv[u->depth - 1];
	if (!(u->torn_len && u->depth == 1 && !l->exact && off >= u->torn_off &&
	      off + len <= u->torn_off + u->torn_len)) {
		rc = for_uncovered(&l->saved, l->exact ? NULL : &l->fresh, off, len, save_piece, u);
		if (rc)
			return rc;
	}
	/* the old bytes are in the log: now the image may learn of the write */
	return gm_image_note_write(u->img, off, len);
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
	u->begun = false;
	gm_rangeset_clear(&u->logged);
	gm_image_set_undo_op(u->img, 0);
	gm_wal_signal_arm(NULL);
}

int gm_undo_commit(struct gm_undo *u)
{
	struct level *l, *p;
	sigset_t old;
	int rc = 0;

	if (!u || u->depth == 0)
		return -EINVAL;
	l = &u->lv[u->depth - 1];
	if (u->depth == 1) {
		/* The operation ends: the image learns its edits are committed
		 * (a tar.gz's cache state turns dirty), then the log says so.
		 * Seen from a signal handler, both happen at once. If the state
		 * cannot be saved, the level stays open for the caller to undo. */
		gm_tempfiles_block(&old);
		if (u->begun) {
			rc = gm_image_commit_edits(u->img);
			if (!rc)
				rc = gm_wal_commit(u->wal);
		}
		gm_tempfiles_unblock(&old);
		if (rc)
			return rc;
		gm_tempfiles_test_point("undo-commit");
		u->depth--;
		level_free(l);
		reset(u);
		return 0;
	}
	u->depth--;
	p = &u->lv[u->depth - 1];
	/* The child's entries of what the parent saved before need not stay
	 * (the parent's older copy wins); those kept in memory only go. */
	{
		size_t k = l->first;

		for (size_t i = l->first; i < u->n; i++) {
			struct entry *e = &u->e[i];

			if (!e->in_log && gm_rangeset_contains(&p->saved, e->off, e->len))
				entry_free(u, e);
			else
				u->e[k++] = *e;
		}
		u->n = k;
	}
	/* The parent inherits: what was saved (the content at the child's
	 * start was the parent's start content, or the parent saved it
	 * before), what was allocated from space free at the parent's start,
	 * what was freed of what the parent found in use. */
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
	int rc = 0;

	if (e->mem)
		return gm_pwrite_full(u->fd, e->mem, (size_t)e->len, e->off);
	if (e->hole && fallocate(u->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)e->off,
				 (off_t)e->len) == 0)
		return 0;
	if (e->zero) {
		for (uint64_t done = 0; !rc && done < e->len;) {
			size_t n = e->len - done > sizeof(zeros) ? sizeof(zeros) : (size_t)(e->len - done);

			rc = gm_pwrite_full(u->fd, zeros, n, e->off + done);
			done += n;
		}
		/* no room to write zeros (a full host disk): a hole reads as zeros */
		if (rc == -ENOSPC &&
		    fallocate(u->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)e->off,
			      (off_t)e->len) == 0)
			rc = 0;
		return rc;
	}
	/* a record holds GM_WAL_REC_MAX bytes at most: the log's buffer takes it */
	rc = gm_wal_read(u->wal, e->where, gm_wal_data_buf(u->wal), e->len);
	if (!rc)
		rc = gm_pwrite_full(u->fd, gm_wal_data_buf(u->wal), (size_t)e->len, e->off);
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
	if (first_rc)
		gm_error_set(err, first_rc, "undo: cannot restore the disk: %s", strerror(-first_rc));
	/* The log follows: an inner level's records go (the bytes are back);
	 * the outermost level's operation ends with an ABORT. Left in the
	 * file (on failure), they would only be replayed once more. */
	if (u->depth > 1) {
		for (size_t i = l->first; i < u->n; i++)
			if (u->e[i].in_log)
				(void)gm_rangeset_remove(&u->logged, u->e[i].off, u->e[i].len);
		(void)gm_wal_truncate(u->wal, l->wal_tail);
	} else if (u->begun && !first_rc)
		(void)gm_wal_abort(u->wal);
	drop_entries(u, l->first);
	level_free(l);
	u->depth--;
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
