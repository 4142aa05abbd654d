/* gzip_index.c — see gzip_index.h. */
#include "editor/container/gzip_index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <isa-l/crc.h>

#include "editor/container/cache.h"
#include "editor/container/sparse.h"

#define IN_BUF (256u << 10)
#define OUT_BUF (256u << 10)
#define MAGIC "gcemount-gzindex-1\n"
#define MAX_POINTS (1u << 21)          /* 64 MiB of points: more is refused */
#define MIN_SPACING (32u << 10)         /* uncompressed bytes between kept points */

int gm_gzindex_add(struct gm_gzindex *ix, const struct gm_gzpoint *pt)
{
	if (ix->n == ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 1024;
		struct gm_gzpoint *np = realloc(ix->p, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		ix->p = np;
		ix->cap = cap;
	}
	ix->p[ix->n++] = *pt;
	return 0;
}

void gm_gzindex_free(struct gm_gzindex *ix)
{
	if (!ix)
		return;
	free(ix->p);
	memset(ix, 0, sizeof(*ix));
}

uint32_t gm_gzindex_crc_between(const struct gm_gzpoint *a, const struct gm_gzpoint *b)
{
	/* crc(A||B) = combine(crc(A), 0, |B|) ^ crc(B) */
	return (uint32_t)(b->crc ^ crc32_combine(a->crc, 0, (z_off_t)(b->uoff - a->uoff)));
}

int gm_gzindex_stamp(int fd, struct gm_gzindex *ix)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	ix->file_size = (uint64_t)st.st_size;
	memset(ix->tail, 0, sizeof(ix->tail));
	if (st.st_size >= 8 && gm_pread_full(fd, ix->tail, 8, (uint64_t)st.st_size - 8) != 8)
		return -EIO;
	return 0;
}

bool gm_gzindex_matches(const struct gm_gzindex *ix, int fd)
{
	struct gm_gzindex now = { 0 };

	return ix->n && gm_gzindex_stamp(fd, &now) == 0 && now.file_size == ix->file_size &&
	       !memcmp(now.tail, ix->tail, sizeof(now.tail));
}

static int add_point(struct gm_gzindex *ix, const struct gm_gzpoint *pt)
{
	return ix->n >= MAX_POINTS ? -E2BIG : gm_gzindex_add(ix, pt);
}

/* zlib's own check value is turned off (inflateValidate): ISA-L's CRC is
 * several times faster, and zlib would otherwise spend a fifth of the pass
 * on it. The trailers are checked here against it. */
static int check_trailer(int fd, uint64_t end, uint32_t crc, uint64_t len)
{
	unsigned char tr[8];

	if (end < 8 || gm_pread_full(fd, tr, 8, end - 8) != 8)
		return -EINVAL;
	if (((uint32_t)tr[0] | (uint32_t)tr[1] << 8 | (uint32_t)tr[2] << 16 |
	     (uint32_t)tr[3] << 24) != crc ||
	    ((uint32_t)tr[4] | (uint32_t)tr[5] << 8 | (uint32_t)tr[6] << 16 |
	     (uint32_t)tr[7] << 24) != (uint32_t)len)
		return -EINVAL;
	return 0;
}

int gm_gzindex_build(int fd, atomic_bool *stop, struct gm_gzindex *out)
{
	unsigned char *in = malloc(IN_BUF), *ob = malloc(OUT_BUF);
	struct gm_gzindex ix = { 0 };
	uint64_t pos = 0, base = 0;      /* file offset of next read; uoff of the member */
	uint64_t last_cbit = UINT64_MAX;
	uint32_t member = 0, crc = 0;
	struct gm_gzpoint pending;
	bool eof = false, ended = false, have_pending = false;
	z_stream zs;
	int rc = 0, zr;

	memset(&zs, 0, sizeof(zs));
	if (!in || !ob || inflateInit2(&zs, 31) != Z_OK) {
		free(in);
		free(ob);
		return -ENOMEM;
	}
	inflateValidate(&zs, 0);
	for (;;) {
		if (stop && atomic_load(stop)) {
			rc = -ECANCELED;
			goto out;
		}
		if (zs.avail_in == 0 && !eof) {
			ssize_t n = gm_pread_full(fd, in, IN_BUF, pos);

			if (n < 0) {
				rc = (int)n;
				goto out;
			}
			eof = n == 0;
			pos += (uint64_t)n;
			zs.next_in = in;
			zs.avail_in = (uInt)n;
		}
		if (ended) {
			if (zs.avail_in == 0 && eof)
				break;
			base += zs.total_out;
			member++;
			crc = 0;
			if (inflateReset(&zs) != Z_OK) {
				rc = -EINVAL;
				goto out;
			}
			inflateValidate(&zs, 0);
			ended = false;
		}
		if (zs.avail_in == 0 && eof) {
			rc = -EINVAL;            /* truncated */
			goto out;
		}
		zs.next_out = ob;
		zs.avail_out = OUT_BUF;
		zr = inflate(&zs, Z_BLOCK);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			rc = zr == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
			goto out;
		}
		crc = crc32_gzip_refl(crc, ob, OUT_BUF - zs.avail_out);
		if (zr == Z_STREAM_END) {
			if ((rc = check_trailer(fd, pos - zs.avail_in, crc, zs.total_out)))
				goto out;
			ended = true;
			continue;
		}
		if (zs.data_type & 128) {
			struct gm_gzpoint pt = {
				.cbit = (pos - zs.avail_in) * 8 - (uint64_t)(zs.data_type & 7),
				.uoff = base + zs.total_out, .crc = crc,
				.member = member, .end = (zs.data_type & 64) ? 1 : 0,
			};
			bool first = !ix.n || ix.p[ix.n - 1].member != member;

			if (pt.cbit == last_cbit)
				continue;
			last_cbit = pt.cbit;
			/* Boundaries closer than MIN_SPACING are skipped (a copy spans
			 * several blocks as well as one; tiny or empty blocks would only
			 * cost memory), but never a member's first one, its end, or the
			 * start of its final block (whose BFINAL bit a copy clears). */
			if (pt.end && have_pending && (rc = add_point(&ix, &pending)))
				goto out;
			have_pending = false;
			if (first || pt.end || pt.uoff - ix.p[ix.n - 1].uoff >= MIN_SPACING) {
				if ((rc = add_point(&ix, &pt)))
					goto out;
			} else {
				pending = pt;
				have_pending = true;
			}
		}
	}
	ix.members = member + 1;
	ix.usize = base + zs.total_out;
	rc = gm_gzindex_stamp(fd, &ix);
out:
	inflateEnd(&zs);
	free(in);
	free(ob);
	if (rc)
		gm_gzindex_free(&ix);
	else
		*out = ix;
	return rc;
}

static int fill_index(FILE *f, const void *arg)
{
	const struct gm_gzindex *ix = arg;

	fputs(MAGIC, f);
	fwrite(&ix->file_size, sizeof(ix->file_size), 1, f);
	fwrite(&ix->usize, sizeof(ix->usize), 1, f);
	fwrite(&ix->members, sizeof(ix->members), 1, f);
	fwrite(ix->tail, 1, sizeof(ix->tail), f);
	fwrite(&ix->n, sizeof(ix->n), 1, f);
	if (ix->n)
		fwrite(ix->p, sizeof(*ix->p), ix->n, f);
	return 0;
}

int gm_gzindex_save(const char *path, const struct gm_gzindex *ix)
{
	char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
	int rc;

	if (!slash) {
		free(dir);
		return dir ? -EINVAL : -ENOMEM;
	}
	*slash = '\0';
	rc = gm_file_replace(dir, slash + 1, fill_index, ix);
	free(dir);
	return rc;
}

int gm_gzindex_load(const char *path, struct gm_gzindex *out)
{
	struct gm_gzindex ix = { 0 };
	char magic[sizeof(MAGIC) - 1];
	FILE *f = fopen(path, "re");
	size_t n = 0;
	int rc = -EINVAL;

	if (!f)
		return errno == ENOENT ? -ENOENT : -errno;
	if (fread(magic, 1, sizeof(magic), f) != sizeof(magic) || memcmp(magic, MAGIC, sizeof(magic)) ||
	    fread(&ix.file_size, sizeof(ix.file_size), 1, f) != 1 ||
	    fread(&ix.usize, sizeof(ix.usize), 1, f) != 1 ||
	    fread(&ix.members, sizeof(ix.members), 1, f) != 1 ||
	    fread(ix.tail, 1, sizeof(ix.tail), f) != sizeof(ix.tail) ||
	    fread(&n, sizeof(n), 1, f) != 1 || n == 0 || n > MAX_POINTS)
		goto out;
	ix.p = malloc(n * sizeof(*ix.p));
	if (!ix.p) {
		rc = -ENOMEM;
		goto out;
	}
	ix.cap = n;
	if (fread(ix.p, sizeof(*ix.p), n, f) != n || fgetc(f) != EOF)
		goto out;
	ix.n = n;
	for (size_t i = 1; i < n; i++) {
		const struct gm_gzpoint *a = &ix.p[i - 1], *b = &ix.p[i];

		if (b->cbit <= a->cbit || b->uoff < a->uoff || b->member < a->member ||
		    b->member > a->member + 1 || (b->member == a->member && a->end))
			goto out;
	}
	if (ix.p[n - 1].uoff > ix.usize || ix.p[n - 1].cbit > ix.file_size * 8 ||
	    ix.p[n - 1].member >= ix.members)
		goto out;
	rc = 0;
out:
	fclose(f);
	if (rc)
		gm_gzindex_free(&ix);
	else
		*out = ix;
	return rc;
}
