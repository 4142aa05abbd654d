/* gzout.h — a deterministic, parallel gzip writer (pigz's scheme).
 *
 * Input is cut into fixed 1 MiB chunks; each chunk is raw-deflated on its own
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

struct gm_gzout;

/* threads: compressing threads (0 = as many as CPUs, at most 8). 0 or -errno. */
int gm_gzout_new(int fd, int level, unsigned threads, struct gm_gzout **out);
/* Appends len bytes of input. 0 or -errno (the write error, e.g. -ENOSPC). */
int gm_gzout_write(struct gm_gzout *g, const void *buf, size_t len);
/* Ends the stream (trailer written). *in_bytes / *crc / *out_bytes may be
 * NULL. 0 or -errno. */
int gm_gzout_finish(struct gm_gzout *g, uint64_t *in_bytes, uint32_t *crc, uint64_t *out_bytes);
void gm_gzout_free(struct gm_gzout *g);   /* accepts NULL; joins the workers */

/* Inflates the whole gzip file fd (from offset 0) checking its CRC and
 * length, and that nothing follows. *in_bytes / *crc (may be NULL) get the
 * uncompressed size and CRC. 0, -EINVAL (corrupt), -EIO. */
int gm_gzip_verify(int fd, uint64_t *in_bytes, uint32_t *crc);

#endif
