/* gzip_index.h — an index of a gzip file's deflate block boundaries.
 *
 * One point per deflate block boundary of every member: the bit offset in
 * the file where a block starts (the first point of a member is where its
 * deflate data starts, just after the gzip header), the uncompressed offset
 * there (counted over all members, as gzip -d gives them), and the running
 * CRC-32 of the member's data before it. A member's last point, flagged end,
 * is where its final block ends (not every index has it: gzout's own index
 * leaves it out, and its final block is then never copied).
 *
 * gm_gzindex_build() finds all of them with zlib's inflate(Z_BLOCK) (one
 * whole pass; the fallback); gm_gzlocate() (gzlocate.h) finds the few a
 * splice needs from the access points the ISA-L pass recorded; gzout.c
 * records them for what it writes, saved beside the cache
 * (<cache>/gzindex) so that the write-back after a write-back needs
 * neither. The splice (splice.h) copies whole blocks of the original at
 * these points.
 */
#ifndef GM_GZIP_INDEX_H
#define GM_GZIP_INDEX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gm_gzpoint {
	uint64_t cbit;      /* bit offset in the gzip file */
	uint64_t uoff;      /* uncompressed offset */
	uint32_t crc;       /* CRC-32 of the member's data before uoff */
	uint32_t member;    /* member number, from 0 */
	uint32_t end;       /* 1: end of the member's final block */
	uint32_t zero;      /* 0 (the saved file has no padding bytes) */
};

struct gm_gzindex {
	struct gm_gzpoint *p;
	size_t n, cap;
	uint64_t file_size;       /* of the indexed gzip file */
	uint64_t usize;           /* uncompressed size, all members */
	uint32_t members;
	unsigned char tail[8];    /* the file's last 8 bytes (its last trailer) */
};

#define GM_GZINDEX_INIT { 0 }

/* Appends a point (kept sorted by the caller). 0 or -ENOMEM. */
int gm_gzindex_add(struct gm_gzindex *ix, const struct gm_gzpoint *pt);
void gm_gzindex_free(struct gm_gzindex *ix);   /* accepts NULL; leaves it empty */

/* Indexes the gzip file fd (read with pread from offset 0). stop (may be
 * NULL) is polled: when it becomes true the build ends with -ECANCELED.
 * 0, -EINVAL (not gzip / corrupt), -EIO, -ENOMEM, -ECANCELED. */
int gm_gzindex_build(int fd, atomic_bool *stop, struct gm_gzindex *out);

/* Reads the last 8 bytes of fd into ix->tail and its size into file_size.
 * 0 or -errno. */
int gm_gzindex_stamp(int fd, struct gm_gzindex *ix);
/* True when ix was made for the file fd as it is now (size and last 8
 * bytes). */
bool gm_gzindex_matches(const struct gm_gzindex *ix, int fd);

/* Atomic save (temp file, fsync, rename) and load. Load checks the format
 * and that the points are ordered: -EINVAL otherwise, -ENOENT when absent. */
int gm_gzindex_save(const char *path, const struct gm_gzindex *ix);
int gm_gzindex_load(const char *path, struct gm_gzindex *ix);

/* CRC-32 of the uncompressed bytes between points a and b (a <= b, same
 * member). */
uint32_t gm_gzindex_crc_between(const struct gm_gzpoint *a, const struct gm_gzpoint *b);

#endif
