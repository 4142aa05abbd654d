/* cmdline.c — command lines inside configuration files: sshd's options in
 * Debian's /etc/default/ssh (SSHD_OPTS="...") and in systemd units
 * (ExecStart=/usr/sbin/sshd -D -o Key=Value). Pure buffer functions.
 *
 * Words are split as the shell and systemd split them: blanks separate,
 * "double" and 'single' quotes group, a backslash escapes the next byte.
 * sshd takes "-o Key=Value", "-oKey=Value" and "-o 'Key Value'".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policies/internal.h"

/* Next word of s[*i..n): its unquoted text in w (size wsz); the span of the
 * word as written in [*start, *i). false at the end. */
static bool next_word(const char *s, size_t n, size_t *i, char *w, size_t wsz, size_t *start)
{
	size_t k = 0;
	char q = 0;

	while (*i < n && (s[*i] == ' ' || s[*i] == '\t'))
		(*i)++;
	if (*i >= n)
		return false;
	*start = *i;
	for (; *i < n; (*i)++) {
		char ch = s[*i];

		if (!q && (ch == ' ' || ch == '\t'))
			break;
		if (!q && (ch == '"' || ch == '\'')) {
			q = ch;
			continue;
		}
		if (q && ch == q) {
			q = 0;
			continue;
		}
		if (ch == '\\' && q != '\'' && *i + 1 < n)
			ch = s[++(*i)];
		if (k + 1 < wsz)
			w[k++] = ch;
	}
	w[k] = '\0';
	return true;
}

/* "Key=Value" or "Key Value" into key/value. */
static bool split_opt(const char *w, char *key, size_t ksz, char *val, size_t vsz)
{
	size_t kl = strcspn(w, "= \t");
	const char *v = w + kl;

	if (!kl || kl >= ksz)
		return false;
	memcpy(key, w, kl);
	key[kl] = '\0';
	v += strspn(v, " \t");
	if (*v == '=')
		v++;
	v += strspn(v, " \t");
	snprintf(val, vsz, "%s", v);
	return true;
}

int gm_sshd_cmdline_opts(const char *s, size_t n, gm_sshd_opt_fn fn, void *priv)
{
	char w[512], key[128], val[384];
	size_t i = 0, st;
	bool want_arg = false;
	int count = 0;

	while (next_word(s, n, &i, w, sizeof(w), &st)) {
		const char *arg = NULL;

		if (want_arg) {
			arg = w;
			want_arg = false;
		} else if (!strcmp(w, "-o")) {
			want_arg = true;
			continue;
		} else if (!strncmp(w, "-o", 2)) {
			arg = w + 2;
		}
		if (arg && split_opt(arg, key, sizeof(key), val, sizeof(val))) {
			int rc = fn(priv, key, val);
			if (rc < 0)
				return rc;
			count++;
		}
	}
	return count;
}

/* The command-line part of a line: after "PREFIX" (SSHD_OPTS= or
 * ExecStart=), leading blanks and "export " allowed. */
static const char *after_prefix(const char *text, const char *prefix)
{
	const char *s = gm_skip_ws(text);
	size_t pl = strlen(prefix);

	if (!strncmp(s, "export ", 7))
		s = gm_skip_ws(s + 7);
	if (strncmp(s, prefix, pl))
		return NULL;
	return s + pl;
}

struct drop_opt {
	const char *prefix, *key;
};

static int drop_opt_line(void *priv, const char *t, char **repl)
{
	const struct drop_opt *d = priv;
	const char *cmd = after_prefix(t, d->prefix);
	char w[512], k[128], v[384], *nl;
	size_t n, i = 0, st, keep = 0, optstart = 0;
	bool want_arg = false, dropped = false;

	if (!cmd)
		return GM_LINE_KEEP;
	n = strlen(cmd);
	/* a quoted shell value (SSHD_OPTS="..."): the words inside */
	if ((*cmd == '"' || *cmd == '\'') && strchr(cmd + 1, *cmd)) {
		n = (size_t)(strchr(cmd + 1, *cmd) - cmd - 1);
		cmd++;
	}
	nl = malloc(strlen(t) + 1);
	if (!nl)
		return -ENOMEM;
	memcpy(nl, t, (size_t)(cmd - t));
	keep = (size_t)(cmd - t);
	size_t copied = 0;   /* bytes of cmd copied so far */
	while (next_word(cmd, n, &i, w, sizeof(w), &st)) {
		const char *arg = NULL;

		if (want_arg) {
			arg = w;
			want_arg = false;
		} else if (!strcmp(w, "-o")) {
			want_arg = true;
			optstart = st;
			continue;
		} else if (!strncmp(w, "-o", 2)) {
			arg = w + 2;
			optstart = st;
		}
		if (arg && split_opt(arg, k, sizeof(k), v, sizeof(v)) && !strcasecmp(k, d->key)) {
			/* copy up to the option (without the blanks before it) */
			size_t e = optstart;
			while (e > copied && (cmd[e - 1] == ' ' || cmd[e - 1] == '\t'))
				e--;
			memcpy(nl + keep, cmd + copied, e - copied);
			keep += e - copied;
			copied = i;
			dropped = true;
		}
	}
	if (!dropped) {
		free(nl);
		return GM_LINE_KEEP;
	}
	size_t rest = strlen(cmd) - copied;   /* the closing quote and after */
	/* no blank left at the start of the value */
	if (keep == (size_t)(cmd - t))
		while (rest && (cmd[copied] == ' ' || cmd[copied] == '\t'))
			copied++, rest--;
	memcpy(nl + keep, cmd + copied, rest);
	keep += rest;
	nl[keep] = '\0';
	/* SSHD_OPTS="" stays a valid assignment; "-o" alone is left as is */
	*repl = nl;
	return GM_LINE_REPLACE;
}

int gm_cmdline_drop_opt(const char *in, size_t len, const char *prefix, const char *key,
			char **out, size_t *outlen)
{
	struct drop_opt d = { prefix, key };

	return gm_lines_edit(in, len, drop_opt_line, &d, out, outlen);
}

/* The value of a shell assignment NAME=... (last one wins), unquoted. */
int gm_shell_var(const char *in, size_t len, const char *name, char *val, size_t vsz, int *line)
{
	struct gm_lines l;
	char prefix[128];
	int rc = gm_lines_parse(&l, in, len), found = 0;

	if (rc < 0)
		return rc;
	snprintf(prefix, sizeof(prefix), "%s=", name);
	for (size_t li = 0; li < l.n; li++) {
		const char *cmd = after_prefix(l.v[li].text, prefix);
		size_t i = 0, st, k = 0;
		char w[512];

		if (!cmd)
			continue;
		/* the assignment's value is one shell word; keep its inside */
		val[0] = '\0';
		if (*cmd && *cmd != ' ' && *cmd != '\t' && next_word(cmd, strlen(cmd), &i, w, sizeof(w), &st))
			k = (size_t)snprintf(val, vsz, "%s", w);
		(void)k;
		found = 1;
		if (line)
			*line = (int)li + 1;
	}
	gm_lines_free(&l);
	return found;
}
