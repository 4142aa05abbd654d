/* internal.h — the policy engine's private interfaces (not for cli/ or fuse/;
 * the unit tests include it).
 *
 *  lines.c    a text buffer as an array of lines (line endings kept), and a
 *             small unified diff
 *  root*.c    where files come from: struct gm_root is a tiny VFS with two
 *             implementations (an image filesystem through editor/view/path.h, a
 *             host directory for tests) and an overlay that records edits so
 *             that many rules compose and a dry run writes nothing
 *  sshd.c     sshd_config / ssh_config (first value wins, Include, Match/Host;
 *             Match blocks override for the connections they match)
 *  sshd_match.c  sshd's Match criteria for one connection (sshd -T -C)
 *  cmdline.c  command lines in files: SSHD_OPTS, systemd ExecStart (-o K=V)
 *  sysctl.c   sysctl.d precedence (last value wins)
 *  textconf.c login.defs, /etc/default/grub, ntp.conf, chrony.conf, timesyncd
 *  grubcfg.c  grub.cfg (default entry, kernel lines), BLS, /etc/kernel/cmdline
 *  aptconf.c  apt.conf as apt parses it
 *  accounts.c passwd (nologin shells), shadow (root lock), PAM pam_unix hash
 *  parse.c    the policy file format (override, waive); engine.c runs rules,
 *             whose actions are in act_config.c, act_ssh.c, act_time.c,
 *             act_boot.c and act_files.c (private: actions.h)
 *
 * The editors are pure functions from buffers to buffers: they return 1 when
 * they changed something, 0 when nothing needed changing, -errno on failure,
 * and never touch a file.
 */
#ifndef GM_POLICIES_INTERNAL_H
#define GM_POLICIES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "policies/policy.h"

#define GM_CONF_MAX (16u << 20)   /* largest config file we read */

/* ---- lines.c ---- */
struct gm_line {
	char *text;      /* without the line ending; NUL-terminated, owned */
	size_t len;
	const char *eol; /* "\n", "\r\n" or "" (last line without newline) */
};

struct gm_lines {
	struct gm_line *v;
	size_t n, cap;
	const char *eol; /* ending for new lines: the file's own ("\r\n" if it uses it) */
};

int gm_lines_parse(struct gm_lines *l, const char *buf, size_t len);
void gm_lines_free(struct gm_lines *l);
/* Inserts text (no line ending) before index at (at == n appends). A file
 * whose last line had no newline gets one first. */
int gm_lines_insert(struct gm_lines *l, size_t at, const char *text);
int gm_lines_replace(struct gm_lines *l, size_t at, const char *text);
void gm_lines_delete(struct gm_lines *l, size_t at);
int gm_lines_join(const struct gm_lines *l, char **out, size_t *outlen);
/* What a gm_line_fn does with a line: keeps it, replaces it with *repl
 * (malloc'd by the function, NULL for out of memory) or deletes it; or
 * -errno, which stops the edit. */
enum { GM_LINE_KEEP, GM_LINE_REPLACE, GM_LINE_DELETE };
typedef int (*gm_line_fn)(void *priv, const char *text, char **repl);
/* in with each line as fn says, line endings kept: 1 and *out (malloc'd)
 * when a line changed, 0 when none did, or -errno. */
int gm_lines_edit(const char *in, size_t len, gm_line_fn fn, void *priv, char **out,
		  size_t *outlen);
/* Unified diff (3 lines of context) of a -> b with "--- a/PATH" headers;
 * malloc'd, "" when equal. NULL on ENOMEM. */
char *gm_diff(const char *path, const char *a, size_t alen, const char *b, size_t blen);

/* small string helpers */
const char *gm_skip_ws(const char *s);
size_t gm_word_len(const char *s);                  /* up to whitespace */
bool gm_word_eq(const char *s, size_t n, const char *w, bool icase);
char *gm_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- root.c: the VFS ---- */
typedef int (*gm_root_glob_fn)(void *priv, const char *path);

struct gm_root_ops {
	int (*read)(void *h, const char *path, size_t max, char **buf, size_t *len);
	int (*stat)(void *h, const char *path, bool follow, struct stat *st);
	int (*readlink)(void *h, const char *path, char *buf, size_t size);
	int (*glob)(void *h, const char *pattern, gm_root_glob_fn fn, void *priv);
	int (*write)(void *h, const char *path, const void *buf, size_t len, mode_t mode,
		     uid_t uid, gid_t gid);
	int (*chattr)(void *h, const char *path, mode_t mode, uid_t uid, gid_t gid);
	int (*remove)(void *h, const char *path);
	int (*symlink)(void *h, const char *target, const char *path);
	int (*mkdir)(void *h, const char *path, mode_t mode);
};

struct gm_root {
	const struct gm_root_ops *ops;
	void *h;
};

struct gm_root_fs {
	struct gm_root root;
	struct gm_view *v;
};
void gm_root_fs_init(struct gm_root_fs *r, struct gm_view *v);
/* A host directory standing for the image root (tests). */
struct gm_root_dir {
	struct gm_root root;
	char dir[4096];
};
void gm_root_dir_init(struct gm_root_dir *r, const char *dir);

/* The overlay: reads see pending edits; gm_overlay_commit replays them. */
struct gm_overlay;
struct gm_overlay *gm_overlay_new(const struct gm_root *base);
void gm_overlay_free(struct gm_overlay *o);
const struct gm_root *gm_overlay_root(struct gm_overlay *o);
/* Writes every pending edit to the base, in order. 0 or -errno (path in err). */
int gm_overlay_commit(struct gm_overlay *o, struct gm_error *err);
bool gm_overlay_empty(const struct gm_overlay *o);
/* Starts a new step (a rule); gm_overlay_diff gives the unified diff of the
 * text files written since, and a line per removal/symlink ("" if none). */
void gm_overlay_begin(struct gm_overlay *o);
char *gm_overlay_diff(struct gm_overlay *o);

/* Convenience on any root. */
int gm_root_read(const struct gm_root *r, const char *path, char **buf, size_t *len);
bool gm_root_exists(const struct gm_root *r, const char *path, bool follow);
/* Sorted, de-duplicated matches of pattern (NULL-terminated, free with
 * gm_strv_free). */
int gm_root_glob_sorted(const struct gm_root *r, const char *pattern, char ***out, size_t *n);
void gm_strv_free(char **v);

/* ---- sshd.c ---- */
struct gm_sshcfg;          /* a config with its Include'd files */
enum gm_ssh_kind { GM_SSH_SERVER, GM_SSH_CLIENT };

/* Loads main (e.g. /etc/ssh/sshd_config) and every file it Includes
 * (relative paths from /etc/ssh, globs sorted, depth <= 16). -ENOENT when
 * main is missing. */
int gm_sshcfg_load(const struct gm_root *r, enum gm_ssh_kind kind, const char *main,
		   struct gm_sshcfg **out, struct gm_error *err);
/* A single buffer, Includes recorded but not followed (pure tests). */
int gm_sshcfg_from_buffer(enum gm_ssh_kind kind, const char *path, const char *buf,
			  size_t len, struct gm_sshcfg **out);
void gm_sshcfg_free(struct gm_sshcfg *c);

struct gm_ssh_found {
	char value[256];   /* effective value (as written), "" if unset */
	const char *file;  /* where (borrowed from the cfg), NULL if unset */
	int line;          /* 1-based */
	int conditional_line; /* >0: a Match/Host block (in file cfile) also sets it */
	const char *cfile;
	bool in_match;     /* the value comes from a Match block matching the connection */
	bool cmdline;      /* the value comes from sshd's command line (-o) */
};
/* The unconditional effective value (server: outside Match; client: for
 * every host, i.e. top level, "Host *" or "Match all"). 1 found, 0 not set. */
int gm_sshcfg_get(const struct gm_sshcfg *c, const char *key, struct gm_ssh_found *f);
/* sshd: a connection, as `sshd -T -C user=,host=,addr=,laddr=,lport=` takes
 * it; the two gcemount judges the server for (sshd_match.c). */
struct gm_ssh_conn {
	const char *user, *host, *addr, *laddr;
	int lport;
};
extern const struct gm_ssh_conn gm_ssh_conn_user, gm_ssh_conn_root;
enum gm_ssh_match { GM_SSH_MATCH_NO, GM_SSH_MATCH_YES, GM_SSH_MATCH_UNKNOWN };
/* The arguments of a Match line for conn (NULL: only "all" is decided). */
enum gm_ssh_match gm_ssh_match_eval(const char *args, size_t n, const struct gm_ssh_conn *conn);
/* Server: the value of key for conn, as sshd applies it: the first value in
 * a Match block matching conn beats the first global one (command-line -o
 * options, see gm_sshcfg_add_cmdline, come before the global ones).
 * f->in_match says it came from a Match block; conditional_line names a
 * block gcemount cannot decide (Group, ...) or, with conn NULL, any other
 * block. Client: as gm_sshcfg_get. keys: one name or "A|B" aliases. */
int gm_sshcfg_get_conn(const struct gm_sshcfg *c, const char *key, const struct gm_ssh_conn *conn,
		       struct gm_ssh_found *f);
/* Options sshd gets on its command line (-o Key=Value), origin FILE:LINE. */
int gm_sshcfg_add_cmdline(struct gm_sshcfg *c, const char *key, const char *value,
			  const char *file, int line);
/* Makes value effective: fixes the effective occurrence in place, or inserts
 * a line in the main file where it is unconditional (after a commented
 * default, before the first Match/Host, or into the "Host *" block for the
 * client). 1 changed, 0 already so, -errno. */
int gm_sshcfg_set(struct gm_sshcfg *c, const char *key, const char *value);
/* Iterates the files whose content changed. */
size_t gm_sshcfg_nfiles(const struct gm_sshcfg *c);
const char *gm_sshcfg_file(const struct gm_sshcfg *c, size_t i, char **buf, size_t *len,
			   bool *changed);

/* Version of package pkg (openssh-server / openssh-client) from a dpkg
 * status file: "1:9.2p1-2" -> 902; 0 when unknown. */
int gm_openssh_version(const char *dpkg_status, size_t len, const char *pkg);
/* Whether that OpenSSH version accepts "key value" (server or client); why
 * filled when not. version 0 (unknown): only values no version accepts. */
bool gm_ssh_setting_ok(enum gm_ssh_kind kind, const char *key, const char *value, int version,
		       char *why, size_t whylen);

/* ---- cmdline.c ---- */
/* Each "-o Key=Value" of a command line: fn(priv, key, value); count or -errno. */
typedef int (*gm_sshd_opt_fn)(void *priv, const char *key, const char *value);
int gm_sshd_cmdline_opts(const char *s, size_t n, gm_sshd_opt_fn fn, void *priv);
/* Removes every -o KEY=... from the lines starting with prefix ("SSHD_OPTS="
 * or "ExecStart="); 1 changed, 0 nothing to drop. */
int gm_cmdline_drop_opt(const char *in, size_t len, const char *prefix, const char *key,
			char **out, size_t *outlen);
/* A shell assignment NAME=value (last wins): 1 found (value unquoted), 0 not. */
int gm_shell_var(const char *in, size_t len, const char *name, char *val, size_t vsz, int *line);

/* ---- sysctl.c ---- */
void gm_sysctl_normalize(const char *key, char *out, size_t outlen);
/* Pure: in one sysctl file, sets the LAST explicit assignment of key to
 * value (1 changed, 0 equal, -ENOENT when the file has none). */
int gm_sysctl_edit(const char *in, size_t len, const char *key, const char *value,
		   char **out, size_t *outlen);
/* Pure: appends "key = value" (1) unless present. */
int gm_sysctl_append(const char *in, size_t len, const char *key, const char *value,
		     char **out, size_t *outlen);
struct gm_sysctl_found {
	char value[256];
	char file[256];    /* the file read (first path seen for it) */
	int line;
	bool glob;         /* set only by a glob pattern */
};
/* The effective value in the image (systemd-sysctl order). 1 found, 0 not. */
int gm_sysctl_get(const struct gm_root *r, const char *key, struct gm_sysctl_found *f,
		  struct gm_error *err);
/* Makes value effective; dropin is the file for keys set nowhere. */
int gm_sysctl_set(const struct gm_root *r, const char *key, const char *value,
		  const char *dropin, struct gm_error *err);

/* ---- textconf.c ---- */
/* login.defs: last KEY wins; edits it or appends. found_line gets the line
 * of the effective value (0 none), found_value its value. */
int gm_logindefs_get(const char *in, size_t len, const char *key, char *value,
		     size_t vlen, int *line);
int gm_logindefs_set(const char *in, size_t len, const char *key, const char *value,
		     char **out, size_t *outlen);
/* /etc/default/grub: adds arg to GRUB_CMDLINE_LINUX (last assignment),
 * keeping its quoting; replaces a different value of the same parameter
 * (console=ttyS0,... for the same device). */
int gm_grub_has_arg(const char *in, size_t len, const char *arg, int *line);
/* Kernel arguments: the part that must be unique ("console=ttyS0" of
 * "console=ttyS0,38400n8", "foo=" of "foo=bar"); whether the blank-separated
 * words of s[0..n) hold arg. */
size_t gm_karg_param_len(const char *arg, size_t n);
bool gm_karg_has(const char *s, size_t n, const char *arg);
int gm_grub_add_arg(const char *in, size_t len, const char *arg, char **out, size_t *outlen);
/* grubcfg.c: a generated grub.cfg, BLS entries, /etc/kernel/cmdline.
 * gm_grubcfg_default: the entry GRUB boots by default (env: grubenv's
 * "name=value" strings, NULL-terminated, or NULL); 1 found (title, the line
 * of its linux command, its arguments), 0 none. The editors add arg (a
 * different value of the same parameter removed) to every kernel line but
 * recovery entries', or drop the word arg; 1 changed, 0 nothing to do,
 * -EINVAL a kernel line with quoting (nothing changed). */
struct gm_grub_entry {
	char def[256];     /* the default as set (after grubenv), "0" when unset */
	int defline;       /* line of that `set default`, 0 none */
	char title[160];
	int line;          /* 1-based line of the linux command */
	char cmdline[1024];
};
int gm_grubcfg_default(const char *in, size_t len, const char *const *env,
		       struct gm_grub_entry *out);
struct gm_root;
/* act_boot.c: the grubenv beside grub.cfg cfg as "name=value" strings
 * (NULL-terminated, free with gm_strv_free), NULL when there is none. */
char **gm_grub_env(const struct gm_root *r, const char *cfg);
int gm_grubcfg_add_arg(const char *in, size_t len, const char *arg, char **out, size_t *outlen);
int gm_grubcfg_drop_arg(const char *in, size_t len, const char *arg, char **out, size_t *outlen);
int gm_bls_add_arg(const char *in, size_t len, const char *arg, char **out, size_t *outlen);
int gm_kernel_cmdline_add_arg(const char *in, size_t len, const char *arg, char **out,
			      size_t *outlen);
int gm_bls_drop_arg(const char *in, size_t len, const char *arg, char **out, size_t *outlen);
int gm_kernel_cmdline_drop_arg(const char *in, size_t len, const char *arg, char **out,
			       size_t *outlen);
int gm_grubdefault_drop_arg(const char *in, size_t len, const char *arg, char **out,
			    size_t *outlen);
int gm_grubcfg_drop_splash(const char *in, size_t len, char **out, size_t *outlen);

/* ntp.conf / chrony.conf: the only server/pool lines become "server S iburst";
 * server NULL (a chrony conf.d / sources.d file): every server/pool line goes. */
int gm_ntpconf_servers(const char *in, size_t len, char *list, size_t listlen);
int gm_ntpconf_set(const char *in, size_t len, const char *server, char **out, size_t *outlen);
/* timesyncd.conf: NTP= in [Time] becomes server (section created if absent);
 * drop_other: remove NTP= lines (for drop-ins) instead. */
int gm_timesyncd_get(const char *in, size_t len, char *list, size_t listlen, bool *set);
int gm_timesyncd_set(const char *in, size_t len, const char *server, bool drop,
		     char **out, size_t *outlen);

/* dhclient.conf: 0 when a request / also request statement names option,
 * else appends "also request OPTION;" (1). */
int gm_dhclient_request(const char *in, size_t len, const char *option, char **out,
			size_t *outlen);

/* apt.conf (aptconf.c): the last assignment of KEY, in any syntax apt
 * takes (nested scopes, comments, #clear); 1 found / 0 not. set edits that
 * value in place, or appends a flat `KEY "VALUE";` line. */
struct gm_apt_found {
	char value[256];
	int line;
	size_t off, len;   /* the value's bytes (inside the quotes) */
	bool quoted;
};
int gm_aptconf_find(const char *in, size_t len, const char *key, struct gm_apt_found *f);
struct gm_root;
/* In an image: /etc/apt/apt.conf.d/ in name order (the names apt ignores,
 * *.bak, *.dpkg-old, ..., skipped), then /etc/apt/apt.conf. 1 found, 0 not. */
int gm_apt_effective(const struct gm_root *r, const char *key, struct gm_apt_found *f, char *file,
		     size_t flen);
int gm_aptconf_get(const char *in, size_t len, const char *key, char *value, size_t vlen,
		   int *line);
int gm_aptconf_set(const char *in, size_t len, const char *key, const char *value, char **out,
		   size_t *outlen);

/* ---- accounts.c ---- */
/* passwd: accounts with uid < uid_min (and nobody), except root, sync,
 * shutdown, halt, whose shell is not already a nologin/false get nologin.
 * names (may be NULL) receives a comma-separated list of changed accounts. */
int gm_passwd_nologin(const char *in, size_t len, unsigned long uid_min, const char *nologin,
		      char **out, size_t *outlen, char *names, size_t nameslen);
/* shadow: "!" prefixed to root's hash unless it starts with '!' or '*'. */
int gm_shadow_lock(const char *in, size_t len, const char *user, char **out, size_t *outlen);

/* PAM: the hash pam_unix uses for new passwords (the last of md5, sha512,
 * yescrypt, ... on the "password ... pam_unix.so" line): 1 with method ("" =
 * none given) and its line, 0 no such line. set: that one method (1 changed). */
int gm_pam_unix_hash(const char *in, size_t len, char *method, size_t mlen, int *line);
int gm_pam_unix_set_hash(const char *in, size_t len, const char *method, char **out,
			 size_t *outlen);

/* ---- parse.c ---- */
enum gm_action_kind {
	GM_ACT_SSHD, GM_ACT_SSH, GM_ACT_SYSCTL, GM_ACT_LOGINDEFS, GM_ACT_GRUB, GM_ACT_NTP,
	GM_ACT_REMOVE, GM_ACT_EMPTY, GM_ACT_FILE, GM_ACT_SYMLINK, GM_ACT_NOLOGIN,
	GM_ACT_LOCKROOT, GM_ACT_TIMEZONE, GM_ACT_DHCLIENT, GM_ACT_APTCONF, GM_ACT_PAMHASH,
	GM_ACT_GRUB_ABSENT,
};

struct gm_action {
	enum gm_action_kind kind;
	int argc;
	char **argv;     /* argv[0] is the action keyword */
	char *value;     /* sshd/ssh/sysctl/login-defs: the value (rest joined) */
	char **accept;   /* ... accept V...: values that pass too (NULL-terminated or NULL) */
	char **warn;     /* ... warn V...: values reported WARN, not FAIL (or NULL) */
	mode_t mode;     /* file */
	uid_t uid;
	gid_t gid;
};

struct gm_rule {
	char *id;
	enum gm_level level;
	char *description;
	char *origin;    /* "FILE:LINE" of the rule line */
	char **when;     /* when-exists PATH...: N/A unless one exists (or NULL) */
	char *source;    /* GM_SOURCE_* (source keyword, or the file's default) */
	char *note;      /* note "...": said with a WARN of this rule */
	bool advice;     /* advice: a failure is a WARN (a project preference
			  * stricter than the guide, never a FAIL) */
	bool skip;       /* matched a --skip glob */
	char *waive_reason;  /* waive RULE "reason": the rule is not run */
	char *waive_origin;  /* "FILE:LINE" of the waive line */
	char *override_origin; /* "FILE:LINE" of an override of its value */
	struct gm_action *act;
	size_t nact;
};

struct gm_policy {
	char *name;
	char *description;
	struct gm_rule *rules;
	size_t nrules;
};

struct gm_builtin {
	const char *name;
	const char *text;
};
extern const struct gm_builtin gm_builtins[];   /* generated: build/policies_builtin.c */

/* Parses policy text (name for messages); includes resolved by name or
 * relative to dir (NULL for shipped ones). */
int gm_policy_parse(const char *name, const char *text, const char *dir,
		    struct gm_policy **out, struct gm_error *err);

/* ---- engine.c ---- */
int gm_policy_check_root(struct gm_policy *p, const struct gm_root *r, gm_result_fn fn,
			 void *priv, struct gm_error *err);
int gm_policy_apply_root(struct gm_policy *p, const struct gm_root *r, bool dry_run,
			 gm_change_fn fn, void *priv, struct gm_error *err);

#endif
