/* partition.h — finding the filesystem inside the disk (libfdisk + libblkid).
 *
 * Pure probing over a file descriptor: nothing here writes. */
#ifndef GM_PARTITION_H
#define GM_PARTITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "editor/error.h"

enum gm_ptable {
	GM_PTABLE_NONE = 0,   /* a bare filesystem (or nothing recognisable) */
	GM_PTABLE_MBR,
	GM_PTABLE_GPT,
};

#define GM_MAX_PARTITIONS 128

/* What a partition is for, from its type (GPT type GUID or MBR code). */
enum gm_part_role {
	GM_ROLE_OTHER = 0,
	GM_ROLE_ESP,            /* EFI system partition */
	GM_ROLE_BIOS_BOOT,      /* GPT BIOS boot partition (GRUB's core.img) */
	GM_ROLE_ROOT,           /* GPT "Linux root (x86-64)" */
	GM_ROLE_XBOOTLDR,       /* GPT "Linux extended boot" (/boot) */
	GM_ROLE_SWAP,
	GM_ROLE_LVM,
	GM_ROLE_LUKS,
	GM_ROLE_EXTENDED,       /* MBR extended (container) */
};

struct gm_partition {
	int number;             /* 1-based partition number; 0 = the whole disk */
	uint64_t offset;        /* bytes from the start of the disk */
	uint64_t size;          /* bytes */
	char fstype[16];        /* libblkid's name: "ext4", "xfs", "vfat", "" if none */
	char type_name[64];     /* partition type as libfdisk names it */
	int needs_recovery;     /* ext*: the journal needs recovery */
	enum gm_part_role role;
	unsigned mbr_type;      /* MBR type code (0 on GPT) */
	int bootable;           /* MBR active flag */
	char type_guid[40];     /* GPT type GUID, lower case ("" on MBR) */
	char partuuid[40];      /* PARTUUID as udev names it (GPT GUID, or MBR "id-NN"), lower case */
	char partlabel[128];    /* GPT partition name (UTF-8) */
	char uuid[64];          /* filesystem UUID (libblkid), as blkid prints it */
	char label[128];        /* filesystem label (libblkid) */
	char fsversion[16];     /* libblkid VERSION (LUKS "2", ...) */
	char vg_name[128];      /* LVM2_member: volume group named in the label's metadata */
};

struct gm_partition_table {
	enum gm_ptable type;
	size_t n;
	struct gm_partition parts[GM_MAX_PARTITIONS];
	char problems[256];     /* e.g. "partition 2 ends past the disk"; "" if none */
};

/* Reads the partition table of the disk in fd (disk_size bytes) and probes
 * each partition's filesystem. A disk with no table but a filesystem at
 * offset 0 gives type NONE and one entry with number 0. For a GPT, a
 * backup header that is missing, damaged or differs from the primary is
 * named in problems.
 * 0, or -EINVAL (nothing usable: message says what), -EIO, -ENOMEM. */
int gm_partition_probe(int fd, uint64_t disk_size, struct gm_partition_table *out,
		       struct gm_error *err);

/* The same on a disk still arriving: wait(priv, off, len) is called before
 * each partition's start is probed (0 or -errno, which ends the probe).
 * The backup GPT is not looked at (it may not be there yet). */
typedef int (*gm_partition_wait_fn)(void *priv, uint64_t off, uint64_t len);
int gm_partition_probe_wait(int fd, uint64_t disk_size, gm_partition_wait_fn wait, void *wpriv,
			    struct gm_partition_table *out, struct gm_error *err);

/* The table alone (libfdisk; the backup GPT checked into problems): what
 * each partition holds is not probed (fstype etc. empty); a disk without a
 * table gives one entry, number 0. 0 or -errno as gm_partition_probe. */
int gm_partition_read_table(int fd, uint64_t disk_size, struct gm_partition_table *out,
			    struct gm_error *err);

/* Probes what partition p holds again (fstype, ids, journal recovery, LVM
 * volume group), problems into t. */
void gm_partition_reprobe(int fd, uint64_t disk_size, struct gm_partition *p,
			  struct gm_partition_table *t);

/* Whether libblkid finds, in partition p of fd, a signature of anything but
 * ext2/3/4 (their journal included): 1 with its name in found ("several"
 * for more than one), 0 (none), -ENOMEM. For the check after a lazy open:
 * an ext filesystem the session may have changed is not compared, what
 * else the whole partition holds is. */
int gm_partition_probe_others(int fd, const struct gm_partition *p, char *found, size_t len);

/* The table of an image, which may still be arriving (image.h, lazy open):
 * read from the start of the disk when that is enough (a valid primary GPT
 * — libfdisk reads its entries and uses the backup only when the primary is
 * damaged —, an MBR without extended or BSD partitions, no table), else
 * once the whole disk is there. Probed from the start only, the table is
 * checked again when the whole image is read (gm_image_after_read): a
 * different answer counts as damage (what was shown may be wrong), the
 * backup GPT's problems become the image's late note. 0 or -errno with the
 * message, as gm_partition_probe. */
struct gm_image;
int gm_partition_probe_image(struct gm_image *img, struct gm_partition_table *out,
			     struct gm_error *err);

/* Chooses the partition to edit: `requested` (>0: that number; 0: the only
 * ext2/3/4 one, or the largest if several — why says which and why).
 * why may be NULL. 0, -ENOENT (no such partition / no ext partition),
 * -EMEDIUMTYPE (requested one is not ext2/3/4). */
int gm_partition_choose(const struct gm_partition_table *t, int requested,
			const struct gm_partition **out, char *why, size_t whylen,
			struct gm_error *err);

const char *gm_ptable_name(enum gm_ptable t);

/* Whether the partition holds ext2/3/4 (what gcemount edits). */
bool gm_partition_is_ext(const struct gm_partition *p);
/* The partition with that number (0: the whole disk), or NULL. */
const struct gm_partition *gm_partition_find(const struct gm_partition_table *t, int number);
/* What the partition holds, for a sentence: "ext4", "XFS", "FAT (vfat)",
 * "an LVM physical volume (volume group rootvg)", "LUKS-encrypted (LUKS2)",
 * "swap", "no filesystem gcemount recognises". */
void gm_partition_describe(const struct gm_partition *p, char *buf, size_t len);
/* 9.8 GiB, 512 MiB, 0 B. */
void gm_human_size(uint64_t bytes, char *buf, size_t len);

/* The volume group name of an LVM2 physical volume, from its label and the
 * text metadata it points to (all bounds-checked: buf holds the first len
 * bytes of the partition). 0 with name set, -ENOENT when the label or the
 * metadata says nothing usable. Pure. */
int gm_lvm_vg_name(const unsigned char *buf, size_t len, char *name, size_t namelen);

#endif
