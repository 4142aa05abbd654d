/* sniff.h — what a file is, from its first bytes: the containers gcemount
 * opens (a gzip'd tar, a raw disk) and those it recognises only to say what
 * they are (an uncompressed tar, a tar compressed with xz, zstd or bzip2).
 * Shared by gm_image_open (which refuses the latter with one line) and
 * `check` (which reports on their headers).
 */
#ifndef GM_SNIFF_H
#define GM_SNIFF_H

#include <stddef.h>

#include "editor/error.h"

enum gm_sniff {
	GM_SNIFF_UNKNOWN = 0,  /* anything else (a raw disk, or junk) */
	GM_SNIFF_GZIP,
	GM_SNIFF_TAR,          /* an uncompressed tar */
	GM_SNIFF_XZ,
	GM_SNIFF_ZSTD,
	GM_SNIFF_BZIP2,
};

/* Bytes needed for a verdict: a tar's magic is at offset 257. */
#define GM_SNIFF_LEN 512

/* Classifies a buffer holding the first bytes of a file. */
enum gm_sniff gm_sniff(const void *buf, size_t len);
/* Classifies the first bytes of the file at path (UNKNOWN if unreadable;
 * a FIFO is not waited for). */
enum gm_sniff gm_sniff_file(const char *path);
/* The compression's name: "gzip", "xz", "zstd", "bzip2", "none" (a plain
 * tar), "unknown". */
const char *gm_sniff_name(enum gm_sniff s);

/* For a file gcemount recognises but does not open (TAR, XZ, ZSTD, BZIP2):
 * records "NAME: what it is: what to do" in err and returns -EINVAL. path
 * (may be NULL, e.g. standard input) lets it look inside a compressed file to
 * tell a tar from a compressed raw disk; name is for the message. */
int gm_sniff_refuse(enum gm_sniff s, const char *path, const char *name, struct gm_error *err);

#endif
