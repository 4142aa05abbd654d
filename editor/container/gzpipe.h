/* gzpipe.h — the inflate pass in a thread of its own.
 *
 * On two cores, ISA-L's inflate (inflate.h) and what consumes its output
 * (libarchive, the zero checks, the writes into the cache) each take about
 * half of an extraction: run side by side they take about as long as the
 * longer one. The pipe's thread fills a few 1 MiB buffers ahead with
 * gm_inflate_read_into(); the reader takes them in order.
 */
#ifndef GM_GZPIPE_H
#define GM_GZPIPE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "editor/container/inflate.h"

struct gm_gzpipe;

/* Starts reading z (which the pipe's thread owns until gm_gzpipe_stop:
 * its point callback, if any, runs in that thread) into buffers of buf_len
 * bytes (0: 1 MiB), made as they are first needed. 0 or -errno. */
int gm_gzpipe_start(struct gm_inflate *z, size_t buf_len, struct gm_gzpipe **out);
/* The next piece: *buf valid until the next call (the previous piece is
 * released). Its length, 0 at the end, or the reader's -errno (then
 * gm_gzpipe_errmsg); the end and errors repeat. */
ssize_t gm_gzpipe_next(struct gm_gzpipe *p, const unsigned char **buf);
const char *gm_gzpipe_errmsg(struct gm_gzpipe *p);
/* Compressed bytes read so far (for progress; any thread). */
uint64_t gm_gzpipe_in_bytes(struct gm_gzpipe *p);
/* gm_inflate_set_spacing, applied by the pipe's thread before its next read. */
void gm_gzpipe_set_spacing(struct gm_gzpipe *p, uint64_t spacing);
/* Stops the thread (after its current read), joins and frees; z is the
 * caller's again. Accepts NULL. */
void gm_gzpipe_stop(struct gm_gzpipe *p);

#endif
