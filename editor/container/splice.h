/* splice.h — a write-back that costs what changed.
 *
 * The new tar stream (tarplan.h) mostly repeats the original: unchanged
 * disk data and kept members sit at shifted offsets. Where a run of the new
 * stream equals a run of the original, the original's deflate blocks that
 * lie wholly inside it — from the first block boundary 32 KiB into the run
 * (back-references reach 32 KiB at most; a gzip member's first block needs
 * no lead-in) to the last boundary before its end — are copied verbatim,
 * shifted to the new bit position (gm_gzout_copy); everything else is
 * deflated anew, primed with the preceding 32 KiB of the new stream. The
 * result is one gzip member whose uncompressed stream is exactly the plan's,
 * byte for byte what the full write-back compresses.
 */
#ifndef GM_SPLICE_H
#define GM_SPLICE_H

#include <stddef.h>
#include <stdint.h>

#include "editor/container/gzip_index.h"
#include "editor/container/gzlocate.h"
#include "editor/container/gzout.h"
#include "editor/container/tarplan.h"

#define GM_SPLICE_MIN_COPY (64u << 10)   /* shorter copies are not worth a junction */

struct gm_splice_op {
	size_t from, to;         /* index points: blocks [from, to) of the original */
	uint64_t t_start, t_end; /* where their bytes land in the new stream */
};

struct gm_splice {
	struct gm_splice_op *op;
	size_t n, cap;
	uint64_t copied;         /* uncompressed bytes covered by copies */
};

/* Finds the copies (ordered, disjoint). ix may be NULL (then none).
 * 0 or -ENOMEM. */
int gm_splice_plan(const struct gm_tarplan *pl, const struct gm_gzindex *ix,
		   struct gm_splice *out);
/* Where gm_splice_plan() will look for block boundaries of the original
 * described by its access points ap: for every run of the plan long enough
 * to hold a copy (per member it overlaps), 32 KiB into it (or the member's
 * start inside it) and its end. For gm_gzlocate(), which then gives the
 * index gm_splice_plan() needs. *out is malloc'd. 0 or -ENOMEM. */
int gm_splice_wants(const struct gm_tarplan *pl, const struct gm_gzpoints *ap,
		    struct gm_gzwant **out, size_t *n);
/* Writes the plan's stream into g: copies from old_fd per sp, the rest
 * through gm_gzout_write. sp may be NULL or empty (the full path).
 * 0 or -errno. */
int gm_splice_write(struct gm_gzout *g, const struct gm_tarplan *pl, int old_fd,
		    const struct gm_gzindex *ix, const struct gm_splice *sp);
/* Checks a spliced file fd against the plan without inflating what was
 * copied: everything deflated anew, each junction and the first and last
 * block of every copy are inflated (zlib, from the nearest point of the new
 * file's index newix, primed with the plan's preceding 32 KiB) and compared
 * byte for byte with the plan, and the stream must end where the plan does.
 * The copied interiors are the original's blocks as they were (their CRCs
 * from its index). 0 or -EIO (a difference), -ENOMEM. */
int gm_splice_verify(int fd, const struct gm_gzindex *newix, const struct gm_tarplan *pl,
		     const struct gm_gzindex *oldix, const struct gm_splice *sp);
void gm_splice_free(struct gm_splice *sp);   /* accepts NULL */

#endif
