/* ops.c — FUSE low-level handlers over editor/fs/fs.h.
 *
 * Each handler decodes its arguments, calls the editor (under f->lock) and
 * replies exactly once. What the kernel is shown is shaped by small
 * helpers: owners and link counts (ids.c), symlink targets (symlinks.c, with
 * names.c keeping where each link is); open-file tracking, which keeps files
 * unlinked while open alive until their last close, is in orphans.c; the
 * xattr handlers are in xattr_ops.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuse/fuse_private.h"

/* FUSE_ROOT_ID (1) is the view's root (set at mount): ext4's root inode 2,
 * or 1 for a FAT partition opened alone; no other view inode is 1 (ext4
 * numbers start at 1 for the bad-block inode, never handed out). */
gm_vino_t gm_fuse_root_vino = GM_ROOT_INO;

gm_vino_t gm_fuse_to_gm(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? gm_fuse_root_vino : (gm_vino_t)ino;
}

static fuse_ino_t to_fuse(gm_vino_t ino)
{
	return ino == gm_fuse_root_vino ? FUSE_ROOT_ID : (fuse_ino_t)ino;
}

struct gm_fuse *gm_fuse_lock_req(fuse_req_t req)
{
	struct gm_fuse *f = fuse_req_userdata(req);

	pthread_mutex_lock(&f->lock);
	return f;
}

void gm_fuse_unlock(struct gm_fuse *f)
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
void gm_fuse_reply_err(struct gm_fuse *f, fuse_req_t req, int rc, const char *op, gm_vino_t ino)
{
	if (rc >= 0 || rc < -4095)
		rc = -EIO;
	if (!expected_error(rc)) {
		f->errors++;
		gm_fuse_logf(f, "%s (inode %llu): %s: %s", op, (unsigned long long)ino, strerror(-rc),
			     gm_view_errmsg(f->fs));
	}
	gm_fuse_unlock(f);
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

/* The entry dir/name -> ino for the kernel (noting where directories and
 * symlinks are, for symlinks.c). */
static int fill_entry(struct gm_fuse *f, gm_vino_t dir, const char *name, gm_vino_t ino,
		      struct fuse_entry_param *e)
{
	int rc;

	memset(e, 0, sizeof(*e));
	rc = gm_view_getattr(f->fs, ino, &e->attr);
	if (rc < 0)
		return rc;
	if (S_ISDIR(e->attr.st_mode) || S_ISLNK(e->attr.st_mode)) {
		rc = gm_fuse_names_note(f, ino, dir, name, S_ISDIR(e->attr.st_mode));
		if (rc < 0)
			return rc;
	}
	gm_fuse_present(f, ino, &e->attr);
	e->ino = to_fuse(ino);
	e->attr_timeout = GM_FUSE_TIMEOUT;
	e->entry_timeout = GM_FUSE_TIMEOUT;
	return 0;
}

static void reply_entry(struct gm_fuse *f, fuse_req_t req, gm_vino_t dir, const char *name,
			gm_vino_t ino, const char *op)
{
	struct fuse_entry_param e;
	int rc = fill_entry(f, dir, name, ino, &e);

	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, op, ino);
	gm_fuse_unlock(f);
	fuse_reply_entry(req, &e);
}

/* --- handlers --- */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct gm_fuse *f = userdata;
	unsigned want = FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO |
			FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_ASYNC_READ;

	/* A contained link's text depends on where the link is: asked anew
	 * at every use (a rename may move it). */
	if (!f->contain_links)
		want |= FUSE_CAP_CACHE_SYMLINKS;
	else
		conn->want &= ~FUSE_CAP_CACHE_SYMLINKS;
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
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t dir = gm_fuse_to_gm(parent), ino;
	struct fuse_entry_param e;
	int rc;

	rc = gm_fuse_hidden_name(dir, name) ? -ENOENT : gm_view_lookup(f->fs, dir, name, &ino);
	if (rc == -ENOENT) {
		/* Negative entry, cached as long as the positive ones. */
		gm_fuse_unlock(f);
		memset(&e, 0, sizeof(e));
		e.entry_timeout = GM_FUSE_TIMEOUT;
		fuse_reply_entry(req, &e);
		return;
	}
	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, "lookup", dir);
	reply_entry(f, req, dir, name, ino, "lookup");
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
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t ino = gm_fuse_to_gm(fino);
	struct stat st;
	int rc;

	(void)fi;
	rc = gm_view_getattr(f->fs, ino, &st);
	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, "getattr", ino);
	gm_fuse_present(f, ino, &st);
	gm_fuse_unlock(f);
	fuse_reply_attr(req, &st, GM_FUSE_TIMEOUT);
}

static void op_setattr(fuse_req_t req, fuse_ino_t fino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t ino = gm_fuse_to_gm(fino);
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
		sa.uid = gm_fuse_uid_in(f, attr->st_uid);
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		sa.valid |= GM_SET_GID;
		sa.gid = gm_fuse_gid_in(f, attr->st_gid);
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
		return gm_fuse_reply_err(f, req, rc, "setattr", ino);
	gm_fuse_present(f, ino, &st);
	gm_fuse_unlock(f);
	fuse_reply_attr(req, &st, GM_FUSE_TIMEOUT);
}

static void op_readlink(fuse_req_t req, fuse_ino_t fino)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t ino = gm_fuse_to_gm(fino);
	char buf[PATH_MAX + 1];
	ssize_t n;

	n = gm_fuse_link_target(f, ino, buf, sizeof(buf));
	if (n < 0)
		return gm_fuse_reply_err(f, req, (int)n, "readlink", ino);
	gm_fuse_unlock(f);
	fuse_reply_readlink(req, buf);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t dir = gm_fuse_to_gm(parent), ino;
	struct gm_creds c;
	int rc;

	rc = gm_fuse_hidden_name(dir, name) ? -EPERM :
		gm_view_mknod(f->fs, dir, name, mode, rdev, creds_for(f, req, &c), &ino);
	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, "mknod", dir);
	reply_entry(f, req, dir, name, ino, "mknod");
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t dir = gm_fuse_to_gm(parent), ino;
	struct gm_creds c;
	int rc;

	rc = gm_fuse_hidden_name(dir, name) ? -EPERM :
		gm_view_mkdir(f->fs, dir, name, mode & 07777, creds_for(f, req, &c), &ino);
	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, "mkdir", dir);
	reply_entry(f, req, dir, name, ino, "mkdir");
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t dir = gm_fuse_to_gm(parent), ino;
	struct gm_creds c;
	int rc;

	rc = gm_fuse_hidden_name(dir, name) ? -EPERM :
		gm_view_symlink(f->fs, dir, name, link, creds_for(f, req, &c), &ino);
	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, "symlink", dir);
	reply_entry(f, req, dir, name, ino, "symlink");
}

static void op_link(fuse_req_t req, fuse_ino_t fino, fuse_ino_t newparent, const char *newname)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t ino = gm_fuse_to_gm(fino), dir = gm_fuse_to_gm(newparent);
	int rc;

	rc = gm_fuse_hidden_name(dir, newname) ? -EPERM : gm_view_link(f->fs, ino, dir, newname);
	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, "link", ino);
	reply_entry(f, req, dir, newname, ino, "link");
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t dir = gm_fuse_to_gm(parent), ino = 0;
	int rc = gm_fuse_unlink(f, dir, name, &ino);

	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, "unlink", dir);
	gm_fuse_names_gone(f, ino, dir, name);
	gm_fuse_unlock(f);
	fuse_reply_err(req, 0);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t dir = gm_fuse_to_gm(parent), ino = 0;
	int rc;

	if (gm_fuse_hidden_name(dir, name))
		rc = -ENOENT;
	else if ((rc = gm_view_lookup(f->fs, dir, name, &ino)) == 0)
		rc = gm_view_rmdir(f->fs, dir, name);
	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, "rmdir", dir);
	gm_fuse_names_gone(f, ino, dir, name);
	gm_fuse_unlock(f);
	fuse_reply_err(req, 0);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t dir = gm_fuse_to_gm(parent), ndir = gm_fuse_to_gm(newparent), src = 0, dst = 0;
	int rc = gm_fuse_rename(f, dir, name, ndir, newname, flags, &src, &dst);

	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, "rename", dir);
	if (dst && dst != src) {
		if (flags & RENAME_EXCHANGE)
			gm_fuse_names_moved(f, dst, ndir, newname, dir, name);
		else
			gm_fuse_names_gone(f, dst, ndir, newname);
	}
	if (dst != src)
		gm_fuse_names_moved(f, src, dir, name, ndir, newname);
	gm_fuse_unlock(f);
	fuse_reply_err(req, 0);
}

static void op_open(fuse_req_t req, fuse_ino_t fino, struct fuse_file_info *fi)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t ino = gm_fuse_to_gm(fino);
	int rc = 0;

	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY)
		rc = gm_view_truncate(f->fs, ino, 0);
	if (rc == 0)
		rc = gm_fuse_open_inc(f, ino);
	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, "open", ino);
	gm_fuse_unlock(f);
	fi->keep_cache = 1;
	fi->fh = 0;
	fuse_reply_open(req, fi);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t dir = gm_fuse_to_gm(parent), ino = 0;
	struct fuse_entry_param e;
	struct gm_creds c;
	int rc;

	rc = gm_fuse_hidden_name(dir, name) ? -EPERM :
		gm_view_mknod(f->fs, dir, name, S_IFREG | (mode & 07777), 0,
			    creds_for(f, req, &c), &ino);
	if (rc == 0)
		rc = fill_entry(f, dir, name, ino, &e);
	if (rc == 0)
		rc = gm_fuse_open_inc(f, ino);
	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, "create", dir);
	gm_fuse_unlock(f);
	fi->keep_cache = 1;
	fi->fh = 0;
	fuse_reply_create(req, &e, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t fino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t ino = gm_fuse_to_gm(fino);
	ssize_t n;

	(void)fi;
	if (size > GM_FUSE_MAX_IO)
		size = GM_FUSE_MAX_IO;
	n = gm_view_read(f->fs, ino, f->iobuf, size, (uint64_t)off);
	if (n < 0)
		return gm_fuse_reply_err(f, req, (int)n, "read", ino);
	/* The reply copies the buffer before the lock is released. */
	fuse_reply_buf(req, f->iobuf, (size_t)n);
	gm_fuse_unlock(f);
}

static void op_write(fuse_req_t req, fuse_ino_t fino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t ino = gm_fuse_to_gm(fino);
	ssize_t n;

	(void)fi;
	n = gm_view_write(f->fs, ino, buf, size, (uint64_t)off);
	if (n < 0)
		return gm_fuse_reply_err(f, req, (int)n, "write", ino);
	gm_fuse_unlock(f);
	fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino; (void)fi;
	fuse_reply_err(req, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t fino, struct fuse_file_info *fi)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	gm_vino_t ino = gm_fuse_to_gm(fino);
	int rc;

	(void)fi;
	rc = gm_fuse_open_dec(f, ino);
	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, "release", ino);
	gm_fuse_unlock(f);
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t fino, int datasync, struct fuse_file_info *fi)
{
	struct gm_fuse *f = gm_fuse_lock_req(req);
	int rc;

	(void)datasync; (void)fi;
	rc = gm_view_flush(f->fs);
	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, "fsync", gm_fuse_to_gm(fino));
	gm_fuse_unlock(f);
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
	struct gm_fuse *f = gm_fuse_lock_req(req);
	struct rd d = { .req = req, .dir = gm_fuse_to_gm(fino), .plus = plus, .room = size };
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

			/* nodeid 0 (attributes not given, no lookup counted) for
			 * the dots, and for an entry that cannot be given: the
			 * kernel looks it up, and that lookup says why. */
			if (dot || fill_entry(f, d.dir, e->name, e->ino, &ep) < 0) {
				memset(&ep, 0, sizeof(ep));
				ep.attr.st_ino = e->ino;
				ep.attr.st_mode = DTTOIF(e->dtype);
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
		return gm_fuse_reply_err(f, req, rc, plus ? "readdirplus" : "readdir", d.dir);
	}
	gm_fuse_unlock(f);
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
	struct gm_fuse *f = gm_fuse_lock_req(req);
	struct statvfs sv;
	int rc;

	rc = gm_view_statfs(f->fs, gm_fuse_to_gm(fino), &sv);
	if (rc < 0)
		return gm_fuse_reply_err(f, req, rc, "statfs", gm_fuse_to_gm(fino));
	gm_fuse_unlock(f);
	fuse_reply_statfs(req, &sv);
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
	.setxattr = gm_fuse_op_setxattr,
	.getxattr = gm_fuse_op_getxattr,
	.listxattr = gm_fuse_op_listxattr,
	.removexattr = gm_fuse_op_removexattr,
	.access = op_access,
};
