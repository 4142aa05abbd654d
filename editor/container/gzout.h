/* gzout.h — a deterministic, parallel gzip writer (pigz's scheme).
 *
 * Input is cut into fixed 1 MiB chunks (counted from the start or from the
 * last copied run, see gm_gzout_copy); each chunk is raw-deflated on its own
 * (primed with the previous chunk's last 32 KiB as dictionary) and ended with
 * a sync flush, the last one with Z_FINISH; the CRC-32s are combined. The
 * bytes depend only on the input and the level, never on the thread count or
 * timing. Header: no name, mtime 0, OS 3 (as zlib writes it). Not
 * thread-safe: one writer thread; the workers are internal.
 */
#ifndef GM_GZOUT_H
#define GM_GZOUT_H

#include <stddef.h>
#include <stdint.h>

#include "editor/container/gzip_index.h"

struct gm_gzout;

/* level: zlib's 0-9, or GM_GZOUT_FAST (ISA-L's level 1: several times
 * faster, larger). threads: compressing threads (0 = as many as CPUs, at
 * most 8). 0 or -errno. */
#define GM_GZOUT_FAST 100
int gm_gzout_new(int fd, int level, unsigned threads, struct gm_gzout **out);
/* Appends len bytes of input. 0 or -errno (the write error, e.g. -ENOSPC). */
int gm_gzout_write(struct gm_gzout *g, const void *buf, size_t len);
/* Ends the stream (trailer written). *in_bytes / *crc / *out_bytes may be
 * NULL. 0 or -errno. */
int gm_gzout_finish(struct gm_gzout *g, uint64_t *in_bytes, uint32_t *crc, uint64_t *out_bytes);
void gm_gzout_free(struct gm_gzout *g);   /* accepts NULL; joins the workers */

/* Records the output's block boundaries into ix (which must outlive the
 * writer): the start of every chunk, one point every 128 KiB of input
 * inside it (deflate's Z_BLOCK), and the copied blocks. No end points. */
void gm_gzout_set_index(struct gm_gzout *g, struct gm_gzindex *ix);

/* The splice: ends the deflate data written so far with a sync flush, then
 * appends the deflate blocks between index points from and to (same member,
 * from < to) of the gzip file src_fd verbatim, shifted to the current bit
 * position (a member's final block loses its final bit). The CRC and length
 * are combined from the points (crc32_combine), nothing is inflated. dict is
 * the last min(32 KiB, ...) bytes of uncompressed data up to to: the next
 * chunk's dictionary. The caller guarantees that the 32 KiB before from
 * (back-references reach that far) are the same bytes in the new stream as
 * in the old. 0 or -errno. */
int gm_gzout_copy(struct gm_gzout *g, int src_fd, const struct gm_gzpoint *from,
		  const struct gm_gzpoint *to, const unsigned char *dict, size_t dict_len);

/* Inflates the whole gzip file fd (from offset 0, with ISA-L) checking its
 * CRC and length, and that it is one member with nothing after it. *in_bytes / *crc (may be NULL) get the
 * uncompressed size and CRC. 0, -EINVAL (corrupt), -EIO. */
int gm_gzip_verify(int fd, uint64_t *in_bytes, uint32_t *crc);

#endif
