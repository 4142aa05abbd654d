/* symlinks.c — symlink targets as the kernel is shown them.
 *
 * Through a mount the host's kernel, not the image, resolves symlinks: a
 * stored "/etc/shadow" would mean the host's file. So (unless -o
 * symlinks=raw) readlink presents every target that could leave the mount
 * as the equivalent path relative to the link's own directory, resolved
 * with the image's semantics (an absolute target starts at the image root,
 * ".." at the image root stays there, links met on the way are followed
 * inside the image):
 *   - a relative target without ".." only descends: shown as stored;
 *   - one whose ".." all come first and climb no higher than the link's
 *     depth: shown as stored (the kernel's ".." is exact there);
 *   - anything else (absolute, climbing too far, ".." after a name) is
 *     resolved here and shown as "../" x (climb to the common ancestor) +
 *     names that only descend. A missing or non-directory component ends
 *     the resolution: the names after it are kept, "." and ".." dropped (the
 *     kernel fails there too), so the result never climbs.
 * The link's directory and depth are the kernel's own (names.c). A symlink
 * with several names (hard-linked) may sit at several depths: one whose
 * target needs rewriting is refused (EACCES, logged). The kernel must not
 * cache link bodies (a rename changes the depth): see op_init. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/fuse_private.h"

#define MAX_HOPS 40
#define MAX_COMPS (PATH_MAX / 2)

/* The resolved position: names from the root, and each one's inode. */
struct pos {
	const char *names[MAX_COMPS];
	gm_vino_t inos[MAX_COMPS];
	size_t n;
	bool broken;          /* a missing or non-directory component was met */
};

/* Components still to resolve, as one buffer consumed from the front. */
struct queue {
	char buf[2 * PATH_MAX + 2];
	size_t off;
};

/* 1 with the next component in comp, 0 at the end, -ENAMETOOLONG. */
static int next_comp(struct queue *q, char *comp, bool *last)
{
	const char *p = q->buf + q->off, *e;
	size_t len;

	while (*p == '/')
		p++;
	if (!*p)
		return 0;
	e = strchrnul(p, '/');
	len = (size_t)(e - p);
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(comp, p, len);
	comp[len] = '\0';
	q->off = (size_t)(e - q->buf);
	*last = !e[strspn(e, "/")];
	return 1;
}

/* Puts target in front of what is left of q. */
static int queue_prepend(struct queue *q, const char *target, size_t tlen)
{
	size_t rest = strlen(q->buf + q->off);

	if (tlen + 1 + rest + 1 > sizeof(q->buf))
		return -ENAMETOOLONG;
	memmove(q->buf + tlen + 1, q->buf + q->off, rest + 1);
	memcpy(q->buf, target, tlen);
	q->buf[tlen] = '/';
	q->off = 0;
	return 0;
}

/* Name storage for the components pushed during one resolution: at most
 * the text of the target and of every link followed. */
struct arena {
	char buf[(MAX_HOPS + 2) * PATH_MAX];
	char *next;
	size_t room;
};

static const char *arena_copy(struct arena *a, const char *s)
{
	size_t len = strlen(s) + 1;
	char *p;

	if (len > a->room)
		return NULL;
	p = a->next;
	memcpy(p, s, len);
	a->next += len;
	a->room -= len;
	return p;
}

static int push(struct pos *p, struct arena *a, const char *name, gm_vino_t ino)
{
	const char *copy;

	if (p->n == MAX_COMPS)
		return -ENAMETOOLONG;
	copy = arena_copy(a, name);
	if (!copy)
		return -ENAMETOOLONG;
	p->names[p->n] = copy;
	p->inos[p->n++] = ino;
	return 0;
}

static gm_vino_t cur_ino(const struct pos *p)
{
	return p->n ? p->inos[p->n - 1] : gm_fuse_root_vino;
}

/* Resolves the components in q from p, inside the image (see the top). */
static int resolve(struct gm_fuse *f, struct pos *p, struct queue *q, struct arena *a)
{
	char comp[NAME_MAX + 1], target[PATH_MAX];
	unsigned hops = 0;
	bool last;
	int rc;

	while ((rc = next_comp(q, comp, &last)) > 0) {
		struct stat st;
		gm_vino_t ino;
		ssize_t n;

		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			if (!p->broken && p->n)
				p->n--;
			continue;
		}
		if (p->broken) {
			if ((rc = push(p, a, comp, 0)) < 0)
				return rc;
			continue;
		}
		rc = gm_view_lookup(f->fs, cur_ino(p), comp, &ino);
		if (rc == -ENOENT || (rc == 0 && gm_fuse_hidden_name(cur_ino(p), comp))) {
			p->broken = true;
			if ((rc = push(p, a, comp, 0)) < 0)
				return rc;
			continue;
		}
		if (rc < 0 || (rc = gm_view_getattr(f->fs, ino, &st)) < 0)
			return rc;
		if (S_ISLNK(st.st_mode) && !last) {
			if (++hops > MAX_HOPS)
				return -ELOOP;
			n = gm_view_readlink(f->fs, ino, target, sizeof(target) - 1);
			if (n < 0)
				return (int)n;
			if (n == 0 || memchr(target, '\0', (size_t)n)) {
				p->broken = true;
				if ((rc = push(p, a, comp, 0)) < 0)
					return rc;
				continue;
			}
			target[n] = '\0';
			if (target[0] == '/')
				p->n = 0;
			if ((rc = queue_prepend(q, target, (size_t)n)) < 0)
				return rc;
			continue;
		}
		if (!S_ISDIR(st.st_mode) && !last)
			p->broken = true;
		if ((rc = push(p, a, comp, ino)) < 0)
			return rc;
	}
	return rc;
}

/* How a stored target may be shown without rewriting: 1 as stored at any
 * depth, 2 as stored if its leading ".." (*up of them) fit the depth, 0 no. */
static int classify(const char *t, size_t *up)
{
	bool named = false;

	*up = 0;
	if (t[0] == '/')
		return 0;
	for (const char *p = t; *p;) {
		size_t len = strcspn(p, "/");

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (named)
				return 0;
			(*up)++;
		} else if (!(len == 1 && p[0] == '.') && len) {
			named = true;
		}
		p += len;
		p += strspn(p, "/");
	}
	return *up ? 2 : 1;
}

/* Appends part to out, after a '/' unless out is empty. */
static int emit(char *out, size_t size, size_t *used, const char *part)
{
	size_t len = strlen(part), sep = *used ? 1 : 0;

	if (*used + sep + len + 1 > size)
		return -ENAMETOOLONG;
	if (sep)
		out[(*used)++] = '/';
	memcpy(out + *used, part, len + 1);
	*used += len;
	return 0;
}

struct rewrite {
	struct pos pos;
	struct queue q;
	struct arena a;
	const char *dcomps[MAX_COMPS];
};

/* Resolves the stored target in r->q (of a link in directory parent, k
 * deep, named r->dcomps) and writes the descending form into out. */
static ssize_t rewrite(struct gm_fuse *f, struct rewrite *r, gm_vino_t parent, size_t k,
		       char *out, size_t size)
{
	size_t common = 0, used = 0, len = strlen(r->q.buf);
	bool slash = len > 1 && r->q.buf[len - 1] == '/';
	int rc;

	r->a.next = r->a.buf;
	r->a.room = sizeof(r->a.buf);
	r->pos.n = 0;
	r->pos.broken = false;
	if (r->q.buf[0] != '/') {
		/* Start in the link's directory: its names and inodes. */
		gm_vino_t dir = parent;

		r->pos.n = k;
		for (size_t i = k; i-- > 0;) {
			r->pos.names[i] = r->dcomps[i];
			r->pos.inos[i] = dir;
			dir = gm_fuse_names_parent(f, dir);
		}
	}
	r->q.off = 0;
	rc = resolve(f, &r->pos, &r->q, &r->a);
	if (rc < 0)
		return rc;
	while (common < k && common < r->pos.n &&
	       !strcmp(r->dcomps[common], r->pos.names[common]))
		common++;
	out[0] = '\0';
	for (size_t i = common; i < k; i++)
		if ((rc = emit(out, size, &used, "..")) < 0)
			return rc;
	for (size_t i = common; i < r->pos.n; i++)
		if ((rc = emit(out, size, &used, r->pos.names[i])) < 0)
			return rc;
	if (!used && (rc = emit(out, size, &used, ".")) < 0)
		return rc;
	if (slash) {
		if (used + 2 > size)
			return -ENAMETOOLONG;
		out[used++] = '/';
		out[used] = '\0';
	}
	return (ssize_t)used;
}

ssize_t gm_fuse_link_target(struct gm_fuse *f, gm_vino_t ino, char *out, size_t size)
{
	struct rewrite *r;
	size_t k, up;
	gm_vino_t parent;
	struct stat st;
	ssize_t n;
	int kind, rc;

	n = gm_view_readlink(f->fs, ino, out, size - 1);
	if (n < 0)
		return n;
	if ((size_t)n >= size - 1 || memchr(out, '\0', (size_t)n))
		return -EIO;
	out[n] = '\0';
	kind = f->contain_links ? classify(out, &up) : 1;
	if (kind == 1)
		return n;
	if ((rc = gm_view_getattr(f->fs, ino, &st)) < 0)
		return rc;
	if (st.st_nlink > 1) {
		gm_fuse_logf(f, "symlink inode %llu has %lu names (maybe at different depths) and "
			     "its target %s leaves its directory: not followed (-o symlinks=raw "
			     "shows it)", (unsigned long long)ino, (unsigned long)st.st_nlink, out);
		return -EACCES;
	}
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	parent = gm_fuse_names_parent(f, ino);
	if (!parent || gm_fuse_names_path(f, parent, r->dcomps, MAX_COMPS, &k) < 0) {
		gm_fuse_logf(f, "symlink inode %llu: its directory is unknown: not followed",
			     (unsigned long long)ino);
		free(r);
		return -EIO;
	}
	if (kind == 2 && up <= k) {
		free(r);
		return n;
	}
	memcpy(r->q.buf, out, (size_t)n + 1);
	n = rewrite(f, r, parent, k, out, size);
	free(r);
	return n;
}
