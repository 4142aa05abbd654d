/* inflate.h — reading a gzip file at ISA-L speed.
 *
 * gm_inflate_read() hands out the uncompressed bytes of every gzip member of
 * the file in turn (concatenated members are one stream, as gzip -d gives
 * them). ISA-L (igzip) does the work and checks each member's trailer (CRC-32
 * and length); anything after a member that is not another valid member is
 * refused. Not thread-safe; one reader per handle.
 *
 * Access points (zran's term, gm_inflate_set_points): ISA-L's inflate has
 * no Z_BLOCK, it reads the next block header as soon as a block ends, but
 * it does stop between two blocks when its input runs out there (its state
 * is then ISAL_BLOCK_NEW_HDR, or ISAL_BLOCK_HDR with the header's first
 * bytes kept aside). So where an access point is wanted the reader feeds
 * ISA-L small pieces of input until it stops between blocks (on the bench
 * image about one block boundary in three is seen this way with 256-byte
 * pieces), and reports the exact bit offset, the uncompressed offset, the
 * member's running CRC-32 and the 32 KiB of output before it: enough for
 * zlib or ISA-L to start decoding there (gzlocate.h). The start of every
 * member's deflate data is reported too (the gzip header is parsed apart
 * for that). The cost is a few hundred short ISA-L calls per point.
 */
#ifndef GM_INFLATE_H
#define GM_INFLATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct gm_inflate;

/* Reads head (head_len bytes already taken from a stream; may be NULL),
 * then fd from its current offset. head must outlive the reader. 0 or
 * -ENOMEM. */
int gm_inflate_new(int fd, const void *head, size_t head_len, struct gm_inflate **out);
/* Next piece of output: *buf valid until the next call. Returns its length,
 * 0 at the end of the last member (every trailer checked), -EINVAL for
 * corrupt, truncated or trailing data, -EIO (read error); the reason is
 * gm_inflate_errmsg(). Another error is the one a point callback returned. */
ssize_t gm_inflate_read(struct gm_inflate *z, const unsigned char **buf);
/* The same into the caller's buffer (cap bytes, filled unless the stream
 * ends): for a reader that hands buffers to another thread. */
ssize_t gm_inflate_read_into(struct gm_inflate *z, unsigned char *out, size_t cap);
/* Compressed bytes read so far (head included), uncompressed bytes handed out so far. */
uint64_t gm_inflate_in_bytes(const struct gm_inflate *z);
uint64_t gm_inflate_out_bytes(const struct gm_inflate *z);
/* Members completed so far. */
unsigned gm_inflate_members(const struct gm_inflate *z);
const char *gm_inflate_errmsg(const struct gm_inflate *z);
void gm_inflate_free(struct gm_inflate *z);   /* accepts NULL */

/* A deflate block boundary seen by the reader. */
struct gm_inflate_point {
	uint64_t cbit;       /* bit offset in the input (head included) */
	uint64_t uoff;       /* uncompressed offset, counted over all members */
	uint32_t crc;        /* CRC-32 of the member's data before uoff */
	uint32_t member;     /* from 0 */
	const unsigned char *window;   /* the member's last window_len bytes before uoff */
	size_t window_len;   /* min(32 KiB, the member's data before uoff) */
};
typedef int (*gm_inflate_point_fn)(void *priv, const struct gm_inflate_point *pt);

#define GM_INFLATE_WINDOW 32768u

/* Reports to fn (called from gm_inflate_read) the start of every member's
 * deflate data and, after every `spacing` bytes of output since the last
 * point, the first block boundary the reader can see. fn returns 0, or a
 * -errno that ends the reading with it. Call before the first read.
 * 0 or -ENOMEM. */
int gm_inflate_set_points(struct gm_inflate *z, uint64_t spacing, gm_inflate_point_fn fn,
			  void *priv);
/* Changes the spacing (e.g. once the size of the data is known). */
void gm_inflate_set_spacing(struct gm_inflate *z, uint64_t spacing);

#endif
