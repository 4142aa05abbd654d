/* ops.c — FUSE low-level handlers over editor/fs/fs.h.
 *
 * Each handler decodes its arguments, calls the editor (under f->lock) and
 * replies exactly once. Open-file tracking, which keeps files unlinked while
 * open alive until their last close, is in orphans.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse/fuse_private.h"

/* FUSE_ROOT_ID (1) is the view's root (set at mount): ext4's root inode 2,
 * or 1 for a FAT partition opened alone; no other view inode is 1 (ext4
 * numbers start at 1 for the bad-block inode, never handed out). */
gm_vino_t gm_fuse_root_vino = GM_ROOT_INO;

static gm_vino_t to_gm(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? gm_fuse_root_vino : (gm_vino_t)ino;
}

static fuse_ino_t to_fuse(gm_vino_t ino)
{
	return ino == gm_fuse_root_vino ? FUSE_ROOT_ID : (fuse_ino_t)ino;
}

static struct gm_fuse *lock_req(fuse_req_t req)
{
	struct gm_fuse *f = fuse_req_userdata(req);

	pthread_mutex_lock(&f->lock);
	return f;
}

static void unlock(struct gm_fuse *f)
{
	pthread_mutex_unlock(&f->lock);
}

void gm_fuse_logf(struct gm_fuse *f, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (!f->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->log(f->log_priv, msg);
}

/* Errors that are ordinary answers, not failures worth a log line. */
static bool expected_error(int rc)
{
	switch (-rc) {
	case ENOENT: case EEXIST: case ENOTEMPTY: case ENODATA: case ERANGE:
	case ENOTDIR: case EISDIR: case ENAMETOOLONG: case EROFS: case EOPNOTSUPP:
	case EINVAL: case EPERM: case EACCES: case EXDEV: case EBUSY: case EMLINK:
		return true;
	default:
		return false;
	}
}

/* Replies -rc; call with the lock held (reads the editor's message). */
static void reply_err(struct gm_fuse *f, fuse_req_t req, int rc, const char *op, gm_vino_t ino)
{
	if (rc >= 0 || rc < -4095)
		rc = -EIO;
	if (!expected_error(rc)) {
		f->errors++;
		gm_fuse_logf(f, "%s (inode %llu): %s: %s", op, (unsigned long long)ino, strerror(-rc),
			     gm_view_errmsg(f->fs));
	}
	unlock(f);
	fuse_reply_err(req, -rc);
}

/* Creds for a new inode: NULL (the fs's default owner) for the mounting
 * user; the caller's own with allow_other when someone else creates. */
static const struct gm_creds *creds_for(struct gm_fuse *f, fuse_req_t req, struct gm_creds *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	if (!f->allow_other || !ctx || ctx->uid == f->mounter)
		return NULL;
	c->uid = ctx->uid;
	c->gid = ctx->gid;
	return c;
}

static int fill_entry(struct gm_fuse *f, gm_vino_t ino, struct fuse_entry_param *e)
{
	int rc;

	memset(e, 0, sizeof(*e));
	rc = gm_view_getattr(f->fs, ino, &e->attr);
	if (rc < 0)
		return rc;
	e->attr.st_ino = ino;
	e->ino = to_fuse(ino);
	e->attr_timeout = GM_FUSE_TIMEOUT;
	e->entry_timeout = GM_FUSE_TIMEOUT;
	return 0;
}

static void reply_entry(struct gm_fuse *f, fuse_req_t req, gm_vino_t ino, const char *op)
{
	struct fuse_entry_param e;
	int rc = fill_entry(f, ino, &e);

	if (rc < 0)
		return reply_err(f, req, rc, op, ino);
	unlock(f);
	fuse_reply_entry(req, &e);
}

/* --- handlers --- */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct gm_fuse *f = userdata;
	unsigned want = FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO |
			FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_CACHE_SYMLINKS | FUSE_CAP_ASYNC_READ;

	if (f->writeback_cache && !f->read_only)
		want |= FUSE_CAP_WRITEBACK_CACHE;
	conn->want |= want & conn->capable;
	/* The data changes only through this mount: no revalidation. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	conn->max_write = GM_FUSE_MAX_IO;
	conn->max_read = 0;
	conn->max_readahead = GM_FUSE_MAX_IO;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	conn->time_gran = 1;
	pthread_mutex_lock(&f->lock);
	if (gm_fuse_purge_orphans(f) < 0)
		gm_fuse_logf(f, "cannot remove %s left by an earlier session: %s",
			     GM_FUSE_ORPHANS, gm_view_errmsg(f->fs));
	pthread_mutex_unlock(&f->lock);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t dir = to_gm(parent), ino;
	struct fuse_entry_param e;
	int rc;

	rc = gm_fuse_hidden_name(dir, name) ? -ENOENT : gm_view_lookup(f->fs, dir, name, &ino);
	if (rc == -ENOENT) {
		/* Negative entry, cached as long as the positive ones. */
		unlock(f);
		memset(&e, 0, sizeof(e));
		e.entry_timeout = GM_FUSE_TIMEOUT;
		fuse_reply_entry(req, &e);
		return;
	}
	if (rc < 0)
		return reply_err(f, req, rc, "lookup", dir);
	reply_entry(f, req, ino, "lookup");
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	(void)ino; (void)nlookup;
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	(void)count; (void)forgets;
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t fino, struct fuse_file_info *fi)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t ino = to_gm(fino);
	struct stat st;
	int rc;

	(void)fi;
	rc = gm_view_getattr(f->fs, ino, &st);
	if (rc < 0)
		return reply_err(f, req, rc, "getattr", ino);
	unlock(f);
	st.st_ino = ino;
	fuse_reply_attr(req, &st, GM_FUSE_TIMEOUT);
}

static void op_setattr(fuse_req_t req, fuse_ino_t fino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t ino = to_gm(fino);
	struct gm_setattr sa = { 0 };
	struct stat st;
	int rc;

	(void)fi;
	if (to_set & FUSE_SET_ATTR_MODE) {
		sa.valid |= GM_SET_MODE;
		sa.mode = attr->st_mode & 07777;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		sa.valid |= GM_SET_UID;
		sa.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		sa.valid |= GM_SET_GID;
		sa.gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		sa.valid |= GM_SET_SIZE;
		sa.size = (uint64_t)attr->st_size;
	}
	if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
		sa.valid |= GM_SET_ATIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_ATIME) {
		sa.valid |= GM_SET_ATIME;
		sa.atime = attr->st_atim;
	}
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		sa.valid |= GM_SET_MTIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		sa.valid |= GM_SET_MTIME;
		sa.mtime = attr->st_mtim;
	}
	rc = sa.valid ? gm_view_setattr(f->fs, ino, &sa, &st) : gm_view_getattr(f->fs, ino, &st);
	if (rc < 0)
		return reply_err(f, req, rc, "setattr", ino);
	unlock(f);
	st.st_ino = ino;
	fuse_reply_attr(req, &st, GM_FUSE_TIMEOUT);
}

static void op_readlink(fuse_req_t req, fuse_ino_t fino)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t ino = to_gm(fino);
	char buf[PATH_MAX + 1];
	ssize_t n;

	n = gm_view_readlink(f->fs, ino, buf, sizeof(buf) - 1);
	if (n < 0)
		return reply_err(f, req, (int)n, "readlink", ino);
	unlock(f);
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t dir = to_gm(parent), ino;
	struct gm_creds c;
	int rc;

	rc = gm_fuse_hidden_name(dir, name) ? -EPERM :
		gm_view_mknod(f->fs, dir, name, mode, rdev, creds_for(f, req, &c), &ino);
	if (rc < 0)
		return reply_err(f, req, rc, "mknod", dir);
	reply_entry(f, req, ino, "mknod");
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t dir = to_gm(parent), ino;
	struct gm_creds c;
	int rc;

	rc = gm_fuse_hidden_name(dir, name) ? -EPERM :
		gm_view_mkdir(f->fs, dir, name, mode & 07777, creds_for(f, req, &c), &ino);
	if (rc < 0)
		return reply_err(f, req, rc, "mkdir", dir);
	reply_entry(f, req, ino, "mkdir");
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t dir = to_gm(parent), ino;
	struct gm_creds c;
	int rc;

	rc = gm_fuse_hidden_name(dir, name) ? -EPERM :
		gm_view_symlink(f->fs, dir, name, link, creds_for(f, req, &c), &ino);
	if (rc < 0)
		return reply_err(f, req, rc, "symlink", dir);
	reply_entry(f, req, ino, "symlink");
}

static void op_link(fuse_req_t req, fuse_ino_t fino, fuse_ino_t newparent, const char *newname)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t ino = to_gm(fino), dir = to_gm(newparent);
	int rc;

	rc = gm_fuse_hidden_name(dir, newname) ? -EPERM : gm_view_link(f->fs, ino, dir, newname);
	if (rc < 0)
		return reply_err(f, req, rc, "link", ino);
	reply_entry(f, req, ino, "link");
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t dir = to_gm(parent), hid;
	int rc;

	if (gm_fuse_hidden_name(dir, name))
		rc = -ENOENT;
	else if ((rc = gm_fuse_hide_if_open(f, dir, name, &hid)) == 0)
		rc = gm_view_unlink(f->fs, dir, name);
	if (rc < 0)
		return reply_err(f, req, rc, "unlink", dir);
	unlock(f);
	fuse_reply_err(req, 0);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t dir = to_gm(parent);
	int rc;

	rc = gm_fuse_hidden_name(dir, name) ? -ENOENT : gm_view_rmdir(f->fs, dir, name);
	if (rc < 0)
		return reply_err(f, req, rc, "rmdir", dir);
	unlock(f);
	fuse_reply_err(req, 0);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t dir = to_gm(parent), ndir = to_gm(newparent), src, hid = 0;
	int rc = 0;

	if (gm_fuse_hidden_name(dir, name) || gm_fuse_hidden_name(ndir, newname))
		return reply_err(f, req, -EPERM, "rename", dir);
	/* A file replaced while open must outlive the rename (not for
	 * RENAME_EXCHANGE, which deletes nothing, nor a rename onto itself). */
	if (!(flags & (RENAME_EXCHANGE | RENAME_NOREPLACE)) &&
	    gm_view_lookup(f->fs, dir, name, &src) == 0) {
		gm_vino_t dst;

		struct stat sst;

		/* A directory cannot replace a file: let the rename say so. */
		if (gm_view_lookup(f->fs, ndir, newname, &dst) == 0 && dst != src &&
		    gm_view_getattr(f->fs, src, &sst) == 0 && !S_ISDIR(sst.st_mode))
			rc = gm_fuse_hide_if_open(f, ndir, newname, &hid);
	}
	if (rc >= 0)
		rc = gm_view_rename(f->fs, dir, name, ndir, newname, flags);
	if (rc < 0) {
		if (hid)
			gm_fuse_unhide(f, hid, ndir, newname);
		return reply_err(f, req, rc, "rename", dir);
	}
	unlock(f);
	fuse_reply_err(req, 0);
}

static void op_open(fuse_req_t req, fuse_ino_t fino, struct fuse_file_info *fi)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t ino = to_gm(fino);
	int rc = 0;

	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY)
		rc = gm_view_truncate(f->fs, ino, 0);
	if (rc == 0)
		rc = gm_fuse_open_inc(f, ino);
	if (rc < 0)
		return reply_err(f, req, rc, "open", ino);
	unlock(f);
	fi->keep_cache = 1;
	fi->fh = 0;
	fuse_reply_open(req, fi);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t dir = to_gm(parent), ino = 0;
	struct fuse_entry_param e;
	struct gm_creds c;
	int rc;

	rc = gm_fuse_hidden_name(dir, name) ? -EPERM :
		gm_view_mknod(f->fs, dir, name, S_IFREG | (mode & 07777), 0,
			    creds_for(f, req, &c), &ino);
	if (rc == 0)
		rc = fill_entry(f, ino, &e);
	if (rc == 0)
		rc = gm_fuse_open_inc(f, ino);
	if (rc < 0)
		return reply_err(f, req, rc, "create", dir);
	unlock(f);
	fi->keep_cache = 1;
	fi->fh = 0;
	fuse_reply_create(req, &e, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t fino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t ino = to_gm(fino);
	ssize_t n;

	(void)fi;
	if (size > GM_FUSE_MAX_IO)
		size = GM_FUSE_MAX_IO;
	n = gm_view_read(f->fs, ino, f->iobuf, size, (uint64_t)off);
	if (n < 0)
		return reply_err(f, req, (int)n, "read", ino);
	/* The reply copies the buffer before the lock is released. */
	fuse_reply_buf(req, f->iobuf, (size_t)n);
	unlock(f);
}

static void op_write(fuse_req_t req, fuse_ino_t fino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t ino = to_gm(fino);
	ssize_t n;

	(void)fi;
	n = gm_view_write(f->fs, ino, buf, size, (uint64_t)off);
	if (n < 0)
		return reply_err(f, req, (int)n, "write", ino);
	unlock(f);
	fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino; (void)fi;
	fuse_reply_err(req, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t fino, struct fuse_file_info *fi)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t ino = to_gm(fino);
	int rc;

	(void)fi;
	rc = gm_fuse_open_dec(f, ino);
	if (rc < 0)
		return reply_err(f, req, rc, "release", ino);
	unlock(f);
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t fino, int datasync, struct fuse_file_info *fi)
{
	struct gm_fuse *f = lock_req(req);
	int rc;

	(void)datasync; (void)fi;
	rc = gm_view_flush(f->fs);
	if (rc < 0)
		return reply_err(f, req, rc, "fsync", to_gm(fino));
	unlock(f);
	fuse_reply_err(req, 0);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fi->fh = 0;
	fuse_reply_open(req, fi);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino; (void)fi;
	fuse_reply_err(req, 0);
}

/* Directory entries gathered for one readdir reply. */
struct rd_ent {
	gm_vino_t ino;
	unsigned dtype;
	uint64_t next_off;
	char name[256];
};

struct rd {
	fuse_req_t req;
	gm_vino_t dir;
	bool plus;
	size_t room, used;
	struct rd_ent *ents;
	size_t n, cap;
	int err;
};

static int rd_collect(void *priv, const char *name, size_t namelen, gm_vino_t ino,
		      unsigned dtype, uint64_t next_off)
{
	struct rd *d = priv;
	struct rd_ent *e;
	size_t need;

	if (namelen > 255)
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;

		e = realloc(d->ents, cap * sizeof(*e));
		if (!e) {
			d->err = -ENOMEM;
			return 1;
		}
		d->ents = e;
		d->cap = cap;
	}
	e = &d->ents[d->n];
	memcpy(e->name, name, namelen);
	e->name[namelen] = '\0';
	if (gm_fuse_hidden_name(d->dir, e->name))
		return 0;
	need = d->plus ? fuse_add_direntry_plus(d->req, NULL, 0, e->name, NULL, 0)
		       : fuse_add_direntry(d->req, NULL, 0, e->name, NULL, 0);
	if (d->used + need > d->room)
		return 1;
	d->used += need;
	e->ino = ino;
	e->dtype = dtype;
	e->next_off = next_off;
	d->n++;
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t fino, size_t size, off_t off, bool plus)
{
	struct gm_fuse *f = lock_req(req);
	struct rd d = { .req = req, .dir = to_gm(fino), .plus = plus, .room = size };
	char *buf = NULL;
	size_t used = 0;
	int rc;

	rc = gm_view_readdir(f->fs, d.dir, (uint64_t)off, rd_collect, &d);
	if (rc == 0)
		rc = d.err;
	if (rc == 0 && !(buf = malloc(size ? size : 1)))
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < d.n; i++) {
		struct rd_ent *e = &d.ents[i];
		bool dot = !strcmp(e->name, ".") || !strcmp(e->name, "..");
		size_t n;

		if (plus) {
			struct fuse_entry_param ep;

			if (dot) {
				/* nodeid 0: attributes not given, no lookup counted. */
				memset(&ep, 0, sizeof(ep));
				ep.attr.st_ino = e->ino;
				ep.attr.st_mode = DTTOIF(e->dtype);
			} else if ((rc = fill_entry(f, e->ino, &ep)) < 0) {
				break;
			}
			n = fuse_add_direntry_plus(req, buf + used, size - used, e->name, &ep,
						   (off_t)e->next_off);
		} else {
			struct stat st = { .st_ino = e->ino, .st_mode = DTTOIF(e->dtype) };

			n = fuse_add_direntry(req, buf + used, size - used, e->name, &st,
					      (off_t)e->next_off);
		}
		if (n > size - used)
			break;
		used += n;
	}
	free(d.ents);
	if (rc < 0) {
		free(buf);
		return reply_err(f, req, rc, plus ? "readdirplus" : "readdir", d.dir);
	}
	unlock(f);
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, true);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t fino, int datasync, struct fuse_file_info *fi)
{
	op_fsync(req, fino, datasync, fi);
}

static void op_statfs(fuse_req_t req, fuse_ino_t fino)
{
	struct gm_fuse *f = lock_req(req);
	struct statvfs sv;
	int rc;

	rc = gm_view_statfs(f->fs, to_gm(fino), &sv);
	if (rc < 0)
		return reply_err(f, req, rc, "statfs", to_gm(fino));
	unlock(f);
	fuse_reply_statfs(req, &sv);
}

/* The kernel hands ACLs over as raw xattrs when FUSE_CAP_POSIX_ACL is off
 * (it must be: it would force default_permissions). Do what the VFS does
 * for a local filesystem: the ACL's owner/group-or-mask/other permissions
 * become the mode, and an ACL that says no more than the mode is not kept
 * (cp -a and tar --acls set ACLs instead of calling chmod). Linux xattr ABI:
 * le32 version 2, then { le16 tag, le16 perm, le32 id } entries. */
static int set_acl_access(struct gm_fuse *f, gm_vino_t ino, const void *value, size_t size,
			  int flags)
{
	const unsigned char *p = value;
	unsigned user = 0, group = 0, mask = 0, other = 0, n, extra = 0;
	bool has_mask = false;
	struct gm_setattr sa = { .valid = GM_SET_MODE };
	struct stat st;
	int rc;

	if (size < 4 || (size - 4) % 8 || p[0] != 2 || p[1] || p[2] || p[3])
		return -EINVAL;
	n = (unsigned)((size - 4) / 8);
	for (unsigned i = 0; i < n; i++) {
		const unsigned char *e = p + 4 + 8 * i;
		unsigned tag = e[0] | e[1] << 8, perm = (e[2] | e[3] << 8) & 7;

		switch (tag) {
		case 0x01: user = perm; break;
		case 0x04: group = perm; break;
		case 0x10: mask = perm; has_mask = true; break;
		case 0x20: other = perm; break;
		case 0x02: case 0x08: extra++; break;
		default: return -EINVAL;
		}
	}
	rc = gm_view_getattr(f->fs, ino, &st);
	if (rc < 0)
		return rc;
	sa.mode = (st.st_mode & 07000) | user << 6 | (has_mask ? mask : group) << 3 | other;
	rc = gm_view_setattr(f->fs, ino, &sa, NULL);
	if (rc < 0)
		return rc;
	if (extra || (has_mask && mask != group))
		return gm_view_setxattr(f->fs, ino, "system.posix_acl_access", value, size, flags);
	rc = gm_view_removexattr(f->fs, ino, "system.posix_acl_access");
	return rc == -ENODATA ? 0 : rc;
}

static void op_setxattr(fuse_req_t req, fuse_ino_t fino, const char *name, const char *value,
			size_t size, int flags)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t ino = to_gm(fino);
	int rc;

	bool acl = !strcmp(name, "system.posix_acl_access");

	if (acl)
		rc = set_acl_access(f, ino, value, size, flags);
	else
		rc = gm_view_setxattr(f->fs, ino, name, value, size, flags);
	if (rc < 0)
		return reply_err(f, req, rc, "setxattr", ino);
	unlock(f);
	fuse_reply_err(req, 0);
	/* The mode changed behind the kernel's attribute cache (attributes
	 * only: takes no inode lock, safe from the serving thread). */
	if (acl)
		fuse_lowlevel_notify_inval_inode(f->se, fino, -1, 0);
}

/* getxattr and listxattr share the protocol: size 0 asks for the length,
 * anything else for the bytes. get is gm_view_getxattr or list_names. */
typedef ssize_t (*xattr_get_fn)(struct gm_view *fs, gm_vino_t ino, const char *name, void *buf,
				size_t size);

static ssize_t list_names(struct gm_view *fs, gm_vino_t ino, const char *name, void *buf, size_t size)
{
	(void)name;
	return gm_view_listxattr(fs, ino, buf, size);
}

static void reply_xattr_bytes(fuse_req_t req, fuse_ino_t fino, const char *name, size_t size,
			      xattr_get_fn get, const char *what)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t ino = to_gm(fino);
	char *buf = NULL;
	ssize_t n;

	if (size && !(buf = malloc(size)))
		return reply_err(f, req, -ENOMEM, what, ino);
	n = get(f->fs, ino, name, buf, size);
	if (n < 0) {
		free(buf);
		return reply_err(f, req, (int)n, what, ino);
	}
	unlock(f);
	if (size)
		fuse_reply_buf(req, buf, (size_t)n);
	else
		fuse_reply_xattr(req, (size_t)n);
	free(buf);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t fino, const char *name, size_t size)
{
	reply_xattr_bytes(req, fino, name, size, gm_view_getxattr, "getxattr");
}

static void op_listxattr(fuse_req_t req, fuse_ino_t fino, size_t size)
{
	reply_xattr_bytes(req, fino, NULL, size, list_names, "listxattr");
}

static void op_removexattr(fuse_req_t req, fuse_ino_t fino, const char *name)
{
	struct gm_fuse *f = lock_req(req);
	gm_vino_t ino = to_gm(fino);
	int rc;

	rc = gm_view_removexattr(f->fs, ino, name);
	if (rc < 0)
		return reply_err(f, req, rc, "removexattr", ino);
	unlock(f);
	fuse_reply_err(req, 0);
}

/* Without default_permissions (the owner's fakeroot view) everything is
 * allowed; with it the kernel checks and never asks. */
static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	(void)ino; (void)mask;
	fuse_reply_err(req, 0);
}

const struct fuse_lowlevel_ops gm_fuse_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.symlink = op_symlink,
	.link = op_link,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.open = op_open,
	.create = op_create,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsyncdir,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.access = op_access,
};
