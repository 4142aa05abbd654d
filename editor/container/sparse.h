/* sparse.h — data regions of a sparse disk file.
 *
 * The tar writer stores only data regions; this module finds them:
 * SEEK_DATA/SEEK_HOLE, widened to 4 KiB blocks (clipped to the file end),
 * then every all-zero 4 KiB block dropped, then the caller's holes (free
 * filesystem blocks) removed after rounding them inward to 4 KiB. Regions stay
 * multiples of 512 because the file size is.
 */
#ifndef GM_SPARSE_H
#define GM_SPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "editor/container/image.h"
#include "editor/rangeset.h"

#define GM_SPARSE_BLOCK 4096u

/* pread() until len bytes, the end of the file or an error: the bytes
 * read, or -errno. */
ssize_t gm_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* pwrite() until len bytes are written: 0 or -errno (-EIO when nothing
 * more goes). Both are plain system call loops (async-signal-safe). */
int gm_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
/* len bytes at off, zeros past the end of the file: 0 or -errno. */
int gm_pread_zfill(int fd, void *buf, size_t len, uint64_t off);

/* True when all n bytes of p are zero. */
bool gm_is_zero(const void *p, size_t n);

/* Data regions of fd over [0, size), zero blocks excluded, into out (cleared
 * first). Reads every data byte once. progress (may be NULL) gets stage
 * "scan". 0 or -errno (out then unspecified). */
int gm_sparse_scan(int fd, uint64_t size, struct gm_rangeset *out,
		   gm_progress_fn progress, void *priv);

/* out = changed widened to the 4 KiB grid, clipped to [0, size). 0 or
 * -ENOMEM. */
int gm_sparse_widen(const struct gm_rangeset *changed, uint64_t size, struct gm_rangeset *out);

/* The data map of a new disk.raw (the sparsify semantics, the same for
 * the splice and the full write-back; docs/performance.md):
 *   keep == NULL: the data regions of fd (gm_sparse_scan) minus holes;
 *   else: keep (the original's map) outside changed, and inside changed
 *   (widened to 4 KiB, clipped to size) the data regions of fd minus holes.
 * out is replaced. 0 or -errno. */
int gm_sparse_plan_map(int fd, uint64_t size, const struct gm_rangeset *keep,
		       const struct gm_rangeset *changed, const struct gm_rangeset *holes,
		       struct gm_rangeset *out, gm_progress_fn progress, void *priv);

/* map -= holes, each hole rounded inward to 4 KiB. 0 or -ENOMEM. */
int gm_sparse_subtract(struct gm_rangeset *map, const struct gm_rangeset *holes);

/* pwrite()s the non-zero 4 KiB-grid pieces of buf (len bytes destined for
 * offset off) to fd, skipping all-zero ones so they stay holes. Pieces are
 * aligned to the 4 KiB grid of the file, not of buf. *written (may be NULL)
 * gets the bytes actually written. 0 or -errno. */
int gm_sparse_pwrite(int fd, const void *buf, size_t len, uint64_t off, uint64_t *written);

/* Copies the data regions map of src into dst at the same offsets (dst is
 * truncated to size first, so everything else is a hole). 0 or -errno. */
int gm_sparse_copy(int src, int dst, uint64_t size, const struct gm_rangeset *map);

#endif
