/* wal.c — see wal.h.
 *
 * Reading a log (recovery, the signal path) never allocates: one pass
 * forward checks every record of the operation that starts at offset 64
 * and finds its last one; the undo then walks back along the prev offsets,
 * copying each saved range to the disk through a caller's buffer. */
#include "editor/container/wal.h"
#include "editor/container/cache.h"
#include "editor/container/sparse.h"

#include <errno.h>
#include <fcntl.h>
#include <isa-l/crc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define HDR_SIZE 64u
#define HDR_MAGIC "GMWAL01\n"
#define REC_MAGIC 0x52574d47u   /* "GMWR" */
#define RECOVER_BUF (64u << 10)

enum { T_BEGIN = 1, T_SAVE = 2, T_COMMIT = 3, T_ABORT = 4 };

struct hdr {
	char magic[8];
	uint64_t dev, ino;
	int64_t btime_sec;       /* birth time (0 where statx does not know it): */
	uint32_t btime_nsec;     /* a new file with a reused inode number differs */
	uint8_t pad[24];
	uint32_t crc;
};

struct rec {
	uint32_t magic;
	uint16_t type;
	uint16_t flags;
	uint64_t op;
	uint64_t off;            /* SAVE: disk offset; BEGIN: pid */
	uint64_t len;            /* SAVE: disk bytes; BEGIN: time */
	uint64_t prev;           /* offset of the record before, 0 for BEGIN */
	uint32_t dlen;           /* data bytes following */
	uint32_t crc;
};

_Static_assert(sizeof(struct hdr) == HDR_SIZE, "wal header size");
_Static_assert(sizeof(struct rec) == 48, "wal record size");

struct gm_wal {
	int fd;
	int disk_fd;
	bool persistent;
	bool sync;
	bool unsynced;           /* records written since the last fdatasync */
	unsigned char boot_id[16];   /* this boot's (BEGIN records carry it) */
	bool open_op;            /* BEGIN written, no COMMIT/ABORT yet */
	uint64_t op;             /* number of the current (or last) operation */
	uint64_t tail;           /* where the next record goes */
	uint64_t last;           /* offset of the last record of the operation */
	unsigned char *buf;      /* a record with its data (GM_WAL_REC_MAX) */
};

static bool test_nosync;      /* gm_wal_test_nosync */

/* --- plain I/O ------------------------------------------------------- */

/* Exactly len bytes, or -EIO when the file ends first. */
static int pread_exact(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = gm_pread_full(fd, buf, len, off);

	return n < 0 ? (int)n : (size_t)n == len ? 0 : -EIO;
}

static uint32_t crc(uint32_t c, const void *p, size_t len)
{
	return crc32_gzip_refl(c, (const unsigned char *)p, len);
}

static uint32_t hdr_crc(const struct hdr *h)
{
	struct hdr c = *h;

	c.crc = 0;
	return crc(0, &c, sizeof(c));
}

static uint32_t rec_crc(const struct rec *r)
{
	struct rec c = *r;

	c.crc = 0;
	return crc(0, &c, sizeof(c));
}

/* The header naming the disk disk_fd. 0 or -errno. */
static int hdr_make(struct hdr *h, int disk_fd)
{
	struct statx sx;

	memset(h, 0, sizeof(*h));
	if (statx(disk_fd, "", AT_EMPTY_PATH, STATX_INO | STATX_BTIME, &sx) < 0)
		return -errno;
	memcpy(h->magic, HDR_MAGIC, 8);
	h->dev = (uint64_t)makedev(sx.stx_dev_major, sx.stx_dev_minor);
	h->ino = sx.stx_ino;
	if (sx.stx_mask & STATX_BTIME) {
		h->btime_sec = sx.stx_btime.tv_sec;
		h->btime_nsec = sx.stx_btime.tv_nsec;
	}
	h->crc = hdr_crc(h);
	return 0;
}

/* The header at offset 0 is one of ours and names the disk disk_fd. */
static bool hdr_matches(int fd, int disk_fd)
{
	struct hdr h, want;

	if (pread_exact(fd, &h, sizeof(h), 0) || memcmp(h.magic, HDR_MAGIC, 8) ||
	    h.crc != hdr_crc(&h) || hdr_make(&want, disk_fd))
		return false;
	return !memcmp(&h, &want, sizeof(h));
}

/* This boot's id (/proc/sys/kernel/random/boot_id, 16 bytes; zeros if
 * unknown): an operation begun under another one was cut by a crash of the
 * machine, when writes not yet flushed may have been lost. */
static void boot_id(unsigned char id[16])
{
	char txt[64];
	unsigned k = 0;

	memset(id, 0, 16);
	gm_cache_boot_id(txt, sizeof(txt));
	for (size_t i = 0; txt[i] && k < 32; i++) {
		int c = txt[i], v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			continue;
		id[k / 2] = (unsigned char)(id[k / 2] << 4 | v);
		k++;
	}
}

/* --- reading an operation (no allocation: also the signal path) ----- */

struct scan {
	uint64_t op;
	uint64_t last;           /* offset of its last valid record */
	uint64_t end;            /* where the next record would go */
	bool ended;              /* it has a COMMIT or ABORT */
	long pid;
	int64_t time;
	unsigned saves;
	unsigned char boot_id[16];
};

/* Reads the record at off and checks it (data included, through buf).
 * 0, or -EINVAL when it is not a valid record. */
static int rec_read(int fd, uint64_t off, struct rec *r, unsigned char *buf, size_t buflen)
{
	uint32_t c;

	if (pread_exact(fd, r, sizeof(*r), off) || r->magic != REC_MAGIC)
		return -EINVAL;
	if (r->type < T_BEGIN || r->type > T_ABORT || r->dlen > GM_WAL_REC_MAX)
		return -EINVAL;
	if (r->type == T_SAVE && r->flags == GM_WAL_DATA && r->dlen != r->len)
		return -EINVAL;
	if (r->type == T_SAVE && r->flags != GM_WAL_DATA && r->dlen != 0)
		return -EINVAL;
	c = rec_crc(r);
	for (uint32_t done = 0; done < r->dlen;) {
		size_t n = r->dlen - done < buflen ? r->dlen - done : buflen;

		if (pread_exact(fd, buf, n, off + sizeof(*r) + done))
			return -EINVAL;
		c = crc(c, buf, n);
		done += (uint32_t)n;
	}
	return c == r->crc ? 0 : -EINVAL;
}

/* The operation whose BEGIN is at offset 64: its records in order until one
 * is invalid, of another operation, or ends it. -ENOENT when none. */
static int scan_op(int fd, struct scan *s, unsigned char *buf, size_t buflen)
{
	uint64_t off = HDR_SIZE, prev = 0;
	struct rec r;

	memset(s, 0, sizeof(*s));
	if (rec_read(fd, off, &r, buf, buflen) || r.type != T_BEGIN || r.prev != 0)
		return -ENOENT;
	s->op = r.op;
	s->pid = (long)r.off;
	s->time = (int64_t)r.len;
	if (r.dlen == sizeof(s->boot_id) &&
	    pread_exact(fd, s->boot_id, sizeof(s->boot_id), off + sizeof(r)))
		return -ENOENT;
	for (;;) {
		prev = off;
		off += sizeof(r) + r.dlen;
		s->last = prev;
		s->end = off;
		if (r.type == T_COMMIT || r.type == T_ABORT) {
			s->ended = true;
			return 0;
		}
		if (rec_read(fd, off, &r, buf, buflen) || r.op != s->op || r.prev != prev ||
		    r.type == T_BEGIN)
			return 0;
		if (r.type == T_SAVE)
			s->saves++;
	}
}

static int punch(int fd, uint64_t off, uint64_t len)
{
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0
	       ? -errno : 0;
}

/* Writes the range one SAVE record at roff kept back onto the disk. */
static int restore_rec(int fd, int disk_fd, uint64_t roff, const struct rec *r,
		       unsigned char *buf, size_t buflen)
{
	int rc = 0;

	if (r->flags == GM_WAL_HOLE && punch(disk_fd, r->off, r->len) == 0)
		return 0;
	if (r->flags != GM_WAL_DATA) {
		/* zeros (a hole that cannot be punched is written as zeros) */
		memset(buf, 0, buflen);
		for (uint64_t done = 0; !rc && done < r->len;) {
			size_t n = r->len - done < buflen ? (size_t)(r->len - done) : buflen;

			rc = gm_pwrite_full(disk_fd, buf, n, r->off + done);
			done += n;
		}
		/* no room to write zeros (a full host disk): a hole reads as zeros */
		if (rc == -ENOSPC && punch(disk_fd, r->off, r->len) == 0)
			rc = 0;
		return rc;
	}
	for (uint64_t done = 0; !rc && done < r->len;) {
		size_t n = r->len - done < buflen ? (size_t)(r->len - done) : buflen;

		rc = pread_exact(fd, buf, n, roff + sizeof(*r) + done);
		if (!rc)
			rc = gm_pwrite_full(disk_fd, buf, n, r->off + done);
		done += n;
	}
	return rc;
}

/* Appends an ABORT after the operation s (no allocation). */
static int append_end(int fd, const struct scan *s, uint16_t type)
{
	struct rec r = { .magic = REC_MAGIC, .type = type, .op = s->op, .prev = s->last };

	r.crc = rec_crc(&r);
	return gm_pwrite_full(fd, &r, sizeof(r), s->end);
}

/* Undoes the pending operation s: its SAVE records newest first, the disk
 * flushed, an ABORT appended and flushed. 0 or -errno. */
static int undo_op(int fd, int disk_fd, const struct scan *s, unsigned char *buf, size_t buflen)
{
	uint64_t off = s->last;
	int rc = 0, first = 0;

	while (off >= HDR_SIZE) {
		struct rec r;

		if (pread_exact(fd, &r, sizeof(r), off) || r.magic != REC_MAGIC)
			return -EIO;   /* checked by scan_op: the file changed under us */
		if (r.type == T_BEGIN)
			break;
		if (r.type == T_SAVE) {
			rc = restore_rec(fd, disk_fd, off, &r, buf, buflen);
			if (rc && !first)
				first = rc;
		}
		off = r.prev;
	}
	if (first)
		return first;
	if (fsync(disk_fd) < 0)
		return -errno;
	rc = append_end(fd, s, T_ABORT);
	if (!rc && fdatasync(fd) < 0)
		rc = -errno;
	return rc;
}

/* --- recovery -------------------------------------------------------- */

int gm_wal_recover(const char *path, int disk_fd, struct gm_wal_recovery *out,
		   struct gm_error *err)
{
	struct gm_wal_recovery r = { 0 };
	unsigned char *buf = NULL;
	struct scan s;
	int fd, rc = 0;

	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			goto out;
		return gm_error_set(err, -errno, "cannot open the undo log %s: %s", path,
				    strerror(errno));
	}
	buf = malloc(RECOVER_BUF);
	if (!buf) {
		rc = gm_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (!hdr_matches(fd, disk_fd) || scan_op(fd, &s, buf, RECOVER_BUF) || s.ended)
		goto out;
	rc = undo_op(fd, disk_fd, &s, buf, RECOVER_BUF);
	if (rc) {
		gm_error_set(err, rc, "cannot undo the unfinished edit of an interrupted gcemount "
			     "(undo log %s): %s", path, strerror(-rc));
		goto out;
	}
	r.rolled_back = true;
	{
		unsigned char now[16];

		boot_id(now);
		r.other_boot = memcmp(now, s.boot_id, sizeof(now)) != 0;
	}
	r.pid = s.pid;
	r.time = s.time;
	r.records = s.saves;
	r.op = s.op;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	if (!rc && out)
		*out = r;
	return rc;
}

bool gm_wal_pending(const char *path)
{
	unsigned char buf[4096];
	struct scan s;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	bool pending;

	if (fd < 0)
		return false;
	pending = scan_op(fd, &s, buf, sizeof(buf)) == 0 && !s.ended;
	close(fd);
	return pending;
}

/* --- writing --------------------------------------------------------- */

int gm_wal_open(const char *path, int disk_fd, struct gm_wal **out, struct gm_error *err)
{
	const char *dirs[] = { getenv("TMPDIR"), "/var/tmp", "/tmp" };
	struct gm_wal *w = calloc(1, sizeof(*w));
	struct hdr h;
	int rc;

	if (!w)
		return gm_error_set(err, -ENOMEM, "out of memory");
	w->fd = -1;
	w->disk_fd = disk_fd;
	w->buf = malloc(sizeof(struct rec) + GM_WAL_REC_MAX);
	if (!w->buf) {
		rc = gm_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = hdr_make(&h, disk_fd))) {
		gm_error_set(err, rc, "undo log: statx: %s", strerror(-rc));
		goto fail;
	}
	if (path) {
		w->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (w->fd < 0) {
			rc = gm_error_set(err, -errno, "cannot create the undo log %s: %s", path,
					  strerror(errno));
			goto fail;
		}
		w->persistent = true;
	} else {
		for (size_t i = 0; w->fd < 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++)
			if (dirs[i] && dirs[i][0] == '/')
				w->fd = open(dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (w->fd < 0) {
			rc = gm_error_set(err, -errno, "cannot create a temporary undo log: %s",
					  strerror(errno));
			goto fail;
		}
	}
	if (!w->persistent || !hdr_matches(w->fd, disk_fd)) {
		/* a log made for another disk (or none): start afresh */
		errno = 0;
		if (ftruncate(w->fd, 0) < 0 || (rc = gm_pwrite_full(w->fd, &h, sizeof(h), 0)) ||
		    (w->persistent && !test_nosync && fdatasync(w->fd) < 0)) {
			rc = gm_error_set(err, -errno ? -errno : -EIO, "cannot write the undo log %s: %s",
					  path ? path : "(temporary)", strerror(errno ? errno : EIO));
			goto fail;
		}
	}
	if (getrandom(&w->op, sizeof(w->op), GRND_NONBLOCK) != sizeof(w->op))
		w->op = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
	w->tail = HDR_SIZE;
	boot_id(w->boot_id);
	*out = w;
	return 0;
fail:
	gm_wal_close(w);
	return rc;
}

void gm_wal_close(struct gm_wal *w)
{
	if (!w)
		return;
	gm_wal_signal_arm(NULL);
	if (w->fd >= 0)
		close(w->fd);
	free(w->buf);
	free(w);
}

void gm_wal_test_nosync(bool on) { test_nosync = on; }
bool gm_wal_persistent(const struct gm_wal *w) { return w && w->persistent; }
uint64_t gm_wal_op(const struct gm_wal *w) { return w->op; }
unsigned char *gm_wal_data_buf(struct gm_wal *w) { return w->buf + sizeof(struct rec); }
void gm_wal_set_sync(struct gm_wal *w, bool on) { w->sync = on && w->persistent && !test_nosync; }
uint64_t gm_wal_tail(const struct gm_wal *w) { return w->tail; }

/* Appends r (and dlen bytes of data at w->buf + sizeof(r), already there). */
static int append(struct gm_wal *w, struct rec *r)
{
	int rc;

	r->magic = REC_MAGIC;
	r->op = w->op;
	r->prev = r->type == T_BEGIN ? 0 : w->last;
	r->crc = 0;
	r->crc = crc(rec_crc(r), w->buf + sizeof(*r), r->dlen);
	memcpy(w->buf, r, sizeof(*r));
	rc = gm_pwrite_full(w->fd, w->buf, sizeof(*r) + r->dlen, w->tail);
	if (rc)
		return rc;
	w->last = w->tail;
	w->tail += sizeof(*r) + r->dlen;
	w->unsynced = true;
	return 0;
}

int gm_wal_begin(struct gm_wal *w)
{
	struct rec r = { .type = T_BEGIN, .off = (uint64_t)getpid(), .len = (uint64_t)time(NULL) };
	int rc;

	if (++w->op == 0)
		w->op++;          /* 0 means "none" in a cache state */
	w->tail = HDR_SIZE;
	w->last = 0;
	memcpy(w->buf + sizeof(r), w->boot_id, sizeof(w->boot_id));
	r.dlen = sizeof(w->boot_id);
	rc = append(w, &r);
	if (rc)
		return rc;
	w->open_op = true;
	if (w->sync && fdatasync(w->fd) < 0)
		return -errno;
	w->unsynced = false;
	return 0;
}

int gm_wal_save_buf(struct gm_wal *w, uint64_t off, const void *buf, uint64_t len,
		    uint64_t *where)
{
	struct rec r = { .type = T_SAVE, .flags = GM_WAL_DATA, .off = off, .len = len,
			 .dlen = (uint32_t)len };

	if (!w->open_op || len > GM_WAL_REC_MAX)
		return -EINVAL;
	if (buf != w->buf + sizeof(r))
		memcpy(w->buf + sizeof(r), buf, (size_t)len);
	if (where)
		*where = w->tail + sizeof(r);
	return append(w, &r);
}

int gm_wal_save(struct gm_wal *w, uint64_t off, uint64_t len, enum gm_wal_save how,
		uint64_t *where)
{
	struct rec r = { .type = T_SAVE, .flags = (uint16_t)how, .off = off, .len = len };
	int rc;

	if (!w->open_op || (how == GM_WAL_DATA && len > GM_WAL_REC_MAX))
		return -EINVAL;
	if (how != GM_WAL_DATA)
		return append(w, &r);
	rc = gm_pread_zfill(w->disk_fd, w->buf + sizeof(r), (size_t)len, off);
	if (rc)
		return rc;
	return gm_wal_save_buf(w, off, w->buf + sizeof(r), len, where);
}

int gm_wal_read(struct gm_wal *w, uint64_t where, void *buf, uint64_t len)
{
	return pread_exact(w->fd, buf, (size_t)len, where);
}

int gm_wal_truncate(struct gm_wal *w, uint64_t tail)
{
	struct rec r;
	int rc;

	if (!w->open_op || tail > w->tail)
		return -EINVAL;
	if (tail < HDR_SIZE + sizeof(r))
		tail = HDR_SIZE + sizeof(r);   /* the BEGIN stays */
	if (tail == w->tail)
		return 0;
	/* the record before tail becomes the last one */
	for (uint64_t off = w->last; off >= HDR_SIZE;) {
		if ((rc = pread_exact(w->fd, &r, sizeof(r), off)))
			return rc;
		if (off + sizeof(r) + r.dlen <= tail) {
			if (ftruncate(w->fd, (off_t)tail) < 0)
				return -errno;
			w->last = off;
			w->tail = tail;
			return 0;
		}
		if (r.type == T_BEGIN)
			break;
		off = r.prev;
	}
	return -EINVAL;   /* the BEGIN itself cannot go */
}

static int end_op(struct gm_wal *w, uint16_t type)
{
	struct rec r = { .type = type };
	int rc;

	if (!w->open_op)
		return 0;
	if (type == T_COMMIT && w->sync && fdatasync(w->disk_fd) < 0)
		return -errno;
	rc = append(w, &r);
	if (!rc && w->sync && fdatasync(w->fd) < 0)
		rc = -errno;
	/* Giving back the room of a big operation ends it too (no BEGIN is
	 * left), and so does a full disk that takes no record: truncating
	 * needs no room. */
	if (rc || w->tail > (64u << 20)) {
		if (ftruncate(w->fd, HDR_SIZE) < 0 || (w->sync && fdatasync(w->fd) < 0))
			return rc ? rc : -errno;
		w->tail = HDR_SIZE;
		rc = 0;
	}
	w->open_op = false;
	w->unsynced = false;
	return 0;
}

int gm_wal_commit(struct gm_wal *w) { return end_op(w, T_COMMIT); }
int gm_wal_abort(struct gm_wal *w) { return end_op(w, T_ABORT); }

/* --- the signal path ------------------------------------------------- */

static volatile sig_atomic_t sig_fd = -1, sig_disk_fd = -1;

void gm_wal_signal_arm(struct gm_wal *w)
{
	sig_fd = -1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (w) {
		sig_disk_fd = w->disk_fd;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		sig_fd = w->fd;
	}
}

int gm_wal_signal_rollback(void)
{
	static unsigned char buf[65536];
	int fd = sig_fd, disk_fd = sig_disk_fd;
	struct scan s;

	if (fd < 0)
		return 0;
	sig_fd = -1;
	if (scan_op(fd, &s, buf, sizeof(buf)) || s.ended)
		return 0;
	return undo_op(fd, disk_fd, &s, buf, sizeof(buf)) ? -1 : 1;
}
