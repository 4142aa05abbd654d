/* tarplan.h — the new tar stream, as a list of pieces, before any byte of
 * it is compressed.
 *
 * Each piece is header bytes (in memory), a range of a file (the cache disk,
 * a kept member's content) or zeros; a piece whose bytes the original tar
 * stream holds unchanged carries their offset there (old_toff), from the
 * srcmap. The full write-back streams every piece through gzout; the splice
 * (splice.h) copies the original's deflate blocks where long runs of pieces
 * are unchanged. Both see the same bytes: the plan is the one definition of
 * the output's uncompressed stream.
 */
#ifndef GM_TARPLAN_H
#define GM_TARPLAN_H

#include <stddef.h>
#include <stdint.h>

#include "editor/container/srcmap.h"
#include "editor/container/tar_write.h"
#include "editor/container/writeback.h"

#define GM_PIECE_MEM (-1)
#define GM_PIECE_ZERO (-2)

struct gm_piece {
	uint64_t toff, len;    /* place in the new stream */
	int fd;                /* a file, or GM_PIECE_MEM / GM_PIECE_ZERO */
	uint64_t off;          /* offset in the file / in the plan's header bytes */
	uint64_t old_toff;     /* same bytes in the original stream, or GM_SRC_NONE */
};

struct gm_tarplan {
	struct gm_piece *p;
	size_t n, cap;
	struct gm_tarbuf mem;      /* header bytes */
	uint64_t size;             /* of the whole stream */
	int *fds;                  /* member files opened for the plan */
	size_t nfds;
	struct gm_srcmap map;      /* where the new stream holds the disk's data and members */
};

/* Lays out the tar stream for a (members in their order, disk.raw with the
 * data regions map, end blocks and record padding as GNU tar). old (may be
 * NULL) is the original's srcmap; changed is the disk's changed ranges
 * (widened to 4 KiB): bytes there never count as unchanged. 0 or -errno. */
int gm_tarplan_build(struct gm_tarplan *pl, const struct gm_pack_args *a,
		     const struct gm_rangeset *map, const struct gm_srcmap *old,
		     const struct gm_rangeset *changed);
/* Reads [toff, toff+len) of the stream. 0 or -errno. */
int gm_tarplan_read(const struct gm_tarplan *pl, uint64_t toff, void *buf, size_t len);
void gm_tarplan_free(struct gm_tarplan *pl);   /* accepts NULL */

#endif
