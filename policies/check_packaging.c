/* check_packaging.c — the container and the disk: what Compute Engine's
 * import needs before it looks inside (see docs/check.md for the levels). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "editor/disk/partition.h"
#include "policies/check.h"

#define GIB ((uint64_t)1 << 30)
#define MIB ((uint64_t)1 << 20)

static enum gm_tar_format tar_format_of(int archive_fmt)
{
	switch (archive_fmt) {
	case ARCHIVE_FORMAT_TAR_GNUTAR: return GM_TAR_GNU;   /* gnu or oldgnu: same magic */
	case ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE:
	case ARCHIVE_FORMAT_TAR_PAX_RESTRICTED: return GM_TAR_PAX;
	case ARCHIVE_FORMAT_TAR_USTAR: return GM_TAR_USTAR;
	default: return GM_TAR_OTHER;
	}
}

int gm_check_scan_tar(const char *path, struct gm_tar_scan *out, char *msg, size_t msglen)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int rc = 0, r;

	memset(out, 0, sizeof(*out));
	out->filter = "none";
	if (!a)
		return -ENOMEM;
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		snprintf(msg, msglen, "%s: %s", path, archive_error_string(a));
		rc = -EINVAL;
		goto out;
	}
	for (;;) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_FATAL) {
			if (out->members == 0)
				snprintf(msg, msglen, "%s: not a tar archive (%s)", path,
					 archive_error_string(a));
			else
				snprintf(msg, msglen, "%s: unreadable after %u members (%s)", path,
					 out->members, archive_error_string(a));
			rc = -EINVAL;
			goto out;
		}
		if (out->members == 0) {
			const char *f = archive_filter_name(a, 0);

			out->filter = archive_filter_code(a, 0) == ARCHIVE_FILTER_GZIP ? "gzip" :
				      archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE ? "none" :
				      (f && !strcmp(f, "xz")) ? "xz" : (f && !strcmp(f, "zstd")) ? "zstd" :
				      (f && !strcmp(f, "bzip2")) ? "bzip2" : "other";
			out->gzip = archive_filter_code(a, 0) == ARCHIVE_FILTER_GZIP;
			snprintf(out->first_name, sizeof(out->first_name), "%s",
				 archive_entry_pathname(e) ? archive_entry_pathname(e) : "?");
			out->disk_format = tar_format_of(archive_format(a));
		}
		out->members++;
		const char *name = archive_entry_pathname(e);
		if (name && (!strcmp(name, "disk.raw") || !strcmp(name, "./disk.raw")) &&
		    archive_entry_filetype(e) == AE_IFREG && !out->has_disk) {
			out->has_disk = true;
			out->disk_format = tar_format_of(archive_format(a));
			out->disk_size = (uint64_t)archive_entry_size(e);
			out->disk_sparse = archive_entry_sparse_count(e) > 0;
		}
	}
out:
	archive_read_free(a);
	return rc;
}

static const char *format_reason(enum gm_tar_format f)
{
	switch (f) {
	case GM_TAR_PAX:
		return "pax format: the guide packs disk.raw with GNU tar --format=oldgnu; pax keeps a "
		       "sparse disk.raw in extended headers the importer does not read";
	case GM_TAR_USTAR:
		return "ustar format: the guide packs disk.raw with GNU tar --format=oldgnu; ustar "
		       "cannot store a sparse file nor a member over 8 GiB";
	default:
		return "not a GNU tar: the guide packs disk.raw with GNU tar --format=oldgnu";
	}
}

static void add_format_row(struct gm_check_report *rep, const char *path, enum gm_tar_format f)
{
	if (f == GM_TAR_OLDGNU || f == GM_TAR_GNU)
		gm_check_add(rep, "packaging.tar-format", GM_LEVEL_REQUIRED, GM_STATUS_PASS, NULL, 0,
			     "%s tar format", f == GM_TAR_OLDGNU ? "old-GNU (oldgnu)" : "GNU");
	else
		gm_check_add(rep, "packaging.tar-format", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
			     "%s", format_reason(f));
}

static void add_size_rows(struct gm_check_report *rep, uint64_t size)
{
	if (size && size % GIB == 0)
		gm_check_add(rep, "packaging.disk-size", GM_LEVEL_REQUIRED, GM_STATUS_PASS, NULL, 0,
			     "disk.raw is %" PRIu64 " GiB, a whole number of GiB", size / GIB);
	else
		gm_check_add(rep, "packaging.disk-size", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
			     "disk.raw is %" PRIu64 " bytes (%.2f GiB): its size must be a multiple of "
			     "1 GiB (the guide: 'multiple of 1 GB'; Compute Engine's GB are 2^30 bytes)",
			     size, (double)size / (double)GIB);
	if (size > 100 * GIB)
		gm_check_add(rep, "packaging.disk-size-limit", GM_LEVEL_REQUIRED, GM_STATUS_FAIL,
			     NULL, 0, "disk.raw is %" PRIu64 " GiB, over the guide's 100 GB limit for an "
			     "imported image; shrink the filesystem and the disk", size / GIB);
	else
		gm_check_add(rep, "packaging.disk-size-limit", GM_LEVEL_REQUIRED, GM_STATUS_PASS,
			     NULL, 0, "disk.raw is at most 100 GiB");
}

int gm_check_unopenable(const char *path, const char *open_msg, struct gm_check_report *rep,
			char *msg, size_t msglen)
{
	struct gm_tar_scan s;
	enum gm_sniff sn = gm_sniff_file(path);
	char smsg[GM_ERRMSG_MAX];
	int rc;

	if (sn == GM_SNIFF_UNKNOWN) {
		snprintf(msg, msglen, "%s", open_msg);
		return -EINVAL;
	}
	rc = gm_check_scan_tar(path, &s, smsg, sizeof(smsg));
	if (rc < 0) {
		snprintf(msg, msglen, "%s (%s)", open_msg, smsg);
		return -EINVAL;
	}
	if (s.gzip)
		gm_check_add(rep, "packaging.gzip", GM_LEVEL_REQUIRED, GM_STATUS_PASS, NULL, 0,
			     "gzip-compressed tar, %u member%s", s.members, s.members == 1 ? "" : "s");
	else if (!strcmp(s.filter, "none"))
		gm_check_add(rep, "packaging.gzip", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
			     "an uncompressed tar: Compute Engine imports a gzip'd tar (.tar.gz)");
	else
		gm_check_add(rep, "packaging.gzip", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
			     "a tar compressed with %s, not gzip: Compute Engine imports a gzip'd "
			     "tar (.tar.gz)", s.filter);
	add_format_row(rep, path, s.disk_format);
	if (s.has_disk) {
		gm_check_add(rep, "packaging.disk-raw", GM_LEVEL_REQUIRED, GM_STATUS_PASS, NULL, 0,
			     "contains disk.raw");
		add_size_rows(rep, s.disk_size);
	} else {
		gm_check_add(rep, "packaging.disk-raw", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
			     "no member named disk.raw (%u member%s, the first '%s'): the disk must "
			     "be a file named disk.raw", s.members, s.members == 1 ? "" : "s",
			     s.first_name);
	}
	gm_check_add(rep, "image.open", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
		     "%s; the disk, kernel and system checks were not run", open_msg);
	return 0;
}

/* ---- an opened image ---- */

static void container_rows(struct gm_image *img, struct gm_check_report *rep)
{
	const struct gm_image_info *in = gm_image_info(img);
	const char *path = gm_image_path(img);

	if (in->container == GM_CONTAINER_RAW) {
		enum gm_sniff sn = gm_sniff_file(path);

		if (sn == GM_SNIFF_TAR)
			gm_check_add(rep, "packaging.gzip", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
				     "an uncompressed tar: Compute Engine imports a gzip'd tar (.tar.gz)");
		else if (sn != GM_SNIFF_UNKNOWN && sn != GM_SNIFF_GZIP)
			gm_check_add(rep, "packaging.gzip", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
				     "compressed with %s, not gzip: Compute Engine imports a gzip'd tar",
				     gm_sniff_name(sn));
		else
			gm_check_add(rep, "packaging.gzip", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
				     "a raw disk, not a tar.gz: Compute Engine imports disk.raw inside a "
				     "gzip'd GNU tar ('gcemount repack --output IMAGE.tar.gz' makes one)");
		gm_check_add(rep, "packaging.tar-format", GM_LEVEL_REQUIRED, GM_STATUS_NA, NULL, 0,
			     "not a tarball");
		gm_check_add(rep, "packaging.disk-raw", GM_LEVEL_REQUIRED, GM_STATUS_NA, NULL, 0,
			     "not a tarball: the file itself is the disk");
		add_size_rows(rep, gm_image_disk_size(img));
		gm_check_add(rep, "packaging.sparse-entry", GM_LEVEL_STRONGLY_RECOMMENDED, GM_STATUS_NA, NULL, 0,
			     "not a tarball");
		return;
	}
	if (in->gzip)
		gm_check_add(rep, "packaging.gzip", GM_LEVEL_REQUIRED, GM_STATUS_PASS, NULL, 0,
			     "gzip-compressed tar, %u member%s, %.1f %s", in->members,
			     in->members == 1 ? "" : "s",
			     in->file_size < MIB ? (double)in->file_size / 1024.0
						 : (double)in->file_size / (double)MIB,
			     in->file_size < MIB ? "KiB" : "MiB");
	else
		gm_check_add(rep, "packaging.gzip", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
			     "an uncompressed tar: Compute Engine imports a gzip'd tar (.tar.gz)");
	add_format_row(rep, path, in->tar_format);
	gm_check_add(rep, "packaging.disk-raw", GM_LEVEL_REQUIRED, GM_STATUS_PASS, NULL, 0,
		     "contains disk.raw");
	add_size_rows(rep, in->disk_size);
	if (in->disk_entry_sparse)
		gm_check_add(rep, "packaging.sparse-entry", GM_LEVEL_STRONGLY_RECOMMENDED, GM_STATUS_PASS, NULL, 0,
			     "disk.raw is a sparse entry: %.1f MiB of %.1f MiB stored as data",
			     (double)in->disk_data_bytes / (double)MIB, (double)in->disk_size / (double)MIB);
	else
		gm_check_add(rep, "packaging.sparse-entry", GM_LEVEL_STRONGLY_RECOMMENDED, GM_STATUS_WARN, NULL, 0,
			     "disk.raw is stored whole, not as a sparse entry: pack it with 'tar -S' "
			     "(gcemount repack writes sparse entries)");
}

/* Stored data vs what the filesystem really uses. */
static void free_space_row(struct gm_image *img, struct gm_view *fs, struct gm_check_report *rep)
{
	const struct gm_image_info *in = gm_image_info(img);
	const struct gm_partition *p = fs ? gm_view_root_partition(fs) : NULL;
	struct statvfs sv;
	uint64_t free_b, needed, waste;

	if (in->container != GM_CONTAINER_TARGZ || !p || gm_view_statfs(fs, gm_view_root(fs), &sv) < 0) {
		gm_check_add(rep, "packaging.free-space", GM_LEVEL_RECOMMENDED, GM_STATUS_NA, NULL, 0,
			     in->container != GM_CONTAINER_TARGZ ? "not a tarball" :
			     "the filesystem could not be read");
		return;
	}
	free_b = (uint64_t)sv.f_bfree * sv.f_frsize;
	/* Everything but the free blocks of the filesystem may hold data. */
	needed = in->disk_size > free_b ? in->disk_size - free_b : 0;
	waste = in->disk_data_bytes > needed ? in->disk_data_bytes - needed : 0;
	if (waste > 16 * MIB && waste > in->disk_data_bytes / 4)
		gm_check_add(rep, "packaging.free-space", GM_LEVEL_RECOMMENDED, GM_STATUS_WARN, NULL, 0,
			     "%.0f MiB of disk.raw is stored as data but at most %.0f MiB is in use: "
			     "about %.0f MiB of free blocks (zeros or stale data) are compressed into "
			     "the tarball; 'gcemount repack' stores them as holes",
			     (double)in->disk_data_bytes / (double)MIB, (double)needed / (double)MIB,
			     (double)waste / (double)MIB);
	else
		gm_check_add(rep, "packaging.free-space", GM_LEVEL_RECOMMENDED, GM_STATUS_PASS, NULL, 0,
			     "%.1f MiB stored as data, %.1f MiB free in the filesystem: free blocks "
			     "are not stored", (double)in->disk_data_bytes / (double)MIB,
			     (double)free_b / (double)MIB);
}

static void disk_rows(struct gm_image *img, struct gm_view *fs, const char *fs_msg,
		      struct gm_check_report *rep)
{
	struct gm_partition_table *t = calloc(1, sizeof(*t));
	const struct gm_partition *p = NULL;
	struct gm_error err = { 0 };
	unsigned char sb[1024];
	char why[256];

	if (!t) {
		rep->oom = 1;
		return;
	}
	if (gm_partition_probe(gm_image_fd(img), gm_image_disk_size(img), t, &err) < 0) {
		gm_check_add(rep, "packaging.partition-table", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
			     "no partition table nor filesystem: %s", gm_error_msg(&err));
		gm_check_add(rep, "packaging.ext4", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
			     "no ext4 partition");
		goto out;
	}
	switch (t->type) {
	case GM_PTABLE_MBR:
		gm_check_add(rep, "packaging.partition-table", GM_LEVEL_REQUIRED,
			     t->problems[0] ? GM_STATUS_WARN : GM_STATUS_PASS, NULL, 0,
			     "MBR partition table, %zu partition%s%s%s", t->n, t->n == 1 ? "" : "s",
			     t->problems[0] ? ": " : "", t->problems);
		break;
	case GM_PTABLE_GPT:
		/* the guide's requirement is the table; whether this disk boots
		 * (UEFI, or BIOS through a BIOS boot partition) is layout.boot-mode */
		gm_check_add(rep, "packaging.partition-table", GM_LEVEL_REQUIRED,
			     t->problems[0] ? GM_STATUS_WARN : GM_STATUS_PASS, NULL, 0,
			     "GPT partition table (%zu partition%s): the guide accepts MBR or GPT; a GPT "
			     "disk boots by UEFI (guest OS feature UEFI_COMPATIBLE) or by BIOS through a "
			     "BIOS boot partition, see layout.boot-mode%s%s",
			     t->n, t->n == 1 ? "" : "s", t->problems[0] ? "; " : "", t->problems);
		break;
	default:
		gm_check_add(rep, "packaging.partition-table", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
			     "no partition table (a bare filesystem): a bootable image needs an MBR "
			     "(or GPT) partition table and a bootable partition");
		break;
	}
	if (fs)
		p = gm_view_root_partition(fs);
	else if (gm_partition_choose(t, 0, &p, NULL, 0, &err) < 0)
		p = NULL;
	if (!p) {
		/* a root gcemount cannot read (XFS, btrfs, LVM, LUKS) is not a
		 * failure of the guide, which allows any filesystem */
		const struct gm_partition *other = NULL;
		for (size_t i = 0; i < t->n && !other; i++)
			if (t->parts[i].fstype[0] && strcmp(t->parts[i].fstype, "vfat") &&
			    strcmp(t->parts[i].fstype, "swap"))
				other = &t->parts[i];
		if (other) {
			snprintf(rep->unreadable, sizeof(rep->unreadable), "%s", other->fstype);
			gm_check_add(rep, "packaging.ext4", GM_LEVEL_REQUIRED, GM_STATUS_NA, NULL, 0,
				     "partition %d is %s: gcemount cannot read this filesystem (%s); "
				     "the guide allows any filesystem, so the file checks are N/A%s%.300s",
				     other->number, other->fstype, other->fstype,
				     fs_msg && fs_msg[0] ? " — " : "", fs_msg ? fs_msg : "");
			gm_check_add(rep, "packaging.fs-clean", GM_LEVEL_REQUIRED, GM_STATUS_NA, NULL, 0,
				     "gcemount cannot read this filesystem (%s)", other->fstype);
			goto out;
		}
		gm_check_add(rep, "packaging.ext4", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
			     "no ext2/3/4 partition: %s", fs_msg && fs_msg[0] ? fs_msg : gm_error_msg(&err));
		goto out;
	}
	char where[64];
	if (p->number > 0)
		snprintf(where, sizeof(where), "partition %d", p->number);
	else
		snprintf(where, sizeof(where), "the whole disk");
	if (!strcmp(p->fstype, "ext4"))
		gm_check_add(rep, "packaging.ext4", GM_LEVEL_REQUIRED, GM_STATUS_PASS, NULL, 0,
			     "%s (at %.0f MiB, %.0f MiB): ext4", where,
			     (double)p->offset / (double)MIB, (double)p->size / (double)MIB);
	else
		gm_check_add(rep, "packaging.ext4", GM_LEVEL_REQUIRED, GM_STATUS_WARN, NULL, 0,
			     "%s is %s, not ext4", where, p->fstype[0] ? p->fstype : "?");
	if (pread(gm_image_fd(img), sb, sizeof(sb), (off_t)(p->offset + 1024)) != (ssize_t)sizeof(sb)) {
		gm_check_add(rep, "packaging.fs-clean", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
			     "cannot read the superblock of %s", where);
		goto out;
	}
	enum gm_status st = gm_check_ext4_superblock(sb, p->size, why, sizeof(why));
	if (st == GM_STATUS_PASS && p->needs_recovery) {
		st = GM_STATUS_FAIL;
		snprintf(why, sizeof(why), "the journal needs recovery (not unmounted cleanly)");
	}
	gm_check_add(rep, "packaging.fs-clean", GM_LEVEL_REQUIRED, st, NULL, 0, "%s: %s", where, why);
	if (!fs)
		gm_check_add(rep, "image.open", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
			     "%s; the kernel and system checks were not run",
			     fs_msg && fs_msg[0] ? fs_msg : "the filesystem could not be opened");
out:
	free(t);
}

int gm_check_packaging(struct gm_image *img, struct gm_view *fs, const char *fs_msg,
		       struct gm_check_report *rep)
{
	container_rows(img, rep);
	free_space_row(img, fs, rep);
	disk_rows(img, fs, fs_msg, rep);
	return rep->oom ? -ENOMEM : 0;
}
