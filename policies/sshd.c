/* sshd.c — sshd_config and ssh_config as OpenSSH reads them.
 *
 * The FIRST value of a keyword wins (keywords case-insensitive, "Key value"
 * or "Key=value"). Include is expanded in place (globs in lexical order,
 * relative paths from /etc/ssh); a Match (server) or Host/Match (client)
 * block ends at the next block header or at the end of the file it is in
 * (an included file's block does not leak into the includer); Include inside
 * a block is conditional. "Unconditional" means: server, outside any Match
 * (or after "Match all"); client, for every host (top level, "Host *",
 * "Match all").
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policies/internal.h"

#define MAX_DEPTH 16

struct sfile {
	char *path;
	struct gm_lines lines;
	char *orig;
	size_t origlen;
	char *out;     /* joined result, refreshed by gm_sshcfg_file */
};

struct cmdopt {
	char *key, *value, *file;
	int line;
};

struct gm_sshcfg {
	enum gm_ssh_kind kind;
	struct sfile *f;
	size_t n, cap;
	struct cmdopt *opt;   /* sshd -o options, in command-line order */
	size_t nopt;
};

/* A parsed config line. */
struct kline {
	const char *key;
	size_t keylen;
	const char *val;   /* rest of the line after the separator */
	size_t vallen;     /* trailing whitespace trimmed */
};

static bool parse_kline(const char *text, struct kline *k)
{
	const char *s = gm_skip_ws(text), *v;

	if (!*s || *s == '#')
		return false;
	k->key = s;
	k->keylen = 0;
	while (s[k->keylen] && s[k->keylen] != ' ' && s[k->keylen] != '\t' && s[k->keylen] != '=')
		k->keylen++;
	v = gm_skip_ws(s + k->keylen);
	if (*v == '=')
		v = gm_skip_ws(v + 1);
	k->val = v;
	k->vallen = strlen(v);
	while (k->vallen && (v[k->vallen - 1] == ' ' || v[k->vallen - 1] == '\t'))
		k->vallen--;
	return k->keylen > 0;
}

static void copy_value(const struct kline *k, char *out, size_t size)
{
	const char *v = k->val;
	size_t n = k->vallen;

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	if (n >= size)
		n = size - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

static void free_file(struct sfile *f)
{
	free(f->path);
	gm_lines_free(&f->lines);
	free(f->orig);
	free(f->out);
}

void gm_sshcfg_free(struct gm_sshcfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free_file(&c->f[i]);
	free(c->f);
	for (size_t i = 0; i < c->nopt; i++) {
		free(c->opt[i].key);
		free(c->opt[i].value);
		free(c->opt[i].file);
	}
	free(c->opt);
	free(c);
}

static int add_file(struct gm_sshcfg *c, const char *path, char *buf, size_t len)
{
	struct sfile *f;
	int rc;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct sfile *v = realloc(c->f, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->f = v;
		c->cap = cap;
	}
	f = &c->f[c->n];
	memset(f, 0, sizeof(*f));
	if (!(f->path = strdup(path)))
		return -ENOMEM;
	rc = gm_lines_parse(&f->lines, buf, len);
	if (rc < 0) {
		free(f->path);
		return rc;
	}
	f->orig = buf;
	f->origlen = len;
	c->n++;
	return 0;
}

static int find_file(const struct gm_sshcfg *c, const char *path)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->f[i].path, path))
			return (int)i;
	return -1;
}

/* The absolute glob pattern of one Include argument. */
static char *include_pattern(const char *arg, size_t n)
{
	if (n >= 2 && arg[0] == '"' && arg[n - 1] == '"') {
		arg++;
		n -= 2;
	}
	if (n && arg[0] == '/')
		return strndup(arg, n);
	if (n && arg[0] == '~')
		return NULL;   /* a user's home: not in an image's system config */
	return gm_strdupf("/etc/ssh/%.*s", (int)n, arg);
}

static int load_rec(struct gm_sshcfg *c, const struct gm_root *r, size_t fi, int depth,
		    struct gm_error *err)
{
	if (depth > MAX_DEPTH)
		return gm_error_set(err, -ELOOP, "%s: Include nested too deeply", c->f[fi].path);
	for (size_t li = 0; li < c->f[fi].lines.n; li++) {
		struct kline k;
		const char *a;

		if (!parse_kline(c->f[fi].lines.v[li].text, &k) ||
		    !gm_word_eq(k.key, k.keylen, "Include", true))
			continue;
		for (a = k.val; *(a = gm_skip_ws(a));) {
			size_t n = gm_word_len(a);
			char *pat, **m = NULL;
			int rc = 0;

			if (!n)
				break;   /* a stray '\r': no progress, the arguments end */
			pat = include_pattern(a, n);

			a += n;
			if (!pat)
				continue;
			rc = gm_root_glob_sorted(r, pat, &m, NULL);
			free(pat);
			if (rc < 0)
				return gm_error_set(err, rc, "%s: Include: %s", c->f[fi].path,
						    strerror(-rc));
			for (char **p = m; *p && rc == 0; p++) {
				char *buf;
				size_t len;

				if (find_file(c, *p) >= 0)
					continue;
				rc = gm_root_read(r, *p, &buf, &len);
				if (rc == -EISDIR || rc == -ENOENT || rc == -EINVAL) {
					rc = 0;
					continue;
				}
				if (rc < 0) {
					gm_error_set(err, rc, "%s: %s", *p, strerror(-rc));
					break;
				}
				rc = add_file(c, *p, buf, len);
				if (rc < 0) {
					free(buf);
					break;
				}
				rc = load_rec(c, r, c->n - 1, depth + 1, err);
			}
			gm_strv_free(m);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int gm_sshcfg_load(const struct gm_root *r, enum gm_ssh_kind kind, const char *main,
		   struct gm_sshcfg **out, struct gm_error *err)
{
	struct gm_sshcfg *c = calloc(1, sizeof(*c));
	char *buf;
	size_t len;
	int rc;

	if (!c)
		return -ENOMEM;
	c->kind = kind;
	rc = gm_root_read(r, main, &buf, &len);
	if (rc < 0) {
		gm_error_set(err, rc, "%s: %s", main, strerror(-rc));
		goto fail;
	}
	rc = add_file(c, main, buf, len);
	if (rc < 0) {
		free(buf);
		goto fail;
	}
	rc = load_rec(c, r, 0, 0, err);
	if (rc < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	gm_sshcfg_free(c);
	return rc;
}

int gm_sshcfg_from_buffer(enum gm_ssh_kind kind, const char *path, const char *buf, size_t len,
			  struct gm_sshcfg **out)
{
	struct gm_sshcfg *c = calloc(1, sizeof(*c));
	char *copy = malloc(len + 1);
	int rc;

	if (!c || !copy) {
		free(c);
		free(copy);
		return -ENOMEM;
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	c->kind = kind;
	rc = add_file(c, path, copy, len);
	if (rc < 0) {
		free(copy);
		gm_sshcfg_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* ---- the walk ---- */
enum bstate { B_GLOBAL, B_YES, B_NO, B_UNKNOWN };

struct visit {
	const char *key;           /* "A" or "A|B" (aliases) */
	const struct gm_ssh_conn *conn;
	/* results */
	int found;                 /* global (client: for every host) */
	size_t ffile, fline;
	int mfound;                /* server: in a Match block matching conn */
	size_t mfile, mline;
	int cond_found;            /* a block that does not match / cannot be told */
	size_t cfile, cline;
	size_t stack[MAX_DEPTH + 2];   /* files being walked: an Include cycle is cut */
};

/* OpenSSH spells some options two ways. */
static const char *key_aliases(const char *key)
{
	static const char *const al[] = {
		"KbdInteractiveAuthentication|ChallengeResponseAuthentication",
		"PubkeyAcceptedAlgorithms|PubkeyAcceptedKeyTypes",
		"HostbasedAcceptedAlgorithms|HostbasedAcceptedKeyTypes",
	};

	for (size_t i = 0; i < sizeof(al) / sizeof(al[0]); i++) {
		size_t w = strcspn(al[i], "|");

		if ((strlen(key) == w && !strncasecmp(al[i], key, w)) || !strcasecmp(al[i] + w + 1, key))
			return al[i];
	}
	return key;
}

static bool key_is(const struct kline *k, const char *keys)
{
	for (const char *p = keys; *p;) {
		size_t w = strcspn(p, "|");

		if (w == k->keylen && !strncasecmp(k->key, p, w))
			return true;
		p += w + (p[w] == '|');
	}
	return false;
}

static bool host_all(const char *v, size_t n)
{
	bool star = false;

	while (n) {
		size_t w = 0;

		while (w < n && v[w] != ' ' && v[w] != '\t' && v[w] != ',')
			w++;
		if (w && v[0] == '!')
			return false;
		if (w == 1 && v[0] == '*')
			star = true;
		if (w == 3 && v[0] == '"' && v[1] == '*' && v[2] == '"')
			star = true;
		v += w;
		n -= w;
		while (n && (*v == ' ' || *v == '\t' || *v == ',')) {
			v++;
			n--;
		}
	}
	return star;
}

/* The state a block header puts the following lines in. */
static enum bstate block_state(const struct gm_sshcfg *c, const struct kline *k, enum bstate in,
			       const struct gm_ssh_conn *conn)
{
	if (in == B_NO || in == B_UNKNOWN)
		return in;   /* a block inside a block that does not apply */
	if (c->kind == GM_SSH_CLIENT) {
		bool all = gm_word_eq(k->key, k->keylen, "Match", true)
				   ? gm_word_eq(k->val, k->vallen, "all", true)
				   : host_all(k->val, k->vallen);
		return all ? in : B_NO;
	}
	switch (gm_ssh_match_eval(k->val, k->vallen, conn)) {
	case GM_SSH_MATCH_YES: return B_YES;
	case GM_SSH_MATCH_NO: return B_NO;
	default: return B_UNKNOWN;
	}
}

static void walk(const struct gm_sshcfg *c, size_t fi, enum bstate st_in, int depth,
		 struct visit *vs)
{
	enum bstate st = st_in;

	if (depth > MAX_DEPTH)
		return;
	/* a file that (indirectly) includes itself: without this, k such
	 * Include lines cost k^MAX_DEPTH walks (found by fuzzing) */
	for (int d = 0; d < depth; d++)
		if (vs->stack[d] == fi)
			return;
	vs->stack[depth] = fi;
	for (size_t li = 0; li < c->f[fi].lines.n; li++) {
		struct kline k;

		if (!parse_kline(c->f[fi].lines.v[li].text, &k))
			continue;
		if (gm_word_eq(k.key, k.keylen, "Match", true) ||
		    (c->kind == GM_SSH_CLIENT && gm_word_eq(k.key, k.keylen, "Host", true))) {
			st = block_state(c, &k, st_in, vs->conn);
			continue;
		}
		if (gm_word_eq(k.key, k.keylen, "Include", true)) {
			for (const char *a = k.val; *(a = gm_skip_ws(a));) {
				size_t n = gm_word_len(a);
				char *pat;

				if (!n)
					break;   /* a stray '\r': no progress, the arguments end */
				pat = include_pattern(a, n);
				a += n;
				if (!pat)
					continue;
				/* files were loaded sorted per pattern; keep that order */
				const char **m = calloc(c->n + 1, sizeof(*m));
				size_t nm = 0;
				for (size_t j = 0; m && j < c->n; j++)
					if (!fnmatch(pat, c->f[j].path, FNM_PATHNAME | FNM_PERIOD))
						m[nm++] = c->f[j].path;
				for (size_t x = 0; x < nm; x++)
					for (size_t y = x + 1; y < nm; y++)
						if (strcmp(m[x], m[y]) > 0) {
							const char *t = m[x];
							m[x] = m[y];
							m[y] = t;
						}
				for (size_t x = 0; x < nm; x++)
					walk(c, (size_t)find_file(c, m[x]), st, depth + 1, vs);
				free(m);
				free(pat);
			}
			continue;
		}
		if (!key_is(&k, vs->key))
			continue;
		if (st == B_GLOBAL && !vs->found) {
			vs->found = 1;
			vs->ffile = fi;
			vs->fline = li;
		} else if (st == B_YES && !vs->mfound) {
			vs->mfound = 1;
			vs->mfile = fi;
			vs->mline = li;
		} else if ((st == B_NO || st == B_UNKNOWN) && !vs->cond_found &&
			   (st == B_UNKNOWN || !vs->conn)) {
			vs->cond_found = 1;
			vs->cfile = fi;
			vs->cline = li;
		}
	}
}

static int lookup(const struct gm_sshcfg *c, const char *key, const struct gm_ssh_conn *conn,
		  struct visit *vs)
{
	memset(vs, 0, sizeof(*vs));
	vs->key = key_aliases(key);
	vs->conn = conn;
	walk(c, 0, B_GLOBAL, 0, vs);
	return vs->found || vs->mfound;
}

static const struct cmdopt *cmdline_opt(const struct gm_sshcfg *c, const char *keys)
{
	keys = key_aliases(keys);
	for (size_t i = 0; i < c->nopt; i++) {
		struct kline k = { .key = c->opt[i].key, .keylen = strlen(c->opt[i].key) };

		if (key_is(&k, keys))
			return &c->opt[i];
	}
	return NULL;
}

int gm_sshcfg_add_cmdline(struct gm_sshcfg *c, const char *key, const char *value,
			  const char *file, int line)
{
	struct cmdopt *v = realloc(c->opt, (c->nopt + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	c->opt = v;
	v = &c->opt[c->nopt];
	v->key = strdup(key);
	v->value = strdup(value);
	v->file = strdup(file);
	v->line = line;
	if (!v->key || !v->value || !v->file) {
		free(v->key);
		free(v->value);
		free(v->file);
		return -ENOMEM;
	}
	c->nopt++;
	return 0;
}

int gm_sshcfg_get_conn(const struct gm_sshcfg *c, const char *key, const struct gm_ssh_conn *conn,
		       struct gm_ssh_found *f)
{
	struct visit vs;
	struct kline k;
	const struct cmdopt *o;
	size_t fi, li;

	memset(f, 0, sizeof(*f));
	lookup(c, key, conn, &vs);
	if (vs.cond_found) {
		f->conditional_line = (int)vs.cline + 1;
		f->cfile = c->f[vs.cfile].path;
	}
	if (vs.mfound && c->kind == GM_SSH_SERVER) {
		fi = vs.mfile;
		li = vs.mline;
		f->in_match = true;
	} else if (c->kind == GM_SSH_SERVER && (o = cmdline_opt(c, key))) {
		snprintf(f->value, sizeof(f->value), "%s", o->value);
		f->file = o->file;
		f->line = o->line;
		f->cmdline = true;
		return 1;
	} else if (vs.found) {
		fi = vs.ffile;
		li = vs.fline;
	} else {
		return 0;
	}
	parse_kline(c->f[fi].lines.v[li].text, &k);
	copy_value(&k, f->value, sizeof(f->value));
	f->file = c->f[fi].path;
	f->line = (int)li + 1;
	return 1;
}

int gm_sshcfg_get(const struct gm_sshcfg *c, const char *key, struct gm_ssh_found *f)
{
	return gm_sshcfg_get_conn(c, key, NULL, f);
}

/* "#Key ..." or "# Key ..." */
static bool commented_key(const char *text, const char *key)
{
	const char *s = gm_skip_ws(text);
	size_t n = strlen(key);

	if (*s != '#')
		return false;
	s = gm_skip_ws(s + 1);
	return !strncasecmp(s, key, n) && (s[n] == ' ' || s[n] == '\t' || s[n] == '=');
}

static bool is_block(const struct gm_sshcfg *c, const char *text, struct kline *k)
{
	if (!parse_kline(text, k))
		return false;
	return gm_word_eq(k->key, k->keylen, "Match", true) ||
	       (c->kind == GM_SSH_CLIENT && gm_word_eq(k->key, k->keylen, "Host", true));
}

/* Where to insert in the main file: 1 with *at and the indent, 0 none. */
static size_t insert_point(const struct gm_sshcfg *c, const char *key, const char **indent)
{
	const struct gm_lines *l = &c->f[0].lines;
	size_t first_block = l->n, at;
	struct kline k;

	*indent = "";
	for (size_t i = 0; i < l->n; i++)
		if (is_block(c, l->v[i].text, &k)) {
			first_block = i;
			break;
		}
	if (c->kind == GM_SSH_CLIENT) {
		/* the first "Host *" / "Match all" block of the main file */
		for (size_t i = first_block; i < l->n; i++) {
			size_t end, last = i, cm = 0;

			if (!is_block(c, l->v[i].text, &k))
				continue;
			if (!(gm_word_eq(k.key, k.keylen, "Match", true)
				      ? gm_word_eq(k.val, k.vallen, "all", true)
				      : host_all(k.val, k.vallen)))
				continue;
			for (end = i + 1; end < l->n && !is_block(c, l->v[end].text, &k); end++) {
				const char *t = gm_skip_ws(l->v[end].text);

				if (commented_key(t, key) && !cm)
					cm = end + 1;
				if (*t && *t != '#') {
					last = end;
					size_t w = (size_t)(t - l->v[end].text);
					static char ind[64];
					if (w < sizeof(ind)) {
						memcpy(ind, l->v[end].text, w);
						ind[w] = '\0';
						*indent = ind;
					}
				}
			}
			if (!**indent)
				*indent = "    ";
			return cm ? cm : last + 1;
		}
	}
	/* after the commented default (the first one: later ones tend to be
	 * examples, like Debian's commented "#Match User anoncvs" block) */
	for (size_t i = 0; i < first_block; i++)
		if (commented_key(l->v[i].text, key))
			return i + 1;
	at = first_block;
	if (at < l->n) {
		/* keep the comment block that introduces the Match with it */
		while (at > 0 && *gm_skip_ws(l->v[at - 1].text) == '#')
			at--;
	}
	return at;
}

static bool value_eq(const char *a, const char *b)
{
	return !strcasecmp(a, b);
}

static int replace_value(struct gm_sshcfg *c, size_t fi, size_t li, const char *value)
{
	struct gm_line *ln = &c->f[fi].lines.v[li];
	struct kline k;
	char *line;
	int rc;

	parse_kline(ln->text, &k);
	/* keep indentation, keyword spelling and separator ("Key=v", "Key = v") */
	line = gm_strdupf("%.*s%s%s", (int)(k.val - ln->text), ln->text,
			  k.val == k.key + k.keylen ? " " : "", value);
	if (!line)
		return -ENOMEM;
	rc = gm_lines_replace(&c->f[fi].lines, li, line);
	free(line);
	return rc;
}

/* The connections a server setting must hold for: any (blocks that match
 * every connection), an ordinary user, root. */
static const struct gm_ssh_conn *const set_conns[] = { NULL, &gm_ssh_conn_user, &gm_ssh_conn_root };
#define NCONNS (sizeof(set_conns) / sizeof(set_conns[0]))

static bool effective_ok(const struct gm_sshcfg *c, const char *key, const char *value)
{
	struct gm_ssh_found f;
	size_t n = c->kind == GM_SSH_SERVER ? NCONNS : 1;

	for (size_t i = 0; i < n; i++)
		if (!gm_sshcfg_get_conn(c, key, set_conns[i], &f) || !value_eq(f.value, value))
			return false;
	return true;
}

int gm_sshcfg_set(struct gm_sshcfg *c, const char *key, const char *value)
{
	const char *keys = key_aliases(key);
	struct visit vs;
	int rc;

	if (effective_ok(c, keys, value))
		return 0;
	/* a Match block that applies to the connection overrides the global
	 * value: fix it where it is (bounded: each pass fixes one line) */
	for (size_t pass = 0; c->kind == GM_SSH_SERVER && pass < 64; pass++) {
		bool fixed = false;

		for (size_t i = 0; i < NCONNS && !fixed; i++) {
			lookup(c, keys, set_conns[i], &vs);
			if (!vs.mfound)
				continue;
			struct kline k;
			char v[256];
			parse_kline(c->f[vs.mfile].lines.v[vs.mline].text, &k);
			copy_value(&k, v, sizeof(v));
			if (value_eq(v, value))
				continue;
			if ((rc = replace_value(c, vs.mfile, vs.mline, value)) < 0)
				return rc;
			fixed = true;
		}
		if (!fixed)
			break;
	}
	lookup(c, keys, NULL, &vs);
	if (vs.found) {
		struct kline k;
		char v[256];
		parse_kline(c->f[vs.ffile].lines.v[vs.fline].text, &k);
		copy_value(&k, v, sizeof(v));
		if (!value_eq(v, value) && (rc = replace_value(c, vs.ffile, vs.fline, value)) < 0)
			return rc;
	} else if (!effective_ok(c, keys, value)) {
		const char *indent;
		size_t at = insert_point(c, key, &indent);
		char *line = gm_strdupf("%s%s %s", indent, key, value);

		if (!line)
			return -ENOMEM;
		rc = gm_lines_insert(&c->f[0].lines, at, line);
		free(line);
		if (rc < 0)
			return rc;
	}
	/* cannot happen unless a command-line option decides (the caller's
	 * business) or the walk and the edit disagree */
	return effective_ok(c, keys, value) ? 1 : -EDEADLK;
}

size_t gm_sshcfg_nfiles(const struct gm_sshcfg *c)
{
	return c->n;
}

const char *gm_sshcfg_file(const struct gm_sshcfg *c, size_t i, char **buf, size_t *len,
			   bool *changed)
{
	struct sfile *f = &c->f[i];

	free(f->out);
	f->out = NULL;
	if (gm_lines_join(&f->lines, &f->out, len) < 0)
		return NULL;
	*buf = f->out;
	*changed = *len != f->origlen || memcmp(f->out, f->orig, *len);
	return f->path;
}

/* ---- versions ---- */
int gm_openssh_version(const char *st, size_t len, const char *pkg)
{
	char want[128];
	const char *p = st, *end = st + len;

	snprintf(want, sizeof(want), "Package: %s\n", pkg);
	while (p < end) {
		const char *hit = memmem(p, (size_t)(end - p), want, strlen(want));
		const char *stanza_end, *v;
		unsigned maj = 0, min = 0;

		if (!hit)
			return 0;
		if (hit != st && hit[-1] != '\n') {
			p = hit + 1;
			continue;
		}
		stanza_end = memmem(hit, (size_t)(end - hit), "\n\n", 2);
		if (!stanza_end)
			stanza_end = end;
		v = memmem(hit, (size_t)(stanza_end - hit), "\nVersion: ", 10);
		if (!v)
			return 0;
		v += 10;
		const char *colon = memchr(v, ':', (size_t)(stanza_end - v));
		const char *nl = memchr(v, '\n', (size_t)(stanza_end - v));
		if (colon && (!nl || colon < nl))
			v = colon + 1;
		if (sscanf(v, "%u.%u", &maj, &min) != 2)
			return 0;
		return (int)(maj * 100 + min);
	}
	return 0;
}

struct kwrule {
	unsigned kinds;     /* 1 server, 2 client */
	const char *key;
	const char *value;  /* NULL: any value; else a token that triggers */
	int min, max;       /* accepted in [min, max); 0 = no bound */
	const char *why;
};

static const struct kwrule kwrules[] = {
	{ 3, "Protocol", NULL, 0, 706, "SSH protocol 1 and the Protocol keyword were removed in OpenSSH 7.6" },
	{ 1, "UsePrivilegeSeparation", NULL, 0, 705, "deprecated in OpenSSH 7.5" },
	{ 3, "RSAAuthentication", NULL, 0, 704, "protocol 1 only; removed in OpenSSH 7.4" },
	{ 3, "RhostsRSAAuthentication", NULL, 0, 704, "protocol 1 only; removed in OpenSSH 7.4" },
	{ 1, "UseLogin", NULL, 0, 704, "removed in OpenSSH 7.4" },
	{ 1, "ServerKeyBits", NULL, 0, 704, "protocol 1 only; removed in OpenSSH 7.4" },
	{ 1, "KeyRegenerationInterval", NULL, 0, 704, "protocol 1 only; removed in OpenSSH 7.4" },
	{ 3, "PubkeyAcceptedAlgorithms", NULL, 805, 0, "new in OpenSSH 8.5" },
	{ 3, "HostbasedAcceptedAlgorithms", NULL, 805, 0, "new in OpenSSH 8.5" },
	{ 1, "PermitRootLogin", "prohibit-password", 700, 0, "prohibit-password is new in OpenSSH 7.0" },
	{ 2, "StrictHostKeyChecking", "accept-new", 706, 0, "accept-new is new in OpenSSH 7.6" },
	{ 3, "Ciphers", "arcfour", 0, 706, "arcfour ciphers were removed in OpenSSH 7.6" },
	{ 3, "Ciphers", "arcfour128", 0, 706, "arcfour ciphers were removed in OpenSSH 7.6" },
	{ 3, "Ciphers", "arcfour256", 0, 706, "arcfour ciphers were removed in OpenSSH 7.6" },
	{ 3, "Ciphers", "blowfish-cbc", 0, 706, "blowfish-cbc was removed in OpenSSH 7.6" },
	{ 3, "Ciphers", "cast128-cbc", 0, 706, "cast128-cbc was removed in OpenSSH 7.6" },
	{ 3, "Ciphers", "rijndael-cbc@lysator.liu.se", 0, 706, "removed in OpenSSH 7.6" },
	{ 3, "Ciphers", "3des-cbc", 0, 0, "3des-cbc is refused by this tool (weak, gone from defaults since OpenSSH 7.4)" },
};

static bool has_token(const char *list, const char *tok)
{
	size_t n = strlen(tok);

	for (const char *p = list; *p;) {
		size_t w = strcspn(p, ", \t");

		if (w == n && !strncasecmp(p, tok, n))
			return true;
		p += w;
		p += strspn(p, ", \t");
	}
	return false;
}

bool gm_ssh_setting_ok(enum gm_ssh_kind kind, const char *key, const char *value, int version,
		       char *why, size_t whylen)
{
	unsigned bit = kind == GM_SSH_SERVER ? 1 : 2;

	for (size_t i = 0; i < sizeof(kwrules) / sizeof(kwrules[0]); i++) {
		const struct kwrule *r = &kwrules[i];

		if (!(r->kinds & bit) || strcasecmp(r->key, key))
			continue;
		if (r->value && !has_token(value, r->value))
			continue;
		bool ok = true;
		if (!r->min && !r->max)
			ok = false;   /* refused whatever the version */
		if (r->min && version && version < r->min)
			ok = false;
		/* removed: refused when the version is unknown (no current one takes it) */
		if (r->max && (!version || version >= r->max))
			ok = false;
		if (!ok) {
			snprintf(why, whylen, "%s %s: %s%s", key, value, r->why,
				 version ? "" : " (OpenSSH version unknown)");
			if (version)
				snprintf(why + strlen(why), whylen - strlen(why),
					 "; the image has OpenSSH %d.%d", version / 100,
					 version % 100);
			return false;
		}
	}
	return true;
}
