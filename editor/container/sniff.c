/* sniff.c — see sniff.h. */
#include "editor/container/sniff.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

enum gm_sniff gm_sniff(const void *buf, size_t len)
{
	const unsigned char *b = buf;

	if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return GM_SNIFF_GZIP;
	if (len >= 6 && !memcmp(b, "\xfd" "7zXZ\0", 6))
		return GM_SNIFF_XZ;
	if (len >= 4 && !memcmp(b, "\x28\xb5\x2f\xfd", 4))
		return GM_SNIFF_ZSTD;
	if (len >= 3 && !memcmp(b, "BZh", 3))
		return GM_SNIFF_BZIP2;
	if (len >= 263 && !memcmp(b + 257, "ustar", 5))
		return GM_SNIFF_TAR;
	return GM_SNIFF_UNKNOWN;
}

enum gm_sniff gm_sniff_file(const char *path)
{
	unsigned char buf[GM_SNIFF_LEN];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);   /* a FIFO must not block */

	if (fd < 0)
		return GM_SNIFF_UNKNOWN;
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	return n > 0 ? gm_sniff(buf, (size_t)n) : GM_SNIFF_UNKNOWN;
}

const char *gm_sniff_name(enum gm_sniff s)
{
	switch (s) {
	case GM_SNIFF_GZIP: return "gzip";
	case GM_SNIFF_TAR: return "none";
	case GM_SNIFF_XZ: return "xz";
	case GM_SNIFF_ZSTD: return "zstd";
	case GM_SNIFF_BZIP2: return "bzip2";
	default: return "unknown";
	}
}

/* A compressed file whose content starts with a tar header (libarchive reads
 * only the first block or so). */
static bool holds_tar(const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	bool tar = false;

	if (!a)
		return false;
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open_filename(a, path, 1 << 16) == ARCHIVE_OK)
		tar = archive_read_next_header(a, &e) == ARCHIVE_OK;
	archive_read_free(a);
	return tar;
}

int gm_sniff_refuse(enum gm_sniff s, const char *path, const char *name, struct gm_error *err)
{
	const char *tool = gm_sniff_name(s);

	if (s == GM_SNIFF_TAR)
		return gm_error_set(err, -EINVAL, "%s: an uncompressed tar: Compute Engine imports a "
				    "gzip'd tar; compress it first (gzip < %s > NEW.tar.gz)", name, name);
	if (s == GM_SNIFF_XZ || s == GM_SNIFF_ZSTD || s == GM_SNIFF_BZIP2) {
		const char *unz = s == GM_SNIFF_XZ ? "xz" : s == GM_SNIFF_ZSTD ? "zstd" : "bzip2";

		if (path && holds_tar(path))
			return gm_error_set(err, -EINVAL, "%s: a tar compressed with %s, not gzip: "
					    "Compute Engine imports a gzip'd tar; convert it first "
					    "(%s -dc %s | gzip > NEW.tar.gz)", name, tool, unz, name);
		return gm_error_set(err, -EINVAL, "%s: %s-compressed data, not a gzip'd tar or a "
				    "raw disk; decompress it first (%s -dk %s)", name, tool, unz, name);
	}
	return gm_error_set(err, -EINVAL, "%s: not an image", name);
}
