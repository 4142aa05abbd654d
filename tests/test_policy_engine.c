/* test_policy_engine.c — the policy format, the shipped policies, and rules
 * run end to end (check, apply, dry run, idempotency) on a directory tree
 * standing for an image root (the image itself: tests/it_apply.sh). */
#include "tests/test_policy_util.h"

static struct gm_policy *load(const char *name)
{
	struct gm_policy *p = NULL;
	struct gm_error err = { 0 };

	if (gm_policy_load(name, &p, &err) < 0)
		fail_msg("%s: %s", name, err.msg);
	return p;
}

/* Parses text as a policy file in dir; returns rc, message in msg. */
static int parse_file(const char *dir, const char *name, const char *text, char *msg, size_t n,
		      struct gm_policy **out)
{
	char path[PATH_MAX];
	struct gm_error err = { 0 };
	struct gm_policy *p = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	tp_write(path, text, strlen(text));
	rc = gm_policy_load(path, &p, &err);
	snprintf(msg, n, "%s", err.msg);
	if (out)
		*out = p;
	else
		gm_policy_free(p);
	return rc;
}

static void test_policy_engine_builtins(void **s)
{
	const char *const *names = gm_policy_builtin_names();
	size_t total = 0, n = 0;

	(void)s;
	for (; names[n]; n++) {
		struct gm_policy *p = load(names[n]);

		assert_true(p->nrules > 0);
		assert_non_null(p->description);
		for (size_t i = 0; i < p->nrules; i++)
			assert_non_null(p->rules[i].description);
		if (strcmp(names[n], "gce-hardening") && strcmp(names[n], "cos-defaults"))
			total += p->nrules;
		gm_policy_free(p);
	}
	assert_int_equal(n, 11);
	/* gce-hardening is exactly its parts */
	struct gm_policy *g = load("gce-hardening");
	assert_int_equal(g->nrules, total);
	assert_string_equal(gm_policy_name(g), "gce-hardening");
	gm_policy_free(g);
	/* naming a part again (or twice) adds nothing */
	const char *many[] = { "gce-hardening", "ssh", "sysctl", "ssh" };
	struct gm_error err = { 0 };
	assert_int_equal(gm_policy_load_many(many, 4, &g, &err), 0);
	assert_int_equal(g->nrules, total);
	gm_policy_free(g);
	assert_int_equal(gm_policy_load("nope", &g, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "gce-hardening"));
	assert_string_equal(gm_level_name(GM_LEVEL_STRONGLY_RECOMMENDED), "strongly-recommended");
	assert_string_equal(gm_status_name(GM_STATUS_NA), "N/A");
}

static void test_policy_engine_syntax_errors(void **s)
{
	char *d = tp_tmpdir(), msg[512];
	struct gm_policy *p;

	(void)s;
	assert_int_equal(parse_file(d, "a.policy", "rule x\n  frobnicate 1\n", msg, sizeof(msg), NULL),
			 -EINVAL);
	assert_non_null(strstr(msg, "a.policy:2: unknown keyword 'frobnicate'"));
	assert_int_equal(parse_file(d, "b.policy", "rule x\n  description \"open\n", msg, sizeof(msg),
				    NULL), -EINVAL);
	assert_non_null(strstr(msg, "b.policy:2: unterminated quote"));
	assert_int_equal(parse_file(d, "c.policy", "level optional\n", msg, sizeof(msg), NULL), -EINVAL);
	assert_non_null(strstr(msg, "c.policy:1: level outside a rule"));
	assert_int_equal(parse_file(d, "d.policy", "rule x\nrule y\n  lock-root\n", msg, sizeof(msg),
				    NULL), -EINVAL);
	assert_non_null(strstr(msg, "rule x has no action"));
	assert_int_equal(parse_file(d, "e.policy", "rule x\n  lock-root\nrule x\n  lock-root\n", msg,
				    sizeof(msg), NULL), -EINVAL);
	assert_non_null(strstr(msg, "e.policy:3: rule x already defined at"));
	assert_int_equal(parse_file(d, "f.policy", "rule x\n  level severe\n  lock-root\n", msg,
				    sizeof(msg), NULL), -EINVAL);
	assert_int_equal(parse_file(d, "g.policy", "rule x\n  remove etc/passwd\n", msg, sizeof(msg),
				    NULL), -EINVAL);
	assert_non_null(strstr(msg, "not an absolute path"));
	assert_int_equal(parse_file(d, "h.policy", "rule x\n  file /etc/x 0999 root \"y\"\n", msg,
				    sizeof(msg), NULL), -EINVAL);
	assert_non_null(strstr(msg, "not octal"));
	/* include cycle, through relative paths */
	parse_file(d, "i.policy", "include j.policy\nrule i\n  lock-root\n", msg, sizeof(msg), NULL);
	assert_int_equal(parse_file(d, "j.policy", "include ./i.policy\n", msg, sizeof(msg), NULL),
			 -ELOOP);
	assert_non_null(strstr(msg, "include cycle"));
	assert_int_equal(parse_file(d, "k.policy", "include missing.policy\n", msg, sizeof(msg), NULL),
			 -ENOENT);
	/* rules that would undo each other */
	assert_int_equal(parse_file(d, "m.policy", "include sysctl\nrule m.kptr\n  sysctl kernel/kptr_restrict=2\n",
				    msg, sizeof(msg), NULL), -EINVAL);
	assert_non_null(strstr(msg, "m.policy:2: rule m.kptr wants kernel/kptr_restrict 2, but rule "
				    "sysctl.kptr-restrict"));
	assert_int_equal(parse_file(d, "n.policy", "include ssh\nrule n\n  sshd permitrootlogin NO\n",
				    msg, sizeof(msg), NULL), 0);
	assert_int_equal(parse_file(d, "l.policy", "when-exists /x\n", msg, sizeof(msg), NULL), -EINVAL);
	assert_non_null(strstr(msg, "l.policy:1: when-exists outside a rule"));
	/* a good one: comments, CRLF, quotes with escapes, include by name */
	assert_int_equal(parse_file(d, "ok.policy",
				    "# mine\r\ndescription \"my \\\"site\\\" policy\"\r\ninclude console\r\n"
				    "rule site.motd # trailing comment\r\n  level optional\r\n"
				    "  file /etc/motd 0644 0:0 \"hello\\nworld\\n\"\r\n"
				    "  sysctl vm.swappiness=10\r\n",
				    msg, sizeof(msg), &p),
			 0);
	assert_string_equal(p->description, "my \"site\" policy");
	assert_int_equal(p->nrules, 3);   /* console's two rules, then site.motd */
	assert_string_equal(p->rules[2].id, "site.motd");
	assert_int_equal(p->rules[2].level, GM_LEVEL_OPTIONAL);
	assert_string_equal(p->rules[2].act[0].argv[4], "hello\nworld\n");
	assert_string_equal(p->rules[2].act[1].argv[1], "vm.swappiness");
	assert_string_equal(p->rules[2].act[1].value, "10");
	gm_policy_free(p);
	tp_rmrf(d);
	free(d);
}

static void test_policy_engine_diff(void **s)
{
	const char *a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n";
	const char *b = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\nsixteen";
	char *d = gm_diff("/etc/x", a, strlen(a), b, strlen(b));

	(void)s;
	assert_string_equal(d, "--- a/etc/x\n+++ b/etc/x\n"
			       "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
			       "@@ -13,3 +13,4 @@\n 13\n 14\n 15\n+sixteen\n\\ No newline at end of file\n");
	free(d);
	d = gm_diff("/etc/x", a, strlen(a), a, strlen(a));
	assert_string_equal(d, "");
	free(d);
}

/* ---- end to end on a tree ---- */
struct results {
	int n, pass, fail, warn, na;
	char last[4096];
};

static void on_result(void *priv, const struct gm_rule_result *r)
{
	struct results *x = priv;

	x->n++;
	x->pass += r->status == GM_STATUS_PASS;
	x->fail += r->status == GM_STATUS_FAIL;
	x->warn += r->status == GM_STATUS_WARN;
	x->na += r->status == GM_STATUS_NA;
	size_t u = strlen(x->last);
	snprintf(x->last + u, sizeof(x->last) - u, "%s %s %s:%d %s\n", gm_status_name(r->status),
		 r->id, r->file, r->line, r->reason);
}

struct changes {
	int n;
	char all[16384];
};

static void on_change(void *priv, const struct gm_rule_change *c)
{
	struct changes *x = priv;
	size_t u = strlen(x->all);

	x->n++;
	snprintf(x->all + u, sizeof(x->all) - u, "%s: %s\n%s", c->id, c->summary,
		 c->diff ? c->diff : "");
}

static const char *tp_run_path(const char *t, const char *rel)
{
	static char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", t, rel);
	return p;
}

static char *make_tree(void)
{
	char *t = tp_tmpdir();

	free(tp_run("cp -a '%s/../sample-root/.' '%s/'", tp_data(""), t));
	tp_mkdirs(tp_run_path(t, "etc/apt/apt.conf.d"));
	/* a symlinked /etc/default/grub, a CRLF ntp.conf, a timesyncd drop-in */
	free(tp_run("cd '%s/etc/default' && mkdir -p ../../real && mv grub ../../real/ && "
		    "ln -s ../../real/grub grub", t));
	tp_put(t, "etc/ntp.conf", "server 0.pool.ntp.org\r\nserver metadata.google.internal\r\n");
	tp_put(t, "etc/systemd/timesyncd.conf", "[Time]\n#NTP=\n");
	tp_put(t, "etc/systemd/timesyncd.conf.d/override.conf", "[Time]\nNTP=time.example.com\n");
	tp_put(t, "etc/chrony/sources.d/local.sources", "# site\nserver 10.1.1.1 iburst\n");
	return t;
}

static char *dump(const char *t)
{
	return tp_run("cd '%s' && find . | LC_ALL=C sort | while read f; do echo \"== $f\"; "
		      "if [ -L \"$f\" ]; then readlink \"$f\"; elif [ -f \"$f\" ]; then "
		      "stat -c %%a \"$f\"; cat \"$f\"; fi; done", t);
}

static void test_policy_engine_apply_tree(void **s)
{
	char *t = make_tree(), *before, *after_dry, *after;
	struct gm_root_dir r;
	struct gm_policy *p = load("gce-hardening");
	struct results res = { 0 };
	struct changes ch = { 0 };
	struct gm_error err = { 0 };

	(void)s;
	gm_root_dir_init(&r, t);
	assert_int_equal(gm_policy_check_root(p, &r.root, on_result, &res, &err), 0);
	assert_int_equal(res.n, (int)p->nrules);
	if (res.fail < 20)
		fail_msg("%s", res.last);
	assert_non_null(strstr(res.last, "FAIL ssh.permit-root-login /etc/ssh/sshd_config:33 "
					  "PermitRootLogin is yes for root at /etc/ssh/sshd_config:33, want no"));
	/* defaults are reported as such */
	assert_non_null(strstr(res.last, "PASS ssh.permit-tunnel /etc/ssh/sshd_config:0 PermitTunnel "
					  "not set; OpenSSH's default is no"));

	/* dry run: changes and diffs reported, the tree untouched */
	before = dump(t);
	assert_int_equal(gm_policy_apply_root(p, &r.root, true, on_change, &ch, &err), 0);
	after_dry = dump(t);
	assert_string_equal(before, after_dry);
	assert_true(ch.n > 20);
	assert_non_null(strstr(ch.all, "+++ b/etc/ntp.conf\n"));
	assert_non_null(strstr(ch.all, "-server 0.pool.ntp.org\n-server metadata.google.internal\n+server metadata.google.internal iburst\n"));

	/* apply */
	struct changes ch2 = { 0 };
	assert_int_equal(gm_policy_apply_root(p, &r.root, false, on_change, &ch2, &err), 0);
	assert_int_equal(ch2.n, ch.n);
	after = dump(t);
	assert_string_not_equal(before, after);
	/* the symlink stays a symlink; its target got the change */
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/etc/default/grub", t);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	char *grub = tp_get(t, "real/grub");
	assert_non_null(strstr(grub, "\nGRUB_CMDLINE_LINUX=\"console=ttyS0,38400n8\"\n"));
	free(grub);
	char *apt = tp_get(t, "etc/apt/apt.conf.d/20auto-upgrades");
	assert_string_equal(apt, "APT::Periodic::Update-Package-Lists \"1\";\n"
				 "APT::Periodic::Unattended-Upgrade \"1\";\n");
	free(apt);
	char *ntp = tp_get(t, "etc/ntp.conf");
	assert_string_equal(ntp, "server metadata.google.internal iburst\r\n");
	free(ntp);
	char *ts = tp_get(t, "etc/systemd/timesyncd.conf.d/override.conf");
	assert_string_equal(ts, "[Time]\n");
	free(ts);
	/* no chrony.conf names sources.d (chrony is not there): nothing reads it */
	ts = tp_get(t, "etc/chrony/sources.d/local.sources");
	assert_string_equal(ts, "# site\nserver 10.1.1.1 iburst\n");
	free(ts);
	ts = tp_get(t, "etc/systemd/timesyncd.conf");
	assert_string_equal(ts, "[Time]\n#NTP=\nNTP=metadata.google.internal\n");
	free(ts);

	/* everything passes now, and a second apply changes nothing */
	struct results res2 = { 0 };
	assert_int_equal(gm_policy_check_root(p, &r.root, on_result, &res2, &err), 0);
	if (res2.fail || res2.warn)
		fail_msg("after apply:\n%s", res2.last);
	struct changes ch3 = { 0 };
	assert_int_equal(gm_policy_apply_root(p, &r.root, false, on_change, &ch3, &err), 0);
	if (ch3.n)
		fail_msg("second apply changed:\n%s", ch3.all);
	char *again = dump(t);
	assert_string_equal(after, again);
	free(again);
	free(before);
	free(after_dry);
	free(after);
	gm_policy_free(p);
	tp_rmrf(t);
	free(t);
}

/* Settings the image's OpenSSH would reject are never written. */
static void test_policy_engine_ssh_version(void **s)
{
	char *t = make_tree(), msg[512];
	struct gm_root_dir r;
	struct gm_policy *p;
	struct results res = { 0 };
	struct changes ch = { 0 };
	struct gm_error err = { 0 };

	(void)s;
	assert_int_equal(parse_file(t, "old.policy",
				    "rule old.protocol\n  sshd Protocol 2\n"
				    "rule old.ciphers\n  sshd Ciphers aes128-ctr,arcfour\n", msg,
				    sizeof(msg), &p), 0);
	gm_root_dir_init(&r, t);
	char *before = tp_get(t, "etc/ssh/sshd_config");
	assert_int_equal(gm_policy_check_root(p, &r.root, on_result, &res, &err), 0);
	assert_int_equal(res.warn, 2);
	assert_non_null(strstr(res.last, "the image has OpenSSH 9.2"));
	assert_int_equal(gm_policy_apply_root(p, &r.root, false, on_change, &ch, &err), 0);
	assert_non_null(strstr(ch.all, "skipped Protocol 2"));
	char *after = tp_get(t, "etc/ssh/sshd_config");
	assert_string_equal(before, after);
	free(before);
	free(after);
	gm_policy_free(p);
	tp_rmrf(t);
	free(t);
}

/* A Match block that overrides a passing setting makes it a WARN, and
 * apply leaves the block alone. */
static void test_policy_engine_match_warn(void **s)
{
	char *t = tp_tmpdir();
	struct gm_root_dir r;
	struct gm_policy *p = load("ssh");
	struct results res = { 0 };
	struct changes ch = { 0 };
	struct gm_error err = { 0 };

	(void)s;
	tp_put(t, "etc/ssh/sshd_config", "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
	       "Match User backup\n  PasswordAuthentication yes\n");
	gm_root_dir_init(&r, t);
	assert_int_equal(gm_policy_check_root(p, &r.root, on_result, &res, &err), 0);
	assert_non_null(strstr(res.last, "WARN ssh.password-authentication /etc/ssh/sshd_config:1 "
					  "PasswordAuthentication no (/etc/ssh/sshd_config:1), but a Match block "
					  "at /etc/ssh/sshd_config:4 sets it too"));
	assert_int_equal(gm_policy_apply_root(p, &r.root, false, on_change, &ch, &err), 0);
	char *c = tp_get(t, "etc/ssh/sshd_config");
	assert_non_null(strstr(c, "Match User backup\n  PasswordAuthentication yes\n"));
	/* the new lines went before the Match */
	assert_true(strstr(c, "ClientAliveInterval 420\n") < strstr(c, "Match User backup"));
	free(c);
	gm_policy_free(p);
	tp_rmrf(t);
	free(t);
}

/* file / symlink / empty / remove; an empty tree: N/A, no failure */
static void test_policy_engine_file_actions(void **s)
{
	char *t = tp_tmpdir(), msg[512];
	struct gm_root_dir r;
	struct gm_policy *p;
	struct changes ch = { 0 };
	struct results res = { 0 };
	struct gm_error err = { 0 };

	(void)s;
	tp_put(t, "etc/keep", "x");
	tp_put(t, "boot/System.map-1", "x");
	tp_put(t, "boot/System.map-2", "x");
	tp_mkdirs(t);
	assert_int_equal(parse_file(t, "f.policy",
				    "rule f.file\n  file /etc/motd 0640 0:0 \"hi\\n\"\n"
				    "rule f.link\n  symlink /etc/keep /etc/alias\n"
				    "rule f.empty\n  empty /etc/keep /etc/absent\n"
				    "rule f.rm\n  remove /boot/System.map* /boot/none\n",
				    msg, sizeof(msg), &p), 0);
	gm_root_dir_init(&r, t);
	if (gm_policy_apply_root(p, &r.root, false, on_change, &ch, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(ch.n, 4);
	char *m = tp_get(t, "etc/motd");
	assert_string_equal(m, "hi\n");
	free(m);
	char path[PATH_MAX], target[64];
	struct stat st;
	snprintf(path, sizeof(path), "%s/etc/motd", t);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	snprintf(path, sizeof(path), "%s/etc/alias", t);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "/etc/keep");
	snprintf(path, sizeof(path), "%s/etc/keep", t);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	snprintf(path, sizeof(path), "%s/boot/System.map-1", t);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(gm_policy_check_root(p, &r.root, on_result, &res, &err), 0);
	assert_int_equal(res.pass, 4);
	gm_policy_free(p);

	/* a bare tree: everything is N/A or passes; apply creates no config */
	struct results r2 = { 0 };
	struct gm_policy *g = load("gce-hardening");
	char *e = tp_tmpdir();
	struct gm_root_dir er;
	gm_root_dir_init(&er, e);
	assert_int_equal(gm_policy_check_root(g, &er.root, on_result, &r2, &err), 0);
	assert_true(r2.na >= 5);
	gm_policy_free(g);
	tp_rmrf(e);
	free(e);
	tp_rmrf(t);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_engine_builtins),
		cmocka_unit_test(test_policy_engine_syntax_errors),
		cmocka_unit_test(test_policy_engine_diff),
		cmocka_unit_test(test_policy_engine_apply_tree),
		cmocka_unit_test(test_policy_engine_ssh_version),
		cmocka_unit_test(test_policy_engine_match_warn),
		cmocka_unit_test(test_policy_engine_file_actions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
