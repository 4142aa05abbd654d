/* image.c — see image.h. (Initial version: raw disks only; tar.gz support is
 * being added in tar_read.c / tar_write.c.) */
#include "editor/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct gm_image {
	char *path;
	int fd;
	bool read_only;
	struct gm_image_info info;
	struct gm_rangeset dirty;
};

int gm_image_open(const char *path, const struct gm_image_opts *opts,
		  struct gm_image **out, struct gm_error *err)
{
	struct gm_image *img;
	struct stat st;
	int fd, rc;
	bool ro = opts && opts->read_only;

	fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return gm_error_set(err, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = gm_error_set(err, -EINVAL, "%s: not a regular file", path);
		goto fail;
	}
	if (flock(fd, (ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		rc = gm_error_set(err, -EBUSY, "%s: image is in use by another gcemount", path);
		goto fail;
	}
	img = calloc(1, sizeof(*img));
	if (!img || !(img->path = strdup(path))) {
		free(img);
		rc = gm_error_set(err, -ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	img->fd = fd;
	img->read_only = ro;
	img->info.container = GM_CONTAINER_RAW;
	img->info.disk_size = (uint64_t)st.st_size;
	img->info.file_size = (uint64_t)st.st_size;
	gm_rangeset_init(&img->dirty);
	*out = img;
	return 0;
fail:
	close(fd);
	return rc;
}

int gm_image_fd(const struct gm_image *img) { return img->fd; }
uint64_t gm_image_disk_size(const struct gm_image *img) { return img->info.disk_size; }
const char *gm_image_path(const struct gm_image *img) { return img->path; }
const struct gm_image_info *gm_image_info(const struct gm_image *img) { return &img->info; }
bool gm_image_read_only(const struct gm_image *img) { return img->read_only; }
bool gm_image_dirty(const struct gm_image *img) { return img->dirty.n > 0; }
const struct gm_rangeset *gm_image_dirty_map(const struct gm_image *img) { return &img->dirty; }

int gm_image_mark_dirty(struct gm_image *img, uint64_t off, uint64_t len)
{
	if (img->read_only)
		return -EROFS;
	return gm_rangeset_add(&img->dirty, off, len);
}

int gm_image_writeback(struct gm_image *img, const struct gm_writeback_opts *opts,
		       struct gm_error *err)
{
	if (opts && opts->output)
		return gm_error_set(err, -EOPNOTSUPP, "%s: --output not supported yet", img->path);
	if (fsync(img->fd) < 0)
		return gm_error_set(err, -errno, "%s: fsync: %s", img->path, strerror(errno));
	return 0;
}

void gm_image_close(struct gm_image *img)
{
	if (!img)
		return;
	close(img->fd);
	gm_rangeset_free(&img->dirty);
	free(img->path);
	free(img);
}

enum gm_tar_format gm_tar_format_from_name(const char *name)
{
	if (!strcmp(name, "oldgnu"))
		return GM_TAR_OLDGNU;
	if (!strcmp(name, "gnu"))
		return GM_TAR_GNU;
	return GM_TAR_UNKNOWN;
}

const char *gm_tar_format_name(enum gm_tar_format f)
{
	switch (f) {
	case GM_TAR_OLDGNU: return "oldgnu";
	case GM_TAR_GNU: return "gnu";
	case GM_TAR_PAX: return "pax";
	case GM_TAR_USTAR: return "ustar";
	case GM_TAR_OTHER: return "other";
	default: return "unknown";
	}
}
