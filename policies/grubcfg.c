/* grubcfg.c — the kernel command lines of a generated grub.cfg (as Debian's
 * and Ubuntu's update-grub write it), BLS entries and /etc/kernel/cmdline.
 * Pure buffer functions over untrusted bytes (fuzzed in fuzz_config).
 *
 * grub.cfg is GRUB script; gcemount reads only what it needs: menuentry and
 * submenu blocks (title, --id / $menuentry_id_option id, nesting by braces),
 * the linux/linuxefi/linux16 line of each entry, and `set default=...`.
 * The default entry is resolved as GRUB does: a number counts the entries
 * of a menu (a submenu is one), a title or an id names one, "A>B" walks
 * into submenus; "${saved_entry}" / "${next_entry}" come from grubenv (an
 * empty next_entry means the else branch of update-grub's if). Edits touch
 * only the argument words of kernel lines; recovery entries (title "recovery
 * mode", or the single / recovery argument) are left alone; a kernel line
 * with quotes or backslashes is not edited (-EINVAL): no guessing at GRUB
 * quoting.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policies/internal.h"

#define MAX_ENTRIES 512
#define MAX_NEST 16

struct gentry {
	bool submenu;
	char title[160];
	char id[160];
	int parent;        /* index, -1 top level */
	int kline;         /* 0-based line of its linux line, -1 none */
	bool recovery;
};

struct gcfg {
	struct gm_lines l;
	struct gentry e[MAX_ENTRIES];
	int n;
	char def[256];     /* resolved `set default` value, "" none */
	int defline;
};

/* One GRUB word at s: quoted ('...' or "...") or bare; unquoted text in w. */
static const char *gword(const char *s, char *w, size_t wsz)
{
	size_t k = 0;

	s = gm_skip_ws(s);
	while (*s && *s != ' ' && *s != '\t' && *s != '{' && *s != ';') {
		if (*s == '\'' || *s == '"') {
			char q = *s++;
			while (*s && *s != q) {
				if (q == '"' && *s == '\\' && s[1])
					s++;
				if (k + 1 < wsz)
					w[k++] = *s;
				s++;
			}
			if (*s)
				s++;
			continue;
		}
		if (*s == '\\' && s[1])
			s++;
		if (k + 1 < wsz)
			w[k++] = *s;
		s++;
	}
	w[k] = '\0';
	return s;
}

static bool is_kernel_cmd(const char *w)
{
	return !strcmp(w, "linux") || !strcmp(w, "linuxefi") || !strcmp(w, "linux16");
}

/* Whether a line opens a block: a '{' outside quotes, ending the line. */
static bool opens(const char *t)
{
	char q = 0;
	const char *last = NULL;

	for (const char *s = t; *s; s++) {
		if (q) {
			if (*s == q)
				q = 0;
			else if (q == '"' && *s == '\\' && s[1])
				s++;
		} else if (*s == '\'' || *s == '"') {
			q = *s;
		} else if (*s == '#') {
			break;
		} else if (*s != ' ' && *s != '\t' && *s != '\r') {
			last = s;
		}
	}
	return last && *last == '{';
}

static bool recovery_args(const char *args)
{
	char w[256];

	for (const char *s = args; *(s = gm_skip_ws(s));) {
		const char *e = gword(s, w, sizeof(w));
		if (!strcmp(w, "single") || !strcmp(w, "recovery") || !strcmp(w, "emergency"))
			return true;
		if (e == s)
			break;
		s = e;
	}
	return false;
}

static int parse(struct gcfg *c, const char *in, size_t len, const char *const *env)
{
	int stack[MAX_NEST], depth = 0;   /* entry index, or -1 for a non-entry block */
	bool locked = false;   /* the default came from grubenv: the if branch taken */
	int rc = gm_lines_parse(&c->l, in, len);

	c->n = 0;
	c->def[0] = '\0';
	c->defline = 0;
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < c->l.n; i++) {
		const char *t = gm_skip_ws(c->l.v[i].text), *s;
		char w[256];
		int cur = -1;

		for (int d = depth - 1; d >= 0 && cur < 0; d--)
			cur = stack[d];
		if (*t == '#' || !*t)
			continue;
		if (*t == '}') {
			if (depth > 0)
				depth--;
			continue;
		}
		s = gword(t, w, sizeof(w));
		if (!strcmp(w, "menuentry") || !strcmp(w, "submenu")) {
			struct gentry *e;

			if (c->n >= MAX_ENTRIES)
				return -E2BIG;
			e = &c->e[c->n];
			memset(e, 0, sizeof(*e));
			e->submenu = w[0] == 's';
			e->kline = -1;
			/* the parent: the innermost enclosing submenu */
			e->parent = -1;
			for (int d = depth - 1; d >= 0; d--)
				if (stack[d] >= 0) {
					e->parent = stack[d];
					break;
				}
			s = gword(s, e->title, sizeof(e->title));
			while (*(s = gm_skip_ws(s)) && *s != '{') {
				char opt[160];
				const char *n2 = gword(s, opt, sizeof(opt));
				if (n2 == s)
					break;
				s = n2;
				if (!strcmp(opt, "--id") || !strcmp(opt, "$menuentry_id_option") ||
				    !strcmp(opt, "${menuentry_id_option}"))
					s = gword(s, e->id, sizeof(e->id));
			}
			e->recovery = strstr(e->title, "recovery mode") != NULL;
			c->n++;
			if (opens(t) && depth < MAX_NEST)
				stack[depth++] = c->n - 1;
			continue;
		}
		char img[8];
		if (is_kernel_cmd(w) && cur >= 0 && !c->e[cur].submenu &&
		    (gword(s, img, sizeof(img)), img[0])) {   /* "linux" needs a kernel path */
			/* the last linux line is the one that counts (GRUB runs
			 * them in order); recovery: by title, or by that line */
			c->e[cur].kline = (int)i;
			c->e[cur].recovery = strstr(c->e[cur].title, "recovery mode") != NULL ||
					     recovery_args(s);
			continue;
		}
		if (!strcmp(w, "set") && depth == 0 && !locked) {
			char a[256];
			gword(s, a, sizeof(a));
			if (!strncmp(a, "default=", 8)) {
				const char *v = a + 8;
				char var[64];
				/* ${saved_entry} / ${next_entry}: from grubenv */
				if (sscanf(v, "${%63[a-z_]}", var) == 1 || sscanf(v, "$%63[a-z_]", var) == 1) {
					const char *val = NULL;
					size_t vl = strlen(var);
					for (size_t k = 0; env && env[k]; k++)
						if (!strncmp(env[k], var, vl) && env[k][vl] == '=')
							val = env[k] + vl + 1;
					if (!val || !*val)
						continue;   /* unset: the other branch decides */
					v = val;
					locked = true;
				}
				snprintf(c->def, sizeof(c->def), "%s", v);
				c->defline = (int)i + 1;
			}
			continue;
		}
		/* another block (if ... { is not GRUB syntax, but function f { is) */
		if (opens(t) && depth < MAX_NEST)
			stack[depth++] = -1;
	}
	return 0;
}

/* The entry a default string names; -1 when it names none. */
static int resolve(const struct gcfg *c, const char *def)
{
	int parent = -1, found = -1;
	char part[160];

	if (!*def)
		def = "0";
	for (const char *p = def; *p;) {
		size_t n = strcspn(p, ">");
		char *end;
		long idx;

		snprintf(part, sizeof(part), "%.*s", (int)(n < sizeof(part) ? n : sizeof(part) - 1), p);
		p += n + (p[n] == '>');
		idx = strtol(part, &end, 10);
		found = -1;
		for (int i = 0, k = 0; i < c->n; i++) {
			if (c->e[i].parent != parent)
				continue;
			if ((*part && !*end && k == idx) || !strcmp(c->e[i].title, part) ||
			    (c->e[i].id[0] && !strcmp(c->e[i].id, part))) {
				found = i;
				break;
			}
			k++;
		}
		if (found < 0)
			return -1;
		parent = found;
	}
	/* a submenu named alone: GRUB shows it; its first entry is what boots
	 * when the timeout runs out in it — gcemount takes that one */
	while (found >= 0 && c->e[found].submenu) {
		int first = -1;
		for (int i = 0; i < c->n && first < 0; i++)
			if (c->e[i].parent == found)
				first = i;
		found = first;
	}
	return found;
}

int gm_grubcfg_default(const char *in, size_t len, const char *const *env,
		       struct gm_grub_entry *out)
{
	struct gcfg *c = calloc(1, sizeof(*c));
	int rc, i;

	if (!c)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	rc = parse(c, in, len, env);
	if (rc < 0)
		goto out;
	snprintf(out->def, sizeof(out->def), "%s", c->def[0] ? c->def : "0");
	out->defline = c->defline;
	i = resolve(c, c->def);
	if (i < 0 || c->e[i].kline < 0) {
		rc = 0;
		goto out;
	}
	snprintf(out->title, sizeof(out->title), "%s", c->e[i].title);
	out->line = c->e[i].kline + 1;
	{
		const char *t = gm_skip_ws(c->l.v[c->e[i].kline].text);
		char w[64];
		const char *args = gm_skip_ws(gword(t, w, sizeof(w)));
		/* drop the kernel image path: the arguments follow it */
		char img[256];
		args = gm_skip_ws(gword(args, img, sizeof(img)));
		snprintf(out->cmdline, sizeof(out->cmdline), "%s", args);
	}
	rc = 1;
out:
	gm_lines_free(&c->l);
	free(c);
	return rc;
}

/* The words of s (no quotes: checked by the caller) without those of arg's
 * parameter (console=ttyS0,... for console=ttyS0,38400n8), then arg (when
 * add) or without the words equal to arg (when !add). malloc'd. */
static char *edit_words(const char *s, const char *arg, bool add)
{
	size_t pl = gm_karg_param_len(arg, strlen(arg)), k = 0, n = strlen(s);
	char *o = malloc(n + strlen(arg) + 2);

	if (!o)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t sp = i, w = 0;

		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		while (i + w < n && s[i + w] != ' ' && s[i + w] != '\t')
			w++;
		bool same = w && gm_karg_param_len(s + i, w) == pl && !memcmp(s + i, arg, pl) &&
			    (pl == w || s[i + pl - 1] == '=' || s[i + pl] == ',');
		if (!add)
			same = w == strlen(arg) && !memcmp(s + i, arg, w);
		if (!same) {
			memcpy(o + k, s + sp, i + w - sp);
			k += i + w - sp;
		}
		i += w;
		if (!w)
			break;
	}
	while (k && (o[k - 1] == ' ' || o[k - 1] == '\t'))
		k--;
	if (add)
		k += (size_t)sprintf(o + k, "%s%s", k ? " " : "", arg);
	o[k] = '\0';
	return o;
}

/* The line with its arguments (after the first skip words) edited; NULL
 * with *bad when it has quoting gcemount does not rewrite. */
static char *edit_line(const char *t, int skip, const char *arg, bool add, bool *bad)
{
	const char *s = gm_skip_ws(t);
	char w[256], *args, *nl;

	/* quoting anywhere on the line (the kernel path too) changes where
	 * GRUB's words end: not rewritten */
	if (strpbrk(s, "\"'\\"))  {
		*bad = true;
		return NULL;
	}
	for (int i = 0; i < skip; i++)
		s = gm_skip_ws(gword(s, w, sizeof(w)));
	/* trailing blanks stay outside the edit */
	size_t end = strlen(s);
	while (end && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\r'))
		end--;
	if (memchr(s, '"', end) || memchr(s, '\'', end) || memchr(s, '\\', end) ||
	    memchr(s, '#', end) || memchr(s, ';', end)) {
		*bad = true;
		return NULL;
	}
	if (!(args = strndup(s, end)))
		return NULL;
	char *e = edit_words(args, arg, add);
	free(args);
	if (!e)
		return NULL;
	/* a line with no arguments yet ("linux /vmlinuz"): a blank first */
	bool sep = skip && *e && s > t && s[-1] != ' ' && s[-1] != '\t';
	nl = gm_strdupf("%.*s%s%s%s", (int)(s - t), t, sep ? " " : "", e, s + end);
	free(e);
	return nl;
}

/* Adds (or removes) arg on every non-recovery kernel line. 1 changed, 0 no
 * change, -EINVAL a kernel line with quoting (then nothing is changed). */
static int grubcfg_edit(const char *in, size_t len, const char *arg, bool add, char **out,
			size_t *outlen)
{
	struct gcfg *c = calloc(1, sizeof(*c));
	int rc, changed = 0;

	if (!c)
		return -ENOMEM;
	rc = parse(c, in, len, NULL);
	for (int i = 0; rc == 0 && i < c->n; i++) {
		const struct gentry *e = &c->e[i];
		const char *t, *s;
		char w[64], img[256];

		if (e->submenu || e->kline < 0 || e->recovery)
			continue;
		t = c->l.v[e->kline].text;
		s = gm_skip_ws(gword(gm_skip_ws(t), w, sizeof(w)));
		s = gm_skip_ws(gword(s, img, sizeof(img)));
		if (add ? gm_karg_has(s, strlen(s), arg) : !gm_karg_has(s, strlen(s), arg))
			continue;
		bool bad = false;
		char *nl = edit_line(t, 2, arg, add, &bad);
		if (bad) {
			rc = -EINVAL;
			break;
		}
		if (!nl) {
			rc = -ENOMEM;
			break;
		}
		if (strcmp(nl, t)) {
			rc = gm_lines_replace(&c->l, (size_t)e->kline, nl);
			changed = 1;
		}
		free(nl);
	}
	if (rc == 0 && changed)
		rc = gm_lines_join(&c->l, out, outlen);
	gm_lines_free(&c->l);
	free(c);
	return rc < 0 ? rc : changed;
}

int gm_grubcfg_add_arg(const char *in, size_t len, const char *arg, char **out, size_t *outlen)
{
	return grubcfg_edit(in, len, arg, true, out, outlen);
}

int gm_grubcfg_drop_arg(const char *in, size_t len, const char *arg, char **out, size_t *outlen)
{
	return grubcfg_edit(in, len, arg, false, out, outlen);
}

/* BLS entry: the "options" line (key and value separated by blanks). */
struct arg_edit {
	const char *arg;
	bool add;
};

static int bls_line(void *priv, const char *line, char **repl)
{
	const struct arg_edit *e = priv;
	const char *t = gm_skip_ws(line);
	size_t w = gm_word_len(t);
	bool bad = false;

	if (!gm_word_eq(t, w, "options", false))
		return GM_LINE_KEEP;
	t = gm_skip_ws(t + w);
	if (gm_karg_has(t, strlen(t), e->arg) == e->add)
		return GM_LINE_KEEP;
	*repl = edit_line(line, 1, e->arg, e->add, &bad);
	if (bad) {
		free(*repl);
		*repl = NULL;
		return -EINVAL;
	}
	return GM_LINE_REPLACE;
}

static int bls_edit(const char *in, size_t len, const char *arg, bool add, char **out,
		    size_t *outlen)
{
	struct arg_edit e = { arg, add };

	return gm_lines_edit(in, len, bls_line, &e, out, outlen);
}

int gm_bls_add_arg(const char *in, size_t len, const char *arg, char **out, size_t *outlen)
{
	return bls_edit(in, len, arg, true, out, outlen);
}

int gm_bls_drop_arg(const char *in, size_t len, const char *arg, char **out, size_t *outlen)
{
	return bls_edit(in, len, arg, false, out, outlen);
}

/* /etc/kernel/cmdline: one line of arguments. */
static int kcmd_edit(const char *in, size_t len, const char *arg, bool add, char **out,
		     size_t *outlen)
{
	struct gm_lines l;
	int rc = gm_lines_parse(&l, in, len);
	bool bad = false;

	if (rc < 0)
		return rc;
	if (l.n == 0 && (rc = gm_lines_insert(&l, 0, "")) < 0)
		goto out;
	if (gm_karg_has(l.v[0].text, l.v[0].len, arg) == add) {
		rc = 0;
		goto out;
	}
	char *nl = edit_line(l.v[0].text, 0, arg, add, &bad);
	rc = bad ? -EINVAL : nl ? gm_lines_replace(&l, 0, nl) : -ENOMEM;
	free(nl);
	if (rc == 0 && (rc = gm_lines_join(&l, out, outlen)) == 0)
		rc = 1;
out:
	gm_lines_free(&l);
	return rc;
}

int gm_kernel_cmdline_add_arg(const char *in, size_t len, const char *arg, char **out,
			      size_t *outlen)
{
	return kcmd_edit(in, len, arg, true, out, outlen);
}

int gm_kernel_cmdline_drop_arg(const char *in, size_t len, const char *arg, char **out,
			       size_t *outlen)
{
	return kcmd_edit(in, len, arg, false, out, outlen);
}

/* /etc/default/grub: the word arg out of GRUB_CMDLINE_LINUX and
 * GRUB_CMDLINE_LINUX_DEFAULT (quoted "..." or '...' values without inner
 * quoting; others refused with -EINVAL). */
static int grubdefault_line(void *priv, const char *line, char **repl)
{
	const char *arg = priv, *t = gm_skip_ws(line), *v;

	if (!strncmp(t, "export ", 7))
		t = gm_skip_ws(t + 7);
	if (!strncmp(t, "GRUB_CMDLINE_LINUX=", 19))
		v = t + 19;
	else if (!strncmp(t, "GRUB_CMDLINE_LINUX_DEFAULT=", 27))
		v = t + 27;
	else
		return GM_LINE_KEEP;
	char q = (*v == '"' || *v == '\'') ? *v : 0;
	const char *b = q ? v + 1 : v, *e = q ? strchr(b, q) : b + gm_word_len(b);
	if (!e)
		return -EINVAL;
	if (!gm_karg_has(b, (size_t)(e - b), arg))
		return GM_LINE_KEEP;
	if (memchr(b, '\\', (size_t)(e - b)) || memchr(b, q == '"' ? '\'' : '"', (size_t)(e - b)))
		return -EINVAL;
	char *inner = strndup(b, (size_t)(e - b)), *ed;
	if (!inner)
		return -ENOMEM;
	ed = edit_words(inner, arg, false);
	free(inner);
	if (!ed)
		return -ENOMEM;
	*repl = gm_strdupf("%.*s%s%s", (int)(b - line), line, ed, e);
	free(ed);
	return GM_LINE_REPLACE;
}

int gm_grubdefault_drop_arg(const char *in, size_t len, const char *arg, char **out,
			    size_t *outlen)
{
	return gm_lines_edit(in, len, grubdefault_line, (void *)arg, out, outlen);
}

/* grub.cfg without its splashimage / background_image lines. */
static int splash_line(void *priv, const char *line, char **repl)
{
	const char *t = gm_skip_ws(line);
	size_t w = gm_word_len(t);

	(void)priv;
	(void)repl;
	return gm_word_eq(t, w, "splashimage", false) || gm_word_eq(t, w, "background_image", false)
		       ? GM_LINE_DELETE
		       : GM_LINE_KEEP;
}

int gm_grubcfg_drop_splash(const char *in, size_t len, char **out, size_t *outlen)
{
	return gm_lines_edit(in, len, splash_line, NULL, out, outlen);
}
