/* partition.c — see partition.h. libfdisk reads the table (read-only, no
 * dialogs), libblkid names each partition's filesystem, and a direct look at
 * the ext superblock tells whether its journal needs recovery. Everything is
 * bounded by the disk size: hostile tables produce problems text, never I/O
 * outside the disk. */
#include "editor/disk/partition.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <blkid/blkid.h>
#include <libfdisk/libfdisk.h>

#include "editor/disk/gpt.h"

#define EXT_SB_OFFSET 1024
#define EXT_SB_MAGIC 0xEF53
#define EXT_INCOMPAT_RECOVER 0x0004u

const char *gm_ptable_name(enum gm_ptable t)
{
	switch (t) {
	case GM_PTABLE_MBR: return "mbr";
	case GM_PTABLE_GPT: return "gpt";
	default: return "none";
	}
}

static void add_problem(struct gm_partition_table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_problem(struct gm_partition_table *t, const char *fmt, ...)
{
	char one[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(one, sizeof(one), fmt, ap);
	va_end(ap);
	gm_note_append(t->problems, sizeof(t->problems), "%s", one);
}

static bool is_ext(const char *fstype)
{
	return !strcmp(fstype, "ext2") || !strcmp(fstype, "ext3") || !strcmp(fstype, "ext4") ||
	       !strcmp(fstype, "ext4dev");
}

bool gm_partition_is_ext(const struct gm_partition *p)
{
	return is_ext(p->fstype);
}

const struct gm_partition *gm_partition_find(const struct gm_partition_table *t, int number)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->parts[i].number == number)
			return &t->parts[i];
	return NULL;
}

/* Copies a libblkid value (printable bytes only: it comes from the disk). */
static void copy_value(char *dst, size_t dlen, const char *src)
{
	size_t i = 0;

	for (; src && *src && i + 1 < dlen; src++)
		dst[i++] = ((unsigned char)*src < 0x20 || *src == 0x7f) ? '?' : *src;
	dst[i] = '\0';
}

/* libblkid's name for the filesystem in [off, off+size) of fd; "" if none. */
static void probe_fstype(int fd, struct gm_partition *p, struct gm_partition_table *t)
{
	blkid_probe pr = blkid_new_probe();
	const char *type = NULL;
	int rc;

	p->fstype[0] = '\0';
	if (!pr)
		return;
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)p->offset, (blkid_loff_t)p->size) < 0)
		goto out;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID |
					  BLKID_SUBLKS_LABEL | BLKID_SUBLKS_VERSION);
	blkid_probe_enable_partitions(pr, 0);
	rc = blkid_do_safeprobe(pr);
	if (rc == 0 && blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0 && type) {
		const char *v = NULL;

		copy_value(p->fstype, sizeof(p->fstype), type);
		if (blkid_probe_lookup_value(pr, "UUID", &v, NULL) == 0)
			copy_value(p->uuid, sizeof(p->uuid), v);
		if (blkid_probe_lookup_value(pr, "LABEL", &v, NULL) == 0)
			copy_value(p->label, sizeof(p->label), v);
		if (blkid_probe_lookup_value(pr, "VERSION", &v, NULL) == 0)
			copy_value(p->fsversion, sizeof(p->fsversion), v);
	} else if (rc == -2)
		add_problem(t, "partition %d: several filesystem signatures", p->number);
out:
	blkid_free_probe(pr);
	/* libblkid leaves POSIX_FADV_RANDOM on the fd, which turns readahead
	 * off for every later read of the disk; put the default back. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_NORMAL);
}

int gm_partition_probe_others(int fd, const struct gm_partition *p, char *found, size_t len)
{
	static char t2[] = "ext2", t3[] = "ext3", t4[] = "ext4", t4d[] = "ext4dev", tj[] = "jbd";
	static char *ext_types[] = { t2, t3, t4, t4d, tj, NULL };
	blkid_probe pr = blkid_new_probe();
	const char *type = NULL;
	int rc, hit = 0;

	found[0] = '\0';
	if (!pr)
		return -ENOMEM;
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)p->offset, (blkid_loff_t)p->size) == 0) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
		blkid_probe_filter_superblocks_type(pr, BLKID_FLTR_NOTIN, ext_types);
		blkid_probe_enable_partitions(pr, 0);
		rc = blkid_do_safeprobe(pr);
		if (rc == 0 && blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0 && type) {
			copy_value(found, len, type);
			hit = 1;
		} else if (rc == -2) {
			snprintf(found, len, "several");
			hit = 1;
		}
	}
	blkid_free_probe(pr);
	posix_fadvise(fd, 0, 0, POSIX_FADV_NORMAL);
	return hit;
}

static uint16_t le16(const unsigned char *b) { return (uint16_t)(b[0] | b[1] << 8); }
static uint32_t le32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void probe_recovery(int fd, struct gm_partition *p)
{
	unsigned char sb[1024];

	p->needs_recovery = 0;
	if (!is_ext(p->fstype) || p->size < EXT_SB_OFFSET + sizeof(sb))
		return;
	if (pread(fd, sb, sizeof(sb), (off_t)(p->offset + EXT_SB_OFFSET)) != (ssize_t)sizeof(sb))
		return;
	if (le16(sb + 0x38) != EXT_SB_MAGIC)
		return;
	p->needs_recovery = (le32(sb + 0x60) & EXT_INCOMPAT_RECOVER) != 0;
}

#define LVM_SCAN_MAX (2u << 20)   /* label + the default 1 MiB metadata area */

static void probe_lvm(int fd, struct gm_partition *p)
{
	size_t len = p->size < LVM_SCAN_MAX ? (size_t)p->size : LVM_SCAN_MAX;
	unsigned char *buf;
	ssize_t n;

	if (strcmp(p->fstype, "LVM2_member") || !(buf = malloc(len)))
		return;
	n = pread(fd, buf, len, (off_t)p->offset);
	if (n > 0 && gm_lvm_vg_name(buf, (size_t)n, p->vg_name, sizeof(p->vg_name)) < 0)
		p->vg_name[0] = '\0';
	free(buf);
}

/* What probing a partition reads: its first LVM_SCAN_MAX bytes (the
 * filesystem probes' superblocks, the LVM metadata); more, near the end,
 * by a few libblkid probes (RAID, ZFS, UDF, nilfs2), whose answer on a
 * disk still arriving is checked against the whole one (partition_image.c). */
struct waiter {
	gm_partition_wait_fn fn;
	void *priv;
	bool table_only;      /* the table alone: nothing probed inside it */
};

static int probe_one(int fd, uint64_t disk_size, const struct waiter *w, struct gm_partition *p,
		     struct gm_partition_table *t)
{
	int rc;

	if (p->offset >= disk_size || p->size > disk_size - p->offset) {
		add_problem(t, "partition %d ends past the end of the disk", p->number);
		return 0;
	}
	if (w->table_only)
		return 0;
	if (w->fn && (rc = w->fn(w->priv, p->offset, p->size < LVM_SCAN_MAX ? p->size : LVM_SCAN_MAX)))
		return rc;
	probe_fstype(fd, p, t);
	probe_recovery(fd, p);
	probe_lvm(fd, p);
	return 0;
}

void gm_partition_reprobe(int fd, uint64_t disk_size, struct gm_partition *p,
			  struct gm_partition_table *t)
{
	static const struct waiter none;

	p->fstype[0] = p->uuid[0] = p->label[0] = p->fsversion[0] = p->vg_name[0] = '\0';
	p->needs_recovery = 0;
	probe_one(fd, disk_size, &none, p, t);
}

static const struct {
	const char *guid;
	enum gm_part_role role;
} gpt_roles[] = {
	{ "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", GM_ROLE_ESP },
	{ "21686148-6449-6e6f-744e-656564454649", GM_ROLE_BIOS_BOOT },
	{ "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", GM_ROLE_ROOT },
	{ "bc13c2ff-59e6-4262-a352-b275fd6f7172", GM_ROLE_XBOOTLDR },
	{ "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", GM_ROLE_SWAP },
	{ "e6d6d379-f507-44c2-a23c-238f2a3df928", GM_ROLE_LVM },
	{ "ca7d7ccb-63ed-4c53-861c-1742536059cc", GM_ROLE_LUKS },
};

static enum gm_part_role role_of(const struct gm_partition *p)
{
	if (p->type_guid[0]) {
		for (size_t i = 0; i < sizeof(gpt_roles) / sizeof(gpt_roles[0]); i++)
			if (!strcmp(p->type_guid, gpt_roles[i].guid))
				return gpt_roles[i].role;
		return GM_ROLE_OTHER;
	}
	switch (p->mbr_type) {
	case 0xef: return GM_ROLE_ESP;
	case 0x82: return GM_ROLE_SWAP;
	case 0x8e: return GM_ROLE_LVM;
	case 0x05: case 0x0f: case 0x85: return GM_ROLE_EXTENDED;
	default: return GM_ROLE_OTHER;
	}
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Type GUID, PARTUUID and PARTLABEL as udev would name them. mbr_id is the
 * MBR disk signature (bytes 440..443). */
static void read_ids(struct fdisk_partition *pa, struct fdisk_parttype *pt, struct gm_partition *p,
		     enum gm_ptable type, uint32_t mbr_id)
{
	if (type == GM_PTABLE_GPT) {
		if (pt && fdisk_parttype_get_string(pt))
			copy_value(p->type_guid, sizeof(p->type_guid), fdisk_parttype_get_string(pt));
		if (fdisk_partition_get_uuid(pa))
			copy_value(p->partuuid, sizeof(p->partuuid), fdisk_partition_get_uuid(pa));
		if (fdisk_partition_get_name(pa))
			copy_value(p->partlabel, sizeof(p->partlabel), fdisk_partition_get_name(pa));
		lower(p->type_guid);
		lower(p->partuuid);
	} else {
		p->mbr_type = pt ? fdisk_parttype_get_code(pt) : 0;
		p->bootable = fdisk_partition_is_bootable(pa) == 1;
		snprintf(p->partuuid, sizeof(p->partuuid), "%08" PRIx32 "-%02x", mbr_id,
			 (unsigned)p->number & 0xffu);
	}
	p->role = role_of(p);
}

static uint64_t le64(const unsigned char *b) { return le32(b) | (uint64_t)le32(b + 4) << 32; }

/* libfdisk believes a GPT header's entry count and size and allocates their
 * product before checking anything else: refuse implausible headers (at the
 * primary, the last sector, and where the primary says the backup is)
 * before handing the disk over. Sector size 512 (images are files). */
static int gpt_plausible(int fd, uint64_t disk_size, struct gm_error *err)
{
	uint64_t lbas[3] = { 1, disk_size / 512 - 1, 0 };
	unsigned char h[512];

	for (size_t i = 0; i < 3; i++) {
		uint32_t hsize, n, esz;

		if (lbas[i] == 0 || lbas[i] >= disk_size / 512)
			continue;
		if (pread(fd, h, sizeof(h), (off_t)(lbas[i] * 512)) != (ssize_t)sizeof(h))
			continue;
		if (memcmp(h, "EFI PART", 8))
			continue;
		hsize = le32(h + 12);
		n = le32(h + 80);
		esz = le32(h + 84);
		if (hsize < 92 || hsize > 512 || esz < 128 || esz > 4096 || esz % 8 || n > 4096 ||
		    (uint64_t)n * esz > (1u << 20))
			return gm_error_set(err, -EINVAL,
					    "the GPT header at sector %" PRIu64 " is not plausible (%" PRIu32
					    " entries of %" PRIu32 " bytes); refusing to read the table",
					    lbas[i], n, esz);
		if (i == 0)
			lbas[2] = le64(h + 32);   /* where the backup header should be */
	}
	return 0;
}

/* Fills t from libfdisk's view of the table. 0 or -errno. */
static int read_table(int fd, uint64_t disk_size, const struct waiter *w,
		      struct gm_partition_table *t, struct gm_error *err)
{
	struct fdisk_context *cxt = fdisk_new_context();
	struct fdisk_table *tb = NULL;
	unsigned long ssz;
	uint32_t mbr_id = 0;
	int rc = 0;

	if (!cxt)
		return gm_error_set(err, -ENOMEM, "out of memory");
	rc = gpt_plausible(fd, disk_size, err);
	if (rc)
		goto out;
	fdisk_disable_dialogs(cxt, 1);
	rc = fdisk_assign_device_by_fd(cxt, fd, "disk", 1);
	if (rc < 0) {
		rc = gm_error_set(err, rc == -ENOMEM ? -ENOMEM : -EIO,
				  "cannot read the partition table: %s", strerror(-rc));
		goto out;
	}
	if (!fdisk_has_label(cxt)) {
		t->type = GM_PTABLE_NONE;
		goto out;
	}
	if (fdisk_is_label(cxt, DOS)) {
		t->type = GM_PTABLE_MBR;
	} else if (fdisk_is_label(cxt, GPT)) {
		t->type = GM_PTABLE_GPT;
	} else {
		struct fdisk_label *lb = fdisk_get_label(cxt, NULL);

		rc = gm_error_set(err, -EINVAL, "unsupported partition table type %s (only MBR and GPT)",
				  lb ? fdisk_label_get_name(lb) : "?");
		goto out;
	}
	{
		unsigned char mbr[4];

		if (pread(fd, mbr, sizeof(mbr), 440) == (ssize_t)sizeof(mbr))
			mbr_id = le32(mbr);
	}
	ssz = fdisk_get_sector_size(cxt);
	if (ssz == 0 || ssz > 65536)
		ssz = 512;
	if (fdisk_get_partitions(cxt, &tb) < 0 || !tb) {
		add_problem(t, "cannot list the partitions");
		goto out;
	}
	for (size_t i = 0; i < fdisk_table_get_nents(tb); i++) {
		struct fdisk_partition *pa = fdisk_table_get_partition(tb, i);
		struct fdisk_parttype *pt;
		struct gm_partition *p;
		uint64_t start, size;

		if (!pa || !fdisk_partition_is_used(pa) || fdisk_partition_is_container(pa))
			continue;
		if (!fdisk_partition_has_start(pa) || !fdisk_partition_has_size(pa) ||
		    !fdisk_partition_has_partno(pa))
			continue;
		if (t->n >= GM_MAX_PARTITIONS) {
			add_problem(t, "more than %d partitions; the rest are ignored", GM_MAX_PARTITIONS);
			break;
		}
		start = fdisk_partition_get_start(pa);
		size = fdisk_partition_get_size(pa);
		p = &t->parts[t->n];
		memset(p, 0, sizeof(*p));
		p->number = (int)fdisk_partition_get_partno(pa) + 1;
		if (start > UINT64_MAX / ssz || size > UINT64_MAX / ssz ||
		    start * ssz > UINT64_MAX - size * ssz) {
			add_problem(t, "partition %d has an impossible size", p->number);
			continue;
		}
		p->offset = start * ssz;
		p->size = size * ssz;
		pt = fdisk_partition_get_type(pa);
		if (pt && fdisk_parttype_get_name(pt))
			snprintf(p->type_name, sizeof(p->type_name), "%s", fdisk_parttype_get_name(pt));
		read_ids(pa, pt, p, t->type, mbr_id);
		t->n++;
		if ((rc = probe_one(fd, disk_size, w, p, t))) {
			gm_error_set(err, rc, "cannot read partition %d: %s", p->number, strerror(-rc));
			goto out;
		}
		if (t->type == GM_PTABLE_MBR && pt && fdisk_parttype_get_code(pt) == 0xEE)
			add_problem(t, "partition %d is a protective MBR entry but no valid GPT was found",
				    p->number);
	}
out:
	fdisk_unref_table(tb);
	fdisk_unref_context(cxt);
	return rc;
}

static int probe_table(int fd, uint64_t disk_size, const struct waiter *w,
		       struct gm_partition_table *out, struct gm_error *err);

int gm_partition_probe(int fd, uint64_t disk_size, struct gm_partition_table *out,
		       struct gm_error *err)
{
	return gm_partition_probe_wait(fd, disk_size, NULL, NULL, out, err);
}

int gm_partition_probe_wait(int fd, uint64_t disk_size, gm_partition_wait_fn wait, void *wpriv,
			    struct gm_partition_table *out, struct gm_error *err)
{
	const struct waiter w = { wait, wpriv, false };

	return probe_table(fd, disk_size, &w, out, err);
}

int gm_partition_read_table(int fd, uint64_t disk_size, struct gm_partition_table *out,
			    struct gm_error *err)
{
	const struct waiter w = { NULL, NULL, true };

	return probe_table(fd, disk_size, &w, out, err);
}

static int probe_table(int fd, uint64_t disk_size, const struct waiter *wt,
		       struct gm_partition_table *out, struct gm_error *err)
{
	const struct waiter w = *wt;
	struct gm_partition_table *t = out;
	int rc;

	memset(t, 0, sizeof(*t));
	if (disk_size < 2048)
		return gm_error_set(err, -EINVAL, "the disk is too small (%" PRIu64 " bytes) to hold a filesystem",
				    disk_size);
	rc = read_table(fd, disk_size, &w, t, err);
	if (rc < 0) {
		memset(t, 0, sizeof(*t));
		return rc;
	}
	if (t->type == GM_PTABLE_GPT && !w.fn) {
		char why[192];

		gm_gpt_backup_problem(fd, disk_size, why, sizeof(why));
		if (why[0])
			add_problem(t, "%s", why);
	}
	if (t->type != GM_PTABLE_NONE) {
		if (t->n == 0)
			add_problem(t, "the %s partition table has no partitions",
				    t->type == GM_PTABLE_MBR ? "MBR" : "GPT");
		return 0;
	}
	/* No table: a bare filesystem over the whole disk, or nothing. */
	t->n = 1;
	t->parts[0] = (struct gm_partition){ .number = 0, .offset = 0, .size = disk_size };
	snprintf(t->parts[0].type_name, sizeof(t->parts[0].type_name), "whole disk");
	if ((rc = probe_one(fd, disk_size, &w, &t->parts[0], t))) {
		memset(t, 0, sizeof(*t));
		return gm_error_set(err, rc, "cannot read the disk: %s", strerror(-rc));
	}
	if (!t->parts[0].fstype[0] && !w.table_only) {
		memset(t, 0, sizeof(*t));
		return gm_error_set(err, -EINVAL, "no partition table and no filesystem");
	}
	return 0;
}

static void describe(const struct gm_partition *p, char *buf, size_t len)
{
	char what[160];

	gm_partition_describe(p, what, sizeof(what));
	if (p->number == 0)
		snprintf(buf, len, "the disk holds %s", p->fstype[0] ? what : "no filesystem");
	else if (p->fstype[0])
		snprintf(buf, len, "partition %d is %s", p->number, what);
	else
		snprintf(buf, len, "partition %d has no filesystem", p->number);
}

void gm_human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

int gm_partition_choose(const struct gm_partition_table *t, int requested,
			const struct gm_partition **out, char *why, size_t whylen,
			struct gm_error *err)
{
	const struct gm_partition *best = NULL;
	char found[200] = "", one[200], sz[32];
	size_t next = 0;
	int n_ext = 0;

	if (why && whylen)
		why[0] = '\0';
	if (requested > 0) {
		for (size_t i = 0; i < t->n; i++) {
			const struct gm_partition *p = &t->parts[i];

			if (p->number != requested)
				continue;
			if (!is_ext(p->fstype)) {
				describe(p, one, sizeof(one));
				if (!p->fstype[0] && strstr(t->problems, "past the end"))
					return gm_error_set(err, -EMEDIUMTYPE, "partition %d ends past the end of the disk",
							    p->number);
				return gm_error_set(err, -EMEDIUMTYPE, "%s; gcemount edits ext2/3/4 only", one);
			}
			*out = p;
			if (why && whylen)
				snprintf(why, whylen, "partition %d (%s), as requested", p->number, p->fstype);
			return 0;
		}
		if (t->type == GM_PTABLE_NONE)
			return gm_error_set(err, -ENOENT,
					    "no partition %d: the disk has no partition table (the filesystem "
					    "covers the whole disk)", requested);
		return gm_error_set(err, -ENOENT, "no partition %d (the %s table has %zu)", requested,
				    t->type == GM_PTABLE_MBR ? "MBR" : "GPT", t->n);
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct gm_partition *p = &t->parts[i];

		if (is_ext(p->fstype)) {
			n_ext++;
			if (!best || p->size > best->size)
				best = p;
		}
		describe(p, one, sizeof(one));
		if (next < sizeof(found))
			next += (size_t)snprintf(found + next, sizeof(found) - next, "%s%s",
						 next ? ", " : "", one);
	}
	if (!best) {
		if (t->n == 0)
			return gm_error_set(err, -ENOENT, "no partitions%s%s", t->problems[0] ? ": " : "",
					    t->problems);
		return gm_error_set(err, -ENOENT, "no ext2/3/4 filesystem: %s%s%s%s; gcemount edits ext2/3/4 only",
				    found, t->problems[0] ? " (" : "", t->problems, t->problems[0] ? ")" : "");
	}
	*out = best;
	if (why && whylen) {
		gm_human_size(best->size, sz, sizeof(sz));
		if (n_ext == 1 && best->number == 0)
			snprintf(why, whylen, "whole disk (%s, %s)", best->fstype, sz);
		else if (n_ext == 1)
			snprintf(why, whylen, "partition %d (%s, %s)", best->number, best->fstype, sz);
		else
			snprintf(why, whylen,
				 "partition %d (%s, %s): the largest of %d ext partitions; choose another with --partition N",
				 best->number, best->fstype, sz, n_ext);
	}
	return 0;
}

void gm_partition_describe(const struct gm_partition *p, char *buf, size_t len)
{
	const char *t = p->fstype;

	if (!t[0])
		snprintf(buf, len, "%s", p->role == GM_ROLE_BIOS_BOOT ? "a BIOS boot partition" :
			 "no filesystem gcemount recognises");
	else if (is_ext(t))
		snprintf(buf, len, "%s", t);
	else if (!strcmp(t, "xfs"))
		snprintf(buf, len, "XFS");
	else if (!strcmp(t, "btrfs"))
		snprintf(buf, len, "btrfs");
	else if (!strcmp(t, "squashfs"))
		snprintf(buf, len, "squashfs (read-only by design)");
	else if (!strcmp(t, "vfat"))
		snprintf(buf, len, "FAT (vfat)");
	else if (!strcmp(t, "swap"))
		snprintf(buf, len, "swap");
	else if (!strcmp(t, "crypto_LUKS"))
		snprintf(buf, len, "LUKS-encrypted%s%s%s", p->fsversion[0] ? " (LUKS" : "",
			 p->fsversion, p->fsversion[0] ? ")" : "");
	else if (!strcmp(t, "LVM2_member"))
		snprintf(buf, len, "an LVM physical volume%s%s%s", p->vg_name[0] ? " (volume group " : "",
			 p->vg_name, p->vg_name[0] ? ")" : "");
	else
		snprintf(buf, len, "%s", t);
}
