/* gzlocate.h — the block boundaries a splice needs, found near its
 * junctions only.
 *
 * The splice (splice.h) copies the original's deflate blocks between two
 * block boundaries inside each long unchanged run of the tar stream: the
 * first boundary 32 KiB or more into the run and the last one before its
 * end. Instead of indexing every block of the original (a whole zlib pass),
 * gm_gzlocate() decodes from the nearest access point (gzpoints.h) with
 * zlib's inflate(Z_BLOCK) to just past each wanted offset, and returns an
 * index (gzip_index.h) of the boundaries it saw: exact bit offsets,
 * uncompressed offsets and running CRC-32s, as gm_gzindex_build() would
 * give them, only fewer. Every member's start is in it too (the splice
 * needs it to know when a run needs no lead-in).
 */
#ifndef GM_GZLOCATE_H
#define GM_GZLOCATE_H

#include <stddef.h>
#include <stdint.h>

#include "editor/container/gzip_index.h"
#include "editor/container/gzpoints.h"

enum gm_gzwant_side {
	GM_WANT_AFTER = 0,   /* the first two boundaries at or after u */
	GM_WANT_BEFORE,      /* the last two at or before u (a member's final
			      * block start and end when u reaches its end) */
};

struct gm_gzwant {
	uint64_t u;          /* uncompressed offset */
	enum gm_gzwant_side side;
};

/* Fills out (replaced) for the gzip file gz_fd described by ap. want may be
 * reordered. 0, -EINVAL (the file does not decode where the points say),
 * -EIO, -ENOMEM. */
int gm_gzlocate(int gz_fd, const struct gm_gzpoints *ap, struct gm_gzwant *want, size_t n,
		struct gm_gzindex *out);

#endif
