/* names.c — where the kernel sees each directory and symlink: inode ->
 * the (parent directory, name) pairs the kernel was given, as its own
 * dentry tree has them.
 *
 * Filled from every entry handed to the kernel (lookup, readdirplus, the
 * creating calls) and kept current by unlink, rmdir and rename, so the chain
 * of parents from a directory up to the root is the chain the kernel walks
 * for "..", and a symlink with one name knows its directory. symlinks.c uses
 * it to present a link's target relative to the link's own directory. A
 * directory has one name; one showing up in a second directory is a damaged
 * image (hard-linked directories) and is refused, so that chain can be
 * trusted. Callers hold f->lock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/fuse_private.h"

struct gm_fuse_link {
	gm_vino_t parent;
	char *name;
};

struct gm_fuse_name {
	gm_vino_t ino;       /* 0: empty slot */
	bool dir;
	unsigned n, cap;    /* pairs: at most one for a directory */
	struct gm_fuse_link *links;
};

static size_t slot_of(const struct gm_fuse *f, gm_vino_t ino)
{
	return (size_t)((ino ^ ino >> GM_VINO_SHIFT) * 2654435761u) & (f->capnames - 1);
}

static struct gm_fuse_name *find(const struct gm_fuse *f, gm_vino_t ino)
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

static struct gm_fuse_name *insert(struct gm_fuse *f, gm_vino_t ino)
{
	size_t i;

	if ((f->nnames + 1) * 2 > f->capnames && grow(f) < 0)
		return NULL;
	for (i = slot_of(f, ino); f->names[i].ino; i = (i + 1) & (f->capnames - 1))
		;
	f->names[i].ino = ino;
	f->nnames++;
	return &f->names[i];
}

static void clear(struct gm_fuse_name *e)
{
	for (unsigned i = 0; i < e->n; i++)
		free(e->links[i].name);
	e->n = 0;
}

static struct gm_fuse_link *pair(struct gm_fuse_name *e, gm_vino_t parent, const char *name)
{
	for (unsigned i = 0; i < e->n; i++)
		if (e->links[i].parent == parent && !strcmp(e->links[i].name, name))
			return &e->links[i];
	return NULL;
}

static int add(struct gm_fuse_name *e, gm_vino_t parent, const char *name)
{
	char *copy = strdup(name);

	if (!copy)
		return -ENOMEM;
	if (e->n == e->cap) {
		unsigned cap = e->cap ? e->cap * 2 : 1;
		struct gm_fuse_link *l = realloc(e->links, cap * sizeof(*l));

		if (!l) {
			free(copy);
			return -ENOMEM;
		}
		e->links = l;
		e->cap = cap;
	}
	e->links[e->n++] = (struct gm_fuse_link){ .parent = parent, .name = copy };
	return 0;
}

int gm_fuse_names_note(struct gm_fuse *f, gm_vino_t ino, gm_vino_t parent, const char *name,
		       bool dir)
{
	struct gm_fuse_name *e;

	if (!f->contain_links || ino == gm_fuse_root_vino)
		return 0;
	e = find(f, ino);
	if (!e && !(e = insert(f, ino)))
		return -ENOMEM;
	if (e->dir != dir)
		clear(e);   /* a number reused for another kind of file */
	e->dir = dir;
	if (pair(e, parent, name))
		return 0;
	if (dir && e->n) {
		if (e->links[0].parent != parent) {
			gm_fuse_logf(f, "directory inode %llu has names in two directories (%llu "
				     "and %llu): a damaged image (e2fsck it); refused",
				     (unsigned long long)ino, (unsigned long long)e->links[0].parent,
				     (unsigned long long)parent);
			return -EIO;
		}
		clear(e);   /* another spelling of the same name (casefolding) */
	}
	return add(e, parent, name);
}

void gm_fuse_names_gone(struct gm_fuse *f, gm_vino_t ino, gm_vino_t parent, const char *name)
{
	struct gm_fuse_name *e = find(f, ino);
	struct gm_fuse_link *l = e ? pair(e, parent, name) : NULL;

	if (!l)
		return;
	free(l->name);
	*l = e->links[--e->n];
}

void gm_fuse_names_moved(struct gm_fuse *f, gm_vino_t ino, gm_vino_t parent, const char *name,
			 gm_vino_t newparent, const char *newname)
{
	struct gm_fuse_name *e = find(f, ino);
	struct gm_fuse_link *l = e ? pair(e, parent, name) : NULL;
	char *copy;

	if (!l)
		return;
	copy = strdup(newname);
	if (!copy) {
		/* Unknown from now on: links below it are refused, never wrong. */
		gm_fuse_names_gone(f, ino, parent, name);
		return;
	}
	free(l->name);
	l->name = copy;
	l->parent = newparent;
}

gm_vino_t gm_fuse_names_parent(const struct gm_fuse *f, gm_vino_t ino)
{
	const struct gm_fuse_name *e = find(f, ino);

	return e && e->n == 1 ? e->links[0].parent : 0;
}

int gm_fuse_names_path(const struct gm_fuse *f, gm_vino_t dir, const char **comps,
		       size_t max, size_t *n)
{
	size_t k = 0;

	while (dir != gm_fuse_root_vino) {
		const struct gm_fuse_name *e = find(f, dir);

		if (!e || !e->dir || e->n != 1)
			return -EIO;     /* not reached through the kernel: cannot be */
		if (k == max)
			return -ELOOP;
		comps[k++] = e->links[0].name;
		dir = e->links[0].parent;
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
	for (size_t i = 0; i < f->capnames; i++) {
		clear(&f->names[i]);
		free(f->names[i].links);
	}
	free(f->names);
	f->names = NULL;
	f->capnames = f->nnames = 0;
}
