/* sysctl.c — kernel parameters as systemd-sysctl reads them (sysctl.d(5)).
 *
 * Files *.conf from /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d,
 * /usr/lib/sysctl.d and /lib/sysctl.d: a name in an earlier directory hides
 * the same name in a later one; all are read in lexical order of their
 * names; /etc/sysctl.conf last unless one of them already is it (Debian's
 * 99-sysctl.conf symlink), as procps' `sysctl --system` does. The LAST
 * assignment wins; an explicit key beats a glob ("net.ipv4.conf.*.rp_filter")
 * whatever the order. "a.b/c" and "a/b.c" spell the same key.
 *
 * gm_sysctl_set changes the effective place, the way an admin would: an
 * assignment in a file under /etc is edited in place; one in a vendor file
 * (/usr/lib, /run, ...) is overridden by a copy of that file under
 * /etc/sysctl.d with the same name (which hides it) and the value fixed; a
 * key set nowhere is added to the policy's drop-in file.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policies/internal.h"

static const char *const dirs[] = {
	"/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d",
	"/lib/sysctl.d",
};

void gm_sysctl_normalize(const char *key, char *out, size_t outlen)
{
	size_t first = strcspn(key, "./");
	bool swap = key[first] == '/';
	size_t i;

	for (i = 0; key[i] && i + 1 < outlen; i++) {
		char ch = key[i];

		if (swap && ch == '/')
			ch = '.';
		else if (swap && ch == '.')
			ch = '/';
		out[i] = ch;
	}
	out[i] = '\0';
}

/* One assignment line: key and value spans. false for comments etc. */
struct sline {
	const char *key;
	size_t keylen;
	const char *eq;     /* the '=' */
	const char *val;
	size_t vallen;
};

static bool parse_sline(const char *text, struct sline *s)
{
	const char *p = gm_skip_ws(text), *e;

	if (!*p || *p == '#' || *p == ';')
		return false;
	if (*p == '-')
		p++;
	e = strchr(p, '=');
	if (!e)
		return false;
	s->key = p;
	s->keylen = (size_t)(e - p);
	while (s->keylen && (p[s->keylen - 1] == ' ' || p[s->keylen - 1] == '\t'))
		s->keylen--;
	s->eq = e;
	s->val = gm_skip_ws(e + 1);
	s->vallen = strlen(s->val);
	while (s->vallen && (s->val[s->vallen - 1] == ' ' || s->val[s->vallen - 1] == '\t'))
		s->vallen--;
	return s->keylen > 0;
}

/* 1 explicit match, 2 glob match, 0 none */
static int key_match(const struct sline *s, const char *nkey)
{
	char k[512], nk[512];

	if (s->keylen >= sizeof(k))
		return 0;
	memcpy(k, s->key, s->keylen);
	k[s->keylen] = '\0';
	gm_sysctl_normalize(k, nk, sizeof(nk));
	if (strpbrk(nk, "*?["))
		return fnmatch(nk, nkey, 0) == 0 ? 2 : 0;
	return strcmp(nk, nkey) == 0;
}

/* Whitespace-insensitive value comparison ("4096  87380" == "4096 87380"). */
static bool val_eq(const char *a, size_t an, const char *b)
{
	size_t i = 0, j = 0, bn = strlen(b);

	for (;;) {
		while (i < an && (a[i] == ' ' || a[i] == '\t'))
			i++;
		while (j < bn && (b[j] == ' ' || b[j] == '\t'))
			j++;
		if (i == an || j == bn)
			return i == an && j == bn;
		bool sa = false, sb = false;
		while (i < an && j < bn && a[i] == b[j] && a[i] != ' ' && a[i] != '\t')
			i++, j++;
		sa = i == an || a[i] == ' ' || a[i] == '\t';
		sb = j == bn || b[j] == ' ' || b[j] == '\t';
		if (!sa || !sb)
			return false;
	}
}

int gm_sysctl_edit(const char *in, size_t len, const char *key, const char *value, char **out,
		   size_t *outlen)
{
	struct gm_lines l;
	char nkey[512];
	size_t at = (size_t)-1;
	struct sline s;
	int rc;

	gm_sysctl_normalize(key, nkey, sizeof(nkey));
	if ((rc = gm_lines_parse(&l, in, len)) < 0)
		return rc;
	for (size_t i = 0; i < l.n; i++)
		if (parse_sline(l.v[i].text, &s) && key_match(&s, nkey) == 1)
			at = i;
	if (at == (size_t)-1) {
		rc = -ENOENT;
		goto out;
	}
	parse_sline(l.v[at].text, &s);
	if (val_eq(s.val, s.vallen, value)) {
		rc = 0;
		goto out;
	}
	{
		const char *t = l.v[at].text;
		bool sp = s.eq[1] == ' ' || s.eq[1] == '\t';
		char *nl = gm_strdupf("%.*s%s%s", (int)(s.eq + 1 - t), t, sp ? " " : "", value);

		rc = nl ? gm_lines_replace(&l, at, nl) : -ENOMEM;
		free(nl);
	}
	if (rc == 0 && (rc = gm_lines_join(&l, out, outlen)) == 0)
		rc = 1;
out:
	gm_lines_free(&l);
	return rc;
}

int gm_sysctl_append(const char *in, size_t len, const char *key, const char *value, char **out,
		     size_t *outlen)
{
	struct gm_lines l;
	char *nl;
	int rc = gm_sysctl_edit(in, len, key, value, out, outlen);

	if (rc != -ENOENT)
		return rc;
	if ((rc = gm_lines_parse(&l, in, len)) < 0)
		return rc;
	nl = gm_strdupf("%s = %s", key, value);
	rc = nl ? gm_lines_insert(&l, l.n, nl) : -ENOMEM;
	free(nl);
	if (rc == 0 && (rc = gm_lines_join(&l, out, outlen)) == 0)
		rc = 1;
	gm_lines_free(&l);
	return rc;
}

/* ---- the set of files ---- */
struct sfiles {
	char **paths;   /* in reading order */
	size_t n;
};

static void sfiles_free(struct sfiles *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->paths[i]);
	free(f->paths);
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static int cmp_base(const void *a, const void *b)
{
	return strcmp(base(*(char *const *)a), base(*(char *const *)b));
}

static int collect(const struct gm_root *r, struct sfiles *f)
{
	size_t cap = 0;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]) && !rc; d++) {
		char pat[64], **m = NULL;

		snprintf(pat, sizeof(pat), "%s/*.conf", dirs[d]);
		if ((rc = gm_root_glob_sorted(r, pat, &m, NULL)) < 0)
			break;
		for (char **p = m; *p; p++) {
			bool seen = false;

			for (size_t i = 0; i < f->n && !seen; i++)
				seen = !strcmp(base(f->paths[i]), base(*p));
			if (seen)
				continue;
			if (f->n + 2 > cap) {
				cap = cap ? cap * 2 : 32;
				char **v = realloc(f->paths, cap * sizeof(*v));
				if (!v) {
					rc = -ENOMEM;
					break;
				}
				f->paths = v;
			}
			if (!(f->paths[f->n] = strdup(*p))) {
				rc = -ENOMEM;
				break;
			}
			f->n++;
		}
		gm_strv_free(m);
	}
	if (rc < 0)
		goto fail;
	if (f->n)
		qsort(f->paths, f->n, sizeof(char *), cmp_base);
	/* /etc/sysctl.conf, unless a sysctl.d entry is that very file */
	struct stat sc, st;
	if (r->ops->stat(r->h, "/etc/sysctl.conf", true, &sc) == 0 && S_ISREG(sc.st_mode)) {
		bool linked = false;

		for (size_t i = 0; i < f->n && !linked; i++)
			linked = r->ops->stat(r->h, f->paths[i], true, &st) == 0 &&
				 st.st_ino == sc.st_ino && st.st_dev == sc.st_dev && st.st_ino;
		if (!linked) {
			char **v = realloc(f->paths, (f->n + 1) * sizeof(*v));
			if (!v || !(v[f->n] = strdup("/etc/sysctl.conf"))) {
				if (v)
					f->paths = v;
				rc = -ENOMEM;
				goto fail;
			}
			f->paths = v;
			f->n++;
		}
	}
	return 0;
fail:
	sfiles_free(f);
	return rc;
}

int gm_sysctl_get(const struct gm_root *r, const char *key, struct gm_sysctl_found *out,
		  struct gm_error *err)
{
	struct sfiles f;
	char nkey[512];
	int rc, found = 0;
	struct gm_sysctl_found glob = { 0 };

	memset(out, 0, sizeof(*out));
	gm_sysctl_normalize(key, nkey, sizeof(nkey));
	if ((rc = collect(r, &f)) < 0)
		return gm_error_set(err, rc, "sysctl.d: %s", strerror(-rc));
	for (size_t i = 0; i < f.n; i++) {
		struct gm_lines l;
		char *buf;
		size_t len;

		rc = gm_root_read(r, f.paths[i], &buf, &len);
		if (rc < 0)
			continue;   /* masked (/dev/null), dangling link, directory */
		rc = gm_lines_parse(&l, buf, len);
		free(buf);
		if (rc < 0)
			break;
		for (size_t j = 0; j < l.n; j++) {
			struct sline s;
			int m;

			if (!parse_sline(l.v[j].text, &s) || !(m = key_match(&s, nkey)))
				continue;
			struct gm_sysctl_found *t = m == 1 ? out : &glob;
			size_t n = s.vallen < sizeof(t->value) - 1 ? s.vallen : sizeof(t->value) - 1;
			memcpy(t->value, s.val, n);
			t->value[n] = '\0';
			snprintf(t->file, sizeof(t->file), "%s", f.paths[i]);
			t->line = (int)j + 1;
			t->glob = m == 2;
			if (m == 1)
				found = 1;
			else if (!found)
				found = 2;
		}
		gm_lines_free(&l);
	}
	sfiles_free(&f);
	if (rc < 0)
		return gm_error_set(err, rc, "sysctl: %s", strerror(-rc));
	if (found == 2)
		*out = glob;
	return found ? 1 : 0;
}

int gm_sysctl_set(const struct gm_root *r, const char *key, const char *value, const char *dropin,
		  struct gm_error *err)
{
	struct gm_sysctl_found f;
	char *buf = NULL, *out = NULL, target[512];
	size_t len = 0, outlen;
	int rc = gm_sysctl_get(r, key, &f, err);

	if (rc < 0)
		return rc;
	if (rc == 1 && val_eq(f.value, strlen(f.value), value))
		return 0;
	if (rc == 1 && !f.glob) {
		if (!strncmp(f.file, "/etc/", 5))
			snprintf(target, sizeof(target), "%s", f.file);
		else
			snprintf(target, sizeof(target), "/etc/sysctl.d/%s", base(f.file));
		rc = gm_root_read(r, f.file, &buf, &len);
		if (rc == 0)
			rc = gm_sysctl_edit(buf, len, key, value, &out, &outlen);
	} else {
		snprintf(target, sizeof(target), "%s", dropin);
		rc = gm_root_read(r, dropin, &buf, &len);
		if (rc == -ENOENT) {
			free(buf);
			buf = gm_strdupf("# Written by gcemount apply. The last value of a key wins "
					 "(sysctl.d(5)).\n");
			len = buf ? strlen(buf) : 0;
			rc = buf ? 0 : -ENOMEM;
		}
		if (rc == 0)
			rc = gm_sysctl_append(buf, len, key, value, &out, &outlen);
	}
	if (rc < 0) {
		gm_error_set(err, rc, "%s: %s", target, strerror(-rc));
		goto out;
	}
	if (rc == 1) {
		if (!gm_root_exists(r, "/etc/sysctl.d", true) &&
		    (rc = r->ops->mkdir(r->h, "/etc/sysctl.d", 0755)) < 0) {
			gm_error_set(err, rc, "/etc/sysctl.d: %s", strerror(-rc));
			goto out;
		}
		rc = r->ops->write(r->h, target, out, outlen, 0644, 0, 0);
		if (rc < 0) {
			gm_error_set(err, rc, "%s: %s", target, strerror(-rc));
			goto out;
		}
	}
	rc = gm_sysctl_get(r, key, &f, err);
	if (rc >= 0 && (rc == 0 || !val_eq(f.value, strlen(f.value), value))) {
		rc = gm_error_set(err, -EDEADLK, "%s still not %s after editing %s (set in %s:%d)",
				  key, value, target, f.file, f.line);
		goto out;
	}
	rc = rc < 0 ? rc : 1;
out:
	free(buf);
	free(out);
	return rc;
}
