/* view.c — see view.h: the inode-level operations of the whole-image view,
 * each delegated to the member filesystem that holds the inode, crossing
 * mount points on the way. Opening and the mount table are in view_open.c. */
#include "editor/view/view_private.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *gm_view_errmsg(const struct gm_view *v) { return v ? gm_error_msg(&v->err) : "no image"; }
const char *gm_view_note(const struct gm_view *v) { return v->note; }
struct gm_image *gm_view_image(const struct gm_view *v) { return v->img; }
bool gm_view_read_only(const struct gm_view *v) { return v->read_only; }
const struct gm_partition_table *gm_view_partition_table(const struct gm_view *v) { return &v->table; }
size_t gm_view_nmounts(const struct gm_view *v) { return v->n; }
const struct gm_mount *gm_view_mount(const struct gm_view *v, size_t i) { return i < v->n ? &v->mem[i].m : NULL; }
struct gm_fs *gm_view_root_fs(const struct gm_view *v) { return v->mem[0].fs; }
gm_vino_t gm_view_root(const struct gm_view *v) { return gm_vino(0, v->mem[0].root); }

const struct gm_partition *gm_view_root_partition(const struct gm_view *v)
{
	const struct gm_partition *p = v->mem[0].fs ? gm_fs_partition(v->mem[0].fs) :
				       gm_partition_find(&v->table, v->mem[0].m.partition);

	return p ? p : &v->table.parts[0];
}

size_t gm_view_member_of(const struct gm_view *v, gm_vino_t ino)
{
	size_t i = (size_t)(ino >> GM_VINO_SHIFT);

	return i < v->n ? i : 0;
}

gm_vino_t gm_view_member_root(const struct gm_view *v, gm_vino_t ino)
{
	size_t i = gm_view_member_of(v, ino);

	return gm_vino(i, v->mem[i].root);
}

gm_vino_t gm_view_mount_root(const struct gm_view *v, size_t i)
{
	if (i >= v->n || (v->mem[i].m.kind != GM_MOUNT_EXT && v->mem[i].m.kind != GM_MOUNT_FAT))
		return 0;
	return gm_vino(i, v->mem[i].root);
}

int gm_view_fail(struct gm_view *v, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gm_error_vset(&v->err, code, fmt, ap);
	va_end(ap);
	return code;
}

/* The member holding ino (ext or FAT), and ino's number there; NULL if none. */
static struct gm_member *member(struct gm_view *v, gm_vino_t ino, uint64_t *local)
{
	size_t i = (size_t)(ino >> GM_VINO_SHIFT);
	struct gm_member *m;

	if (i >= v->n)
		return NULL;
	m = &v->mem[i];
	if (m->m.kind != GM_MOUNT_EXT && m->m.kind != GM_MOUNT_FAT)
		return NULL;
	*local = ino & GM_VINO_LOCAL_MASK;
	if (m->m.kind == GM_MOUNT_EXT && *local > UINT32_MAX)
		return NULL;
	return m;
}

#define MEMBER_OR_STALE(v, ino, m, local) \
	do { \
		if (!((m) = member((v), (ino), &(local)))) \
			return gm_view_fail((v), -ESTALE, "no inode %llu in this image", \
					    (unsigned long long)(ino)); \
	} while (0)

/* Copies a member's message onto the view after a failure. */
static int relay(struct gm_view *v, struct gm_member *m, long rc)
{
	if (rc >= 0)
		return (int)rc;
	return gm_view_fail(v, (int)rc, "%s", m->m.kind == GM_MOUNT_FAT ? gm_fat_errmsg(m->fat)
									 : gm_fs_errmsg(m->fs));
}

static int read_only_fat(struct gm_view *v, const struct gm_member *m)
{
	return gm_view_fail(v, -EROFS, "%s is %s (FAT, partition %d): gcemount reads FAT but never "
			    "writes it", m->m.path, !strcmp(m->m.path, "/boot/efi") ||
			    (v->table.n && m->m.partition > 0 &&
			     gm_partition_find(&v->table, m->m.partition) &&
			     gm_partition_find(&v->table, m->m.partition)->role == GM_ROLE_ESP)
			    ? "the EFI system partition" : "a FAT filesystem", m->m.partition);
}

/* What the kernel shows for ino: the root of what is mounted on it, if
 * anything (stacked mounts followed to the top). */
static int cover(struct gm_view *v, gm_vino_t *ino)
{
	for (size_t hops = 0; hops < v->n; hops++) {
		size_t hit = 0;

		for (size_t i = v->n; i-- > 1;)
			if (v->mem[i].covered == *ino && v->mem[i].m.kind != GM_MOUNT_SKIPPED) {
				hit = i;
				break;
			}
		if (!hit)
			return 0;
		if (v->mem[hit].m.kind == GM_MOUNT_REFUSED)
			return gm_view_fail(v, -EMEDIUMTYPE, "%s is %s", v->mem[hit].m.path, v->mem[hit].m.note);
		*ino = gm_vino(hit, v->mem[hit].root);
	}
	return 0;
}

static bool is_covered(const struct gm_view *v, gm_vino_t ino)
{
	for (size_t i = 1; i < v->n; i++)
		if (v->mem[i].covered == ino && v->mem[i].m.kind != GM_MOUNT_SKIPPED)
			return true;
	return false;
}

/* ".." of dir. */
static int dotdot(struct gm_view *v, gm_vino_t dir, gm_vino_t *out, unsigned depth)
{
	size_t i = (size_t)(dir >> GM_VINO_SHIFT);
	struct gm_member *m;
	uint64_t local;
	int rc;

	MEMBER_OR_STALE(v, dir, m, local);
	if (local == m->root) {
		if (i == 0 || depth > GM_VIEW_MAX_MEMBERS) {
			*out = dir;   /* never above the image root */
			return 0;
		}
		return dotdot(v, m->covered, out, depth + 1);
	}
	if (m->m.kind == GM_MOUNT_FAT) {
		*out = gm_vino(i, gm_fat_parent(m->fat, local));
		return 0;
	}
	{
		gm_ino_t p;

		rc = gm_fs_lookup(m->fs, (gm_ino_t)local, "..", &p);
		if (rc)
			return relay(v, m, rc);
		*out = gm_vino(i, p);
	}
	return 0;
}

/* Looks name up in the member alone (no mount crossing). */
static int raw_lookup(struct gm_view *v, struct gm_member *m, size_t i, uint64_t dir,
		      const char *name, gm_vino_t *out)
{
	int rc;

	if (m->m.kind == GM_MOUNT_FAT) {
		gm_fat_ino_t f;

		rc = gm_fat_lookup(m->fat, dir, name, &f);
		if (rc)
			return relay(v, m, rc);
		*out = gm_vino(i, f);
	} else {
		gm_ino_t e;

		rc = gm_fs_lookup(m->fs, (gm_ino_t)dir, name, &e);
		if (rc)
			return relay(v, m, rc);
		*out = gm_vino(i, e);
	}
	return 0;
}

int gm_view_lookup(struct gm_view *v, gm_vino_t dir, const char *name, gm_vino_t *ino)
{
	struct gm_member *m;
	uint64_t local;
	gm_vino_t r = dir;
	int rc = 0;

	MEMBER_OR_STALE(v, dir, m, local);
	if (!strcmp(name, ".."))
		rc = dotdot(v, dir, &r, 0);
	else if (strcmp(name, "."))
		rc = raw_lookup(v, m, (size_t)(dir >> GM_VINO_SHIFT), local, name, &r);
	if (rc)
		return rc;
	rc = cover(v, &r);
	if (rc)
		return rc;
	*ino = r;
	return 0;
}

int gm_view_getattr(struct gm_view *v, gm_vino_t ino, struct stat *st)
{
	struct gm_member *m;
	uint64_t local;
	int rc;

	rc = cover(v, &ino);
	if (rc)
		return rc;
	MEMBER_OR_STALE(v, ino, m, local);
	if (m->m.kind == GM_MOUNT_FAT)
		rc = gm_fat_getattr(m->fat, local, st);
	else
		rc = gm_fs_getattr(m->fs, (gm_ino_t)local, st);
	if (rc)
		return relay(v, m, rc);
	st->st_ino = ino;
	return 0;
}

/* The ext member holding ino, for a write; -EROFS for FAT. */
static int writable(struct gm_view *v, gm_vino_t ino, struct gm_member **m, gm_ino_t *local)
{
	uint64_t l;

	MEMBER_OR_STALE(v, ino, *m, l);
	if ((*m)->m.kind == GM_MOUNT_FAT)
		return read_only_fat(v, *m);
	*local = (gm_ino_t)l;
	return 0;
}

int gm_view_setattr(struct gm_view *v, gm_vino_t ino, const struct gm_setattr *sa, struct stat *st)
{
	struct gm_member *m;
	gm_ino_t l;
	int rc = writable(v, ino, &m, &l);

	if (rc)
		return rc;
	rc = relay(v, m, gm_fs_setattr(m->fs, l, sa, st));
	if (!rc && st)
		st->st_ino = ino;
	return rc;
}

ssize_t gm_view_read(struct gm_view *v, gm_vino_t ino, void *buf, size_t len, uint64_t off)
{
	struct gm_member *m;
	uint64_t local;
	ssize_t n;

	MEMBER_OR_STALE(v, ino, m, local);
	if (m->m.kind == GM_MOUNT_FAT)
		n = gm_fat_read(m->fat, local, buf, len, off);
	else
		n = gm_fs_read(m->fs, (gm_ino_t)local, buf, len, off);
	return n < 0 ? relay(v, m, n) : n;
}

ssize_t gm_view_write(struct gm_view *v, gm_vino_t ino, const void *buf, size_t len, uint64_t off)
{
	struct gm_member *m;
	gm_ino_t l;
	int rc = writable(v, ino, &m, &l);
	ssize_t n;

	if (rc)
		return rc;
	n = gm_fs_write(m->fs, l, buf, len, off);
	return n < 0 ? relay(v, m, n) : n;
}

int gm_view_truncate(struct gm_view *v, gm_vino_t ino, uint64_t size)
{
	struct gm_member *m;
	gm_ino_t l;
	int rc = writable(v, ino, &m, &l);

	return rc ? rc : relay(v, m, gm_fs_truncate(m->fs, l, size));
}

/* ---- readdir ---- */

struct vdir {
	struct gm_view *v;
	size_t idx;
	gm_vino_t dir, parent;
	gm_vdirent_fn fn;
	void *priv;
};

static int vdir_entry(void *priv, const char *name, size_t namelen, uint64_t ino, unsigned dtype,
		      uint64_t next_off)
{
	struct vdir *d = priv;
	gm_vino_t vi = gm_vino(d->idx, ino);

	if (namelen == 1 && name[0] == '.')
		vi = d->dir;
	else if (namelen == 2 && name[0] == '.' && name[1] == '.')
		vi = d->parent;
	else if (cover(d->v, &vi) == 0 && vi != gm_vino(d->idx, ino))
		dtype = DT_DIR;
	return d->fn(d->priv, name, namelen, vi, dtype, next_off);
}

static int vdir_ext(void *priv, const char *name, size_t namelen, gm_ino_t ino, unsigned dtype,
		    uint64_t next_off)
{
	return vdir_entry(priv, name, namelen, ino, dtype, next_off);
}

static int vdir_fat(void *priv, const char *name, size_t namelen, gm_fat_ino_t ino, unsigned dtype,
		    uint64_t next_off)
{
	return vdir_entry(priv, name, namelen, ino, dtype, next_off);
}

int gm_view_readdir(struct gm_view *v, gm_vino_t dir, uint64_t off, gm_vdirent_fn fn, void *priv)
{
	struct vdir d = { v, (size_t)(dir >> GM_VINO_SHIFT), dir, 0, fn, priv };
	struct gm_member *m;
	uint64_t local;
	int rc;

	rc = cover(v, &dir);
	if (rc)
		return rc;
	d.idx = (size_t)(dir >> GM_VINO_SHIFT);
	d.dir = dir;
	MEMBER_OR_STALE(v, dir, m, local);
	rc = dotdot(v, dir, &d.parent, 0);
	if (rc)
		return rc;
	if (m->m.kind == GM_MOUNT_FAT)
		rc = gm_fat_readdir(m->fat, local, off, vdir_fat, &d);
	else
		rc = gm_fs_readdir(m->fs, (gm_ino_t)local, off, vdir_ext, &d);
	return relay(v, m, rc);
}

/* ---- creating and removing names ---- */

int gm_view_mknod(struct gm_view *v, gm_vino_t dir, const char *name, mode_t mode, dev_t rdev,
		  const struct gm_creds *creds, gm_vino_t *ino)
{
	struct gm_member *m;
	gm_ino_t l, e;
	int rc = writable(v, dir, &m, &l);

	if (rc || (rc = relay(v, m, gm_fs_mknod(m->fs, l, name, mode, rdev, creds, &e))))
		return rc;
	if (ino)
		*ino = gm_vino(gm_view_member_of(v, dir), e);
	return 0;
}

int gm_view_mkdir(struct gm_view *v, gm_vino_t dir, const char *name, mode_t mode,
		  const struct gm_creds *creds, gm_vino_t *ino)
{
	struct gm_member *m;
	gm_ino_t l, e;
	int rc = writable(v, dir, &m, &l);

	if (rc || (rc = relay(v, m, gm_fs_mkdir(m->fs, l, name, mode, creds, &e))))
		return rc;
	if (ino)
		*ino = gm_vino(gm_view_member_of(v, dir), e);
	return 0;
}

int gm_view_symlink(struct gm_view *v, gm_vino_t dir, const char *name, const char *target,
		    const struct gm_creds *creds, gm_vino_t *ino)
{
	struct gm_member *m;
	gm_ino_t l, e;
	int rc = writable(v, dir, &m, &l);

	if (rc || (rc = relay(v, m, gm_fs_symlink(m->fs, l, name, target, creds, &e))))
		return rc;
	if (ino)
		*ino = gm_vino(gm_view_member_of(v, dir), e);
	return 0;
}

static int cross(struct gm_view *v, gm_vino_t a, gm_vino_t b, const char *what)
{
	size_t i = gm_view_member_of(v, a), j = gm_view_member_of(v, b);

	if (i == j)
		return 0;
	return gm_view_fail(v, -EXDEV, "cannot %s across filesystems (%s is partition %d, %s is "
			    "partition %d)", what, v->mem[i].m.path, v->mem[i].m.partition,
			    v->mem[j].m.path, v->mem[j].m.partition);
}

/* -EBUSY when dir/name is a mount point (missing names are not). */
static int busy(struct gm_view *v, struct gm_member *m, gm_vino_t dir, const char *name)
{
	gm_vino_t r;
	struct gm_error keep = v->err;

	if (raw_lookup(v, m, gm_view_member_of(v, dir), dir & GM_VINO_LOCAL_MASK, name, &r) < 0) {
		v->err = keep;
		return 0;
	}
	if (is_covered(v, r))
		return gm_view_fail(v, -EBUSY, "%s: is a mount point (another partition is mounted "
				    "there)", name);
	return 0;
}

int gm_view_link(struct gm_view *v, gm_vino_t ino, gm_vino_t newdir, const char *newname)
{
	struct gm_member *m;
	gm_ino_t l, d;
	int rc = cross(v, ino, newdir, "link");

	if (rc || (rc = writable(v, ino, &m, &l)))
		return rc;
	d = (gm_ino_t)(newdir & GM_VINO_LOCAL_MASK);
	return relay(v, m, gm_fs_link(m->fs, l, d, newname));
}

int gm_view_unlink(struct gm_view *v, gm_vino_t dir, const char *name)
{
	struct gm_member *m;
	gm_ino_t l;
	int rc = writable(v, dir, &m, &l);

	if (rc || (rc = busy(v, m, dir, name)))
		return rc;
	return relay(v, m, gm_fs_unlink(m->fs, l, name));
}

int gm_view_rmdir(struct gm_view *v, gm_vino_t dir, const char *name)
{
	struct gm_member *m;
	gm_ino_t l;
	int rc = writable(v, dir, &m, &l);

	if (rc || (rc = busy(v, m, dir, name)))
		return rc;
	return relay(v, m, gm_fs_rmdir(m->fs, l, name));
}

int gm_view_rename(struct gm_view *v, gm_vino_t olddir, const char *oldname, gm_vino_t newdir,
		   const char *newname, unsigned flags)
{
	struct gm_member *m;
	gm_ino_t l;
	int rc = writable(v, olddir, &m, &l);

	if (rc || (rc = cross(v, olddir, newdir, "rename")) || (rc = busy(v, m, olddir, oldname)) ||
	    (rc = busy(v, m, newdir, newname)))
		return rc;
	return relay(v, m, gm_fs_rename(m->fs, l, oldname, (gm_ino_t)(newdir & GM_VINO_LOCAL_MASK),
					newname, flags));
}

ssize_t gm_view_readlink(struct gm_view *v, gm_vino_t ino, char *buf, size_t size)
{
	struct gm_member *m;
	uint64_t local;

	MEMBER_OR_STALE(v, ino, m, local);
	if (m->m.kind == GM_MOUNT_FAT)
		return gm_view_fail(v, -EINVAL, "not a symbolic link (FAT has none)");
	return relay(v, m, gm_fs_readlink(m->fs, (gm_ino_t)local, buf, size));
}

/* ---- extended attributes ---- */

ssize_t gm_view_getxattr(struct gm_view *v, gm_vino_t ino, const char *name, void *buf, size_t size)
{
	struct gm_member *m;
	uint64_t local;

	MEMBER_OR_STALE(v, ino, m, local);
	if (m->m.kind == GM_MOUNT_FAT)
		return gm_view_fail(v, -ENODATA, "%s: no such attribute (FAT has none)", name);
	return relay(v, m, gm_fs_getxattr(m->fs, (gm_ino_t)local, name, buf, size));
}

ssize_t gm_view_listxattr(struct gm_view *v, gm_vino_t ino, char *buf, size_t size)
{
	struct gm_member *m;
	uint64_t local;

	MEMBER_OR_STALE(v, ino, m, local);
	if (m->m.kind == GM_MOUNT_FAT)
		return 0;
	return relay(v, m, gm_fs_listxattr(m->fs, (gm_ino_t)local, buf, size));
}

int gm_view_setxattr(struct gm_view *v, gm_vino_t ino, const char *name, const void *value,
		     size_t size, int flags)
{
	struct gm_member *m;
	gm_ino_t l;
	int rc = writable(v, ino, &m, &l);

	return rc ? rc : relay(v, m, gm_fs_setxattr(m->fs, l, name, value, size, flags));
}

int gm_view_removexattr(struct gm_view *v, gm_vino_t ino, const char *name)
{
	struct gm_member *m;
	gm_ino_t l;
	int rc = writable(v, ino, &m, &l);

	return rc ? rc : relay(v, m, gm_fs_removexattr(m->fs, l, name));
}

int gm_view_statfs(struct gm_view *v, gm_vino_t ino, struct statvfs *sv)
{
	struct gm_member *m;
	uint64_t local;

	if (!(m = member(v, ino, &local)))
		m = &v->mem[0];
	if (m->m.kind == GM_MOUNT_FAT)
		return relay(v, m, gm_fat_statfs(m->fat, sv));
	return relay(v, m, gm_fs_statfs(m->fs, sv));
}
