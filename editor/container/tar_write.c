/* tar_write.c — see tar_write.h. Pure encoders: no I/O here. */
#include "editor/container/tar_write.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Offsets of the header fields (POSIX ustar + the old-GNU extension). */
enum {
	H_NAME = 0, H_MODE = 100, H_UID = 108, H_GID = 116, H_SIZE = 124,
	H_MTIME = 136, H_CHKSUM = 148, H_TYPE = 156, H_LINK = 157,
	H_MAGIC = 257, H_UNAME = 265, H_GNAME = 297, H_DEVMAJ = 329,
	H_DEVMIN = 337, H_SPARSE = 386, H_ISEXT = 482, H_REALSIZE = 483,
	EXT_ISEXT = 504,
};

void gm_tarbuf_free(struct gm_tarbuf *b)
{
	if (!b)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Appends one zeroed block and returns it, or NULL on -ENOMEM. */
static unsigned char *new_block(struct gm_tarbuf *b)
{
	if (b->len + GM_TAR_BLOCK > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8 * GM_TAR_BLOCK;
		unsigned char *p;

		while (cap < b->len + GM_TAR_BLOCK)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return NULL;
		b->p = p;
		b->cap = cap;
	}
	memset(b->p + b->len, 0, GM_TAR_BLOCK);
	b->len += GM_TAR_BLOCK;
	return b->p + b->len - GM_TAR_BLOCK;
}

int gm_tar_put_num(unsigned char *field, size_t w, uint64_t v)
{
	/* octal in w-1 digits? (w-1)*3 bits */
	if ((w - 1) * 3 >= 64 || v < (1ULL << ((w - 1) * 3))) {
		field[w - 1] = '\0';
		for (size_t i = w - 1; i-- > 0; v >>= 3)
			field[i] = (unsigned char)('0' + (v & 7));
		return 0;
	}
	if ((w - 1) * 8 < 64 && v >> ((w - 1) * 8))
		return -EOVERFLOW;
	field[0] = 0x80;
	for (size_t i = w; i-- > 1; v >>= 8)
		field[i] = (unsigned char)(v & 0xff);
	return 0;
}

int gm_tar_get_num(const unsigned char *field, size_t w, uint64_t *v)
{
	uint64_t x = 0;
	size_t i = 0;

	if (field[0] & 0x80) {
		if (field[0] != 0x80)
			return -EINVAL;       /* negative or > 2^(8*(w-1)) */
		for (i = 1; i < w; i++) {
			if (x >> 56)
				return -EINVAL;
			x = (x << 8) | field[i];
		}
		*v = x;
		return 0;
	}
	while (i < w && field[i] == ' ')
		i++;
	for (; i < w && field[i] >= '0' && field[i] <= '7'; i++) {
		if (x >> 61)
			return -EINVAL;
		x = (x << 3) | (uint64_t)(field[i] - '0');
	}
	if (i < w && field[i] != ' ' && field[i] != '\0')
		return -EINVAL;
	*v = x;
	return 0;
}

static unsigned chksum_of(const unsigned char *blk)
{
	unsigned sum = 0;

	for (int i = 0; i < GM_TAR_BLOCK; i++)
		sum += (i >= H_CHKSUM && i < H_CHKSUM + 8) ? ' ' : blk[i];
	return sum;
}

void gm_tar_set_checksum(unsigned char *blk)
{
	memset(blk + H_CHKSUM, ' ', 8);
	gm_tar_put_num(blk + H_CHKSUM, 7, chksum_of(blk));   /* "%06o\0" + ' ' */
}

int gm_tar_checksum_ok(const unsigned char *blk)
{
	uint64_t v;

	return gm_tar_get_num(blk + H_CHKSUM, 8, &v) == 0 && v == chksum_of(blk);
}

static void put_str(unsigned char *field, size_t w, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	memcpy(field, s ? s : "", n < w ? n : w);
}

/* The common header fields; the caller fills type-specific ones and the
 * checksum. */
static int fill_header(unsigned char *blk, const struct gm_tar_hdr *h, const char *name,
		       const char *linkname, char type, uint64_t size)
{
	int rc = 0;

	put_str(blk + H_NAME, 100, name);
	rc |= gm_tar_put_num(blk + H_MODE, 8, h->mode & 07777);
	rc |= gm_tar_put_num(blk + H_UID, 8, h->uid);
	rc |= gm_tar_put_num(blk + H_GID, 8, h->gid);
	rc |= gm_tar_put_num(blk + H_SIZE, 12, size);
	rc |= gm_tar_put_num(blk + H_MTIME, 12, h->mtime < 0 ? 0 : (uint64_t)h->mtime);
	blk[H_TYPE] = (unsigned char)type;
	put_str(blk + H_LINK, 100, linkname);
	memcpy(blk + H_MAGIC, "ustar  ", 8);   /* magic + version, NUL included */
	put_str(blk + H_UNAME, 32, h->uname);
	put_str(blk + H_GNAME, 32, h->gname);
	if (type == '3' || type == '4') {
		rc |= gm_tar_put_num(blk + H_DEVMAJ, 8, h->devmajor);
		rc |= gm_tar_put_num(blk + H_DEVMIN, 8, h->devminor);
	}
	return rc ? -EOVERFLOW : 0;
}

/* A ././@LongLink entry of type 'L' (name) or 'K' (link) holding s + NUL. */
static int encode_longlink(struct gm_tarbuf *out, const struct gm_tar_hdr *h, char type,
			   const char *s)
{
	struct gm_tar_hdr lh = { .mode = 0644, .uname = h->uname, .gname = h->gname };
	size_t n = strlen(s) + 1;
	unsigned char *blk = new_block(out);
	int rc;

	if (!blk)
		return -ENOMEM;
	rc = fill_header(blk, &lh, "././@LongLink", NULL, type, n);
	if (rc)
		return rc;
	gm_tar_set_checksum(blk);
	for (size_t done = 0; done < n; done += GM_TAR_BLOCK) {
		if (!(blk = new_block(out)))
			return -ENOMEM;
		memcpy(blk, s + done, n - 1 - done < GM_TAR_BLOCK ? n - 1 - done : GM_TAR_BLOCK);
	}
	return 0;
}

/* Long-name prefix blocks, then the main header block (returned in *blkp as
 * an offset since the buffer may move). */
static int begin_member(struct gm_tarbuf *out, const struct gm_tar_hdr *h, char type,
			uint64_t size, size_t *blk_off)
{
	unsigned char *blk;
	int rc;

	if (!h->name || !*h->name)
		return -EINVAL;
	if (h->linkname && strlen(h->linkname) > 100 &&
	    (rc = encode_longlink(out, h, 'K', h->linkname)))
		return rc;
	if (strlen(h->name) > 100 && (rc = encode_longlink(out, h, 'L', h->name)))
		return rc;
	if (!(blk = new_block(out)))
		return -ENOMEM;
	*blk_off = out->len - GM_TAR_BLOCK;
	return fill_header(blk, h, h->name, h->linkname, type, size);
}

int gm_tar_encode_header(struct gm_tarbuf *out, const struct gm_tar_hdr *h)
{
	size_t start = out->len, off;
	uint64_t size = (h->type == '0') ? h->size : 0;
	int rc = begin_member(out, h, h->type, size, &off);

	if (rc) {
		out->len = start;
		return rc;
	}
	gm_tar_set_checksum(out->p + off);
	return 0;
}

static int put_entry(unsigned char *p, uint64_t off, uint64_t len)
{
	return gm_tar_put_num(p, 12, off) | gm_tar_put_num(p + 12, 12, len) ? -EOVERFLOW : 0;
}

int gm_tar_encode_sparse(struct gm_tarbuf *out, const struct gm_tar_hdr *h,
			 const struct gm_rangeset *map, uint64_t realsize)
{
	size_t start = out->len, hdr_off, n = map->n, total, i;
	uint64_t stored = 0, prev_end = 0;
	bool tail_hole;
	int rc;

	if (realsize % GM_TAR_BLOCK)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		const struct gm_range *r = &map->r[i];

		if (r->off % GM_TAR_BLOCK || r->len % GM_TAR_BLOCK || !r->len ||
		    r->off < prev_end || r->off + r->len > realsize)
			return -EINVAL;
		prev_end = r->off + r->len;
		stored += r->len;
	}
	tail_hole = n == 0 || prev_end < realsize;
	total = n + (tail_hole ? 1 : 0);

	rc = begin_member(out, h, 'S', stored, &hdr_off);
	if (rc)
		goto fail;
	rc = -EOVERFLOW;
	if (gm_tar_put_num(out->p + hdr_off + H_REALSIZE, 12, realsize))
		goto fail;
	/* entries: header slots first, then 21 per extension block */
	for (i = 0; i < total; ) {
		unsigned char *blk;
		size_t slots, base;

		if (i == 0) {
			blk = out->p + hdr_off;
			slots = GM_TAR_SPARSE_IN_HDR;
			base = H_SPARSE;
		} else {
			if (!(blk = new_block(out))) {
				rc = -ENOMEM;
				goto fail;
			}
			slots = GM_TAR_SPARSE_PER_EXT;
			base = 0;
		}
		for (size_t k = 0; k < slots && i < total; k++, i++) {
			uint64_t o = i < n ? map->r[i].off : realsize;
			uint64_t l = i < n ? map->r[i].len : 0;

			if (put_entry(blk + base + 24 * k, o, l))
				goto fail;
		}
		if (i < total)
			blk[base == H_SPARSE ? H_ISEXT : EXT_ISEXT] = 1;
	}
	gm_tar_set_checksum(out->p + hdr_off);
	return 0;
fail:
	out->len = start;
	return rc;
}
