/* orphans.c — which files are open, and the files unlinked (or renamed
 * over) while open: moved to GM_FUSE_ORPHANS in the root directory of the
 * filesystem holding them (the view's root, /boot, ...: a rename cannot
 * cross filesystems), hidden
 * from lookups and listings, and removed at their last close (or at the next
 * session's start, after a crash). The kernel may still read them or write
 * their cached pages back until then. Callers hold f->lock. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/fuse_private.h"

bool gm_fuse_hidden_name(gm_vino_t dir, const char *name)
{
	/* the root directory of any ext member: its own inode 2 */
	return (dir & GM_VINO_LOCAL_MASK) == GM_ROOT_INO && !strcmp(name, GM_FUSE_ORPHANS);
}

static struct gm_fuse_open *open_find(struct gm_fuse *f, gm_vino_t ino)
{
	for (size_t i = 0; i < f->nopens; i++)
		if (f->opens[i].ino == ino)
			return &f->opens[i];
	return NULL;
}

unsigned gm_fuse_hidden_links(const struct gm_fuse *f, gm_vino_t ino)
{
	for (size_t i = 0; i < f->nopens; i++)
		if (f->opens[i].ino == ino)
			return f->opens[i].hidden;
	return 0;
}

int gm_fuse_open_inc(struct gm_fuse *f, gm_vino_t ino)
{
	struct gm_fuse_open *o = open_find(f, ino), *n;

	if (o) {
		o->count++;
		return 0;
	}
	if (f->nopens == f->capopens) {
		size_t cap = f->capopens ? f->capopens * 2 : 64;

		n = realloc(f->opens, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		f->opens = n;
		f->capopens = cap;
	}
	f->opens[f->nopens++] = (struct gm_fuse_open){ .ino = ino, .count = 1 };
	return 0;
}

/* The orphan directory of the filesystem holding ino (made when needed). */
static int orphan_dir(struct gm_fuse *f, gm_vino_t ino, gm_vino_t *out)
{
	size_t m = gm_view_member_of(f->fs, ino);
	gm_vino_t root = gm_view_member_root(f->fs, ino);
	int rc = 0;

	if (!f->orphan_dir[m]) {
		rc = gm_view_mkdir(f->fs, root, GM_FUSE_ORPHANS, 0700, NULL, &f->orphan_dir[m]);
		if (rc == -EEXIST)
			rc = gm_view_lookup(f->fs, root, GM_FUSE_ORPHANS, &f->orphan_dir[m]);
	}
	*out = f->orphan_dir[m];
	return rc;
}

/* If dir/name is a file still open, moves it to the orphan directory (so
 * its inode survives) and returns 1; 0 if nothing to do; -errno. */
int gm_fuse_hide_if_open(struct gm_fuse *f, gm_vino_t dir, const char *name, gm_vino_t *hid_ino)
{
	struct gm_fuse_open *o;
	char hname[48];
	gm_vino_t ino, odir;
	int rc;

	if (gm_view_lookup(f->fs, dir, name, &ino) < 0)
		return 0;
	o = open_find(f, ino);
	if (!o || o->count == 0)
		return 0;
	rc = orphan_dir(f, dir, &odir);
	if (rc < 0)
		return rc;
	snprintf(hname, sizeof(hname), "%llu.%u", (unsigned long long)ino, o->hidden);
	rc = gm_view_rename(f->fs, dir, name, odir, hname, 0);
	if (rc < 0)
		return rc;
	o->hidden++;
	*hid_ino = ino;
	return 1;
}

int gm_fuse_request_begin(struct gm_fuse *f, struct gm_fuse_request *r)
{
	int rc = gm_view_op_begin(f->fs, 0);

	memcpy(r->orphan_dir, f->orphan_dir, sizeof(r->orphan_dir));
	r->begun = rc == 0;
	return rc;
}

int gm_fuse_request_end(struct gm_fuse *f, struct gm_fuse_request *r, int rc, gm_vino_t hid)
{
	struct gm_fuse_open *o = hid ? open_find(f, hid) : NULL;

	if (!r->begun)
		return rc;
	gm_view_op_end(f->fs, rc < 0 ? rc : 0);
	if (rc < 0) {
		/* the disk is back: so is what we remember of it */
		memcpy(f->orphan_dir, r->orphan_dir, sizeof(f->orphan_dir));
		if (o && o->hidden)
			o->hidden--;
	}
	return rc;
}

int gm_fuse_unlink(struct gm_fuse *f, gm_vino_t dir, const char *name, gm_vino_t *ino)
{
	struct gm_fuse_request r;
	gm_vino_t hid = 0;
	int rc;

	*ino = 0;
	if (gm_fuse_hidden_name(dir, name))
		return -ENOENT;
	if ((rc = gm_fuse_request_begin(f, &r)) < 0)
		return rc;
	rc = gm_fuse_hide_if_open(f, dir, name, &hid);
	if (rc == 0 && (rc = gm_view_lookup(f->fs, dir, name, ino)) == 0)
		rc = gm_view_unlink(f->fs, dir, name);
	return gm_fuse_request_end(f, &r, rc < 0 ? rc : 0, hid);
}

int gm_fuse_rename(struct gm_fuse *f, gm_vino_t dir, const char *name, gm_vino_t ndir,
		   const char *newname, unsigned flags, gm_vino_t *src, gm_vino_t *dst)
{
	struct gm_fuse_request r;
	gm_vino_t hid = 0;
	struct stat sst;
	int rc;

	*src = *dst = 0;
	if (gm_fuse_hidden_name(dir, name) || gm_fuse_hidden_name(ndir, newname))
		return -EPERM;
	if ((rc = gm_fuse_request_begin(f, &r)) < 0)
		return rc;
	if (gm_view_lookup(f->fs, dir, name, src) < 0)
		*src = 0;
	if (gm_view_lookup(f->fs, ndir, newname, dst) < 0)
		*dst = 0;
	/* A file replaced while open must outlive the rename (not for
	 * RENAME_EXCHANGE, which deletes nothing, nor a rename onto itself);
	 * a directory cannot replace a file: let the rename say so. */
	if (!(flags & (RENAME_EXCHANGE | RENAME_NOREPLACE)) && *src && *dst && *dst != *src &&
	    gm_view_getattr(f->fs, *src, &sst) == 0 && !S_ISDIR(sst.st_mode))
		rc = gm_fuse_hide_if_open(f, ndir, newname, &hid);
	if (rc >= 0)
		rc = gm_view_rename(f->fs, dir, name, ndir, newname, flags);
	return gm_fuse_request_end(f, &r, rc < 0 ? rc : 0, hid);
}

int gm_fuse_open_dec(struct gm_fuse *f, gm_vino_t ino)
{
	struct gm_fuse_open *o = open_find(f, ino);
	char hname[48];
	gm_vino_t odir = 0;
	int rc = 0;

	if (!o || --o->count > 0)
		return 0;
	if (o->hidden && orphan_dir(f, ino, &odir) < 0)
		rc = -EIO;
	while (o->hidden && odir) {
		o->hidden--;
		snprintf(hname, sizeof(hname), "%llu.%u", (unsigned long long)ino, o->hidden);
		if (gm_view_unlink(f->fs, odir, hname) < 0)
			rc = -EIO;
	}
	*o = f->opens[--f->nopens];
	return rc;
}

struct purge {
	char (*names)[256];
	size_t n, cap;
};

static int purge_cb(void *priv, const char *name, size_t namelen, gm_vino_t ino,
		    unsigned dtype, uint64_t next_off)
{
	struct purge *p = priv;

	(void)ino; (void)dtype; (void)next_off;
	if ((namelen == 1 && name[0] == '.') || (namelen == 2 && !memcmp(name, "..", 2)))
		return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		char (*n)[256] = realloc(p->names, cap * sizeof(*n));

		if (!n)
			return 1;
		p->names = n;
		p->cap = cap;
	}
	memcpy(p->names[p->n], name, namelen);
	p->names[p->n++][namelen] = '\0';
	return 0;
}

/* The orphans of one filesystem, whose root is root. */
static int drop_in(struct gm_view *fs, gm_vino_t root)
{
	struct purge p = { 0 };
	gm_vino_t dir;
	int rc;

	rc = gm_view_lookup(fs, root, GM_FUSE_ORPHANS, &dir);
	if (rc == -ENOENT || rc == -EROFS)
		return 0;
	if (rc < 0)
		return rc;
	rc = gm_view_readdir(fs, dir, 0, purge_cb, &p);
	for (size_t i = 0; rc == 0 && i < p.n; i++)
		rc = gm_view_unlink(fs, dir, p.names[i]);
	if (rc == 0)
		rc = gm_view_rmdir(fs, root, GM_FUSE_ORPHANS);
	free(p.names);
	return rc;
}

int gm_fuse_drop_orphans(struct gm_view *fs)
{
	int rc = 0;

	if (gm_view_read_only(fs))
		return 0;
	for (size_t i = 0; rc == 0 && i < gm_view_nmounts(fs); i++)
		if (gm_view_mount(fs, i)->kind == GM_MOUNT_EXT)
			rc = drop_in(fs, gm_view_mount_root(fs, i));
	return rc;
}

int gm_fuse_purge_orphans(struct gm_fuse *f)
{
	int rc;

	if (f->read_only)
		return 0;
	rc = gm_fuse_drop_orphans(f->fs);
	if (rc == 0)
		memset(f->orphan_dir, 0, sizeof(f->orphan_dir));
	return rc;
}
