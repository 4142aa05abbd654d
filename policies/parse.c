/* parse.c — the policy file format (docs/policies.md) and loading by name.
 *
 *   # comment
 *   description "what this policy is for"
 *   include ssh
 *
 *   rule ssh.permit-root-login
 *     level strongly-recommended
 *     description "sshd: no root login"
 *     sshd PermitRootLogin no
 *
 * A line is words separated by blanks; "double quotes" group words, with \"
 * \\ \n \t escapes. Indentation is cosmetic. A rule runs to the next `rule`
 * or `include` line.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "policies/internal.h"

#define MAX_INCLUDE_DEPTH 8

static const struct {
	const char *name;
	enum gm_action_kind kind;
	int min, max;   /* argument count (after the keyword); max -1: any */
} actions[] = {
	{ "sshd", GM_ACT_SSHD, 2, -1 },
	{ "ssh", GM_ACT_SSH, 2, -1 },
	{ "sysctl", GM_ACT_SYSCTL, 1, -1 },
	{ "login-defs", GM_ACT_LOGINDEFS, 2, -1 },
	{ "grub-cmdline", GM_ACT_GRUB, 1, 1 },
	{ "grub-cmdline-absent", GM_ACT_GRUB_ABSENT, 1, -1 },
	{ "ntp", GM_ACT_NTP, 1, 1 },
	{ "remove", GM_ACT_REMOVE, 1, -1 },
	{ "empty", GM_ACT_EMPTY, 1, -1 },
	{ "file", GM_ACT_FILE, 4, 4 },
	{ "symlink", GM_ACT_SYMLINK, 2, 2 },
	{ "nologin-system-accounts", GM_ACT_NOLOGIN, 0, 0 },
	{ "lock-root", GM_ACT_LOCKROOT, 0, 0 },
	{ "timezone", GM_ACT_TIMEZONE, 1, 1 },
	{ "dhclient-request", GM_ACT_DHCLIENT, 1, 1 },
	{ "apt-conf", GM_ACT_APTCONF, 2, 2 },
	{ "password-hash", GM_ACT_PAMHASH, 1, -1 },
};

static const char *const level_names[] = { "required", "strongly-recommended", "recommended",
					   "optional" };
static const char *const status_names[] = { "PASS", "FAIL", "WARN", "N/A", "SKIP", "WAIVED" };

const char *gm_level_name(enum gm_level l)
{
	return (unsigned)l < 4 ? level_names[l] : "?";
}

const char *gm_status_name(enum gm_status s)
{
	return (unsigned)s < 6 ? status_names[s] : "?";
}

int gm_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(name, level_names[i]))
			return i;
	return -1;
}

void gm_policy_skip(struct gm_policy *p, const char *const *globs, size_t n)
{
	for (size_t i = 0; i < p->nrules; i++)
		for (size_t j = 0; j < n; j++)
			if (!fnmatch(globs[j], p->rules[i].id, 0))
				p->rules[i].skip = true;
}

const char *const *gm_policy_builtin_names(void)
{
	static const char *names[64];

	if (!names[0]) {
		size_t n = 0;

		for (const struct gm_builtin *b = gm_builtins; b->name && n < 63; b++)
			names[n++] = b->name;
		names[n] = NULL;
	}
	return names;
}

const char *gm_policy_name(const struct gm_policy *p)
{
	return p->name;
}

static void free_action(struct gm_action *a)
{
	gm_strv_free(a->argv);
	free(a->value);
	free(a->accept);   /* points into argv */
	free(a->warn);
}

void gm_policy_free(struct gm_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nrules; i++) {
		struct gm_rule *r = &p->rules[i];

		for (size_t j = 0; j < r->nact; j++)
			free_action(&r->act[j]);
		free(r->act);
		free(r->id);
		free(r->description);
		free(r->origin);
		gm_strv_free(r->when);
		free(r->source);
		free(r->note);
		free(r->waive_reason);
		free(r->waive_origin);
		free(r->override_origin);
	}
	free(p->rules);
	free(p->name);
	free(p->description);
	free(p);
}

/* Splits a line into words; NULL-terminated argv, count in *argc. -EINVAL on
 * an unterminated quote. */
static int split(const char *s, char ***out, int *argc)
{
	char **v = NULL, *w = malloc(strlen(s) + 1);
	int n = 0, rc = 0;

	if (!w)
		return -ENOMEM;
	for (;;) {
		size_t k = 0;
		bool quoted = false;

		s = gm_skip_ws(s);
		if (!*s || *s == '#')
			break;
		while (*s && (quoted || (*s != ' ' && *s != '\t'))) {
			if (*s == '"') {
				quoted = !quoted;
				s++;
				continue;
			}
			if (quoted && *s == '\\' && s[1]) {
				s++;
				w[k++] = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
				s++;
				continue;
			}
			w[k++] = *s++;
		}
		if (quoted) {
			rc = -EINVAL;
			break;
		}
		char **nv = realloc(v, (size_t)(n + 2) * sizeof(*nv));
		if (!nv || !(nv[n] = strndup(w, k))) {
			if (nv)
				v = nv;
			rc = -ENOMEM;
			break;
		}
		v = nv;
		v[++n] = NULL;
	}
	free(w);
	if (rc < 0) {
		if (v)
			v[n] = NULL;
		gm_strv_free(v);
		return rc;
	}
	if (!v && !(v = calloc(1, sizeof(*v))))
		return -ENOMEM;
	*out = v;
	*argc = n;
	return 0;
}

static char *join(char **v, int from, int to)
{
	size_t len = 1;
	char *s;

	for (int i = from; i < to; i++)
		len += strlen(v[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (int i = from; i < to; i++) {
		if (i > from)
			strcat(s, " ");
		strcat(s, v[i]);
	}
	return s;
}

/* override / waive lines, applied once everything is loaded */
struct pending {
	bool waive;
	char *rule;      /* id or glob */
	char **argv;     /* override: the value words; waive: the reason */
	int argc;
	char *origin;
};

struct pstate {
	struct gm_policy *p;
	const char *names[MAX_INCLUDE_DEPTH + 1];   /* include stack */
	const char *sources[MAX_INCLUDE_DEPTH + 1]; /* each file's `source` default */
	int depth;
	struct pending *pend;
	size_t npend;
	char **seen;                                /* included already (diamonds) */
	size_t nseen;
	struct gm_error *err;
};

static int parse_into(struct pstate *st, const char *name, const char *text, const char *dir);

static int load_text(const char *name_or_path, const char *dir, char **text, char **name,
		     char **newdir, struct gm_error *err)
{
	size_t n = strlen(name_or_path);

	*newdir = NULL;
	if (strchr(name_or_path, '/') || (n > 7 && !strcmp(name_or_path + n - 7, ".policy"))) {
		char path[PATH_MAX];
		FILE *f;
		long size;

		if (name_or_path[0] != '/' && dir)
			snprintf(path, sizeof(path), "%s/%s", dir, name_or_path);
		else
			snprintf(path, sizeof(path), "%s", name_or_path);
		f = fopen(path, "re");
		if (!f)
			return gm_error_set(err, -errno, "%s: %s", path, strerror(errno));
		if (fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || size > (1 << 20) ||
		    fseek(f, 0, SEEK_SET) < 0) {
			fclose(f);
			return gm_error_set(err, -EFBIG, "%s: not a policy file (too big)", path);
		}
		*text = malloc((size_t)size + 1);
		if (!*text) {
			fclose(f);
			return -ENOMEM;
		}
		size_t got = fread(*text, 1, (size_t)size, f);
		fclose(f);
		(*text)[got] = '\0';
		if (strlen(*text) != got) {
			free(*text);
			*text = NULL;   /* the caller frees it too */
			return gm_error_set(err, -EINVAL, "%s: not a policy file (NUL byte)", path);
		}
		/* one name per file, however it was spelled (cycles, diamonds) */
		*name = realpath(path, NULL);
		if (!*name)
			*name = strdup(path);
		else
			snprintf(path, sizeof(path), "%s", *name);
		char *slash = strrchr(path, '/');
		if (slash) {
			*slash = '\0';
			*newdir = strdup(slash == path ? "/" : path);
		} else {
			*newdir = strdup(".");
		}
		return *name ? 0 : -ENOMEM;
	}
	for (const struct gm_builtin *b = gm_builtins; b->name; b++)
		if (!strcmp(b->name, name_or_path)) {
			*text = strdup(b->text);
			*name = strdup(b->name);
			return *text && *name ? 0 : -ENOMEM;
		}
	{
		char list[512] = "";
		for (const struct gm_builtin *b = gm_builtins; b->name; b++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 list[0] ? ", " : "", b->name);
		return gm_error_set(err, -ENOENT,
				    "no shipped policy '%s' (shipped: %s; a file needs a '/' or "
				    "the .policy suffix)",
				    name_or_path, list);
	}
}

static int include(struct pstate *st, const char *what, const char *dir, const char *where)
{
	char *text = NULL, *name = NULL, *ndir = NULL;
	int rc;

	if (st->depth >= MAX_INCLUDE_DEPTH)
		return gm_error_set(st->err, -ELOOP, "%s: include nested too deeply", where);
	rc = load_text(what, dir, &text, &name, &ndir, st->err);
	if (rc < 0)
		goto out;
	for (int i = 0; i < st->depth; i++)
		if (!strcmp(st->names[i], name)) {
			rc = gm_error_set(st->err, -ELOOP, "%s: include cycle through %s", where, name);
			goto out;
		}
	for (size_t i = 0; i < st->nseen; i++)
		if (!strcmp(st->seen[i], name))
			goto out;   /* already in (a diamond): once is enough */
	char **v = realloc(st->seen, (st->nseen + 1) * sizeof(*v));
	if (!v) {
		rc = -ENOMEM;
		goto out;
	}
	st->seen = v;
	st->seen[st->nseen++] = name;
	name = NULL;
	rc = parse_into(st, st->seen[st->nseen - 1], text, ndir);
out:
	free(text);
	free(name);
	free(ndir);
	return rc;
}

static int add_rule(struct pstate *st, const char *id, const char *origin)
{
	struct gm_policy *p = st->p;

	for (size_t i = 0; i < p->nrules; i++)
		if (!strcmp(p->rules[i].id, id))
			return gm_error_set(st->err, -EINVAL, "%s: rule %s already defined at %s",
					    origin, id, p->rules[i].origin);
	struct gm_rule *v = realloc(p->rules, (p->nrules + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->rules = v;
	memset(&v[p->nrules], 0, sizeof(v[0]));
	v[p->nrules].level = GM_LEVEL_RECOMMENDED;
	if (!(v[p->nrules].id = strdup(id)) || !(v[p->nrules].origin = strdup(origin)))
		return -ENOMEM;
	p->nrules++;
	return 0;
}

static int parse_action(struct pstate *st, struct gm_rule *r, int k, char **argv, int argc,
			const char *where)
{
	struct gm_action a = { 0 };
	int nargs = argc - 1;

	if (nargs < actions[k].min || (actions[k].max >= 0 && nargs > actions[k].max))
		return gm_error_set(st->err, -EINVAL, "%s: %s takes %d%s argument%s", where,
				    argv[0], actions[k].min,
				    actions[k].max < 0 ? " or more"
				    : actions[k].max != actions[k].min ? "-2" : "",
				    actions[k].min == 1 && actions[k].max == 1 ? "" : "s");
	a.kind = actions[k].kind;
	a.argc = argc;
	if (a.kind == GM_ACT_SSHD || a.kind == GM_ACT_SSH || a.kind == GM_ACT_SYSCTL ||
	    a.kind == GM_ACT_LOGINDEFS || a.kind == GM_ACT_PAMHASH) {
		/* VALUE [accept V...] [warn V...]: the value words end at the first
		 * keyword (argc is cut there) */
		int first = a.kind == GM_ACT_PAMHASH ||
			    (a.kind == GM_ACT_SYSCTL && argc >= 2 && strchr(argv[1], '=')) ? 2 : 3;
		int end = argc;

		for (int i = first; i < argc; i++)
			if (!strcmp(argv[i], "accept") || !strcmp(argv[i], "warn")) {
				end = i;
				break;
			}
		for (int i = end; i < argc;) {
			char ***list = !strcmp(argv[i], "accept") ? &a.accept : &a.warn;
			int j = i + 1;

			while (j < argc && strcmp(argv[j], "accept") && strcmp(argv[j], "warn"))
				j++;
			if (j == i + 1 || *list) {
				free(a.accept);
				free(a.warn);
				return gm_error_set(st->err, -EINVAL, "%s: %s needs values (once)", where,
						    argv[i]);
			}
			*list = calloc((size_t)(j - i), sizeof(char *));
			if (!*list) {
				free(a.accept);
				free(a.warn);
				return -ENOMEM;
			}
			for (int x = i + 1; x < j; x++)
				(*list)[x - i - 1] = argv[x];
			i = j;
		}
		argc = end;
		a.argc = end;
	}
	switch (a.kind) {
	case GM_ACT_SSHD:
	case GM_ACT_SSH:
	case GM_ACT_LOGINDEFS:
		a.value = join(argv, 2, argc);
		break;
	case GM_ACT_PAMHASH:
		a.value = join(argv, 1, argc);
		break;
	case GM_ACT_SYSCTL: {
		char *eq = strchr(argv[1], '=');
		if (eq && argc == 2) {
			a.value = strdup(eq + 1);
			*eq = '\0';
		} else if (argc >= 3 && !strcmp(argv[2], "=")) {
			a.value = join(argv, 3, argc);
		} else {
			a.value = join(argv, 2, argc);
		}
		if (a.value && !a.value[0]) {
			free(a.value);
			free(a.accept);
			free(a.warn);
			return gm_error_set(st->err, -EINVAL, "%s: sysctl %s: no value", where, argv[1]);
		}
		break;
	}
	case GM_ACT_FILE: {
		char *end;
		unsigned long m = strtoul(argv[2], &end, 8), u, g;
		if (*end || m > 07777)
			return gm_error_set(st->err, -EINVAL, "%s: file: mode '%s' is not octal",
					    where, argv[2]);
		if (!strcmp(argv[3], "root") || !strcmp(argv[3], "root:root")) {
			u = g = 0;
		} else {
			u = strtoul(argv[3], &end, 10);
			if (*end != ':' || (g = strtoul(end + 1, &end, 10), *end))
				return gm_error_set(st->err, -EINVAL,
						    "%s: file: owner '%s' is not UID:GID", where,
						    argv[3]);
		}
		a.mode = (mode_t)m;
		a.uid = (uid_t)u;
		a.gid = (gid_t)g;
		break;
	}
	default:
		break;
	}
	if ((a.kind == GM_ACT_REMOVE || a.kind == GM_ACT_EMPTY || a.kind == GM_ACT_FILE) &&
	    argv[1][0] != '/')
		return gm_error_set(st->err, -EINVAL, "%s: %s: '%s' is not an absolute path", where,
				    argv[0], argv[1]);
	for (int i = 1; a.kind == GM_ACT_REMOVE && i < argc; i++)
		if (argv[i][0] != '/' || !strcmp(argv[i], "/") || strstr(argv[i], "/../"))
			return gm_error_set(st->err, -EINVAL, "%s: remove: '%s' is not a safe path",
					    where, argv[i]);
	if (a.kind == GM_ACT_SYMLINK && argv[2][0] != '/')
		return gm_error_set(st->err, -EINVAL, "%s: symlink: '%s' is not an absolute path",
				    where, argv[2]);
	struct gm_action *v = realloc(r->act, (r->nact + 1) * sizeof(*v));
	if (!v) {
		free(a.value);
		free(a.accept);
		free(a.warn);
		return -ENOMEM;
	}
	a.argv = argv;
	r->act = v;
	r->act[r->nact++] = a;
	return 1;   /* argv now owned */
}

static int parse_into(struct pstate *st, const char *name, const char *text, const char *dir)
{
	struct gm_rule *cur = NULL;
	int lineno = 0, rc = 0;

	st->sources[st->depth] = NULL;
	st->names[st->depth++] = name;
	for (const char *p = text; *p && rc == 0; lineno++) {
		size_t n = strcspn(p, "\n");
		char *line = strndup(p, n), **argv = NULL, where[600];
		int argc;

		p += n + (p[n] == '\n');
		if (!line) {
			rc = -ENOMEM;
			break;
		}
		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		snprintf(where, sizeof(where), "%s:%d", name, lineno + 1);
		rc = split(line, &argv, &argc);
		free(line);
		if (rc < 0) {
			if (rc == -EINVAL)
				gm_error_set(st->err, rc, "%s: unterminated quote", where);
			break;
		}
		if (argc == 0) {
			gm_strv_free(argv);
			continue;
		}
		const char *kw = argv[0];
		if (!strcmp(kw, "rule")) {
			if (argc != 2)
				rc = gm_error_set(st->err, -EINVAL, "%s: rule takes one ID", where);
			else if ((rc = add_rule(st, argv[1], where)) == 0) {
				cur = &st->p->rules[st->p->nrules - 1];
				if (st->sources[st->depth - 1] &&
				    !(cur->source = strdup(st->sources[st->depth - 1])))
					rc = -ENOMEM;
			}
		} else if (!strcmp(kw, "include")) {
			cur = NULL;
			for (int i = 1; i < argc && rc == 0; i++)
				rc = include(st, argv[i], dir, where);
			if (argc < 2)
				rc = gm_error_set(st->err, -EINVAL, "%s: include what?", where);
		} else if (!strcmp(kw, "description")) {
			char *d = join(argv, 1, argc);
			char **slot = cur ? &cur->description : (st->depth == 1 ? &st->p->description : NULL);
			if (!d)
				rc = -ENOMEM;
			else if (slot) {
				free(*slot);
				*slot = d;
			} else {
				free(d);
			}
		} else if (!strcmp(kw, "when-exists")) {
			if (!cur)
				rc = gm_error_set(st->err, -EINVAL, "%s: when-exists outside a rule", where);
			else if (argc < 2 || argv[1][0] != '/')
				rc = gm_error_set(st->err, -EINVAL, "%s: when-exists needs absolute paths",
						  where);
			else if (cur->when)
				rc = gm_error_set(st->err, -EINVAL, "%s: one when-exists per rule", where);
			else {
				free(argv[0]);
				memmove(argv, argv + 1, (size_t)argc * sizeof(*argv));
				cur->when = argv;
				argv = NULL;
			}
		} else if (!strcmp(kw, "source")) {
			if (argc != 2 || (strcmp(argv[1], GM_SOURCE_GUIDE) && strcmp(argv[1], GM_SOURCE_COS) &&
					  strcmp(argv[1], GM_SOURCE_GCEMOUNT)))
				rc = gm_error_set(st->err, -EINVAL, "%s: source must be gce-guide, cos or "
						  "gcemount", where);
			else if (cur) {
				free(cur->source);
				if (!(cur->source = strdup(argv[1])))
					rc = -ENOMEM;
			} else {
				st->sources[st->depth - 1] =
					!strcmp(argv[1], GM_SOURCE_GUIDE) ? GM_SOURCE_GUIDE :
					!strcmp(argv[1], GM_SOURCE_COS) ? GM_SOURCE_COS : GM_SOURCE_GCEMOUNT;
			}
		} else if (!strcmp(kw, "advice")) {
			if (!cur || argc != 1)
				rc = gm_error_set(st->err, -EINVAL, "%s: advice takes no argument, inside a "
						  "rule", where);
			else
				cur->advice = true;
		} else if (!strcmp(kw, "note")) {
			char *d = join(argv, 1, argc);
			if (!cur || argc < 2)
				rc = gm_error_set(st->err, -EINVAL, "%s: note \"TEXT\" inside a rule", where);
			else if (!d)
				rc = -ENOMEM;
			else {
				free(cur->note);
				cur->note = d;
				d = NULL;
			}
			free(d);
		} else if (!strcmp(kw, "override") || !strcmp(kw, "waive")) {
			bool waive = kw[0] == 'w';
			struct pending *v;

			cur = NULL;
			if (argc < 3)
				rc = gm_error_set(st->err, -EINVAL, "%s: %s", where,
						  waive ? "waive RULE \"reason\"" : "override RULE VALUE...");
			else if (!(v = realloc(st->pend, (st->npend + 1) * sizeof(*v))))
				rc = -ENOMEM;
			else {
				st->pend = v;
				v = &st->pend[st->npend];
				memset(v, 0, sizeof(*v));
				v->waive = waive;
				v->argc = argc - 2;
				v->rule = argv[1];
				v->argv = argv;
				if (!(v->origin = strdup(where)))
					rc = -ENOMEM;
				else {
					st->npend++;
					argv = NULL;   /* owned by the pending entry */
				}
			}
		} else if (!strcmp(kw, "level")) {
			int l = -1;
			for (int i = 0; i < 4 && argc == 2; i++)
				if (!strcmp(argv[1], level_names[i]))
					l = i;
			if (!cur)
				rc = gm_error_set(st->err, -EINVAL, "%s: level outside a rule", where);
			else if (l < 0)
				rc = gm_error_set(st->err, -EINVAL,
						  "%s: level must be required, strongly-recommended, "
						  "recommended or optional",
						  where);
			else
				cur->level = (enum gm_level)l;
		} else {
			int k = -1;
			for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
				if (!strcmp(kw, actions[i].name))
					k = (int)i;
			if (k < 0)
				rc = gm_error_set(st->err, -EINVAL, "%s: unknown keyword '%s'", where, kw);
			else if (!cur)
				rc = gm_error_set(st->err, -EINVAL, "%s: '%s' outside a rule", where, kw);
			else if ((rc = parse_action(st, cur, k, argv, argc, where)) == 1) {
				argv = NULL;
				rc = 0;
			}
		}
		gm_strv_free(argv);
	}
	for (size_t i = 0; rc == 0 && i < st->p->nrules; i++)
		if (!st->p->rules[i].nact)
			rc = gm_error_set(st->err, -EINVAL, "%s: rule %s has no action",
					  st->p->rules[i].origin, st->p->rules[i].id);
	st->depth--;
	return rc;
}

/* Two rules that want different values for one setting would undo each
 * other at every apply: refused when loading. */
static const char *setting_key(const struct gm_action *a, char *buf, size_t n)
{
	switch (a->kind) {
	case GM_ACT_SSHD:
	case GM_ACT_SSH:
	case GM_ACT_LOGINDEFS:
	case GM_ACT_APTCONF:
		snprintf(buf, n, "%d:%s", (int)a->kind, a->argv[1]);
		if (a->kind != GM_ACT_LOGINDEFS)
			for (char *c = buf; *c; c++)
				*c = (char)tolower((unsigned char)*c);
		return buf;
	case GM_ACT_SYSCTL: {
		char k[256];
		gm_sysctl_normalize(a->argv[1], k, sizeof(k));
		snprintf(buf, n, "%d:%s", (int)a->kind, k);
		return buf;
	}
	case GM_ACT_TIMEZONE:
	case GM_ACT_NTP:
		snprintf(buf, n, "%d", (int)a->kind);
		return buf;
	default:
		return NULL;
	}
}

static const char *setting_value(const struct gm_action *a)
{
	return a->value ? a->value : a->argv[a->argc - 1];
}

static int check_conflicts(const struct gm_policy *p, struct gm_error *err)
{
	for (size_t i = 0; i < p->nrules; i++)
		for (size_t j = 0; j < p->rules[i].nact && !p->rules[i].waive_reason; j++) {
			const struct gm_action *a = &p->rules[i].act[j];
			char ka[300], kb[300];

			if (!setting_key(a, ka, sizeof(ka)))
				continue;
			for (size_t k = i; k < p->nrules; k++)
				for (size_t l = k == i ? j + 1 : 0;
				     l < p->rules[k].nact && !p->rules[k].waive_reason; l++) {
					const struct gm_action *b = &p->rules[k].act[l];

					if (!setting_key(b, kb, sizeof(kb)) || strcmp(ka, kb))
						continue;
					bool icase = a->kind == GM_ACT_SSHD || a->kind == GM_ACT_SSH;
					if (icase ? !strcasecmp(setting_value(a), setting_value(b))
						  : !strcmp(setting_value(a), setting_value(b)))
						continue;
					return gm_error_set(err, -EINVAL,
							    "%s: rule %s wants %s %s, but rule %s (%s) wants %s",
							    p->rules[k].origin, p->rules[k].id,
							    b->argv[b->kind == GM_ACT_NTP ||
								    b->kind == GM_ACT_TIMEZONE ? 0 : 1],
							    setting_value(b), p->rules[i].id,
							    p->rules[i].origin, setting_value(a));
				}
		}
	return 0;
}

/* override RULE VALUE...: the value of every action of the rule that has
 * one becomes VALUE (accept/warn lists dropped: the site said what it wants). */
static int do_override(struct gm_rule *r, const struct pending *pd, struct gm_error *err)
{
	char *v = join(pd->argv, 2, pd->argc + 2);

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < r->nact; i++) {
		struct gm_action *a = &r->act[i];

		switch (a->kind) {
		case GM_ACT_SSHD:
		case GM_ACT_SSH:
		case GM_ACT_SYSCTL:
		case GM_ACT_PAMHASH:
		case GM_ACT_LOGINDEFS: {
			char *c = strdup(v);
			if (!c) {
				free(v);
				return -ENOMEM;
			}
			free(a->value);
			a->value = c;
			free(a->accept);
			free(a->warn);
			a->accept = a->warn = NULL;
			break;
		}
		case GM_ACT_NTP:
		case GM_ACT_TIMEZONE:
		case GM_ACT_GRUB:
		case GM_ACT_APTCONF:
		case GM_ACT_DHCLIENT: {
			char *c = strdup(v);
			if (!c) {
				free(v);
				return -ENOMEM;
			}
			free(a->argv[a->argc - 1]);
			a->argv[a->argc - 1] = c;
			break;
		}
		default:
			free(v);
			return gm_error_set(err, -EINVAL, "%s: override: rule %s has no value to "
					    "override (%s); waive it instead", pd->origin, r->id,
					    a->argv[0]);
		}
	}
	free(v);
	free(r->override_origin);
	r->override_origin = strdup(pd->origin);
	return r->override_origin ? 0 : -ENOMEM;
}

static int apply_pending(struct pstate *st)
{
	for (size_t i = 0; i < st->npend; i++) {
		const struct pending *pd = &st->pend[i];
		size_t hits = 0;

		for (size_t j = 0; j < st->p->nrules; j++) {
			struct gm_rule *r = &st->p->rules[j];
			int rc;

			if (fnmatch(pd->rule, r->id, 0))
				continue;
			hits++;
			if (pd->waive) {
				free(r->waive_reason);
				free(r->waive_origin);
				r->waive_reason = join(pd->argv, 2, pd->argc + 2);
				r->waive_origin = strdup(pd->origin);
				if (!r->waive_reason || !r->waive_origin)
					return -ENOMEM;
			} else if ((rc = do_override(r, pd, st->err)) < 0) {
				return rc;
			}
		}
		if (!hits)
			return gm_error_set(st->err, -EINVAL, "%s: %s: no rule %s is loaded", pd->origin,
					    pd->waive ? "waive" : "override", pd->rule);
	}
	return 0;
}

int gm_policy_parse(const char *name, const char *text, const char *dir, struct gm_policy **out,
		    struct gm_error *err)
{
	struct pstate st = { 0 };
	int rc;

	st.err = err;
	st.p = calloc(1, sizeof(*st.p));
	if (!st.p || !(st.p->name = strdup(name))) {
		free(st.p);
		return -ENOMEM;
	}
	st.seen = calloc(1, sizeof(char *));
	if (!st.seen || !(st.seen[0] = strdup(name))) {
		rc = -ENOMEM;
		goto out;
	}
	st.nseen = 1;
	rc = parse_into(&st, st.seen[0], text, dir);
	if (rc == 0 && !st.p->nrules)
		rc = gm_error_set(err, -EINVAL, "%s: no rules", name);
	if (rc == 0)
		rc = apply_pending(&st);
	for (size_t i = 0; rc == 0 && i < st.p->nrules; i++)
		if (!st.p->rules[i].source && !(st.p->rules[i].source = strdup(GM_SOURCE_GCEMOUNT)))
			rc = -ENOMEM;
	if (rc == 0)
		rc = check_conflicts(st.p, err);
out:
	for (size_t i = 0; i < st.nseen; i++)
		free(st.seen[i]);
	free(st.seen);
	for (size_t i = 0; i < st.npend; i++) {
		gm_strv_free(st.pend[i].argv);
		free(st.pend[i].origin);
	}
	free(st.pend);
	if (rc < 0) {
		if (err && !err->msg[0])
			gm_error_set(err, rc, "%s: %s", name, strerror(-rc));
		gm_policy_free(st.p);
		return rc;
	}
	*out = st.p;
	return 0;
}

int gm_policy_load(const char *name_or_path, struct gm_policy **out, struct gm_error *err)
{
	char *text = NULL, *name = NULL, *dir = NULL;
	int rc = load_text(name_or_path, NULL, &text, &name, &dir, err);

	if (rc == 0) {
		rc = gm_policy_parse(name, text, dir, out, err);
		if (rc == 0 && !strchr(name_or_path, '/') && strcmp(name, name_or_path) == 0) {
			/* a shipped one: its short name */
		} else if (rc == 0) {
			free((*out)->name);
			(*out)->name = strdup(name_or_path);
		}
	}
	free(text);
	free(name);
	free(dir);
	return rc;
}

int gm_policy_load_many(const char *const *names, size_t n, struct gm_policy **out,
			struct gm_error *err)
{
	size_t len = 1, namelen = 1;
	char *text, *name, *t, *nm;
	int rc;

	if (n == 1)
		return gm_policy_load(names[0], out, err);
	for (size_t i = 0; i < n; i++) {
		len += 2 * strlen(names[i]) + 16;
		namelen += strlen(names[i]) + 1;
	}
	text = malloc(len);
	name = malloc(namelen);
	if (!text || !name) {
		free(text);
		free(name);
		return -ENOMEM;
	}
	t = text;
	nm = name;
	for (size_t i = 0; i < n; i++) {
		t += sprintf(t, "include \"");
		for (const char *s = names[i]; *s; s++) {
			if (*s == '"' || *s == '\\')
				*t++ = '\\';
			*t++ = *s;
		}
		t += sprintf(t, "\"\n");
		nm += sprintf(nm, "%s%s", i ? "+" : "", names[i]);
	}
	rc = gm_policy_parse(name, text, NULL, out, err);
	free(text);
	free(name);
	return rc;
}
