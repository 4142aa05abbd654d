/* fat.h — a read-only FAT12/16/32 reader with VFAT long names, for the EFI
 * system partition of an image (gcemount never writes FAT).
 *
 * Why our own: Debian packages no FAT reading library meant for this (The
 * Sleuth Kit reads FAT for forensics: it lists deleted entries and virtual
 * files, does not verify long-name checksums, and converts times with the
 * host's time zone), and the job is small: a boot sector, a FAT, directory
 * entries. Everything read comes from the image and is untrusted: every
 * offset is checked against the partition, every cluster chain is bounded by
 * the cluster count, names are bounded.
 *
 * Semantics follow Linux's vfat driver with its defaults: a long name is
 * used when its checksum matches its 8.3 entry, else the 8.3 name (with the
 * NT lower-case flags); lookups are case-insensitive (ASCII letters) and
 * match the long or the 8.3 name; times are taken as UTC; modes are 0777
 * less dmask/fmask (default 022), write bits dropped for read-only files.
 * Inode numbers are the position of the entry on disk (1 is the root).
 * Same return convention as fs.h: 0 (or a count) or -errno, with a message
 * on the handle (gm_fat_errmsg). Not thread-safe. */
#ifndef GM_FAT_H
#define GM_FAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "editor/error.h"

struct gm_image;

typedef uint64_t gm_fat_ino_t;
#define GM_FAT_ROOT_INO 1u

struct gm_fat;

struct gm_fat_opts {
	uid_t uid;
	gid_t gid;
	mode_t fmask, dmask;         /* as the vfat mount options; 022 when both 0 and !masks_set */
	bool masks_set;
	/* An image still arriving (image.h, lazy open): every read waits for
	 * its range first (gm_image_wait). NULL: read the descriptor as it is. */
	struct gm_image *wait_for;
};

/* Opens the FAT filesystem in [offset, offset+size) of fd (which must stay
 * open). 0, or -EINVAL (not FAT: err says why), -EUCLEAN, -EIO, -ENOMEM. */
int gm_fat_open(int fd, uint64_t offset, uint64_t size, const struct gm_fat_opts *opts,
		struct gm_fat **out, struct gm_error *err);
void gm_fat_close(struct gm_fat *f);   /* accepts NULL */
const char *gm_fat_errmsg(const struct gm_fat *f);
/* "FAT12", "FAT16" or "FAT32". */
const char *gm_fat_type(const struct gm_fat *f);
/* The volume label from the boot sector or the root directory ("" if none). */
const char *gm_fat_label(const struct gm_fat *f);

int gm_fat_lookup(struct gm_fat *f, gm_fat_ino_t dir, const char *name, gm_fat_ino_t *ino);
int gm_fat_getattr(struct gm_fat *f, gm_fat_ino_t ino, struct stat *st);
ssize_t gm_fat_read(struct gm_fat *f, gm_fat_ino_t ino, void *buf, size_t len, uint64_t off);

/* Same contract as gm_dirent_fn (fs.h), with FAT inode numbers. */
typedef int (*gm_fat_dirent_fn)(void *priv, const char *name, size_t namelen, gm_fat_ino_t ino,
				unsigned dtype, uint64_t next_off);
/* "." and ".." first (".." of the root is the root itself: the caller maps
 * it to whatever the FAT is mounted on). */
int gm_fat_readdir(struct gm_fat *f, gm_fat_ino_t dir, uint64_t off, gm_fat_dirent_fn fn, void *priv);
/* The directory holding dir (the root for the root, and for a directory not
 * reached through lookup/readdir). */
gm_fat_ino_t gm_fat_parent(struct gm_fat *f, gm_fat_ino_t dir);

int gm_fat_statfs(struct gm_fat *f, struct statvfs *sv);

#endif
