/* path.c — see path.h: path resolution inside the image root, stat, whole-file
 * reads and glob. The writing helpers are in path_write.c.
 *
 * Resolution works on inodes only, starting at the image's root inode: an
 * absolute symlink target restarts at the view root, ".." at the root stays
 * there, and nothing here ever calls into the host's filesystem. */
#include "editor/view/path_private.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "editor/view/path.h"

#define GM_MAX_LINK_HOPS 40
#define GM_WALK_MAX (2 * PATH_MAX)

int gm_path_walk(struct gm_view *v, const char *path, bool follow_last, struct gm_walk *w)
{
	char *rest = NULL, *tmp = NULL, *p;
	char target[PATH_MAX];
	gm_vino_t cur = gm_view_root(v);
	unsigned hops = 0;
	size_t plen;
	int rc;

	memset(w, 0, sizeof(*w));
	if (!path)
		return gm_view_fail(v, -EINVAL, "no path");
	plen = strnlen(path, PATH_MAX);
	if (plen >= PATH_MAX)
		return gm_view_fail(v, -ENAMETOOLONG, "path longer than %d bytes", PATH_MAX - 1);
	if (plen == 0)
		return gm_view_fail(v, -ENOENT, "empty path");
	rest = malloc(GM_WALK_MAX + 1);
	tmp = malloc(GM_WALK_MAX + 1);
	if (!rest || !tmp) {
		rc = gm_view_fail(v, -ENOMEM, "%s: out of memory", path);
		goto out;
	}
	memcpy(rest, path, plen + 1);
	p = rest;
	for (;;) {
		char comp[NAME_MAX + 1];
		const char *q;
		size_t clen;
		bool last;
		gm_vino_t ino;
		struct stat st;

		while (*p == '/')
			p++;
		if (!*p) {
			/* Nothing left ("/", or a link to a directory with a slash). */
			w->ino = cur;
			w->dir = 0;
			w->name[0] = '\0';
			w->trailing_slash = true;
			rc = 0;
			goto out;
		}
		q = strchrnul(p, '/');
		clen = (size_t)(q - p);
		if (clen > NAME_MAX) {
			rc = gm_view_fail(v, -ENAMETOOLONG, "%s: a component is longer than %d bytes", path,
					NAME_MAX);
			goto out;
		}
		memcpy(comp, p, clen);
		comp[clen] = '\0';
		last = q[strspn(q, "/")] == '\0';
		w->trailing_slash = last && *q == '/';
		if (!strcmp(comp, ".")) {
			ino = cur;
		} else if (!strcmp(comp, "..")) {
			if (cur == gm_view_root(v)) {
				ino = gm_view_root(v);   /* never above the image root */
			} else {
				rc = gm_view_lookup(v, cur, "..", &ino);
				if (rc)
					goto out;
			}
		} else {
			rc = gm_view_lookup(v, cur, comp, &ino);
			if (rc == -ENOENT) {
				if (last) {
					w->dir = cur;
					memcpy(w->name, comp, clen + 1);
				}
				rc = gm_view_fail(v, -ENOENT, "%s: no such file or directory", path);
				goto out;
			}
			if (rc)
				goto out;
		}
		rc = gm_view_getattr(v, ino, &st);
		if (rc)
			goto out;
		if (S_ISLNK(st.st_mode) && (!last || follow_last || w->trailing_slash)) {
			ssize_t n;
			size_t rlen = strlen(q);

			if (++hops > GM_MAX_LINK_HOPS) {
				rc = gm_view_fail(v, -ELOOP, "%s: too many levels of symbolic links", path);
				goto out;
			}
			n = gm_view_readlink(v, ino, target, sizeof(target) - 1);
			if (n < 0) {
				rc = (int)n;
				goto out;
			}
			if (n == 0) {
				rc = gm_view_fail(v, -ENOENT, "%s: empty symbolic link", path);
				goto out;
			}
			if ((size_t)n + rlen > GM_WALK_MAX) {
				rc = gm_view_fail(v, -ENAMETOOLONG, "%s: symbolic links expand too long", path);
				goto out;
			}
			memcpy(tmp, target, (size_t)n);
			memcpy(tmp + n, q, rlen + 1);
			if (memchr(tmp, '\0', (size_t)n)) {
				rc = gm_view_fail(v, -EUCLEAN, "%s: symbolic link target contains a NUL byte", path);
				goto out;
			}
			if (target[0] == '/')
				cur = gm_view_root(v);
			/* swap buffers: rest becomes the expanded path */
			{
				char *t = rest;

				rest = tmp;
				tmp = t;
			}
			p = rest;
			continue;
		}
		if ((!last || w->trailing_slash) && !S_ISDIR(st.st_mode)) {
			rc = gm_view_fail(v, -ENOTDIR, "%s: not a directory", path);
			goto out;
		}
		if (last) {
			w->ino = ino;
			w->dir = cur;
			memcpy(w->name, comp, clen + 1);
			rc = 0;
			goto out;
		}
		cur = ino;
		p = (char *)q;
	}
out:
	free(rest);
	free(tmp);
	return rc;
}

int gm_path_resolve(struct gm_view *v, const char *path, unsigned flags, gm_vino_t *ino)
{
	struct gm_walk w;
	int rc = gm_path_walk(v, path, !(flags & GM_PATH_NOFOLLOW), &w);

	if (rc)
		return rc;
	*ino = w.ino;
	return 0;
}

int gm_path_resolve_parent(struct gm_view *v, const char *path, gm_vino_t *dir, char *name)
{
	char *copy = NULL, *slash, *base;
	char last[NAME_MAX + 1];
	size_t len;
	struct gm_walk w;
	struct stat st;
	int rc;

	if (!path || !*path)
		return gm_view_fail(v, -ENOENT, "empty path");
	len = strnlen(path, PATH_MAX);
	if (len >= PATH_MAX)
		return gm_view_fail(v, -ENAMETOOLONG, "path longer than %d bytes", PATH_MAX - 1);
	copy = strdup(path);
	if (!copy)
		return gm_view_fail(v, -ENOMEM, "%s: out of memory", path);
	while (len > 0 && copy[len - 1] == '/')
		copy[--len] = '\0';
	if (len == 0) {
		rc = gm_view_fail(v, -EINVAL, "%s: the root has no parent", path);
		goto out;
	}
	slash = strrchr(copy, '/');
	base = slash ? slash + 1 : copy;
	if (!strcmp(base, ".") || !strcmp(base, "..")) {
		rc = gm_view_fail(v, -EINVAL, "%s: the last component cannot be \".\" or \"..\"", path);
		goto out;
	}
	if (strlen(base) > NAME_MAX) {
		rc = gm_view_fail(v, -ENAMETOOLONG, "%s: a component is longer than %d bytes", path, NAME_MAX);
		goto out;
	}
	snprintf(last, sizeof(last), "%s", base);
	if (slash)
		slash[1] = '\0';   /* keep the slash: "/a/b" -> "/a/", "/b" -> "/" */
	rc = gm_path_walk(v, slash ? copy : "/", true, &w);
	if (rc)
		goto out;
	rc = gm_view_getattr(v, w.ino, &st);
	if (rc)
		goto out;
	if (!S_ISDIR(st.st_mode)) {
		rc = gm_view_fail(v, -ENOTDIR, "%s: not a directory", path);
		goto out;
	}
	*dir = w.ino;
	memcpy(name, last, strlen(last) + 1);
out:
	free(copy);
	return rc;
}

int gm_path_lstat(struct gm_view *v, const char *path, struct stat *st)
{
	gm_vino_t ino;
	int rc = gm_path_resolve(v, path, GM_PATH_NOFOLLOW, &ino);

	return rc ? rc : gm_view_getattr(v, ino, st);
}

int gm_path_stat(struct gm_view *v, const char *path, struct stat *st)
{
	gm_vino_t ino;
	int rc = gm_path_resolve(v, path, 0, &ino);

	return rc ? rc : gm_view_getattr(v, ino, st);
}

int gm_path_regular_stat(struct gm_view *v, gm_vino_t ino, const char *path, struct stat *st)
{
	int rc = gm_view_getattr(v, ino, st);

	if (rc)
		return rc;
	if (S_ISDIR(st->st_mode))
		return gm_view_fail(v, -EISDIR, "%s: is a directory", path);
	if (!S_ISREG(st->st_mode))
		return gm_view_fail(v, -EINVAL, "%s: not a regular file", path);
	return 0;
}

int gm_path_read_file(struct gm_view *v, const char *path, size_t max, char **buf, size_t *len)
{
	struct stat st;
	gm_vino_t ino;
	char *data;
	size_t size, done = 0;
	int rc;

	rc = gm_path_resolve(v, path, 0, &ino);
	if (!rc)
		rc = gm_path_regular_stat(v, ino, path, &st);
	if (rc)
		return rc;
	if ((uint64_t)st.st_size > max || (uint64_t)st.st_size >= SIZE_MAX)
		return gm_view_fail(v, -EFBIG, "%s: larger than %zu bytes", path, max);
	size = (size_t)st.st_size;
	data = malloc(size + 1);
	if (!data)
		return gm_view_fail(v, -ENOMEM, "%s: out of memory", path);
	while (done < size) {
		ssize_t n = gm_view_read(v, ino, data + done, size - done, done);

		if (n < 0) {
			free(data);
			return (int)n;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	data[done] = '\0';
	*buf = data;
	*len = done;
	return 0;
}

/* --- glob -------------------------------------------------------------- */
struct glob_names {
	char **v;
	size_t n, cap;
	const char *pat;
	int err;
};

static int glob_collect(void *priv, const char *name, size_t namelen, gm_vino_t ino, unsigned dtype,
			uint64_t next_off)
{
	struct glob_names *g = priv;
	char nm[NAME_MAX + 1];

	if (namelen > NAME_MAX)
		return 0;
	memcpy(nm, name, namelen);
	nm[namelen] = '\0';
	if (!strcmp(nm, ".") || !strcmp(nm, ".."))
		return 0;
	if (fnmatch(g->pat, nm, FNM_PERIOD) != 0)
		return 0;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		char **v = realloc(g->v, cap * sizeof(*v));

		if (!v) {
			g->err = -ENOMEM;
			return 1;
		}
		g->v = v;
		g->cap = cap;
	}
	if (!(g->v[g->n] = strdup(nm))) {
		g->err = -ENOMEM;
		return 1;
	}
	g->n++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_magic(const char *s)
{
	return strpbrk(s, "*?[\\") != NULL;
}

/* Matches comps[i..n) below dir (whose path is prefix). */
static int glob_rec(struct gm_view *v, gm_vino_t dir, const char *prefix, char **comps, size_t i,
		    size_t n, gm_glob_fn fn, void *priv)
{
	struct glob_names g = { .pat = comps[i] };
	char **names = &comps[i];
	size_t count = 1, plen = strlen(prefix);
	int rc = 0;

	if (has_magic(comps[i])) {
		rc = gm_view_readdir(v, dir, 0, glob_collect, &g);
		if (!rc)
			rc = g.err;
		if (rc)
			goto out;
		if (g.n)
			qsort(g.v, g.n, sizeof(*g.v), cmp_str);
		names = g.v;
		count = g.n;
	}
	for (size_t k = 0; k < count && !rc; k++) {
		size_t len = plen + 1 + strlen(names[k]) + 1;
		char *path = malloc(len);
		struct stat st;
		gm_vino_t ino;

		if (!path) {
			rc = -ENOMEM;
			break;
		}
		snprintf(path, len, "%s/%s", plen == 1 ? "" : prefix, names[k]);
		if (i + 1 == n) {
			if (gm_path_lstat(v, path, &st) == 0)
				rc = fn(priv, path);
		} else if (gm_path_resolve(v, path, 0, &ino) == 0 && gm_view_getattr(v, ino, &st) == 0 &&
			   S_ISDIR(st.st_mode)) {
			rc = glob_rec(v, ino, path, comps, i + 1, n, fn, priv);
		}
		free(path);
	}
out:
	for (size_t k = 0; k < g.n; k++)
		free(g.v[k]);
	free(g.v);
	return rc;
}

int gm_path_glob(struct gm_view *v, const char *pattern, gm_glob_fn fn, void *priv)
{
	char *copy, *save = NULL, *tok;
	char *comps[PATH_MAX / 2];
	size_t n = 0;
	int rc;

	if (!pattern || strnlen(pattern, PATH_MAX) >= PATH_MAX)
		return gm_view_fail(v, -ENAMETOOLONG, "glob pattern too long");
	copy = strdup(pattern);
	if (!copy)
		return gm_view_fail(v, -ENOMEM, "out of memory");
	for (tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save))
		comps[n++] = tok;
	if (n == 0)
		rc = fn(priv, "/");
	else
		rc = glob_rec(v, gm_view_root(v), "/", comps, 0, n, fn, priv);
	free(copy);
	return rc;
}
