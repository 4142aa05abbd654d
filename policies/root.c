/* root.c — struct gm_root implementations: an image filesystem (editor/view/path.h),
 * a host directory (tests), and the overlay that records a run's edits. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policies/internal.h"

/* ---------------- host directory (tests) ----------------
 * Symlinks are resolved by the host kernel here, so absolute link targets
 * point outside the directory: tests use relative links. */
static int dir_path(void *h, const char *path, char *out, size_t size)
{
	const struct gm_root_dir *r = h;

	while (*path == '/')
		path++;
	if ((size_t)snprintf(out, size, "%s/%s", r->dir, path) >= size)
		return -ENAMETOOLONG;
	return 0;
}

static int dir_read(void *h, const char *path, size_t max, char **buf, size_t *len)
{
	char p[PATH_MAX];
	int rc = dir_path(h, path, p, sizeof(p)), fd;
	struct stat st;
	char *b;

	if (rc < 0)
		return rc;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		close(fd);
		return rc;
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	ssize_t n = read(fd, b, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(b);
		return -EIO;
	}
	b[n] = '\0';
	*buf = b;
	*len = (size_t)n;
	return 0;
}

static int dir_stat(void *h, const char *path, bool follow, struct stat *st)
{
	char p[PATH_MAX];
	int rc = dir_path(h, path, p, sizeof(p));

	if (rc < 0)
		return rc;
	return (follow ? stat(p, st) : lstat(p, st)) < 0 ? -errno : 0;
}

static int dir_readlink(void *h, const char *path, char *buf, size_t size)
{
	char p[PATH_MAX];
	int rc = dir_path(h, path, p, sizeof(p));

	if (rc < 0)
		return rc;
	ssize_t n = readlink(p, buf, size);
	return n < 0 ? -errno : (int)n;
}

static int dir_glob(void *h, const char *pattern, gm_root_glob_fn fn, void *priv)
{
	const struct gm_root_dir *r = h;
	char p[PATH_MAX];
	glob_t g;
	int rc = dir_path(h, pattern, p, sizeof(p));
	size_t skip = strlen(r->dir);

	if (rc < 0)
		return rc;
	rc = glob(p, 0, NULL, &g);
	if (rc == GLOB_NOMATCH)
		return 0;
	if (rc)
		return -ENOMEM;
	rc = 0;
	for (size_t i = 0; i < g.gl_pathc && !rc; i++)
		rc = fn(priv, g.gl_pathv[i] + skip);
	globfree(&g);
	return rc;
}

static int dir_write(void *h, const char *path, const void *buf, size_t len, mode_t mode,
		     uid_t uid, gid_t gid)
{
	char p[PATH_MAX];
	int rc = dir_path(h, path, p, sizeof(p)), fd;

	if (rc < 0)
		return rc;
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	return close(fd) < 0 ? -errno : 0;
}

static int dir_chattr(void *h, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	char p[PATH_MAX];
	int rc = dir_path(h, path, p, sizeof(p));

	if (rc < 0)
		return rc;
	if (chmod(p, mode & 07777) < 0)
		return -errno;
	if (geteuid() == 0 && chown(p, uid, gid) < 0)
		return -errno;
	return 0;
}

static int dir_remove(void *h, const char *path)
{
	char p[PATH_MAX];
	int rc = dir_path(h, path, p, sizeof(p));

	if (rc < 0)
		return rc;
	if (unlink(p) == 0)
		return 0;
	if (errno == EISDIR && rmdir(p) == 0)
		return 0;
	return -errno;
}

static int dir_symlink(void *h, const char *target, const char *path)
{
	char p[PATH_MAX];
	int rc = dir_path(h, path, p, sizeof(p));

	if (rc < 0)
		return rc;
	return symlink(target, p) < 0 ? -errno : 0;
}

static int dir_mkdir(void *h, const char *path, mode_t mode)
{
	char p[PATH_MAX];
	int rc = dir_path(h, path, p, sizeof(p));

	if (rc < 0)
		return rc;
	return mkdir(p, mode) < 0 ? -errno : 0;
}

static const struct gm_root_ops dir_ops = {
	dir_read, dir_stat, dir_readlink, dir_glob, dir_write, dir_chattr, dir_remove, dir_symlink,
	dir_mkdir,
};

void gm_root_dir_init(struct gm_root_dir *r, const char *dir)
{
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	r->root.ops = &dir_ops;
	r->root.h = r;
}

/* ---------------- helpers on any root ---------------- */
int gm_root_read(const struct gm_root *r, const char *path, char **buf, size_t *len)
{
	return r->ops->read(r->h, path, GM_CONF_MAX, buf, len);
}

bool gm_root_exists(const struct gm_root *r, const char *path, bool follow)
{
	struct stat st;

	return r->ops->stat(r->h, path, follow, &st) == 0;
}

void gm_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

struct strv {
	char **v;
	size_t n, cap;
};

static int strv_add(void *priv, const char *path)
{
	struct strv *s = priv;

	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	if (!(s->v[s->n] = strdup(path)))
		return -ENOMEM;
	s->v[++s->n] = NULL;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int strv_finish(struct strv *s, char ***out, size_t *n)
{
	if (!s->v && strv_add(s, "") == 0) {
		free(s->v[0]);
		s->v[0] = NULL;
		s->n = 0;
	}
	if (!s->v)
		return -ENOMEM;
	qsort(s->v, s->n, sizeof(char *), cmp_str);
	size_t o = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (o && !strcmp(s->v[o - 1], s->v[i])) {
			free(s->v[i]);
			continue;
		}
		s->v[o++] = s->v[i];
	}
	s->v[o] = NULL;
	*out = s->v;
	if (n)
		*n = o;
	return 0;
}

int gm_root_glob_sorted(const struct gm_root *r, const char *pattern, char ***out, size_t *n)
{
	struct strv s = { 0 };
	int rc = r->ops->glob(r->h, pattern, strv_add, &s);

	if (rc < 0 && rc != -ENOENT && rc != -ENOTDIR) {
		gm_strv_free(s.v);
		return rc;
	}
	return strv_finish(&s, out, n);
}

/* ---------------- overlay ---------------- */
enum ov_kind { OV_FILE, OV_DELETED, OV_SYMLINK, OV_MKDIR };

struct ov_entry {
	enum ov_kind kind;
	char *path;
	dev_t dev;
	ino_t ino;        /* of the existing file it replaces (0: new path) */
	char *data;       /* OV_FILE content; OV_SYMLINK target */
	size_t len;
	bool attrs;       /* OV_FILE: mode/uid/gid to set */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	unsigned epoch;   /* step that last touched it */
	char *prev;       /* content before that step (NULL: absent / not text) */
	size_t prevlen;
};

struct gm_overlay {
	struct gm_root root;
	const struct gm_root *base;
	struct ov_entry *v;
	size_t n, cap;
	unsigned epoch;
};

static struct ov_entry *ov_find(struct gm_overlay *o, const char *path)
{
	struct stat st;
	bool have = false;

	for (size_t i = o->n; i-- > 0;)
		if (!strcmp(o->v[i].path, path))
			return &o->v[i];
	/* Another name of a file already edited (a symlink to it). */
	for (size_t i = o->n; i-- > 0;) {
		if (!o->v[i].ino)
			continue;
		if (!have) {
			if (o->base->ops->stat(o->base->h, path, true, &st) < 0)
				return NULL;
			have = true;
		}
		if (o->v[i].ino == st.st_ino && o->v[i].dev == st.st_dev &&
		    o->v[i].kind == OV_FILE)
			return &o->v[i];
	}
	return NULL;
}

static int ov_read(void *h, const char *path, size_t max, char **buf, size_t *len)
{
	struct gm_overlay *o = h;
	struct ov_entry *e = ov_find(o, path);

	if (!e)
		return o->base->ops->read(o->base->h, path, max, buf, len);
	if (e->kind == OV_DELETED)
		return -ENOENT;
	if (e->kind != OV_FILE)
		return e->kind == OV_MKDIR ? -EISDIR : -EINVAL;
	if (e->len > max)
		return -EFBIG;
	*buf = malloc(e->len + 1);
	if (!*buf)
		return -ENOMEM;
	memcpy(*buf, e->data, e->len);
	(*buf)[e->len] = '\0';
	*len = e->len;
	return 0;
}

static int ov_stat(void *h, const char *path, bool follow, struct stat *st)
{
	struct gm_overlay *o = h;
	struct ov_entry *e = ov_find(o, path);
	int rc;

	if (!e)
		return o->base->ops->stat(o->base->h, path, follow, st);
	if (e->kind == OV_DELETED)
		return -ENOENT;
	rc = o->base->ops->stat(o->base->h, path, follow, st);
	if (rc < 0 || e->kind != OV_FILE) {
		memset(st, 0, sizeof(*st));
		st->st_mode = e->kind == OV_SYMLINK ? S_IFLNK | 0777
			      : e->kind == OV_MKDIR ? S_IFDIR | 0755 : S_IFREG | 0644;
	}
	if (e->kind == OV_FILE) {
		st->st_size = (off_t)e->len;
		if (e->attrs) {
			st->st_mode = S_IFREG | (e->mode & 07777);
			st->st_uid = e->uid;
			st->st_gid = e->gid;
		}
	}
	if (e->kind == OV_SYMLINK) {
		if (follow)
			return o->base->ops->stat(o->base->h, e->data, true, st);
		st->st_size = (off_t)e->len;
	}
	return 0;
}

static int ov_readlink(void *h, const char *path, char *buf, size_t size)
{
	struct gm_overlay *o = h;
	struct ov_entry *e = ov_find(o, path);

	if (!e)
		return o->base->ops->readlink(o->base->h, path, buf, size);
	if (e->kind != OV_SYMLINK)
		return e->kind == OV_DELETED ? -ENOENT : -EINVAL;
	size_t n = e->len < size ? e->len : size;
	memcpy(buf, e->data, n);
	return (int)n;
}

struct ov_glob {
	struct gm_overlay *o;
	struct strv s;
};

static int ov_glob_add(void *priv, const char *path)
{
	struct ov_glob *g = priv;

	for (size_t i = g->o->n; i-- > 0;)
		if (!strcmp(g->o->v[i].path, path)) {
			if (g->o->v[i].kind == OV_DELETED)
				return 0;
			break;
		}
	return strv_add(&g->s, path);
}

static int ov_glob(void *h, const char *pattern, gm_root_glob_fn fn, void *priv)
{
	struct gm_overlay *o = h;
	struct ov_glob g = { o, { 0 } };
	char **v = NULL;
	int rc = o->base->ops->glob(o->base->h, pattern, ov_glob_add, &g);

	if (rc < 0 && rc != -ENOENT && rc != -ENOTDIR)
		goto out;
	rc = 0;
	for (size_t i = 0; i < o->n && !rc; i++) {
		struct ov_entry *e = &o->v[i];

		if (e->kind == OV_DELETED || fnmatch(pattern, e->path, FNM_PATHNAME | FNM_PERIOD))
			continue;
		if (ov_find(o, e->path) == e)
			rc = strv_add(&g.s, e->path);
	}
	if (rc < 0 || (rc = strv_finish(&g.s, &v, NULL)) < 0)
		goto out;
	g.s.v = NULL;
	for (char **p = v; *p && !rc; p++)
		rc = fn(priv, *p);
out:
	gm_strv_free(g.s.v);
	gm_strv_free(v);
	return rc;
}

static struct ov_entry *ov_add(struct gm_overlay *o, enum ov_kind kind, const char *path)
{
	struct ov_entry *e = ov_find(o, path);
	struct stat st;

	if (e && e->kind == kind && kind == OV_FILE)
		return e;   /* update in place: one write per file at commit */
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		struct ov_entry *v = realloc(o->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		o->v = v;
		o->cap = cap;
	}
	e = &o->v[o->n];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	if (!(e->path = strdup(path)))
		return NULL;
	if (kind == OV_FILE && o->base->ops->stat(o->base->h, path, true, &st) == 0) {
		e->ino = st.st_ino;
		e->dev = st.st_dev;
	}
	o->n++;
	return e;
}

static void ov_touch(struct gm_overlay *o, struct ov_entry *e, const char *path)
{
	if (e->epoch == o->epoch)
		return;
	e->epoch = o->epoch;
	free(e->prev);
	e->prev = NULL;
	e->prevlen = 0;
	if (e->kind == OV_FILE && e->data) {
		e->prev = malloc(e->len + 1);
		if (e->prev) {
			memcpy(e->prev, e->data, e->len);
			e->prevlen = e->len;
		}
	} else if (e->kind == OV_FILE &&
		   o->base->ops->read(o->base->h, path, GM_CONF_MAX, &e->prev, &e->prevlen) < 0) {
		e->prev = NULL;
	}
}

static int ov_write(void *h, const char *path, const void *buf, size_t len, mode_t mode,
		    uid_t uid, gid_t gid)
{
	struct gm_overlay *o = h;
	struct ov_entry *e = ov_add(o, OV_FILE, path);
	char *d;

	if (!e)
		return -ENOMEM;
	ov_touch(o, e, path);
	if (!(d = malloc(len + 1)))
		return -ENOMEM;
	memcpy(d, buf, len);
	d[len] = '\0';
	free(e->data);
	e->data = d;
	e->len = len;
	if (!e->ino && !e->attrs) {   /* a new file: created with these */
		e->attrs = true;
		e->mode = mode;
		e->uid = uid;
		e->gid = gid;
	}
	return 0;
}

static int ov_chattr(void *h, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct gm_overlay *o = h;
	struct ov_entry *e = ov_find(o, path);
	char *buf;
	size_t len;
	int rc;

	if (!e || e->kind != OV_FILE) {
		rc = ov_read(h, path, GM_CONF_MAX, &buf, &len);
		if (rc < 0)
			return rc;
		rc = ov_write(h, path, buf, len, mode, uid, gid);
		free(buf);
		if (rc < 0)
			return rc;
		e = ov_find(o, path);
	}
	e->attrs = true;
	e->mode = mode;
	e->uid = uid;
	e->gid = gid;
	return 0;
}

static int ov_simple(struct gm_overlay *o, enum ov_kind kind, const char *path, const char *data)
{
	struct ov_entry *e = ov_add(o, kind, path);

	if (!e)
		return -ENOMEM;
	e->epoch = o->epoch;
	if (data) {
		if (!(e->data = strdup(data)))
			return -ENOMEM;
		e->len = strlen(data);
	}
	return 0;
}

static int ov_remove(void *h, const char *path)
{
	return ov_simple(h, OV_DELETED, path, NULL);
}

static int ov_symlink(void *h, const char *target, const char *path)
{
	return ov_simple(h, OV_SYMLINK, path, target);
}

static int ov_mkdir(void *h, const char *path, mode_t mode)
{
	return ov_simple(h, OV_MKDIR, path, NULL);
}

static const struct gm_root_ops ov_ops = {
	ov_read, ov_stat, ov_readlink, ov_glob, ov_write, ov_chattr, ov_remove, ov_symlink, ov_mkdir,
};

struct gm_overlay *gm_overlay_new(const struct gm_root *base)
{
	struct gm_overlay *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->base = base;
	o->root.ops = &ov_ops;
	o->root.h = o;
	return o;
}

void gm_overlay_free(struct gm_overlay *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].path);
		free(o->v[i].data);
		free(o->v[i].prev);
	}
	free(o->v);
	free(o);
}

const struct gm_root *gm_overlay_root(struct gm_overlay *o)
{
	return &o->root;
}

void gm_overlay_begin(struct gm_overlay *o)
{
	o->epoch++;
}

char *gm_overlay_diff(struct gm_overlay *o)
{
	char *all = strdup(""), *t;

	for (size_t i = 0; all && i < o->n; i++) {
		struct ov_entry *e = &o->v[i];
		char *d = NULL;

		if (e->epoch != o->epoch)
			continue;
		switch (e->kind) {
		case OV_FILE:
			d = gm_diff(e->path, e->prev ? e->prev : "", e->prev ? e->prevlen : 0, e->data,
				    e->len);
			if (d && !e->prev && !e->len) {
				free(d);
				d = gm_strdupf("new empty file %s\n", e->path);
			}
			break;
		case OV_DELETED:
			d = gm_strdupf("removed %s\n", e->path);
			break;
		case OV_SYMLINK:
			d = gm_strdupf("symlink %s -> %s\n", e->path, e->data);
			break;
		case OV_MKDIR:
			d = gm_strdupf("new directory %s\n", e->path);
			break;
		}
		t = d ? gm_strdupf("%s%s", all, d) : NULL;
		free(d);
		free(all);
		all = t;
	}
	return all;
}

bool gm_overlay_empty(const struct gm_overlay *o)
{
	return o->n == 0;
}

int gm_overlay_commit(struct gm_overlay *o, struct gm_error *err)
{
	const struct gm_root *b = o->base;
	int rc = 0;

	for (size_t i = 0; i < o->n; i++) {
		struct ov_entry *e = &o->v[i];
		struct stat st;

		switch (e->kind) {
		case OV_FILE:
			rc = b->ops->write(b->h, e->path, e->data, e->len,
					   e->attrs ? e->mode : 0644, e->attrs ? e->uid : 0,
					   e->attrs ? e->gid : 0);
			if (rc == 0 && e->attrs && e->ino)
				rc = b->ops->chattr(b->h, e->path, e->mode, e->uid, e->gid);
			break;
		case OV_DELETED:
			rc = b->ops->remove(b->h, e->path);
			if (rc == -ENOENT)
				rc = 0;
			break;
		case OV_SYMLINK:
			if (b->ops->stat(b->h, e->path, false, &st) == 0)
				rc = b->ops->remove(b->h, e->path);
			if (rc == 0)
				rc = b->ops->symlink(b->h, e->data, e->path);
			break;
		case OV_MKDIR:
			rc = b->ops->mkdir(b->h, e->path, 0755);
			if (rc == -EEXIST)
				rc = 0;
			break;
		}
		if (rc < 0)
			return gm_error_set(err, rc, "%s: %s", e->path, strerror(-rc));
	}
	return 0;
}
