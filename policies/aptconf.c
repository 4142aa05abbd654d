/* aptconf.c — apt.conf(5) as apt reads it: `A::B "v";`, nested scopes
 * `A { B "v"; };` and `A::B { C "v"; };`, comments (// to the end of the line, C comments, #),
 * `#clear A::B;`; keys are case-insensitive; the last assignment wins.
 * Pure buffer functions: the effective value of one key in one file, with
 * the byte span of its value so that an edit replaces exactly it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policies/internal.h"

#define MAX_SCOPE 16

struct tok {
	enum { T_END, T_WORD, T_STR, T_OPEN, T_CLOSE, T_SEMI, T_CLEAR } kind;
	size_t off, len;   /* for T_STR: inside the quotes */
	int line;
};

static void skip(const char *s, size_t n, size_t *i, int *line)
{
	while (*i < n) {
		char c = s[*i];

		if (c == '\n') {
			(*line)++;
			(*i)++;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			(*i)++;
		} else if (c == '/' && *i + 1 < n && s[*i + 1] == '/') {
			while (*i < n && s[*i] != '\n')
				(*i)++;
		} else if (c == '/' && *i + 1 < n && s[*i + 1] == '*') {
			*i += 2;
			while (*i + 1 < n && !(s[*i] == '*' && s[*i + 1] == '/')) {
				if (s[*i] == '\n')
					(*line)++;
				(*i)++;
			}
			*i = *i + 2 < n ? *i + 2 : n;
		} else if (c == '#' && !(*i + 6 <= n && !strncmp(s + *i, "#clear", 6))) {
			while (*i < n && s[*i] != '\n')   /* # comments and #include */
				(*i)++;
		} else {
			break;
		}
	}
}

static struct tok next(const char *s, size_t n, size_t *i, int *line)
{
	struct tok t = { T_END, 0, 0, 0 };

	skip(s, n, i, line);
	t.line = *line;
	if (*i >= n)
		return t;
	t.off = *i;
	switch (s[*i]) {
	case '{': t.kind = T_OPEN; (*i)++; t.len = 1; return t;
	case '}': t.kind = T_CLOSE; (*i)++; t.len = 1; return t;
	case ';': t.kind = T_SEMI; (*i)++; t.len = 1; return t;
	case '"':
		t.kind = T_STR;
		t.off = ++(*i);
		while (*i < n && s[*i] != '"' && s[*i] != '\n')
			(*i)++;
		t.len = *i - t.off;
		if (*i < n && s[*i] == '"')
			(*i)++;
		return t;
	default:
		break;
	}
	if (!strncmp(s + *i, "#clear", 6)) {
		t.kind = T_CLEAR;
		*i += 6;
		t.len = 6;
		return t;
	}
	t.kind = T_WORD;
	while (*i < n && !strchr(" \t\r\n{};\"", s[*i]))
		(*i)++;
	t.len = *i - t.off;
	if (!t.len)   /* a stray byte: step over it */
		(*i)++;
	return t;
}

/* scope + "::" + word, lowercased compare with key */
static bool key_eq(const char *scope, const char *w, size_t wl, const char *key)
{
	char full[512];

	snprintf(full, sizeof(full), "%s%s%.*s", scope, scope[0] ? "::" : "", (int)wl, w);
	return !strcasecmp(full, key);
}

int gm_aptconf_find(const char *s, size_t n, const char *key, struct gm_apt_found *f)
{
	char scope[MAX_SCOPE][512];
	int depth = 0, line = 1, found = 0;
	size_t i = 0;
	struct tok t;

	memset(f, 0, sizeof(*f));
	scope[0][0] = '\0';
	for (int guard = 0; guard < 1 << 20 && (t = next(s, n, &i, &line)).kind != T_END; guard++) {
		if (t.kind == T_CLOSE) {
			if (depth > 0)
				depth--;
			continue;
		}
		if (t.kind == T_CLEAR) {
			struct tok w = next(s, n, &i, &line);
			if (w.kind == T_WORD && key_eq(scope[depth], s + w.off, w.len, key)) {
				found = 0;   /* #clear forgets the value */
				memset(f, 0, sizeof(*f));
			}
			continue;
		}
		if (t.kind != T_WORD && t.kind != T_STR)
			continue;
		/* KEY then a value, a scope, or nothing */
		size_t save = i;
		int sline = line;
		struct tok v = next(s, n, &i, &line);
		if (v.kind == T_OPEN) {
			if (depth + 1 < MAX_SCOPE) {
				char tmp[512];
				snprintf(tmp, sizeof(tmp), "%s%s%.*s", scope[depth],
					 scope[depth][0] ? "::" : "", (int)t.len, s + t.off);
				memcpy(scope[depth + 1], tmp, sizeof(tmp));
				depth++;
			}
			continue;
		}
		if (v.kind == T_STR || v.kind == T_WORD) {
			if (key_eq(scope[depth], s + t.off, t.len, key)) {
				found = 1;
				snprintf(f->value, sizeof(f->value), "%.*s", (int)v.len, s + v.off);
				f->line = v.line;
				f->off = v.off;
				f->len = v.len;
				f->quoted = v.kind == T_STR;
			}
			continue;
		}
		i = save;   /* a lone word: a list item; the next token is new */
		line = sline;
	}
	return found;
}

int gm_aptconf_get(const char *in, size_t len, const char *key, char *value, size_t vlen,
		   int *line)
{
	struct gm_apt_found f;
	int rc = gm_aptconf_find(in, len, key, &f);

	*line = f.line;
	snprintf(value, vlen, "%s", rc ? f.value : "");
	return rc;
}

static int aptconf_set(const char *in, size_t len, const char *key, const char *value,
		       char **out, size_t *outlen);

/* The edit, verified: apt reading the result must see the value (a file
 * that does not parse as apt.conf — an open quote or comment, a dangling
 * key — would swallow an appended line): -EINVAL then. */
int gm_aptconf_set(const char *in, size_t len, const char *key, const char *value, char **out,
		   size_t *outlen)
{
	struct gm_apt_found f;
	int rc = aptconf_set(in, len, key, value, out, outlen);

	if (rc == 1 && (gm_aptconf_find(*out, *outlen, key, &f) != 1 || strcmp(f.value, value))) {
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return rc;
}

static int aptconf_set(const char *in, size_t len, const char *key, const char *value,
		       char **out, size_t *outlen)
{
	struct gm_apt_found f;
	char *o;

	if (gm_aptconf_find(in, len, key, &f)) {
		if (!strcmp(f.value, value))
			return 0;
		/* the value token replaced, everything else byte for byte */
		o = malloc(len + strlen(value) + 4);
		if (!o)
			return -ENOMEM;
		memcpy(o, in, f.off);
		size_t k = f.off;
		k += (size_t)sprintf(o + k, f.quoted ? "%s" : "\"%s\"", value);
		memcpy(o + k, in + f.off + f.len, len - f.off - f.len);
		*outlen = k + len - f.off - f.len;
		o[*outlen] = '\0';
		*out = o;
		return 1;
	}
	struct gm_lines l;
	int rc = gm_lines_parse(&l, in, len);
	char *nl;

	if (rc < 0)
		return rc;
	nl = gm_strdupf("%s \"%s\";", key, value);
	rc = nl ? gm_lines_insert(&l, l.n, nl) : -ENOMEM;
	free(nl);
	if (rc == 0 && (rc = gm_lines_join(&l, out, outlen)) == 0)
		rc = 1;
	gm_lines_free(&l);
	return rc;
}

/* apt's Dir::Ignore-Files-Silently and ValidFilename: names it skips. */
static bool apt_ignored(const char *path)
{
	static const char *const sfx[] = { "~", ".disabled", ".bak", ".save", ".orig",
					   ".distUpgrade", ".dpkg-old", ".dpkg-dist", ".dpkg-new",
					   ".dpkg-tmp", ".ucf-old", ".ucf-dist", ".ucf-new" };
	const char *b = strrchr(path, '/');
	size_t n;

	b = b ? b + 1 : path;
	n = strlen(b);
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		size_t k = strlen(sfx[i]);
		if (n >= k && !strcmp(b + n - k, sfx[i]))
			return true;
	}
	for (const char *p = b; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-' || *p == '.'))
			return true;
	return false;
}

int gm_apt_effective(const struct gm_root *r, const char *key, struct gm_apt_found *f, char *file,
		     size_t flen)
{
	char **files = NULL;
	size_t n = 0;
	int rc, found = 0;

	memset(f, 0, sizeof(*f));
	file[0] = '\0';
	if ((rc = gm_root_glob_sorted(r, "/etc/apt/apt.conf.d/*", &files, &n)) < 0)
		return rc;
	/* the parts in name order, then apt.conf: the last assignment wins */
	for (size_t i = 0; i <= n; i++) {
		const char *p = i < n ? files[i] : "/etc/apt/apt.conf";
		struct gm_apt_found g;
		char *buf;
		size_t len;

		if (i < n && apt_ignored(p))
			continue;
		if (gm_root_read(r, p, &buf, &len) < 0)
			continue;
		if (gm_aptconf_find(buf, len, key, &g) > 0) {
			*f = g;
			snprintf(file, flen, "%s", p);
			found = 1;
		}
		free(buf);
	}
	gm_strv_free(files);
	return found;
}
