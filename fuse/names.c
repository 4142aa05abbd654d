/* names.c — where the kernel sees each directory and symlink: inode ->
 * (parent directory, name), as the kernel's own dentry tree has them.
 *
 * Filled from every entry handed to the kernel (lookup, readdirplus, the
 * creating calls) and kept current by rename and rmdir, so the chain of
 * parents from a directory up to the root is the chain the kernel walks
 * for "..". symlinks.c uses it to present a link's target relative to the
 * link's own directory. A directory has one name; one showing up in a
 * second directory is a damaged image (hard-linked directories) and is
 * refused, so that chain can be trusted. Callers hold f->lock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/fuse_private.h"

struct gm_fuse_name {
	gm_ino_t ino;       /* 0: empty slot */
	gm_ino_t parent;    /* 0: forgotten (a removed directory) */
	bool dir;
	char *name;         /* directories only */
};

static size_t slot_of(const struct gm_fuse *f, gm_ino_t ino)
{
	return (size_t)(ino * 2654435761u) & (f->capnames - 1);
}

static struct gm_fuse_name *find(const struct gm_fuse *f, gm_ino_t ino)
{
	if (!f->capnames)
		return NULL;
	for (size_t i = slot_of(f, ino);; i = (i + 1) & (f->capnames - 1)) {
		if (f->names[i].ino == ino)
			return &f->names[i];
		if (!f->names[i].ino)
			return NULL;
	}
}

static int grow(struct gm_fuse *f)
{
	struct gm_fuse_name *old = f->names;
	size_t oldcap = f->capnames, cap = oldcap ? oldcap * 2 : 1024;
	struct gm_fuse_name *n = calloc(cap, sizeof(*n));

	if (!n)
		return -ENOMEM;
	f->names = n;
	f->capnames = cap;
	for (size_t i = 0; i < oldcap; i++) {
		size_t j;

		if (!old[i].ino)
			continue;
		for (j = slot_of(f, old[i].ino); n[j].ino; j = (j + 1) & (cap - 1))
			;
		n[j] = old[i];
	}
	free(old);
	return 0;
}

int gm_fuse_names_note(struct gm_fuse *f, gm_ino_t ino, gm_ino_t parent, const char *name,
		       bool dir)
{
	struct gm_fuse_name *e;
	char *copy = NULL;

	if (!f->contain_links || ino == GM_ROOT_INO)
		return 0;
	e = find(f, ino);
	if (e && e->dir && dir && e->parent && e->parent != parent) {
		gm_fuse_logf(f, "directory inode %u has names in two directories (%u and %u): "
			     "a damaged image (e2fsck it); refused", ino, e->parent, parent);
		return -EIO;
	}
	if (dir && !(e && e->name && !strcmp(e->name, name)) && !(copy = strdup(name)))
		return -ENOMEM;
	if (!e) {
		if ((f->nnames + 1) * 2 > f->capnames && grow(f) < 0) {
			free(copy);
			return -ENOMEM;
		}
		for (size_t i = slot_of(f, ino);; i = (i + 1) & (f->capnames - 1)) {
			if (!f->names[i].ino) {
				e = &f->names[i];
				break;
			}
		}
		e->ino = ino;
		f->nnames++;
	}
	e->parent = parent;
	e->dir = dir;
	if (copy || !dir) {
		free(e->name);
		e->name = copy;
	}
	return 0;
}

void gm_fuse_names_forget(struct gm_fuse *f, gm_ino_t ino)
{
	struct gm_fuse_name *e = find(f, ino);

	if (!e)
		return;
	e->parent = 0;
	free(e->name);
	e->name = NULL;
}

void gm_fuse_names_moved(struct gm_fuse *f, gm_ino_t ino, gm_ino_t parent, const char *name)
{
	struct gm_fuse_name *e = find(f, ino);
	char *copy;

	if (!e || !e->parent)
		return;
	e->parent = parent;
	if (!e->dir)
		return;
	copy = strdup(name);
	if (!copy) {
		/* Unknown from now on: links below it are refused, never wrong. */
		gm_fuse_names_forget(f, ino);
		return;
	}
	free(e->name);
	e->name = copy;
}

gm_ino_t gm_fuse_names_parent(const struct gm_fuse *f, gm_ino_t ino)
{
	const struct gm_fuse_name *e = find(f, ino);

	return e ? e->parent : 0;
}

int gm_fuse_names_path(const struct gm_fuse *f, gm_ino_t dir, const char **comps,
		       size_t max, size_t *n)
{
	size_t k = 0;

	while (dir != GM_ROOT_INO) {
		const struct gm_fuse_name *e = find(f, dir);

		if (!e || !e->parent || !e->dir || !e->name)
			return -EIO;     /* not reached through the kernel: cannot be */
		if (k == max)
			return -ELOOP;
		comps[k++] = e->name;
		dir = e->parent;
	}
	/* Collected leaf first: the root's child goes first. */
	for (size_t i = 0; i < k / 2; i++) {
		const char *t = comps[i];

		comps[i] = comps[k - 1 - i];
		comps[k - 1 - i] = t;
	}
	*n = k;
	return 0;
}

void gm_fuse_names_free(struct gm_fuse *f)
{
	for (size_t i = 0; i < f->capnames; i++)
		free(f->names[i].name);
	free(f->names);
	f->names = NULL;
	f->capnames = f->nnames = 0;
}
