/* fat.c — see fat.h: a bounded, read-only FAT12/16/32 + VFAT reader. */
#include "editor/fs/fat.h"
#include "editor/container/image.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DENT 32u
#define MAX_DIR_SLOTS 65536u      /* the FAT specification's limit per directory */
#define FATWIN 4096u
#define ATTR_RO 0x01
#define ATTR_VOLUME 0x08
#define ATTR_DIR 0x10
#define ATTR_LFN 0x0f
#define MAX_PARENTS 65536u

struct parent_link {
	gm_fat_ino_t dir, parent;
};

struct gm_fat {
	int fd;
	uint64_t off, size;            /* the partition on the disk */
	unsigned type;                 /* 12, 16, 32 */
	uint32_t bps, cs;              /* bytes per sector, per cluster */
	uint64_t fat_off, fat_bytes;   /* the active FAT */
	uint64_t root_off, root_bytes; /* FAT12/16 fixed root directory */
	uint64_t data_off;
	uint32_t nclusters;            /* data clusters: numbers 2 .. nclusters+1 */
	uint32_t root_clus;            /* FAT32 */
	char label[12];
	struct gm_fat_opts o;
	struct gm_error err;
	unsigned char win[FATWIN];     /* a window on the FAT */
	uint64_t win_off;
	size_t win_len;
	struct parent_link *parents;
	size_t nparents;
	/* last position a read reached, to keep sequential reads linear */
	gm_fat_ino_t rd_ino;
	uint32_t rd_idx, rd_clus;
	bool free_known;
	uint32_t free_clusters;
};

static uint16_t rd16(const unsigned char *b) { return (uint16_t)(b[0] | b[1] << 8); }
static uint32_t rd32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int fail(struct gm_fat *f, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct gm_fat *f, int rc, const char *fmt, ...)
{
	char msg[GM_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return gm_error_set(&f->err, rc, "%s", msg);
}

const char *gm_fat_errmsg(const struct gm_fat *f) { return f ? gm_error_msg(&f->err) : "no FAT filesystem"; }
const char *gm_fat_type(const struct gm_fat *f)
{
	return f->type == 12 ? "FAT12" : f->type == 16 ? "FAT16" : "FAT32";
}
const char *gm_fat_label(const struct gm_fat *f) { return f->label; }

/* pread of [pos, pos+n) of the partition; -EIO unless all of it is inside. */
static int rd(struct gm_fat *f, uint64_t pos, void *buf, size_t n)
{
	ssize_t got;

	if (pos > f->size || n > f->size - pos)
		return fail(f, -EUCLEAN, "the FAT filesystem points past its partition");
	if (f->o.wait_for && gm_image_wait(f->o.wait_for, f->off + pos, n))
		return fail(f, -EIO, "reading the FAT filesystem: the image is damaged");
	got = pread(f->fd, buf, n, (off_t)(f->off + pos));
	if (got != (ssize_t)n)
		return fail(f, -EIO, "reading the FAT filesystem: %s", got < 0 ? strerror(errno) : "short read");
	return 0;
}

/* n (<= 4) bytes at byte o of the active FAT. */
static int fat_bytes(struct gm_fat *f, uint64_t o, size_t n, unsigned char *out)
{
	if (o + n > f->fat_bytes)
		return fail(f, -EUCLEAN, "the FAT is shorter than its cluster count");
	if (o < f->win_off || o + n > f->win_off + f->win_len) {
		uint64_t start = o - o % FATWIN;
		size_t len = f->fat_bytes - start < FATWIN ? (size_t)(f->fat_bytes - start) : FATWIN;
		int rc;

		if (o + n > start + len)   /* straddles the window: start it at o */
			start = o, len = f->fat_bytes - o < FATWIN ? (size_t)(f->fat_bytes - o) : FATWIN;
		rc = rd(f, f->fat_off + start, f->win, len);
		if (rc) {
			f->win_len = 0;
			return rc;
		}
		f->win_off = start;
		f->win_len = len;
	}
	memcpy(out, f->win + (o - f->win_off), n);
	return 0;
}

/* The FAT entry of cluster c (masked to its width). */
static int fat_entry(struct gm_fat *f, uint32_t c, uint32_t *v)
{
	unsigned char b[4];
	int rc;

	switch (f->type) {
	case 12:
		rc = fat_bytes(f, (uint64_t)c + c / 2, 2, b);
		if (!rc)
			*v = c & 1 ? (uint32_t)rd16(b) >> 4 : rd16(b) & 0xfffu;
		return rc;
	case 16:
		rc = fat_bytes(f, (uint64_t)c * 2, 2, b);
		if (!rc)
			*v = rd16(b);
		return rc;
	default:
		rc = fat_bytes(f, (uint64_t)c * 4, 4, b);
		if (!rc)
			*v = rd32(b) & 0x0fffffffu;
		return rc;
	}
}

static bool valid_cluster(const struct gm_fat *f, uint32_t c)
{
	return c >= 2 && c - 2 < f->nclusters;
}

/* The cluster after c: 0 at the end of the chain, or -EUCLEAN. */
static int next_cluster(struct gm_fat *f, uint32_t c, uint32_t *next)
{
	uint32_t eoc = f->type == 12 ? 0xff8u : f->type == 16 ? 0xfff8u : 0x0ffffff8u;
	uint32_t v;
	int rc = fat_entry(f, c, &v);

	if (rc)
		return rc;
	if (v >= eoc) {
		*next = 0;
		return 0;
	}
	if (!valid_cluster(f, v))
		return fail(f, -EUCLEAN, "the FAT filesystem is damaged: cluster %u is followed by %s %u",
			    c, v == 0 ? "a free cluster" : "an invalid cluster", v);
	*next = v;
	return 0;
}

static uint64_t cluster_pos(const struct gm_fat *f, uint32_t c)
{
	return f->data_off + (uint64_t)(c - 2) * f->cs;
}

/* ---- directory entries ---- */

static uint8_t sfn_checksum(const unsigned char *name11)
{
	uint8_t sum = 0;

	for (int i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) ? 0x80 : 0) + (sum >> 1) + name11[i]);
	return sum;
}

struct lfn_state {
	uint16_t name[20 * 13 + 1];
	int next;                   /* the sequence number expected next; 0 = complete */
	bool active;
	uint8_t chk;
};

/* Long-name entry e: the kernel's rules (a sequence starts with the 0x40 flag
 * and counts down; every piece carries the same checksum). */
static void lfn_add(struct lfn_state *l, const unsigned char *e)
{
	static const int pos[13] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
	int seq = e[0] & 0x1f;

	if (e[0] & 0x40) {
		if (seq < 1 || seq > 20) {
			l->active = false;
			return;
		}
		l->active = true;
		l->chk = e[13];
		memset(l->name, 0, sizeof(l->name));
	} else if (!l->active || seq != l->next || e[13] != l->chk) {
		l->active = false;
		return;
	}
	for (int i = 0; i < 13; i++)
		l->name[(seq - 1) * 13 + i] = rd16(e + pos[i]);
	l->next = seq - 1;
}

/* UTF-16 long name to UTF-8; false when it is not a usable name. */
static bool lfn_utf8(const uint16_t *u, char *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < 20 * 13 && u[i] && u[i] != 0xffff; i++) {
		uint32_t cp = u[i];
		unsigned char b[4];
		size_t k;

		if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < 20 * 13 && u[i + 1] >= 0xdc00 && u[i + 1] <= 0xdfff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (u[i + 1] - 0xdc00u);
			i++;
		} else if (cp >= 0xd800 && cp <= 0xdfff) {
			return false;
		}
		if (cp < 0x20 || cp == '/')
			return false;
		if (cp < 0x80) {
			b[0] = (unsigned char)cp, k = 1;
		} else if (cp < 0x800) {
			b[0] = (unsigned char)(0xc0 | cp >> 6), b[1] = (unsigned char)(0x80 | (cp & 0x3f)), k = 2;
		} else if (cp < 0x10000) {
			b[0] = (unsigned char)(0xe0 | cp >> 12), b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			b[2] = (unsigned char)(0x80 | (cp & 0x3f)), k = 3;
		} else {
			b[0] = (unsigned char)(0xf0 | cp >> 18), b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
			b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (unsigned char)(0x80 | (cp & 0x3f));
			k = 4;
		}
		if (n + k >= cap)
			return false;
		memcpy(out + n, b, k);
		n += k;
	}
	out[n] = '\0';
	return n > 0 && strcmp(out, ".") && strcmp(out, "..");
}

/* 8.3 name with the NT case flags (byte 12); bytes outside printable ASCII
 * become '_' (the kernel would map them through codepage 437). */
static void sfn_name(const unsigned char *e, char *out)
{
	size_t n = 0;

	for (int i = 0; i < 11; i++) {
		unsigned char c = e[i];

		if (i == 0 && c == 0x05)
			c = 0xe5;
		if (c == ' ')
			continue;
		if (i == 8 && n > 0)
			out[n++] = '.';
		if (c >= 'A' && c <= 'Z' && (e[12] & (i < 8 ? 0x08 : 0x10)))
			c = (unsigned char)(c + 32);
		if (c < 0x20 || c >= 0x7f || c == '/')
			c = '_';
		out[n++] = (char)c;
	}
	if (n && out[n - 1] == '.')
		n--;
	out[n] = '\0';
}

/* Called for each live entry of a directory: long (or 8.3) name, the 8.3
 * name, the 32-byte entry, its inode number, and its slot index. Return
 * non-zero to stop. */
typedef int (*entry_fn)(struct gm_fat *f, void *priv, const char *name, const char *sfn,
			const unsigned char *e, gm_fat_ino_t ino, uint32_t slot);

static uint32_t dent_cluster(const struct gm_fat *f, const unsigned char *e)
{
	return (f->type == 32 ? (uint32_t)rd16(e + 20) << 16 : 0) | rd16(e + 26);
}

/* Runs fn over the entries of a region of slots (one cluster, or the fixed
 * root); *done set at the end marker. */
static int walk_region(struct gm_fat *f, unsigned char *buf, uint64_t pos, uint64_t len,
		       uint32_t *slot, struct lfn_state *l, bool *done, entry_fn fn, void *priv)
{
	uint64_t at = 0;
	int rc;

	while (at < len) {
		size_t chunk = len - at < f->cs ? (size_t)(len - at) : f->cs;

		rc = rd(f, pos + at, buf, chunk);
		if (rc)
			return rc;
		for (size_t i = 0; i + DENT <= chunk; i += DENT, (*slot)++) {
			const unsigned char *e = buf + i;
			char name[NAME_MAX + 1], sfn[13];

			if (*slot >= MAX_DIR_SLOTS)
				return fail(f, -EUCLEAN, "the FAT filesystem is damaged: a directory has more "
					    "than %u entries", MAX_DIR_SLOTS);
			if (e[0] == 0x00) {
				*done = true;
				return 0;
			}
			if (e[0] == 0xe5) {
				l->active = false;
				continue;
			}
			if ((e[11] & 0x3f) == ATTR_LFN) {
				lfn_add(l, e);
				continue;
			}
			if (e[11] & ATTR_VOLUME) {
				l->active = false;
				continue;
			}
			if (e[0] == '.' && (!memcmp(e, ".          ", 11) || !memcmp(e, "..         ", 11))) {
				l->active = false;
				continue;
			}
			sfn_name(e, sfn);
			if (!(l->active && l->next == 0 && l->chk == sfn_checksum(e) &&
			      lfn_utf8(l->name, name, sizeof(name))))
				memcpy(name, sfn, sizeof(sfn));
			l->active = false;
			/* blanks and dots only ("  . ", "..x" with spaces): no usable name */
			if (!name[0] || !strcmp(name, ".") || !strcmp(name, ".."))
				continue;
			rc = fn(f, priv, name, sfn, e, (pos + at + i) / DENT + 2, *slot);
			if (rc)
				return rc;
		}
		at += chunk;
	}
	return 0;
}

/* Runs fn over the live entries of the directory starting at cluster start
 * (0: the root). A buffer of its own, so that fn may call back in. */
static int walk_dir(struct gm_fat *f, uint32_t start, entry_fn fn, void *priv)
{
	struct lfn_state *l = calloc(1, sizeof(*l));
	unsigned char *buf = malloc(f->cs);
	uint32_t slot = 0, c = start, steps = 0;
	bool done = false;
	int rc = 0;

	if (!l || !buf) {
		rc = fail(f, -ENOMEM, "out of memory");
		goto out;
	}
	if (start == 0 && f->type != 32) {
		rc = walk_region(f, buf, f->root_off, f->root_bytes, &slot, l, &done, fn, priv);
		goto out;
	}
	if (start == 0)
		c = f->root_clus;
	while (c && !done) {
		if (!valid_cluster(f, c) || ++steps > f->nclusters) {
			rc = fail(f, -EUCLEAN, "the FAT filesystem is damaged: a directory's cluster chain "
				  "is invalid or loops");
			goto out;
		}
		rc = walk_region(f, buf, cluster_pos(f, c), f->cs, &slot, l, &done, fn, priv);
		if (rc)
			goto out;
		rc = next_cluster(f, c, &c);
		if (rc)
			goto out;
	}
out:
	free(l);
	free(buf);
	return rc;
}

/* The 32-byte entry of ino (not the root). */
static int load_dent(struct gm_fat *f, gm_fat_ino_t ino, unsigned char *e)
{
	uint64_t pos;
	int rc;

	if (ino < 2 || ino - 2 > (f->size - DENT) / DENT)
		return fail(f, -ENOENT, "no FAT inode %llu", (unsigned long long)ino);
	pos = (ino - 2) * DENT;
	rc = rd(f, pos, e, DENT);
	if (rc)
		return rc;
	if (e[0] == 0 || e[0] == 0xe5 || (e[11] & 0x3f) == ATTR_LFN || (e[11] & ATTR_VOLUME))
		return fail(f, -ESTALE, "FAT inode %llu is no longer a file", (unsigned long long)ino);
	return 0;
}

/* The first cluster of directory ino (0 means the root). */
static int dir_start(struct gm_fat *f, gm_fat_ino_t ino, uint32_t *start)
{
	unsigned char e[DENT];
	int rc;

	if (ino == GM_FAT_ROOT_INO) {
		*start = 0;
		return 0;
	}
	rc = load_dent(f, ino, e);
	if (rc)
		return rc;
	if (!(e[11] & ATTR_DIR))
		return fail(f, -ENOTDIR, "not a directory");
	*start = dent_cluster(f, e);
	if (!valid_cluster(f, *start))
		return fail(f, -EUCLEAN, "the FAT filesystem is damaged: a directory starts at cluster %u",
			    *start);
	return 0;
}

static void remember_parent(struct gm_fat *f, gm_fat_ino_t dir, gm_fat_ino_t parent)
{
	for (size_t i = 0; i < f->nparents; i++)
		if (f->parents[i].dir == dir) {
			f->parents[i].parent = parent;
			return;
		}
	if (f->nparents % 64 == 0) {
		struct parent_link *p;

		if (f->nparents >= MAX_PARENTS)
			return;
		p = realloc(f->parents, (f->nparents + 64) * sizeof(*p));
		if (!p)
			return;
		f->parents = p;
	}
	f->parents[f->nparents++] = (struct parent_link){ dir, parent };
}

gm_fat_ino_t gm_fat_parent(struct gm_fat *f, gm_fat_ino_t dir)
{
	for (size_t i = 0; i < f->nparents; i++)
		if (f->parents[i].dir == dir)
			return f->parents[i].parent;
	return GM_FAT_ROOT_INO;
}

/* ---- lookup ---- */

struct lookup_ctx {
	const char *want;
	gm_fat_ino_t ino;
	bool is_dir;
};

static bool ascii_caseeq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		if (x != y)
			return false;
	}
	return *a == *b;
}

static int lookup_one(struct gm_fat *f, void *priv, const char *name, const char *sfn,
		      const unsigned char *e, gm_fat_ino_t ino, uint32_t slot)
{
	struct lookup_ctx *c = priv;

	if (!ascii_caseeq(name, c->want) && !ascii_caseeq(sfn, c->want))
		return 0;
	c->ino = ino;
	c->is_dir = (e[11] & ATTR_DIR) != 0;
	return 1;
}

int gm_fat_lookup(struct gm_fat *f, gm_fat_ino_t dir, const char *name, gm_fat_ino_t *ino)
{
	struct lookup_ctx c = { .want = name };
	uint32_t start;
	int rc;

	if (!strcmp(name, ".")) {
		*ino = dir;
		return 0;
	}
	if (!strcmp(name, "..")) {
		*ino = gm_fat_parent(f, dir);
		return 0;
	}
	rc = dir_start(f, dir, &start);
	if (rc)
		return rc;
	rc = walk_dir(f, start, lookup_one, &c);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return fail(f, -ENOENT, "%s: no such file or directory", name);
	if (c.is_dir)
		remember_parent(f, c.ino, dir);
	*ino = c.ino;
	return 0;
}

/* ---- attributes ---- */

/* DOS date and time as UTC (the vfat driver's default on a UTC system). */
static time_t dos_time(uint16_t date, uint16_t tm)
{
	struct tm t = { 0 };

	if (date == 0)
		return 0;
	t.tm_year = 80 + (date >> 9);
	t.tm_mon = ((date >> 5) & 0xf) - 1;
	t.tm_mday = date & 0x1f;
	t.tm_hour = tm >> 11;
	t.tm_min = (tm >> 5) & 0x3f;
	t.tm_sec = (tm & 0x1f) * 2;
	if (t.tm_mon < 0 || t.tm_mon > 11 || t.tm_mday < 1 || t.tm_hour > 23 || t.tm_min > 59 ||
	    t.tm_sec > 59)
		return 0;
	return timegm(&t);
}

/* Bytes a chain holds (bounded walk). */
static int chain_bytes(struct gm_fat *f, uint32_t c, uint64_t *bytes)
{
	uint32_t steps = 0;
	int rc;

	*bytes = 0;
	while (c) {
		if (!valid_cluster(f, c) || ++steps > f->nclusters)
			return fail(f, -EUCLEAN, "the FAT filesystem is damaged: a cluster chain is invalid "
				    "or loops");
		*bytes += f->cs;
		rc = next_cluster(f, c, &c);
		if (rc)
			return rc;
	}
	return 0;
}

int gm_fat_getattr(struct gm_fat *f, gm_fat_ino_t ino, struct stat *st)
{
	mode_t dmask = f->o.masks_set ? f->o.dmask : 022, fmask = f->o.masks_set ? f->o.fmask : 022;
	unsigned char e[DENT];
	uint64_t bytes = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = f->o.uid;
	st->st_gid = f->o.gid;
	st->st_blksize = f->cs;
	st->st_nlink = 1;
	if (ino == GM_FAT_ROOT_INO) {
		st->st_mode = S_IFDIR | (0777 & ~dmask);
		if (f->type == 32 && (rc = chain_bytes(f, f->root_clus, &bytes)))
			return rc;
		st->st_size = (off_t)(f->type == 32 ? bytes : f->root_bytes);
		st->st_blocks = st->st_size / 512;
		return 0;
	}
	rc = load_dent(f, ino, e);
	if (rc)
		return rc;
	if (e[11] & ATTR_DIR) {
		st->st_mode = S_IFDIR | (0777 & ~dmask);
		rc = chain_bytes(f, dent_cluster(f, e), &bytes);
		if (rc)
			return rc;
		st->st_size = (off_t)bytes;
	} else {
		st->st_mode = S_IFREG | (0777 & ~fmask);
		if (e[11] & ATTR_RO)
			st->st_mode &= ~(mode_t)0222;
		st->st_size = rd32(e + 28);
	}
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_mtim.tv_sec = dos_time(rd16(e + 24), rd16(e + 22));
	st->st_ctim = st->st_mtim;
	st->st_atim.tv_sec = dos_time(rd16(e + 18), 0);
	return 0;
}

/* ---- data ---- */

ssize_t gm_fat_read(struct gm_fat *f, gm_fat_ino_t ino, void *buf, size_t len, uint64_t off)
{
	unsigned char e[DENT];
	uint64_t size;
	uint32_t idx, c, want_idx;
	size_t done = 0;
	int rc;

	if (ino == GM_FAT_ROOT_INO)
		return fail(f, -EISDIR, "is a directory");
	rc = load_dent(f, ino, e);
	if (rc)
		return rc;
	if (e[11] & ATTR_DIR)
		return fail(f, -EISDIR, "is a directory");
	size = rd32(e + 28);
	if (off >= size || len == 0)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	want_idx = (uint32_t)(off / f->cs);
	if (f->rd_ino == ino && f->rd_idx <= want_idx) {
		idx = f->rd_idx;
		c = f->rd_clus;
	} else {
		idx = 0;
		c = dent_cluster(f, e);
	}
	while (done < len) {
		uint64_t in = (off + done) % f->cs;
		size_t n = f->cs - in < len - done ? (size_t)(f->cs - in) : len - done;

		while (idx < (off + done) / f->cs) {
			if (!valid_cluster(f, c))
				break;
			rc = next_cluster(f, c, &c);
			if (rc)
				return rc;
			idx++;
		}
		if (!valid_cluster(f, c) || idx > f->nclusters)
			return fail(f, -EUCLEAN, "the FAT filesystem is damaged: a file's cluster chain is "
				    "shorter than its size");
		rc = rd(f, cluster_pos(f, c) + in, (char *)buf + done, n);
		if (rc)
			return rc;
		done += n;
		f->rd_ino = ino;
		f->rd_idx = idx;
		f->rd_clus = c;
	}
	return (ssize_t)done;
}

/* ---- readdir ---- */

struct readdir_ctx {
	gm_fat_dirent_fn fn;
	void *priv;
	gm_fat_ino_t dir;
	uint64_t off;
};

static int readdir_one(struct gm_fat *f, void *priv, const char *name, const char *sfn,
		       const unsigned char *e, gm_fat_ino_t ino, uint32_t slot)
{
	struct readdir_ctx *c = priv;
	uint64_t cookie = (uint64_t)slot + 3;

	if (cookie <= c->off)
		return 0;
	if (e[11] & ATTR_DIR)
		remember_parent(f, ino, c->dir);
	return c->fn(c->priv, name, strlen(name), ino, (e[11] & ATTR_DIR) ? DT_DIR : DT_REG, cookie) ? 1 : 0;
}

int gm_fat_readdir(struct gm_fat *f, gm_fat_ino_t dir, uint64_t off, gm_fat_dirent_fn fn, void *priv)
{
	struct readdir_ctx c = { fn, priv, dir, off };
	uint32_t start;
	int rc = dir_start(f, dir, &start);

	if (rc)
		return rc;
	if (off < 1 && fn(priv, ".", 1, dir, DT_DIR, 1))
		return 0;
	if (off < 2 && fn(priv, "..", 2, gm_fat_parent(f, dir), DT_DIR, 2))
		return 0;
	rc = walk_dir(f, start, readdir_one, &c);
	return rc < 0 ? rc : 0;
}

int gm_fat_statfs(struct gm_fat *f, struct statvfs *sv)
{
	memset(sv, 0, sizeof(*sv));
	if (!f->free_known) {
		uint32_t n = 0, v;

		for (uint32_t c = 2; c - 2 < f->nclusters; c++) {
			if (fat_entry(f, c, &v))
				break;
			n += v == 0;
		}
		f->free_clusters = n;
		f->free_known = true;
	}
	sv->f_bsize = f->cs;
	sv->f_frsize = f->cs;
	sv->f_blocks = f->nclusters;
	sv->f_bfree = f->free_clusters;
	sv->f_bavail = f->free_clusters;
	sv->f_flag = ST_RDONLY;
	sv->f_namemax = 255;
	return 0;
}

/* ---- open ---- */

static int volume_label_one(struct gm_fat *f, void *priv, const char *name, const char *sfn,
			    const unsigned char *e, gm_fat_ino_t ino, uint32_t slot)
{
	return 0;
}

static void trim_label(char *out, const unsigned char *raw)
{
	size_t n = 11;

	memcpy(out, raw, 11);
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\0'))
		n--;
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f)
			out[i] = '_';
	if (!strcmp(out, "NO NAME"))
		out[0] = '\0';
}

static int parse_boot(struct gm_fat *f, const unsigned char *b, struct gm_error *err)
{
	uint32_t bps = rd16(b + 11), spc = b[13], rsvd = rd16(b + 14), nfats = b[16];
	uint32_t root_ents = rd16(b + 17), fatsz = rd16(b + 22), tot = rd16(b + 19);
	uint64_t root_secs, meta, fat_need;

	if ((b[0] != 0xeb && b[0] != 0xe9) || b[510] != 0x55 || b[511] != 0xaa)
		return gm_error_set(err, -EINVAL, "no FAT boot sector");
	if ((bps != 512 && bps != 1024 && bps != 2048 && bps != 4096) || spc == 0 || (spc & (spc - 1)) ||
	    rsvd == 0 || nfats == 0)
		return gm_error_set(err, -EINVAL, "the FAT boot sector is not valid (sector size %u, "
				    "%u sectors per cluster, %u reserved, %u FATs)", bps, spc, rsvd, nfats);
	if (fatsz == 0)
		fatsz = rd32(b + 36);
	if (tot == 0)
		tot = rd32(b + 32);
	if (fatsz == 0 || tot == 0)
		return gm_error_set(err, -EINVAL, "the FAT boot sector gives no size");
	if ((uint64_t)tot * bps > f->size)
		return gm_error_set(err, -EUCLEAN, "the FAT filesystem (%llu bytes) is larger than its "
				    "partition (%llu bytes)", (unsigned long long)tot * bps,
				    (unsigned long long)f->size);
	root_secs = ((uint64_t)root_ents * DENT + bps - 1) / bps;
	meta = rsvd + (uint64_t)nfats * fatsz + root_secs;
	if (meta >= tot)
		return gm_error_set(err, -EUCLEAN, "the FAT filesystem has no room for data");
	f->bps = bps;
	f->cs = bps * spc;
	f->nclusters = (uint32_t)((tot - meta) / spc);
	if (f->nclusters == 0 || f->nclusters > 0x0ffffff5u)
		return gm_error_set(err, -EUCLEAN, "the FAT filesystem has an impossible cluster count");
	f->type = f->nclusters < 4085 ? 12 : f->nclusters < 65525 ? 16 : 32;
	if ((f->type == 32) != (root_ents == 0) || (f->type == 32 && rd16(b + 22) != 0))
		return gm_error_set(err, -EUCLEAN, "the FAT boot sector is inconsistent (%u clusters but "
				    "%u root entries)", f->nclusters, root_ents);
	fat_need = f->type == 12 ? ((uint64_t)f->nclusters + 2) * 3 / 2 + 1 :
		   ((uint64_t)f->nclusters + 2) * (f->type == 16 ? 2 : 4);
	f->fat_bytes = (uint64_t)fatsz * bps;
	if (fat_need > f->fat_bytes)
		return gm_error_set(err, -EUCLEAN, "the FAT (%llu bytes) is too small for %u clusters",
				    (unsigned long long)f->fat_bytes, f->nclusters);
	f->fat_off = (uint64_t)rsvd * bps;
	if (f->type == 32 && (rd16(b + 40) & 0x80)) {   /* mirroring off: one active FAT */
		unsigned active = rd16(b + 40) & 0xf;

		if (active >= nfats)
			return gm_error_set(err, -EUCLEAN, "the FAT boot sector names FAT %u of %u", active, nfats);
		f->fat_off += (uint64_t)active * f->fat_bytes;
	}
	f->root_off = (rsvd + (uint64_t)nfats * fatsz) * bps;
	f->root_bytes = root_secs * bps;
	f->data_off = meta * bps;
	if (f->type == 32) {
		f->root_clus = rd32(b + 44);
		if (!valid_cluster(f, f->root_clus))
			return gm_error_set(err, -EUCLEAN, "the FAT32 root directory cluster %u is invalid",
					    f->root_clus);
		trim_label(f->label, b + 71);
	} else {
		trim_label(f->label, b + 43);
	}
	return 0;
}

int gm_fat_open(int fd, uint64_t offset, uint64_t size, const struct gm_fat_opts *opts,
		struct gm_fat **out, struct gm_error *err)
{
	unsigned char boot[512];
	struct gm_fat *f;
	ssize_t n;
	int rc;

	if (size < sizeof(boot))
		return gm_error_set(err, -EINVAL, "too small for a FAT filesystem");
	if (opts && opts->wait_for && gm_image_wait(opts->wait_for, offset, sizeof(boot)))
		return gm_error_set(err, -EIO, "cannot read the FAT boot sector: the image is damaged");
	n = pread(fd, boot, sizeof(boot), (off_t)offset);
	if (n != (ssize_t)sizeof(boot))
		return gm_error_set(err, -EIO, "cannot read the FAT boot sector");
	f = calloc(1, sizeof(*f));
	if (!f)
		return gm_error_set(err, -ENOMEM, "out of memory");
	f->fd = fd;
	f->off = offset;
	f->size = size;
	if (opts)
		f->o = *opts;
	rc = parse_boot(f, boot, err);
	if (rc)
		goto fail;
	/* The root must be readable; walking it also proves the chain sane. */
	rc = walk_dir(f, 0, volume_label_one, NULL);
	if (rc) {
		rc = gm_error_set(err, rc, "%s", gm_error_msg(&f->err));
		goto fail;
	}
	*out = f;
	return 0;
fail:
	gm_fat_close(f);
	return rc;
}

void gm_fat_close(struct gm_fat *f)
{
	if (!f)
		return;
	free(f->parents);
	free(f);
}
