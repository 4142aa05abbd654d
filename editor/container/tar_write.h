/* tar_write.h — the tar encoder: GNU/old-GNU headers (with base-256 numbers,
 * ././@LongLink names) and GNU sparse 'S' entries with extension blocks.
 *
 * The encoders are pure (bytes in a growable buffer) so they are unit tested
 * without any file; gm_tar_stream_* streams a whole archive through a sink.
 * Byte layout follows GNU tar 1.34 --format=oldgnu (which, for the members we
 * write, is byte-identical to --format=gnu): magic "ustar  \0", octal numbers
 * "%0*o\0", base-256 (0x80 lead byte) beyond octal range, checksum "%06o\0 ".
 */
#ifndef GM_TAR_WRITE_H
#define GM_TAR_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "editor/container/image.h"
#include "editor/rangeset.h"

#define GM_TAR_BLOCK 512
#define GM_TAR_RECORD 10240          /* GNU tar's default 20-block record */
#define GM_TAR_SPARSE_IN_HDR 4       /* map entries in the 'S' header */
#define GM_TAR_SPARSE_PER_EXT 21     /* map entries per extension block */
#define GM_TAR_MAX_DISK (2ULL << 40) /* refuse disks above 2 TiB */

struct gm_tarbuf {
	unsigned char *p;
	size_t len, cap;
};

void gm_tarbuf_free(struct gm_tarbuf *b);   /* accepts NULL; leaves it empty */

/* Metadata of one member. type: '0' file, '1' hard link, '2' symlink,
 * '3' char dev, '4' block dev, '5' directory, '6' fifo. */
struct gm_tar_hdr {
	const char *name;
	const char *linkname;   /* NULL: none */
	char type;
	uint32_t mode;          /* permission bits (07777) */
	uint64_t uid, gid;
	const char *uname, *gname;   /* NULL: empty */
	int64_t mtime;
	uint64_t size;          /* bytes of content that follow the header */
	uint32_t devmajor, devminor;
};

/* Writes v into a numeric field of width w the GNU way: octal with a NUL when
 * it fits in w-1 digits, else base-256. 0 or -EOVERFLOW. */
int gm_tar_put_num(unsigned char *field, size_t w, uint64_t v);
/* Reads an octal (space/NUL terminated) or base-256 field. 0 or -EINVAL. */
int gm_tar_get_num(const unsigned char *field, size_t w, uint64_t *v);
/* Fills the checksum field of a 512-byte header ("%06o\0 "). */
void gm_tar_set_checksum(unsigned char *blk);
/* True when the block's checksum field matches its contents. */
int gm_tar_checksum_ok(const unsigned char *blk);

/* Appends the header block(s) of a member (preceded by ././@LongLink 'K'/'L'
 * blocks when linkname/name do not fit). 0, -ENOMEM, -EOVERFLOW, -EINVAL. */
int gm_tar_encode_header(struct gm_tarbuf *out, const struct gm_tar_hdr *h);

/* Appends a GNU sparse 'S' header (+ extension blocks) for a file of
 * realsize bytes whose data regions are map (sorted, disjoint, inside
 * [0, realsize), multiples of 512). h->size is ignored: the stored size is the
 * sum of the map. A final zero-length entry at realsize is added when the file
 * ends in a hole (as GNU tar does). 0, -ENOMEM, -EOVERFLOW, -EINVAL. */
int gm_tar_encode_sparse(struct gm_tarbuf *out, const struct gm_tar_hdr *h,
			 const struct gm_rangeset *map, uint64_t realsize);

#endif
