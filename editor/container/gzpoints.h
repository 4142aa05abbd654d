/* gzpoints.h — access points into the original gzip file, saved beside the
 * cache (<cache>/gzpoints).
 *
 * An access point (zlib's zran.c calls them that) is a deflate block
 * boundary with what a decoder needs to start there: its bit offset, the
 * uncompressed offset, the member's running CRC-32 and the 32 KiB of
 * uncompressed data before it. The inflate pass records them (inflate.h:
 * every member's start, then about one per `spacing` bytes of output), so a
 * later write-back can find the block boundaries its splice needs near a
 * few junctions (gzlocate.h) instead of inflating the whole original again.
 *
 * File: the windows one after the other, then the table of points, then a
 * fixed footer (magic, the gzip file's size and last 8 bytes, counts, the
 * table's offset). Written to gzpoints.tmp and renamed when complete; used
 * only while the gzip file's size and last 8 bytes are the recorded ones.
 */
#ifndef GM_GZPOINTS_H
#define GM_GZPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "editor/container/inflate.h"

struct gm_gzap {
	uint64_t cbit;       /* bit offset in the gzip file */
	uint64_t uoff;       /* uncompressed offset, all members */
	uint64_t woff;       /* where its window is in the file */
	uint32_t crc;        /* CRC-32 of the member's data before uoff */
	uint32_t member;
	uint32_t wlen;       /* window length (0 at a member's start) */
	uint32_t zero;
};

struct gm_gzpoints {
	struct gm_gzap *p;
	size_t n, cap;
	uint64_t file_size;       /* of the gzip file */
	unsigned char tail[8];    /* its last 8 bytes */
	uint64_t usize;           /* uncompressed size, all members */
	uint32_t members;
	int fd;                   /* the points file (windows), -1 when not open */
	uint64_t wend;            /* end of the windows written so far */
};

#define GM_GZPOINTS_NAME "gzpoints"

/* Starts <dir>/gzpoints.tmp. 0 or -errno. */
int gm_gzpoints_begin(const char *dir, struct gm_gzpoints *ap);
/* The inflate pass's point callback (priv: the struct gm_gzpoints). */
int gm_gzpoints_add(void *priv, const struct gm_inflate_point *pt);
/* Completes it for the gzip file gz_fd (usize, members: what the pass
 * read): the table and footer written, fsync'd, renamed to <dir>/gzpoints,
 * the directory fsync'd. 0 or -errno (then nothing is left). */
int gm_gzpoints_commit(const char *dir, struct gm_gzpoints *ap, int gz_fd, uint64_t usize,
		       uint32_t members);
/* Drops an unfinished file (and frees). */
void gm_gzpoints_abort(const char *dir, struct gm_gzpoints *ap);

/* Loads <dir>/gzpoints: -ENOENT (none), -EINVAL (malformed), else 0 with
 * the file kept open for the windows. */
int gm_gzpoints_load(const char *dir, struct gm_gzpoints *ap);
/* True when it describes the gzip file fd as it is now. */
bool gm_gzpoints_matches(const struct gm_gzpoints *ap, int fd);
/* Reads point i's window (p[i].wlen bytes) into buf. 0 or -errno. */
int gm_gzpoints_window(const struct gm_gzpoints *ap, size_t i, unsigned char *buf);
/* Removes <dir>/gzpoints (and a leftover gzpoints.tmp). */
void gm_gzpoints_remove(const char *dir);
void gm_gzpoints_free(struct gm_gzpoints *ap);   /* closes; accepts NULL */

#endif
