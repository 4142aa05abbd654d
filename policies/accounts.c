/* accounts.c — /etc/passwd shells and the /etc/shadow root lock.
 * Only the one field concerned changes; malformed lines, comments and NIS
 * "+"/"-" entries stay as they are. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policies/internal.h"

static const char *const keep_shell[] = { "root", "sync", "shutdown", "halt" };

/* Splits text into at most max fields on ':'; returns the count. */
static size_t fields(const char *text, const char **f, size_t *fl, size_t max)
{
	size_t n = 0;
	const char *p = text;

	while (n < max) {
		const char *c = strchr(p, ':');

		f[n] = p;
		fl[n] = c ? (size_t)(c - p) : strlen(p);
		n++;
		if (!c)
			break;
		p = c + 1;
	}
	return n;
}

static bool nologin_shell(const char *s, size_t n)
{
	const char *b = s;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '/')
			b = s + i + 1;
	n -= (size_t)(b - s);
	return gm_word_eq(b, n, "nologin", false) || gm_word_eq(b, n, "false", false);
}

struct nologin_edit {
	unsigned long uid_min;
	const char *nologin;
	char *names;
	size_t nameslen;
};

static int nologin_line(void *priv, const char *t, char **repl)
{
	struct nologin_edit *e = priv;
	const char *f[8];
	size_t fl[8], nf = fields(t, f, fl, 8);
	char *end, uidbuf[16];
	unsigned long uid;
	bool keep = false;

	if (nf != 7 || !fl[0] || t[0] == '+' || t[0] == '-' || t[0] == '#' || fl[2] == 0 ||
	    fl[2] >= sizeof(uidbuf))
		return GM_LINE_KEEP;
	memcpy(uidbuf, f[2], fl[2]);
	uidbuf[fl[2]] = '\0';
	uid = strtoul(uidbuf, &end, 10);
	if (*end || (uid >= e->uid_min && uid != 65534))
		return GM_LINE_KEEP;
	for (size_t k = 0; k < sizeof(keep_shell) / sizeof(keep_shell[0]); k++)
		keep |= gm_word_eq(f[0], fl[0], keep_shell[k], false);
	if (keep || (fl[6] && nologin_shell(f[6], fl[6])))
		return GM_LINE_KEEP;
	if (e->names && e->nameslen) {
		size_t u = strlen(e->names);

		snprintf(e->names + u, e->nameslen - u, "%s%.*s", u ? "," : "", (int)fl[0], f[0]);
	}
	*repl = gm_strdupf("%.*s%s", (int)(f[6] - t), t, e->nologin);
	return GM_LINE_REPLACE;
}

int gm_passwd_nologin(const char *in, size_t len, unsigned long uid_min, const char *nologin,
		      char **out, size_t *outlen, char *names, size_t nameslen)
{
	struct nologin_edit e = { uid_min, nologin, names, nameslen };

	if (names && nameslen)
		names[0] = '\0';
	return gm_lines_edit(in, len, nologin_line, &e, out, outlen);
}

static int lock_line(void *priv, const char *t, char **repl)
{
	const char *user = priv, *f[10];
	size_t fl[10], nf = fields(t, f, fl, 10);

	if (nf < 2 || !gm_word_eq(f[0], fl[0], user, false) ||
	    (fl[1] && (f[1][0] == '!' || f[1][0] == '*')))
		return GM_LINE_KEEP;
	*repl = gm_strdupf("%.*s!%s", (int)(f[1] - t), t, f[1]);
	return GM_LINE_REPLACE;
}

int gm_shadow_lock(const char *in, size_t len, const char *user, char **out, size_t *outlen)
{
	return gm_lines_edit(in, len, lock_line, (void *)user, out, outlen);
}

/* ---------------- PAM: the hash pam_unix writes ---------------- */
static const char *const pam_hashes[] = {
	"md5", "bigcrypt", "sha256", "sha512", "blowfish", "gost_yescrypt", "yescrypt",
};

/* A word of a PAM line up to end (blanks end it). */
static size_t arg_len(const char *w, const char *end)
{
	size_t n = 0;

	while (w + n < end && w[n] != ' ' && w[n] != '\t')
		n++;
	return n;
}

static bool is_hash(const char *w, size_t n)
{
	for (size_t i = 0; i < sizeof(pam_hashes) / sizeof(pam_hashes[0]); i++)
		if (gm_word_eq(w, n, pam_hashes[i], false))
			return true;
	return false;
}

/* A "password ... pam_unix.so ARGS" line: the span of the arguments. */
static bool pam_unix_password(const char *t, const char **args)
{
	const char *s = gm_skip_ws(t);
	size_t n;

	if (*s == '-')
		s++;
	n = gm_word_len(s);
	if (!gm_word_eq(s, n, "password", false))
		return false;
	s = gm_skip_ws(s + n);
	if (*s == '[') {   /* [success=1 default=ignore] */
		const char *e = strchr(s, ']');
		if (!e)
			return false;
		s = e + 1;
	} else {
		s += gm_word_len(s);
	}
	s = gm_skip_ws(s);
	n = gm_word_len(s);
	const char *base = s;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/')
			base = s + i + 1;
	if ((size_t)(s + n - base) != 11 || strncmp(base, "pam_unix.so", 11))
		return false;
	*args = s + n;
	return true;
}

int gm_pam_unix_hash(const char *in, size_t len, char *method, size_t mlen, int *line)
{
	struct gm_lines l;
	int rc = gm_lines_parse(&l, in, len), found = 0;

	if (rc < 0)
		return rc;
	method[0] = '\0';
	*line = 0;
	for (size_t i = 0; i < l.n; i++) {
		const char *a;

		if (!pam_unix_password(l.v[i].text, &a))
			continue;
		found = 1;
		*line = (int)i + 1;
		method[0] = '\0';
		/* the options are exclusive: the last one given wins (pam_unix's
		 * _set_ctrl clears the others); '#' starts a comment anywhere */
		const char *end = a + strcspn(a, "#");
		for (a = gm_skip_ws(a); a < end; a = gm_skip_ws(a + arg_len(a, end)))
			if (is_hash(a, arg_len(a, end)))
				snprintf(method, mlen, "%.*s", (int)arg_len(a, end), a);
	}
	gm_lines_free(&l);
	return found;
}

static int hash_line(void *priv, const char *t, char **repl)
{
	const char *method = priv, *a, *last = NULL;
	size_t lastn = 0, nh = 0;

	if (!pam_unix_password(t, &a))
		return GM_LINE_KEEP;
	const char *aend = a + strcspn(a, "#");
	for (const char *w = gm_skip_ws(a); w < aend; w = gm_skip_ws(w + arg_len(w, aend)))
		if (is_hash(w, arg_len(w, aend))) {
			last = w;
			lastn = arg_len(w, aend);
			nh++;
		}
	if (nh == 1 && gm_word_eq(last, lastn, method, false))
		return GM_LINE_KEEP;
	/* drop every hash word (with the blank before it), then add ours
	 * where the arguments end (before a comment) */
	char *nl = malloc(strlen(t) + strlen(method) + 3), *o = nl;
	if (!nl)
		return -ENOMEM;
	const char *p = t, *end = t + strlen(t);
	const char *cm = strchr(a, '#');
	const char *argend = cm ? cm : end;
	while (argend > a && (argend[-1] == ' ' || argend[-1] == '\t'))
		argend--;
	memcpy(o, t, (size_t)(a - t));
	o += a - t;
	p = a;
	while (p < argend) {
		const char *w = p;
		while (w < argend && (*w == ' ' || *w == '\t'))
			w++;
		size_t n = arg_len(w, argend);
		if (!is_hash(w, n)) {
			memcpy(o, p, (size_t)(w + n - p));
			o += w + n - p;
		}
		p = w + n;
		if (!n)
			break;
	}
	o += sprintf(o, " %s%s", method, argend < end && *argend == '#' ? " " : "");
	memcpy(o, argend, (size_t)(end - argend));
	o[end - argend] = '\0';
	*repl = nl;
	return GM_LINE_REPLACE;
}

int gm_pam_unix_set_hash(const char *in, size_t len, const char *method, char **out,
			 size_t *outlen)
{
	return gm_lines_edit(in, len, hash_line, (void *)method, out, outlen);
}
