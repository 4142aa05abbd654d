/* root_fs.c — struct gm_root over the image's view (editor/view/path.h: the
 * root filesystem with /boot and /boot/efi mounted as its fstab says), and
 * the public gm_policy_check / gm_policy_apply entry points on it. */
#include <errno.h>
#include <string.h>

#include "editor/view/path.h"
#include "policies/internal.h"

/* ---------------- image filesystem ---------------- */
static int fs_read(void *h, const char *path, size_t max, char **buf, size_t *len)
{
	return gm_path_read_file(h, path, max, buf, len);
}

static int fs_stat(void *h, const char *path, bool follow, struct stat *st)
{
	return follow ? gm_path_stat(h, path, st) : gm_path_lstat(h, path, st);
}

static int fs_readlink(void *h, const char *path, char *buf, size_t size)
{
	gm_vino_t ino;
	int rc = gm_path_resolve(h, path, GM_PATH_NOFOLLOW, &ino);

	if (rc < 0)
		return rc;
	ssize_t n = gm_view_readlink(h, ino, buf, size);
	return n < 0 ? (int)n : (int)n;
}

static int fs_glob(void *h, const char *pattern, gm_root_glob_fn fn, void *priv)
{
	return gm_path_glob(h, pattern, fn, priv);
}

static int fs_write(void *h, const char *path, const void *buf, size_t len, mode_t mode,
		    uid_t uid, gid_t gid)
{
	struct gm_creds c = { uid, gid };

	return gm_path_write_file(h, path, buf, len, mode, &c);
}

static int fs_chattr(void *h, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct gm_setattr sa = { 0 };
	gm_vino_t ino;
	int rc = gm_path_resolve(h, path, 0, &ino);

	if (rc < 0)
		return rc;
	sa.valid = GM_SET_MODE | GM_SET_UID | GM_SET_GID;
	sa.mode = mode;
	sa.uid = uid;
	sa.gid = gid;
	return gm_view_setattr(h, ino, &sa, NULL);
}

static int fs_remove(void *h, const char *path)
{
	return gm_path_remove(h, path);
}

static int fs_symlink(void *h, const char *target, const char *path)
{
	struct gm_creds c = { 0, 0 };

	return gm_path_symlink(h, target, path, &c);
}

static int fs_mkdir(void *h, const char *path, mode_t mode)
{
	struct gm_creds c = { 0, 0 };

	return gm_path_mkdir(h, path, mode, &c);
}

static const struct gm_root_ops fs_ops = {
	fs_read, fs_stat, fs_readlink, fs_glob, fs_write, fs_chattr, fs_remove, fs_symlink, fs_mkdir,
};

void gm_root_fs_init(struct gm_root_fs *r, struct gm_view *v)
{
	r->v = v;
	r->root.ops = &fs_ops;
	r->root.h = v;
}

int gm_policy_check(struct gm_policy *p, struct gm_view *v, gm_result_fn fn, void *priv,
		    struct gm_error *err)
{
	struct gm_root_fs r;

	gm_root_fs_init(&r, v);
	return gm_policy_check_root(p, &r.root, fn, priv, err);
}

int gm_policy_apply(struct gm_policy *p, struct gm_view *v, bool dry_run, gm_change_fn fn,
		    void *priv, struct gm_error *err)
{
	struct gm_root_fs r;

	gm_root_fs_init(&r, v);
	return gm_policy_apply_root(p, &r.root, dry_run, fn, priv, err);
}
