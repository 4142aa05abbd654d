/* fstab.h — /etc/fstab of an image, parsed (pure functions over bytes: the
 * file comes from the image and is untrusted), and its device specs matched
 * to the disk's partitions.
 *
 * Parsing follows fstab(5) and libmount: fields separated by blanks, '#'
 * comments, octal escapes (\040) in the first two fields, the last two
 * fields optional. Lines that do not parse are skipped and counted. Fields
 * longer than their buffers make the line invalid (never truncated). */
#ifndef GM_FSTAB_H
#define GM_FSTAB_H

#include <stdbool.h>
#include <stddef.h>

#include "editor/disk/partition.h"

#define GM_FSTAB_MAX 64          /* entries kept; more are counted in skipped */

struct gm_fstab_entry {
	char spec[256];              /* fs_spec, unescaped */
	char file[256];              /* fs_file (mount point), unescaped */
	char vfstype[32];
	char opts[256];
	int freq, passno;
	int line;                    /* 1-based line in the file */
};

struct gm_fstab {
	size_t n;
	struct gm_fstab_entry e[GM_FSTAB_MAX];
	unsigned skipped;            /* lines that did not parse, or past GM_FSTAB_MAX */
	int first_bad_line;          /* 0 if none */
};

/* Parses buf (len bytes, need not be NUL-terminated). Always succeeds. */
void gm_fstab_parse(const char *buf, size_t len, struct gm_fstab *out);

enum gm_fstab_key {
	GM_FSKEY_UNKNOWN = 0,        /* a device gcemount cannot map (by-id, NFS, ...) */
	GM_FSKEY_NONE,               /* no device: tmpfs, proc, "none", bind mounts */
	GM_FSKEY_UUID,               /* UUID= or /dev/disk/by-uuid/ */
	GM_FSKEY_PARTUUID,
	GM_FSKEY_LABEL,
	GM_FSKEY_PARTLABEL,
	GM_FSKEY_PARTNO,             /* /dev/sda1, /dev/nvme0n1p1, .../by-id/...-part1 */
	GM_FSKEY_LVM,                /* /dev/mapper/VG-LV or /dev/VG/LV */
};

struct gm_fstab_source {
	enum gm_fstab_key key;
	char value[256];             /* UUID, label, ... (unquoted, udev \xNN decoded) */
	int partno;                  /* GM_FSKEY_PARTNO */
	char vg[128], lv[128];       /* GM_FSKEY_LVM */
};

/* What fs_spec names. */
void gm_fstab_source(const struct gm_fstab_entry *e, struct gm_fstab_source *out);

/* The partition of t the source names, or NULL (none, or not a partition).
 * UUIDs compare case-insensitively, labels exactly. */
const struct gm_partition *gm_fstab_match(const struct gm_partition_table *t,
					  const struct gm_fstab_source *s);

/* Whether the comma-separated option list has name (as "name" or
 * "name=..."); val (may be NULL) gets the value ("" when none). */
bool gm_fstab_opt(const char *opts, const char *name, char *val, size_t vallen);

/* Whether the entry is a filesystem the booted system mounts at boot from a
 * block device: not swap, not noauto, not a pseudo filesystem or bind. */
bool gm_fstab_is_disk_mount(const struct gm_fstab_entry *e);

#endif
