/* test_policy_config.c — the small config editors (login.defs, grub, NTP,
 * timesyncd, passwd, shadow) and sysctl.d precedence, on real-world and
 * awful inputs with golden outputs in tests/data/configs/. */
#include "tests/test_policy_util.h"

typedef int (*edit_fn)(const char *in, size_t len, const void *arg, char **out, size_t *outlen);

/* Runs fn on rel, compares with rel.expected, and checks a second run
 * changes nothing. want_rc: 1 (changes) or 0 (already fine). */
static void golden_edit(const char *rel, edit_fn fn, const void *arg, int want_rc)
{
	size_t len, olen = 0, o2len;
	char *in = tp_read(tp_data(rel), &len), *out = NULL, *out2 = NULL, exp[256];
	int rc = fn(in, len, arg, &out, &olen);

	assert_int_equal(rc, want_rc);
	snprintf(exp, sizeof(exp), "%s.expected", rel);
	if (rc == 1) {
		tp_golden(exp, out, olen);
		assert_int_equal(fn(out, olen, arg, &out2, &o2len), 0);
	}
	free(out);
	free(out2);
	free(in);
}

/* ---- login.defs ---- */
static int ed_encrypt(const char *in, size_t len, const void *arg, char **out, size_t *outlen)
{
	return gm_logindefs_set(in, len, "ENCRYPT_METHOD", arg, out, outlen);
}

static void test_policy_config_logindefs_debian12(void **s)
{
	size_t len;
	char *in = tp_read(tp_data("logindefs/debian12.login.defs"), &len), v[64];
	int line;

	(void)s;
	assert_int_equal(gm_logindefs_get(in, len, "ENCRYPT_METHOD", v, sizeof(v), &line), 1);
	assert_string_equal(v, "SHA512");
	assert_int_equal(gm_logindefs_get(in, len, "UID_MIN", v, sizeof(v), &line), 1);
	assert_string_equal(v, "1000");
	free(in);
	golden_edit("logindefs/debian12.login.defs", ed_encrypt, "SHA512", 0);
	golden_edit("logindefs/debian12.login.defs", ed_encrypt, "YESCRYPT", 1);
}

/* CRLF, no final newline, the key in a comment, another case (login.defs is
 * case-sensitive: "encrypt_method" is another key), duplicates (the last wins). */
static void test_policy_config_logindefs_awful(void **s)
{
	size_t len;
	char *in = tp_read(tp_data("logindefs/awful.login.defs"), &len), v[64];
	int line;

	(void)s;
	assert_int_equal(gm_logindefs_get(in, len, "ENCRYPT_METHOD", v, sizeof(v), &line), 1);
	assert_string_equal(v, "DES");
	assert_int_equal(line, 5);
	assert_int_equal(gm_logindefs_get(in, len, "UID_MIN", v, sizeof(v), &line), 1);
	assert_string_equal(v, "500");
	free(in);
	golden_edit("logindefs/awful.login.defs", ed_encrypt, "SHA512", 1);
}

/* ---- grub ---- */
static int ed_console(const char *in, size_t len, const void *arg, char **out, size_t *outlen)
{
	return gm_grub_add_arg(in, len, arg, out, outlen);
}

static void test_policy_config_grub_debian12(void **s)
{
	(void)s;
	golden_edit("grub/debian12.grub", ed_console, "console=ttyS0,38400n8", 1);
}

/* single quotes kept; the other ttyS0 speed replaced, tty1 kept; the
 * self-referencing last assignment is the one edited */
static void test_policy_config_grub_ubuntu_cloud(void **s)
{
	(void)s;
	golden_edit("grub/ubuntu-cloud.grub", ed_console, "console=ttyS0,38400n8", 1);
}

static void test_policy_config_grub_unquoted_no_newline(void **s)
{
	(void)s;
	golden_edit("grub/unquoted-nonl.grub", ed_console, "console=ttyS0,38400n8", 1);
}

/* the variable reset by a later assignment loses the argument */
static void test_policy_config_grub_reset(void **s)
{
	const char *t = "GRUB_CMDLINE_LINUX=\"console=ttyS0,38400n8\"\nGRUB_CMDLINE_LINUX=\"quiet\"\n";
	int line;

	(void)s;
	assert_int_equal(gm_grub_has_arg(t, strlen(t), "console=ttyS0,38400n8", &line), 0);
	assert_int_equal(line, 2);
	t = "GRUB_CMDLINE_LINUX=\"console=ttyS0,38400n8\"\nGRUB_CMDLINE_LINUX=\"${GRUB_CMDLINE_LINUX} quiet\"\n";
	assert_int_equal(gm_grub_has_arg(t, strlen(t), "console=ttyS0,38400n8", &line), 1);
}

/* ---- NTP ---- */
static int ed_ntp(const char *in, size_t len, const void *arg, char **out, size_t *outlen)
{
	return gm_ntpconf_set(in, len, arg, out, outlen);
}

static int ed_timesyncd(const char *in, size_t len, const void *arg, char **out, size_t *outlen)
{
	return gm_timesyncd_set(in, len, arg, false, out, outlen);
}

static void test_policy_config_ntp_conf(void **s)
{
	size_t len;
	char *in = tp_read(tp_data("ntp/debian.ntp.conf"), &len), list[256];

	(void)s;
	assert_int_equal(gm_ntpconf_servers(in, len, list, sizeof(list)), 5);
	assert_string_equal(list, "0.debian.pool.ntp.org 1.debian.pool.ntp.org 2.debian.pool.ntp.org "
				  "3.debian.pool.ntp.org 10.0.0.1");
	free(in);
	golden_edit("ntp/debian.ntp.conf", ed_ntp, "metadata.google.internal", 1);
}

static void test_policy_config_ntp_chrony(void **s)
{
	(void)s;
	golden_edit("ntp/debian12.chrony.conf", ed_ntp, "metadata.google.internal", 1);
}

static void test_policy_config_ntp_timesyncd(void **s)
{
	size_t len, olen;
	char *in = tp_read(tp_data("ntp/debian12.timesyncd.conf"), &len), *out, list[256];
	bool set;

	(void)s;
	golden_edit("ntp/debian12.timesyncd.conf", ed_timesyncd, "metadata.google.internal", 1);
	assert_int_equal(gm_timesyncd_set(in, len, "metadata.google.internal", false, &out, &olen), 1);
	gm_timesyncd_get(out, olen, list, sizeof(list), &set);
	assert_true(set);
	assert_string_equal(list, "metadata.google.internal");
	free(out);
	free(in);
	/* no [Time] section at all; several NTP= lines; a drop-in's lines dropped */
	const char *t = "[Other]\nNTP=x\n";
	assert_int_equal(gm_timesyncd_set(t, strlen(t), "m", false, &out, &olen), 1);
	assert_string_equal(out, "[Other]\nNTP=x\n[Time]\nNTP=m\n");
	free(out);
	t = "[Time]\nNTP=a b\nFallbackNTP=c\nNTP=\nNTP=d\n";
	gm_timesyncd_get(t, strlen(t), list, sizeof(list), &set);
	assert_string_equal(list, "d");
	assert_int_equal(gm_timesyncd_set(t, strlen(t), "m", false, &out, &olen), 1);
	assert_string_equal(out, "[Time]\nNTP=m\nFallbackNTP=c\n");
	free(out);
	assert_int_equal(gm_timesyncd_set(t, strlen(t), "m", true, &out, &olen), 1);
	assert_string_equal(out, "[Time]\nFallbackNTP=c\n");
	free(out);
}

/* ---- dhclient ---- */
static void test_policy_config_dhclient(void **s)
{
	const char *deb = "# Debian's default\nrequest subnet-mask, broadcast-address, time-offset, routers,\n"
			  "\tdomain-name, domain-name-servers, domain-search, host-name,\n"
			  "\tinterface-mtu,\n\trfc3442-classless-static-routes, ntp-servers;\n";
	const char *no = "request subnet-mask, routers; # interface-mtu only in a comment\n"
			 "option interface-mtu code 26 = unsigned integer 16;";
	char *out;
	size_t olen;

	(void)s;
	assert_int_equal(gm_dhclient_request(deb, strlen(deb), "interface-mtu", &out, &olen), 0);
	assert_int_equal(gm_dhclient_request(no, strlen(no), "interface-mtu", &out, &olen), 1);
	assert_string_equal(out, "request subnet-mask, routers; # interface-mtu only in a comment\n"
				 "option interface-mtu code 26 = unsigned integer 16;\n"
				 "also request interface-mtu;\n");
	assert_int_equal(gm_dhclient_request(out, olen, "interface-mtu", &out, &olen), 0);
	free(out);
	assert_int_equal(gm_dhclient_request("", 0, "interface-mtu", &out, &olen), 1);
	assert_string_equal(out, "also request interface-mtu;\n");
	free(out);
}

/* ---- apt.conf ---- */
static void test_policy_config_aptconf(void **s)
{
	const char *t = "// comment\nAPT::Periodic::Update-Package-Lists \"1\";\n"
			"apt::periodic::unattended-upgrade  \"0\" ;\nAPT::Periodic::Unattended-Upgrade-X \"1\";";
	char v[64], *out;
	size_t olen;
	int line;

	(void)s;
	assert_int_equal(gm_aptconf_get(t, strlen(t), "APT::Periodic::Unattended-Upgrade", v, sizeof(v),
					&line), 1);
	assert_string_equal(v, "0");
	assert_int_equal(line, 3);
	assert_int_equal(gm_aptconf_set(t, strlen(t), "APT::Periodic::Unattended-Upgrade", "1", &out,
					&olen), 1);
	assert_string_equal(out, "// comment\nAPT::Periodic::Update-Package-Lists \"1\";\n"
				 "apt::periodic::unattended-upgrade  \"1\" ;\n"
				 "APT::Periodic::Unattended-Upgrade-X \"1\";");
	free(out);
	assert_int_equal(gm_aptconf_set("", 0, "A::B", "1", &out, &olen), 1);
	assert_string_equal(out, "A::B \"1\";\n");
	free(out);
}

/* ---- accounts ---- */
static int ed_nologin(const char *in, size_t len, const void *arg, char **out, size_t *outlen)
{
	return gm_passwd_nologin(in, len, 1000, arg, out, outlen, NULL, 0);
}

static int ed_lock(const char *in, size_t len, const void *arg, char **out, size_t *outlen)
{
	return gm_shadow_lock(in, len, arg, out, outlen);
}

/* 30 system accounts: shells become nologin except root, sync, shutdown,
 * halt and those already nologin/false; users (>= UID_MIN) untouched;
 * nobody (65534) is a system account; NIS, comments, malformed lines kept. */
static void test_policy_config_accounts_passwd(void **s)
{
	size_t len, olen;
	char *in = tp_read(tp_data("accounts/passwd"), &len), *out, names[512];

	(void)s;
	golden_edit("accounts/passwd", ed_nologin, "/usr/sbin/nologin", 1);
	assert_int_equal(gm_passwd_nologin(in, len, 1000, "/usr/sbin/nologin", &out, &olen, names,
					   sizeof(names)), 1);
	assert_string_equal(names, "bin,sys,games,lp,mail,uucp,www-data,nobody,systemd-timesync,"
				   "sshd,postgres,uuidd,chrony");
	free(out);
	/* UID_MIN 100 (from login.defs): only uid < 100 */
	assert_int_equal(gm_passwd_nologin(in, len, 100, "/sbin/nologin", &out, &olen, names,
					   sizeof(names)), 1);
	assert_string_equal(names, "bin,sys,games,lp,mail,uucp,www-data,nobody");
	free(out);
	free(in);
}

static void test_policy_config_accounts_shadow(void **s)
{
	(void)s;
	golden_edit("accounts/shadow", ed_lock, "root", 1);
	golden_edit("accounts/shadow-locked", ed_lock, "root", 0);
	golden_edit("accounts/shadow-empty-crlf", ed_lock, "root", 1);
}

/* ---- sysctl ---- */
static void test_policy_config_sysctl_normalize(void **s)
{
	char k[128];

	(void)s;
	gm_sysctl_normalize("net/ipv4/conf/eth0.100/rp_filter", k, sizeof(k));
	assert_string_equal(k, "net.ipv4.conf.eth0/100.rp_filter");
	gm_sysctl_normalize("net.ipv4.conf.eth0/100.rp_filter", k, sizeof(k));
	assert_string_equal(k, "net.ipv4.conf.eth0/100.rp_filter");
	gm_sysctl_normalize("kernel.yama.ptrace_scope", k, sizeof(k));
	assert_string_equal(k, "kernel.yama.ptrace_scope");
}

static char *dump_tree(const char *dir)
{
	return tp_run("cd '%s' && find . \\( -type f -o -type l \\) | LC_ALL=C sort | while read f; do "
		      "if [ -L \"$f\" ]; then echo \"==> $f -> $(readlink \"$f\")\"; "
		      "else echo \"==> $f\"; cat \"$f\"; echo; fi; done", dir);
}

static const char *const sysctl_keys[][2] = {
	{ "net.ipv4.tcp_syncookies", "1" },
	{ "net.ipv4.conf.all.accept_source_route", "0" },
	{ "net.ipv4.conf.default.accept_source_route", "0" },
	{ "net.ipv4.conf.all.accept_redirects", "0" },
	{ "net.ipv4.conf.all.secure_redirects", "0" },
	{ "net.ipv4.conf.all.rp_filter", "1" },
	{ "net.ipv4.conf.default.rp_filter", "1" },
	{ "net.ipv4.conf.default.log_martians", "1" },
	{ "net.ipv4.tcp_rfc1337", "1" },
	{ "kernel.randomize_va_space", "2" },
	{ "fs.protected_hardlinks", "1" },
	{ "kernel.kptr_restrict", "1" },
	{ "kernel.perf_event_paranoid", "2" },
	{ "kernel.yama.ptrace_scope", "1" },
};

/* precedence as systemd-sysctl: /etc hides /usr/lib by name, lexical order,
 * the last value wins, /etc/sysctl.conf through 99-sysctl.conf once */
static void test_policy_config_sysctl_precedence(void **s)
{
	char *t = tp_tmpdir();
	struct gm_root_dir r;
	struct gm_sysctl_found f;
	struct gm_error err = { 0 };

	(void)s;
	free(tp_run("cp -a '%s/.' '%s/'", tp_data("sysctl/tree"), t));
	gm_root_dir_init(&r, t);
	assert_int_equal(gm_sysctl_get(&r.root, "kernel.kptr_restrict", &f, &err), 1);
	assert_string_equal(f.value, "2");
	assert_string_equal(f.file, "/usr/lib/sysctl.d/50-default.conf");
	assert_int_equal(gm_sysctl_get(&r.root, "kernel.perf_event_paranoid", &f, &err), 1);
	assert_string_equal(f.value, "1");   /* /usr/lib 10-ptrace.conf hidden by /etc's */
	assert_string_equal(f.file, "/usr/lib/sysctl.d/90-vendor.conf");
	assert_int_equal(gm_sysctl_get(&r.root, "kernel.randomize_va_space", &f, &err), 1);
	assert_string_equal(f.value, "0");   /* slash form, CRLF */
	assert_int_equal(gm_sysctl_get(&r.root, "net/ipv4/tcp_rfc1337", &f, &err), 1);
	assert_string_equal(f.value, "1");   /* '-' prefix, no final newline */
	assert_int_equal(gm_sysctl_get(&r.root, "net.ipv4.conf.all.accept_source_route", &f, &err), 1);
	assert_true(f.glob);
	assert_int_equal(gm_sysctl_get(&r.root, "net.ipv4.conf.all.secure_redirects", &f, &err), 1);
	assert_string_equal(f.file, "/etc/sysctl.d/99-sysctl.conf");
	assert_int_equal(f.line, 33);
	assert_int_equal(gm_sysctl_get(&r.root, "net.ipv4.tcp_syncookies", &f, &err), 0);

	/* apply every key; the result is the golden tree dump */
	for (size_t i = 0; i < sizeof(sysctl_keys) / sizeof(sysctl_keys[0]); i++) {
		int rc = gm_sysctl_set(&r.root, sysctl_keys[i][0], sysctl_keys[i][1],
				       "/etc/sysctl.d/60-gce-hardening.conf", &err);
		if (rc < 0)
			fail_msg("%s: %s", sysctl_keys[i][0], err.msg);
		assert_int_equal(gm_sysctl_get(&r.root, sysctl_keys[i][0], &f, &err), 1);
		assert_string_equal(f.value, sysctl_keys[i][1]);
	}
	char *d = dump_tree(t);
	tp_golden("sysctl/tree.expected", d, strlen(d));
	free(d);
	/* the symlink to sysctl.conf is still a symlink */
	char p[PATH_MAX];
	struct stat st;
	snprintf(p, sizeof(p), "%s/etc/sysctl.d/99-sysctl.conf", t);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* again: nothing to do */
	for (size_t i = 0; i < sizeof(sysctl_keys) / sizeof(sysctl_keys[0]); i++)
		assert_int_equal(gm_sysctl_set(&r.root, sysctl_keys[i][0], sysctl_keys[i][1],
					       "/etc/sysctl.d/60-gce-hardening.conf", &err), 0);
	tp_rmrf(t);
	free(t);
}

/* pure edits: the last explicit assignment, slash form, CRLF kept, ';'
 * comments, appending to a file without a final newline */
static void test_policy_config_sysctl_edit_pure(void **s)
{
	const char *t = "# c\nkernel.a = 1\r\n; other\nkernel/a=3\nkernel.b=1";
	char *out;
	size_t olen;

	(void)s;
	assert_int_equal(gm_sysctl_edit(t, strlen(t), "kernel.a", "2", &out, &olen), 1);
	assert_string_equal(out, "# c\nkernel.a = 1\r\n; other\nkernel/a=2\nkernel.b=1");
	free(out);
	assert_int_equal(gm_sysctl_edit(t, strlen(t), "kernel.c", "2", &out, &olen), -ENOENT);
	assert_int_equal(gm_sysctl_append(t, strlen(t), "kernel.c", "2", &out, &olen), 1);
	assert_string_equal(out, "# c\nkernel.a = 1\r\n; other\nkernel/a=3\nkernel.b=1\nkernel.c = 2\n");
	free(out);
}

/* a 1 MB line in a sysctl file, login.defs and passwd: passes through */
static void test_policy_config_huge_lines(void **s)
{
	size_t n = 1 << 20, olen;
	char *big = malloc(n + 1), *in, *out;

	(void)s;
	memset(big, 'x', n);
	big[n] = '\0';
	in = gm_strdupf("# %s\nkernel.a = 1\nvm.b = %s\n", big, big);
	assert_int_equal(gm_sysctl_edit(in, strlen(in), "kernel.a", "2", &out, &olen), 1);
	assert_int_equal(olen, strlen(in));
	assert_non_null(strstr(out, "\nkernel.a = 2\nvm.b = x"));
	free(out);
	free(in);
	in = gm_strdupf("MAIL_DIR %s\nENCRYPT_METHOD MD5\n", big);
	assert_int_equal(gm_logindefs_set(in, strlen(in), "ENCRYPT_METHOD", "SHA512", &out, &olen), 1);
	assert_string_equal(out + olen - strlen("ENCRYPT_METHOD SHA512\n"), "ENCRYPT_METHOD SHA512\n");
	free(out);
	free(in);
	in = gm_strdupf("games:x:5:60:%s:/usr/games:/bin/sh\n", big);
	assert_int_equal(gm_passwd_nologin(in, strlen(in), 1000, "/usr/sbin/nologin", &out, &olen,
					   NULL, 0), 1);
	assert_string_equal(out + olen - strlen(":/usr/games:/usr/sbin/nologin\n"),
			    ":/usr/games:/usr/sbin/nologin\n");
	free(out);
	free(in);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_config_logindefs_debian12),
		cmocka_unit_test(test_policy_config_logindefs_awful),
		cmocka_unit_test(test_policy_config_grub_debian12),
		cmocka_unit_test(test_policy_config_grub_ubuntu_cloud),
		cmocka_unit_test(test_policy_config_grub_unquoted_no_newline),
		cmocka_unit_test(test_policy_config_grub_reset),
		cmocka_unit_test(test_policy_config_ntp_conf),
		cmocka_unit_test(test_policy_config_ntp_chrony),
		cmocka_unit_test(test_policy_config_ntp_timesyncd),
		cmocka_unit_test(test_policy_config_dhclient),
		cmocka_unit_test(test_policy_config_aptconf),
		cmocka_unit_test(test_policy_config_accounts_passwd),
		cmocka_unit_test(test_policy_config_accounts_shadow),
		cmocka_unit_test(test_policy_config_sysctl_normalize),
		cmocka_unit_test(test_policy_config_sysctl_precedence),
		cmocka_unit_test(test_policy_config_sysctl_edit_pure),
		cmocka_unit_test(test_policy_config_huge_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
