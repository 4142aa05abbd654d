/* srcmap.h — where the original tar stream holds what.
 *
 * Recorded while the tarball is read (tar_read.c): the uncompressed offset
 * of each data region of disk.raw and of each kept member's content. The
 * write-back uses it twice: outside the edited ranges the new disk.raw keeps
 * the original's sparse map (sparsify semantics, docs/performance.md), and
 * the splice finds the bytes of the new tar stream that the original gzip
 * already holds, so their deflate blocks are copied, not recompressed.
 * Saved beside the cache as <cache>/srcmap (text, replaced atomically).
 */
#ifndef GM_SRCMAP_H
#define GM_SRCMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "editor/rangeset.h"

#define GM_SRC_NONE UINT64_MAX

struct gm_srcmap_region {
	uint64_t doff, len;   /* [doff, doff+len) of disk.raw ... */
	uint64_t toff;        /* ... is at this offset of the tar stream */
};

struct gm_srcmap {
	bool gnu_sparse;      /* disk.raw was a GNU (old-GNU) sparse entry */
	uint64_t tar_size;    /* uncompressed size of the tar stream */
	struct gm_srcmap_region *r;
	size_t nr, capr;
	uint64_t *member_toff;   /* content offset of member i, GM_SRC_NONE if none */
	size_t nm, capm;
};

#define GM_SRCMAP_INIT { 0 }

/* Records a data region (merged with the previous one when contiguous in
 * both the disk and the stream). 0 or -ENOMEM. */
int gm_srcmap_add_region(struct gm_srcmap *s, uint64_t doff, uint64_t len, uint64_t toff);
/* Sets the content offset of member i (growing the table). 0 or -ENOMEM. */
int gm_srcmap_set_member(struct gm_srcmap *s, size_t i, uint64_t toff);
uint64_t gm_srcmap_member(const struct gm_srcmap *s, size_t i);
/* The disk.raw data regions as a range set (out cleared first). 0 or -ENOMEM. */
int gm_srcmap_disk_map(const struct gm_srcmap *s, struct gm_rangeset *out);
/* Tar offset of disk byte doff, or GM_SRC_NONE when it is not stored as
 * data; *run gets how many bytes from doff on are contiguous in both (or,
 * for GM_SRC_NONE, how far it is to the next stored byte). */
uint64_t gm_srcmap_disk_toff(const struct gm_srcmap *s, uint64_t doff, uint64_t *run);
void gm_srcmap_free(struct gm_srcmap *s);   /* accepts NULL */

/* <dir>/srcmap. 0 or -errno (-EINVAL: malformed, -ENOENT: none). */
int gm_srcmap_save(const char *dir, const struct gm_srcmap *s);
int gm_srcmap_load(const char *dir, struct gm_srcmap *s);
int gm_srcmap_remove(const char *dir);

#endif
