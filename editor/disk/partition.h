/* partition.h — finding the filesystem inside the disk (libfdisk + libblkid).
 *
 * Pure probing over a file descriptor: nothing here writes. */
#ifndef GM_PARTITION_H
#define GM_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include "editor/error.h"

enum gm_ptable {
	GM_PTABLE_NONE = 0,   /* a bare filesystem (or nothing recognisable) */
	GM_PTABLE_MBR,
	GM_PTABLE_GPT,
};

#define GM_MAX_PARTITIONS 128

struct gm_partition {
	int number;             /* 1-based partition number; 0 = the whole disk */
	uint64_t offset;        /* bytes from the start of the disk */
	uint64_t size;          /* bytes */
	char fstype[16];        /* libblkid's name: "ext4", "xfs", "vfat", "" if none */
	char type_name[64];     /* partition type as libfdisk names it */
	int needs_recovery;     /* ext*: the journal needs recovery */
};

struct gm_partition_table {
	enum gm_ptable type;
	size_t n;
	struct gm_partition parts[GM_MAX_PARTITIONS];
	char problems[256];     /* e.g. "partition 2 ends past the disk"; "" if none */
};

/* Reads the partition table of the disk in fd (disk_size bytes) and probes
 * each partition's filesystem. A disk with no table but a filesystem at
 * offset 0 gives type NONE and one entry with number 0.
 * 0, or -EINVAL (nothing usable: message says what), -EIO, -ENOMEM. */
int gm_partition_probe(int fd, uint64_t disk_size, struct gm_partition_table *out,
		       struct gm_error *err);

/* Chooses the partition to edit: `requested` (>0: that number; 0: the only
 * ext2/3/4 one, or the largest if several — why says which and why).
 * why may be NULL. 0, -ENOENT (no such partition / no ext partition),
 * -EMEDIUMTYPE (requested one is not ext2/3/4). */
int gm_partition_choose(const struct gm_partition_table *t, int requested,
			const struct gm_partition **out, char *why, size_t whylen,
			struct gm_error *err);

const char *gm_ptable_name(enum gm_ptable t);

#endif
