/* inflate.h — reading a gzip file at ISA-L speed.
 *
 * gm_inflate_read() hands out the uncompressed bytes of every gzip member of
 * the file in turn (concatenated members are one stream, as gzip -d gives
 * them). ISA-L (igzip) does the work and checks each member's trailer (CRC-32
 * and length); anything after a member that is not another valid member is
 * refused. ISA-L's inflate does not stop at deflate block boundaries, so the
 * block index the splice needs comes from zlib (gzip_index.h), not from here.
 * Not thread-safe; one reader per handle.
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
 * gm_inflate_errmsg(). */
ssize_t gm_inflate_read(struct gm_inflate *z, const unsigned char **buf);
/* Compressed bytes read so far (head included), uncompressed bytes handed out so far. */
uint64_t gm_inflate_in_bytes(const struct gm_inflate *z);
uint64_t gm_inflate_out_bytes(const struct gm_inflate *z);
/* Members completed so far. */
unsigned gm_inflate_members(const struct gm_inflate *z);
const char *gm_inflate_errmsg(const struct gm_inflate *z);
void gm_inflate_free(struct gm_inflate *z);   /* accepts NULL */

#endif
