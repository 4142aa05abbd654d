/* tar_read.c — see tar_read.h. */
#include "editor/container/tar_read.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "editor/container/cache.h"
#include "editor/container/gzip_index.h"
#include "editor/container/gzpipe.h"
#include "editor/container/gzpoints.h"
#include "editor/container/inflate.h"
#include "editor/container/sparse.h"
#include "editor/container/srcmap.h"

#define FLUSH_EVERY (64u << 20)
/* Access points (gzpoints.h): one per MiB of the tar stream, fewer for a
 * large disk (at most about MAX_POINTS of them, 32 KiB each). */
#define POINT_SPACING (1u << 20)
#define MAX_POINTS 2048u

/* The gzip layer: ISA-L (inflate.c) rather than libarchive's filter, which
 * checks the trailer (CRC32, ISIZE) only if reading gets that far while the
 * tar reader stops at the end-of-archive blocks, so a corrupt image whose
 * damage only the CRC shows was taken as good. gz_drain() reads the rest of
 * the stream after the tar's end, trailers included. The inflating runs in
 * a thread of its own (gzpipe.h), beside libarchive and the cache writes;
 * a small file (under SMALL) is inflated inline, the thread would cost more
 * than it saves. */
#define SMALL (256u << 10)
struct gz_src {
	struct gm_inflate *z;
	struct gm_gzpipe *pipe;
	uint64_t out, max;       /* handed out so far; a test's bound (0: none) */
};

static la_ssize_t gz_read(struct archive *ar, void *priv, const void **buf)
{
	struct gz_src *g = priv;
	const unsigned char *p = NULL;
	ssize_t n = g->pipe ? gm_gzpipe_next(g->pipe, &p) : gm_inflate_read(g->z, &p);

	if (n < 0) {
		archive_set_error(ar, n == -EIO ? EIO : EINVAL, "gzip: %s",
				  g->pipe ? gm_gzpipe_errmsg(g->pipe) : gm_inflate_errmsg(g->z));
		return -1;
	}
	g->out += (uint64_t)n;
	if (g->max && g->out > g->max) {
		archive_set_error(ar, EFBIG, "gzip: the stream is longer than the test's bound");
		return -1;
	}
	*buf = p;
	return (la_ssize_t)n;
}

/* After the tar's end: the rest of the gzip stream must decompress and its
 * trailers (CRC32, length) match. 0 or -EINVAL with the message in err. */
static int gz_drain(struct gz_src *g, struct archive *ar, const char *image, struct gm_error *err)
{
	const void *buf;
	la_ssize_t n;

	while ((n = gz_read(ar, g, &buf)) > 0)
		;
	if (n < 0)
		return gm_error_set(err, -EINVAL, "%s: corrupt gzip stream (%s)", image,
				    archive_error_string(ar) ? archive_error_string(ar) : "?");
	return 0;
}

static enum gm_tar_format format_of(int f)
{
	switch (f) {
	case ARCHIVE_FORMAT_TAR_GNUTAR: return GM_TAR_OLDGNU;   /* "ustar  \0": gnu == oldgnu */
	case ARCHIVE_FORMAT_TAR_USTAR: return GM_TAR_USTAR;
	case ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE:
	case ARCHIVE_FORMAT_TAR_PAX_RESTRICTED: return GM_TAR_PAX;
	default: return GM_TAR_OTHER;
	}
}

static bool is_disk_name(const char *n)
{
	return n && (!strcmp(n, "disk.raw") || !strcmp(n, "./disk.raw"));
}

static char type_of(struct archive_entry *e)
{
	if (archive_entry_hardlink(e))
		return '1';
	switch (archive_entry_filetype(e)) {
	case AE_IFREG: return '0';
	case AE_IFDIR: return '5';
	case AE_IFLNK: return '2';
	case AE_IFCHR: return '3';
	case AE_IFBLK: return '4';
	case AE_IFIFO: return '6';
	default: return 0;
	}
}

/* The disk.raw entry's checks and data map (into map). */
static int disk_map(const struct gm_tar_read_args *a, struct archive_entry *e, uint64_t size,
		    struct gm_rangeset *map, uint64_t *stored, int *nsparse, struct gm_error *err)
{
	uint64_t prev = 0;
	la_int64_t off, olen;

	if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
		return gm_error_set(err, -EINVAL, "%s: disk.raw is not a regular file", a->image);
	if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
		return gm_error_set(err, -EINVAL, "%s: disk.raw has no size", a->image);
	if (size % 512)
		return gm_error_set(err, -EINVAL,
				    "%s: disk.raw size %" PRIu64 " is not a multiple of 512", a->image, size);
	if (size > GM_TAR_MAX_DISK)
		return gm_error_set(err, -EINVAL,
				    "%s: disk.raw claims %" PRIu64 " bytes (more than 2 TiB): refusing",
				    a->image, size);
	*stored = 0;
	*nsparse = archive_entry_sparse_reset(e);
	if (*nsparse <= 0) {
		*stored = size;
		return size ? gm_rangeset_add(map, 0, size) : 0;
	}
	while (archive_entry_sparse_next(e, &off, &olen) == ARCHIVE_OK) {
		if (off < 0 || olen < 0 || (uint64_t)off < prev || (uint64_t)off + (uint64_t)olen > size)
			return gm_error_set(err, -EINVAL,
					    "%s: disk.raw sparse map is inconsistent (region %" PRId64
					    "+%" PRId64 " in a %" PRIu64 "-byte disk)",
					    a->image, (int64_t)off, (int64_t)olen, size);
		prev = (uint64_t)off + (uint64_t)olen;
		*stored += (uint64_t)olen;
		if (olen && gm_rangeset_add(map, (uint64_t)off, (uint64_t)olen))
			return gm_error_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

/* A test's gate (tests/it_lazy.sh): GM_TEST_EXTRACT_GATE=OFFSET:PATH holds
 * the disk data from OFFSET on back until PATH exists, so that a test can
 * read and write late blocks before they have arrived, whatever the
 * machine's speed. Nothing else depends on it. */
struct gate {
	uint64_t at;
	const char *path;
};

static void gate_parse(struct gate *g)
{
	const char *v = getenv("GM_TEST_EXTRACT_GATE");
	char *end;

	g->path = NULL;
	g->at = 0;
	if (!v)
		return;
	g->at = strtoull(v, &end, 10);
	if (*end == ':' && end[1])
		g->path = end + 1;
}

/* Writes one piece of disk data, the part below a->skip_below left out. */
static int put_disk(const struct gm_tar_read_args *a, const void *buf, size_t len, uint64_t off)
{
	const unsigned char *p = buf;

	if (off + len <= a->skip_below)
		return 0;
	if (off < a->skip_below) {
		p += a->skip_below - off;
		len -= (size_t)(a->skip_below - off);
		off = a->skip_below;
	}
	return gm_sparse_pwrite(a->disk_fd, p, len, off, NULL);
}

/* The disk.raw entry: checks, then sparse extraction. */
static int extract_disk(const struct gm_tar_read_args *a, struct archive *ar,
			struct archive_entry *e, const struct gz_src *g, struct gm_image_info *info,
			struct gm_srcmap *sm, struct gm_error *err)
{
	uint64_t size = (uint64_t)archive_entry_size(e), stored = 0, written = 0;
	uint64_t data_end = 0, flushed = 0, flushed_off = 0;
	struct gm_rangeset map = GM_RANGESET_INIT;
	struct statvfs vfs;
	struct gate gate;
	la_int64_t eoff;
	int nsparse = 0, rc;

	gate_parse(&gate);
	if ((rc = disk_map(a, e, size, &map, &stored, &nsparse, err)))
		goto out;
	/* (a plain entry's zero blocks are skipped, so only a sparse map tells
	 * what the cache really needs; a plain one meets ENOSPC while writing) */
	if (nsparse > 0 && statvfs(a->cache_dir, &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < stored) {
		rc = gm_error_set(err, -ENOSPC,
				  "%s: disk.raw holds %" PRIu64 " bytes of data but the cache %s has only %"
				  PRIu64 " bytes free", a->image, stored, a->cache_dir,
				  (uint64_t)vfs.f_bavail * vfs.f_frsize);
		goto out;
	}
	if (stored / MAX_POINTS > POINT_SPACING && g->pipe)
		gm_gzpipe_set_spacing(g->pipe, stored / MAX_POINTS);
	else if (stored / MAX_POINTS > POINT_SPACING)
		gm_inflate_set_spacing(g->z, stored / MAX_POINTS);
	if (ftruncate(a->disk_fd, (off_t)size) < 0) {
		rc = gm_error_set(err, -errno, "%s: cannot size the cache disk: %s", a->image,
				  strerror(errno));
		goto out;
	}
	info->tar_format = format_of(archive_format(ar));
	info->disk_entry_sparse = nsparse > 0;
	info->disk_size = size;
	info->disk_data_bytes = stored;
	sm->gnu_sparse = nsparse > 0 && archive_format(ar) == ARCHIVE_FORMAT_TAR_GNUTAR;
	if (a->disk_ready)
		a->disk_ready(a->event_priv, info, &map);
	for (;;) {
		const void *buf;
		size_t len;
		int r = archive_read_data_block(ar, &buf, &len, &eoff);

		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = gm_error_set(err, -EINVAL, "%s: truncated or corrupt (disk.raw data: %s)",
					  a->image, archive_error_string(ar) ? archive_error_string(ar) :
					  "unexpected end of data");
			goto out;
		}
		/* libarchive cleans the entry's map, not the data it reads by the
		 * raw one: data blocks must come in order, without overlap. */
		if (eoff >= 0 && (uint64_t)eoff < data_end) {
			rc = gm_error_set(err, -EINVAL,
					  "%s: disk.raw sparse map is inconsistent (regions overlap or go "
					  "backwards at %" PRId64 ")", a->image, (int64_t)eoff);
			goto out;
		}
		if (eoff < 0 || (uint64_t)eoff + len > size ||
		    (len && !gm_rangeset_contains(&map, (uint64_t)eoff, len))) {
			rc = gm_error_set(err, -EINVAL,
					  "%s: disk.raw sparse map is inconsistent (data at %" PRId64
					  " outside the map of the %" PRIu64 "-byte disk)", a->image,
					  (int64_t)eoff, size);
			goto out;
		}
		if (gate.path && (uint64_t)eoff + len > gate.at && access(gate.path, F_OK) != 0) {
			/* (the test gate: what comes before it arrives first) */
			size_t head = (uint64_t)eoff < gate.at ? (size_t)(gate.at - (uint64_t)eoff) : 0;

			if (head && !(rc = put_disk(a, buf, head, (uint64_t)eoff)) && a->disk_avail)
				a->disk_avail(a->event_priv, gate.at);
			while (!rc && access(gate.path, F_OK) != 0)
				usleep(10000);
			if (!rc)
				rc = put_disk(a, (const unsigned char *)buf + head, len - head,
					      (uint64_t)eoff + head);
		} else {
			rc = put_disk(a, buf, len, (uint64_t)eoff);
		}
		if (rc == -ENOSPC) {
			gm_error_set(err, rc, "%s: no space left in the cache %s", a->image, a->cache_dir);
			goto out;
		}
		if (rc) {
			gm_error_set(err, rc, "%s: writing the cache disk: %s", a->image, strerror(-rc));
			goto out;
		}
		/* the block's place in the tar stream: libarchive has consumed
		 * everything before it (for the splice, srcmap.h) */
		if ((rc = gm_srcmap_add_region(sm, (uint64_t)eoff, len,
					       (uint64_t)archive_filter_bytes(ar, 0)))) {
			gm_error_set(err, rc, "out of memory");
			goto out;
		}
		written += len;
		data_end = (uint64_t)eoff + len;
		if (a->disk_avail)
			a->disk_avail(a->event_priv, data_end);
		/* start writing the cache out now, so the fsync that ends the
		 * extraction has little left to wait for */
		if (written - flushed >= FLUSH_EVERY) {
			sync_file_range(a->disk_fd, (off_t)flushed_off, (off_t)(data_end - flushed_off),
					SYNC_FILE_RANGE_WRITE);
			flushed = written;
			flushed_off = data_end;
		}
		if (a->progress)
			a->progress(a->progress_priv, "extract",
				    g->pipe ? gm_gzpipe_in_bytes(g->pipe) : gm_inflate_in_bytes(g->z),
				    info->file_size);
	}
	if (written != stored) {
		rc = gm_error_set(err, -EINVAL,
				  "%s: disk.raw sparse map is inconsistent (%" PRIu64 " bytes of data "
				  "for a map of %" PRIu64 ")", a->image, written, stored);
		goto out;
	}
	if (a->disk_avail)
		a->disk_avail(a->event_priv, size);
out:
	gm_rangeset_free(&map);
	return rc;
}

/* Any other member: its content (regular files) into members/<i>. */
static int save_member(const struct gm_tar_read_args *a, struct archive *ar,
		       struct archive_entry *e, size_t idx, struct gm_srcmap *sm,
		       struct gm_error *err)
{
	char *path = gm_members_data_path(a->cache_dir, idx);
	int fd, rc = 0;

	if (!path)
		return gm_error_set(err, -ENOMEM, "out of memory");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = gm_error_set(err, -errno, "%s: cannot create %s: %s", a->image, path,
				  strerror(errno));
		goto out;
	}
	if (ftruncate(fd, archive_entry_size(e)) < 0) {
		rc = gm_error_set(err, -errno, "%s: %s: %s", a->image, path, strerror(errno));
		goto out;
	}
	for (uint64_t expect = 0, toff;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(ar, &buf, &len, &off);

		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = gm_error_set(err, -EINVAL, "%s: truncated or corrupt (member %s: %s)",
					  a->image, archive_entry_pathname(e), archive_error_string(ar) ?
					  archive_error_string(ar) : "unexpected end of data");
			goto out;
		}
		/* the content's place in the tar stream, if stored in one piece */
		toff = (uint64_t)archive_filter_bytes(ar, 0);
		if (expect == 0 && off == 0)
			rc = gm_srcmap_set_member(sm, idx, toff);
		else if (off < 0 || (uint64_t)off != expect || gm_srcmap_member(sm, idx) + expect != toff)
			rc = gm_srcmap_set_member(sm, idx, GM_SRC_NONE);
		if (rc) {
			gm_error_set(err, rc, "out of memory");
			goto out;
		}
		expect = (uint64_t)off + len;
		if ((rc = gm_sparse_pwrite(fd, buf, len, (uint64_t)off, NULL))) {
			gm_error_set(err, rc, "%s: writing %s: %s", a->image, path, strerror(-rc));
			goto out;
		}
	}
	if ((rc = gm_cache_fsync(fd)))
		gm_error_set(err, rc, "%s: %s: %s", a->image, path, strerror(-rc));
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

int gm_tar_extract(const struct gm_tar_read_args *a, struct gm_members *ms,
		   struct gm_image_info *info, struct gm_error *err)
{
	struct archive *ar = archive_read_new();
	struct archive_entry *e;
	char *mdir = gm_members_dir(a->cache_dir);
	struct gz_src g = { .max = a->max_stream };
	struct gm_srcmap sm = GM_SRCMAP_INIT;
	struct gm_gzpoints ap = { .fd = -1 };
	bool have_disk = false, points = false;
	int rc = 0, r;

	if (!ar || !mdir) {
		rc = gm_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (mkdir(mdir, 0700) < 0 && errno != EEXIST) {
		rc = gm_error_set(err, -errno, "%s: cannot create %s: %s", a->image, mdir,
				  strerror(errno));
		goto out;
	}
	gm_srcmap_remove(a->cache_dir);
	gm_file_remove(a->cache_dir, "gzindex");
	gm_gzpoints_remove(a->cache_dir);
	if ((!a->head_len && lseek(a->image_fd, 0, SEEK_SET) < 0) ||
	    (rc = gm_inflate_new(a->image_fd, a->head, a->head_len, &g.z))) {
		rc = gm_error_set(err, rc ? rc : -errno, "%s: %s", a->image, strerror(rc ? -rc : errno));
		goto out;
	}
	/* access points for a later splice (a stream cannot be spliced) */
	if (!a->head_len && gm_gzpoints_begin(a->cache_dir, &ap) == 0)
		points = gm_inflate_set_points(g.z, POINT_SPACING, gm_gzpoints_add, &ap) == 0;
	{
		struct stat st;

		if (!a->head_len && fstat(a->image_fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    (uint64_t)st.st_size < SMALL)
			rc = 0;     /* inline */
		else
			rc = gm_gzpipe_start(g.z, 0, &g.pipe);
	}
	if (rc) {
		gm_error_set(err, rc, "%s: %s", a->image, strerror(-rc));
		goto out;
	}
	archive_read_support_filter_none(ar);
	archive_read_support_format_tar(ar);
	archive_read_support_format_gnutar(ar);
	if (archive_read_open(ar, &g, NULL, gz_read, NULL) != ARCHIVE_OK) {
		const char *why = archive_error_string(ar);

		if (why && strstr(why, "Unrecognized archive format"))
			rc = gm_error_set(err, -EINVAL, "%s: not a tar archive inside the gzip", a->image);
		else
			rc = gm_error_set(err, -EINVAL, "%s: truncated or corrupt gzip stream (%s)",
					  a->image, why ? why : "unexpected end of data");
		goto out;
	}
	for (size_t idx = 0; ; idx++) {
		struct gm_tar_hdr h = { 0 };
		const char *name;

		r = archive_read_next_header(ar, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			const char *why = archive_error_string(ar) ? archive_error_string(ar) : "?";

			if (idx == 0)
				rc = gm_error_set(err, -EINVAL, "%s: not a tar archive inside the gzip (%s)",
						  a->image, why);
			else
				rc = gm_error_set(err, -EINVAL, "%s: truncated or corrupt archive (%s)",
						  a->image, why);
			goto out;
		}
		name = archive_entry_pathname(e);
		if (!name) {
			rc = gm_error_set(err, -EINVAL, "%s: member %zu has an unreadable name",
					  a->image, idx);
			goto out;
		}
		h.name = name;
		h.type = type_of(e);
		h.mode = archive_entry_perm(e) & 07777;
		h.uid = (uint64_t)archive_entry_uid(e);
		h.gid = (uint64_t)archive_entry_gid(e);
		h.uname = archive_entry_uname(e);
		h.gname = archive_entry_gname(e);
		h.mtime = archive_entry_mtime(e);
		h.size = h.type == '0' ? (uint64_t)archive_entry_size(e) : 0;
		h.linkname = h.type == '1' ? archive_entry_hardlink(e) :
			     h.type == '2' ? archive_entry_symlink(e) : NULL;
		h.devmajor = (uint32_t)archive_entry_rdevmajor(e);
		h.devminor = (uint32_t)archive_entry_rdevminor(e);
		if (is_disk_name(name)) {
			if (have_disk) {
				rc = gm_error_set(err, -EINVAL, "%s: two disk.raw members", a->image);
				goto out;
			}
			have_disk = true;
			if ((rc = extract_disk(a, ar, e, &g, info, &sm, err)))
				goto out;
			h.name = "disk.raw";
		} else if (!h.type) {
			rc = gm_error_set(err, -EINVAL, "%s: member %s has an unsupported type",
					  a->image, name);
			goto out;
		} else if (h.type == '0' && (rc = save_member(a, ar, e, ms->n, &sm, err))) {
			goto out;
		}
		if ((rc = gm_members_add(ms, &h, is_disk_name(name)))) {
			gm_error_set(err, rc, "out of memory");
			goto out;
		}
	}
	if (!have_disk) {
		rc = gm_error_set(err, -EINVAL, "%s: no disk.raw in the archive", a->image);
		goto out;
	}
	if ((rc = gz_drain(&g, ar, a->image, err)))
		goto out;
	gm_gzpipe_stop(g.pipe);      /* (it has ended: the stream's counts are final) */
	g.pipe = NULL;
	info->members = (unsigned)ms->n;
	rc = gm_members_save(a->cache_dir, ms);
	if (rc) {
		gm_error_set(err, rc, "%s: cannot save the member list in %s: %s", a->image,
			     a->cache_dir, strerror(-rc));
		goto out;
	}
	if (a->head)
		info->file_size = gm_inflate_in_bytes(g.z);   /* a stream: its size is known only now */
	/* the splice's maps; without them a write-back takes the full path */
	sm.tar_size = gm_inflate_out_bytes(g.z);
	if (gm_srcmap_save(a->cache_dir, &sm))
		gm_srcmap_remove(a->cache_dir);
	else if (points)
		gm_gzpoints_commit(a->cache_dir, &ap, a->image_fd, sm.tar_size, gm_inflate_members(g.z));
out:
	/* the inflating thread first: until it stops it may still add points */
	gm_gzpipe_stop(g.pipe);
	gm_gzpoints_abort(a->cache_dir, &ap);
	if (ar)
		archive_read_free(ar);
	gm_inflate_free(g.z);
	gm_srcmap_free(&sm);
	free(mdir);
	return rc;
}
