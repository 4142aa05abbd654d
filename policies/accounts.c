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

int gm_passwd_nologin(const char *in, size_t len, unsigned long uid_min, const char *nologin,
		      char **out, size_t *outlen, char *names, size_t nameslen)
{
	struct gm_lines l;
	int rc = gm_lines_parse(&l, in, len), changed = 0;

	if (rc < 0)
		return rc;
	if (names && nameslen)
		names[0] = '\0';
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		const char *f[8];
		size_t fl[8], nf = fields(l.v[i].text, f, fl, 8);
		char *end, uidbuf[16];
		unsigned long uid;
		bool keep = false;

		if (nf != 7 || !fl[0] || l.v[i].text[0] == '+' || l.v[i].text[0] == '-' ||
		    l.v[i].text[0] == '#' || fl[2] == 0 || fl[2] >= sizeof(uidbuf))
			continue;
		memcpy(uidbuf, f[2], fl[2]);
		uidbuf[fl[2]] = '\0';
		uid = strtoul(uidbuf, &end, 10);
		if (*end)
			continue;
		if (uid >= uid_min && uid != 65534)
			continue;
		for (size_t k = 0; k < sizeof(keep_shell) / sizeof(keep_shell[0]); k++)
			keep |= gm_word_eq(f[0], fl[0], keep_shell[k], false);
		if (keep || (fl[6] && nologin_shell(f[6], fl[6])))
			continue;
		if (names && nameslen) {   /* before the line (f[] points into it) goes */
			size_t u = strlen(names);
			snprintf(names + u, nameslen - u, "%s%.*s", u ? "," : "", (int)fl[0], f[0]);
		}
		char *nl = gm_strdupf("%.*s%s", (int)(f[6] - l.v[i].text), l.v[i].text, nologin);
		rc = nl ? gm_lines_replace(&l, i, nl) : -ENOMEM;
		free(nl);
		changed = 1;
	}
	if (rc == 0 && changed)
		rc = gm_lines_join(&l, out, outlen);
	gm_lines_free(&l);
	return rc < 0 ? rc : changed;
}

int gm_shadow_lock(const char *in, size_t len, const char *user, char **out, size_t *outlen)
{
	struct gm_lines l;
	int rc = gm_lines_parse(&l, in, len), changed = 0;

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		const char *f[10];
		size_t fl[10], nf = fields(l.v[i].text, f, fl, 10);

		if (nf < 2 || !gm_word_eq(f[0], fl[0], user, false))
			continue;
		if (fl[1] && (f[1][0] == '!' || f[1][0] == '*'))
			continue;
		char *nl = gm_strdupf("%.*s!%s", (int)(f[1] - l.v[i].text), l.v[i].text, f[1]);
		rc = nl ? gm_lines_replace(&l, i, nl) : -ENOMEM;
		free(nl);
		changed = 1;
	}
	if (rc == 0 && changed)
		rc = gm_lines_join(&l, out, outlen);
	gm_lines_free(&l);
	return rc < 0 ? rc : changed;
}
