/* partition_image.c — the partition table of an image that may still be
 * arriving (partition.h: gm_partition_probe_image).
 *
 * What the table needs from the start of the disk: the MBR, the primary GPT
 * header and its entry array. libfdisk (2.38: gpt_probe_label) takes the
 * entries from the primary when the primary header and array are valid and
 * reads the backup only to repair a damaged primary; so a valid primary
 * gives the same table before and after the end of the disk arrives. An
 * MBR's logical partitions (a chain of EBRs through the disk) and BSD
 * labels inside partitions are read where they are: those disks are probed
 * whole. libblkid's probes read each partition's first 2 MiB, which are
 * waited for; a few probes (RAID superblocks, ZFS and UDF anchors, nilfs2's
 * second superblock) look near a partition's end, where the disk may not
 * have arrived: they see zeros there and find nothing. That is why the
 * whole table is probed again once the image is read, and compared.
 */
#include "editor/disk/partition.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "editor/container/image.h"
#include "editor/disk/gpt.h"

#define HEAD (64u << 10)   /* the MBR, the primary GPT header, usually its entries */

static int wait_img(void *priv, uint64_t off, uint64_t len)
{
	return gm_image_wait(priv, off, len);
}

/* Whether the table can be read from the disk's start: 1 yes, 0 no (the
 * whole disk is needed), or -errno. */
static int start_is_enough(struct gm_image *img, int fd, uint64_t size)
{
	unsigned char mbr[512];
	struct gm_gpt_hdr h;
	int rc;

	if ((rc = gm_image_wait(img, 0, size < HEAD ? size : HEAD)))
		return rc;
	if (pread(fd, mbr, sizeof(mbr), 0) != (ssize_t)sizeof(mbr))
		return 0;
	rc = gm_gpt_read(fd, size, 1, wait_img, img, &h);
	if (rc == 0)
		return 1;          /* a whole primary GPT */
	if (rc != -EINVAL)
		return rc;
	if (size >= 1024) {
		unsigned char s1[8];

		if (pread(fd, s1, sizeof(s1), 512) == (ssize_t)sizeof(s1) && !memcmp(s1, "EFI PART", 8))
			return 0;   /* a damaged primary: libfdisk turns to the backup */
	}
	if (mbr[510] == 0x55 && mbr[511] == 0xaa) {
		for (int i = 0; i < 4; i++) {
			unsigned type = mbr[446 + 16 * i + 4];

			if (type == 0x05 || type == 0x0f || type == 0x85 ||   /* extended */
			    type == 0xa5 || type == 0xa6 || type == 0xa9)     /* BSD labels */
				return 0;
		}
	}
	return 1;
}

struct recheck {
	char image[256];
	struct gm_partition_table seen;
};

/* The table itself (libfdisk's reading, from the disk's start only, which
 * no session writes). */
static bool same_slot(const struct gm_partition *a, const struct gm_partition *b)
{
	return a->number == b->number && a->offset == b->offset && a->size == b->size &&
	       !strcmp(a->type_name, b->type_name) && a->role == b->role &&
	       a->mbr_type == b->mbr_type && a->bootable == b->bootable &&
	       !strcmp(a->type_guid, b->type_guid) && !strcmp(a->partuuid, b->partuuid) &&
	       !strcmp(a->partlabel, b->partlabel);
}

/* What libblkid says the partition holds. */
static bool same_contents(const struct gm_partition *a, const struct gm_partition *b)
{
	return !strcmp(a->fstype, b->fstype) && !strcmp(a->uuid, b->uuid) &&
	       !strcmp(a->label, b->label) && !strcmp(a->fsversion, b->fsversion) &&
	       a->needs_recovery == b->needs_recovery && !strcmp(a->vg_name, b->vg_name);
}

/* Once the whole image is read: the same table, and the same contents
 * where nothing was waited for. An ext partition may have been edited in
 * the meantime (its superblock rewritten): there, only that no other
 * signature shows up in the whole partition (a RAID superblock at its end,
 * say) is checked; other partitions (which gcemount never writes) are
 * probed whole again and compared. */
static int recheck(void *priv, int fd, uint64_t size, char *note, size_t notelen,
		   struct gm_error *err)
{
	const struct recheck *r = priv;
	struct gm_partition_table *now = calloc(1, sizeof(*now));
	struct gm_error e = { 0 };
	char why[160] = "", other[32];
	int rc;

	if (!now)
		return gm_error_set(err, -ENOMEM, "out of memory");
	rc = gm_partition_probe(fd, size, now, &e);
	if (rc)
		snprintf(why, sizeof(why), "%s", gm_error_msg(&e));
	else if (now->type != r->seen.type || now->n != r->seen.n)
		snprintf(why, sizeof(why), "the partition table");
	for (size_t i = 0; !why[0] && i < now->n; i++) {
		const struct gm_partition *a = &r->seen.parts[i];
		struct gm_partition *b = &now->parts[i];

		if (!same_slot(a, b)) {
			snprintf(why, sizeof(why), "partition %d", a->number);
		} else if (gm_partition_is_ext(a)) {
			if (gm_partition_probe_others(fd, a, other, sizeof(other)) > 0)
				snprintf(why, sizeof(why), "partition %d also holds %s", a->number, other);
		} else {
			gm_partition_reprobe(fd, size, b, now);
			if (!same_contents(a, b))
				snprintf(why, sizeof(why), "what partition %d holds", a->number);
		}
	}
	if (why[0])
		rc = gm_error_set(err, -EIO, "%s: the partition table or a filesystem signature read "
				  "before the whole image arrived differs from the whole image's (%s)",
				  r->image, why);
	else if (now->type == GM_PTABLE_GPT)
		gm_gpt_backup_problem(fd, size, note, notelen);
	free(now);
	return rc;
}

/* The lazy probe proper: the table from the start, each partition's first
 * 2 MiB waited for; what is not ext read whole. */
static int probe_from_start(struct gm_image *img, int fd, uint64_t size,
			    struct gm_partition_table *out, struct gm_error *err)
{
	int rc = gm_partition_probe_wait(fd, size, wait_img, img, out, err);

	if (rc)
		return rc;
	/* What is not ext (the ESP's FAT, ...) may keep its label further in
	 * (a FAT root directory): such a partition is read whole first, and is
	 * never written. */
	for (size_t i = 0; i < out->n; i++) {
		struct gm_partition *p = &out->parts[i];

		if (!p->fstype[0] || gm_partition_is_ext(p) || p->offset >= size ||
		    p->size > size - p->offset)
			continue;
		if ((rc = gm_image_wait(img, p->offset, p->size)))
			return gm_error_set(err, rc, "cannot read partition %d: %s", p->number,
					    strerror(-rc));
		gm_partition_reprobe(fd, size, p, out);
	}
	return 0;
}

int gm_partition_probe_image(struct gm_image *img, struct gm_partition_table *out,
			     struct gm_error *err)
{
	uint64_t size = gm_image_disk_size(img);
	int fd = gm_image_disk_fd(img);
	struct recheck *r;
	int rc;

	if (gm_image_complete(img)) {
		rc = gm_partition_probe(fd, size, out, err);
	} else if ((rc = start_is_enough(img, fd, size)) < 0) {
		return gm_error_set(err, rc, "cannot read the partition table: %s", strerror(-rc));
	} else if (rc == 0) {
		if ((rc = gm_image_wait(img, 0, size)))
			return gm_error_set(err, rc, "cannot read the partition table: %s",
					    strerror(-rc));
		rc = gm_partition_probe(fd, size, out, err);
	} else {
		rc = probe_from_start(img, fd, size, out, err);
	}
	if (rc)
		return rc;
	/* checked once all is read (at once when it is): the backup GPT's
	 * verdict becomes the image's note either way */
	r = malloc(sizeof(*r));
	if (!r)
		return gm_error_set(err, -ENOMEM, "out of memory");
	snprintf(r->image, sizeof(r->image), "%s", gm_image_path(img));
	r->seen = *out;
	rc = gm_image_after_read(img, recheck, free, r);
	if (rc == -ENOMEM) {
		free(r);
		return gm_error_set(err, rc, "out of memory");
	}
	if (rc)
		return gm_error_set(err, rc, "%s", "the partition table read before the whole image "
				    "arrived differs from the whole image's");
	return 0;
}
