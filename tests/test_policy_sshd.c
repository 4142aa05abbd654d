/* test_policy_sshd.c — sshd_config / ssh_config editing, checked against
 * golden files AND against OpenSSH's own parser (`sshd -T`, `ssh -G`). */
#include "tests/test_policy_util.h"

static const char *const server_set[][2] = {
	{ "PermitRootLogin", "no" },        { "PasswordAuthentication", "no" },
	{ "PermitTunnel", "no" },           { "AllowTcpForwarding", "yes" },
	{ "X11Forwarding", "no" },          { "ClientAliveInterval", "420" },
	{ "HostbasedAuthentication", "no" },
};
#define NSET (sizeof(server_set) / sizeof(server_set[0]))

static const char *const client_set[][2] = {
	{ "ForwardAgent", "no" },          { "ForwardX11", "no" },
	{ "HostbasedAuthentication", "no" }, { "ServerAliveInterval", "420" },
	{ "StrictHostKeyChecking", "ask" },
};
#define NCSET (sizeof(client_set) / sizeof(client_set[0]))

/* `sshd -T -f file [-C spec]`, lowercased keys. */
static char *sshd_dump(const char *file, const char *spec)
{
	char *o = tp_run("/usr/sbin/sshd -T -f '%s' -h '%s/hk' %s%s 2>&1", file, hostkey_dir,
			 spec ? "-C " : "", spec ? spec : "");
	if (!o)
		fail_msg("sshd -T rejected %s", file);
	return o;
}

static void set_all_server(struct gm_sshcfg *c)
{
	for (size_t i = 0; i < NSET; i++) {
		int rc = gm_sshcfg_set(c, server_set[i][0], server_set[i][1]);
		assert_true(rc == 0 || rc == 1);
	}
}

static char *joined(struct gm_sshcfg *c, size_t i, size_t *len)
{
	char *buf;
	bool changed;

	assert_non_null(gm_sshcfg_file(c, i, &buf, len, &changed));
	char *copy = malloc(*len + 1);
	memcpy(copy, buf, *len + 1);
	return copy;
}

static void oracle_server(const char *text, size_t len, const char *spec)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/cfg", hostkey_dir);
	tp_write(path, text, len);
	char *d = sshd_dump(path, spec);
	for (size_t i = 0; i < NSET; i++) {
		char k[64];
		size_t j;
		for (j = 0; server_set[i][0][j]; j++)
			k[j] = (char)(server_set[i][0][j] | 0x20);
		k[j] = '\0';
		if (!tp_dump_has(d, k, server_set[i][1]))
			fail_msg("sshd -T: %s is not %s", k, server_set[i][1]);
	}
	free(d);
}

/* One golden case: apply the server settings, compare, ask sshd, re-apply. */
static void golden_case(const char *name)
{
	char in[128], exp[128];
	size_t len, olen;
	char *buf, *out;
	struct gm_sshcfg *c;

	snprintf(in, sizeof(in), "sshd/%s.conf", name);
	snprintf(exp, sizeof(exp), "sshd/%s.expected", name);
	buf = tp_read(tp_data(in), &len);
	assert_int_equal(gm_sshcfg_from_buffer(GM_SSH_SERVER, "/etc/ssh/sshd_config", buf, len, &c), 0);
	set_all_server(c);
	out = joined(c, 0, &olen);
	tp_golden(exp, out, olen);
	oracle_server(out, olen, NULL);
	gm_sshcfg_free(c);
	/* idempotent: nothing to change the second time */
	assert_int_equal(gm_sshcfg_from_buffer(GM_SSH_SERVER, "/etc/ssh/sshd_config", out, olen, &c), 0);
	for (size_t i = 0; i < NSET; i++)
		assert_int_equal(gm_sshcfg_set(c, server_set[i][0], server_set[i][1]), 0);
	gm_sshcfg_free(c);
	free(out);
	free(buf);
}

static void test_policy_sshd_debian12(void **s) { (void)s; golden_case("debian12"); }
static void test_policy_sshd_ubuntu2404(void **s) { (void)s; golden_case("ubuntu2404"); }
static void test_policy_sshd_crlf(void **s) { (void)s; golden_case("awful-crlf"); }
static void test_policy_sshd_no_final_newline(void **s) { (void)s; golden_case("awful-nonl"); }
static void test_policy_sshd_duplicate_keys(void **s) { (void)s; golden_case("awful-dup"); }
static void test_policy_sshd_keys_in_other_case(void **s) { (void)s; golden_case("awful-case"); }
static void test_policy_sshd_key_in_comments(void **s) { (void)s; golden_case("awful-comment"); }
static void test_policy_sshd_equals_form(void **s) { (void)s; golden_case("awful-equals"); }

/* New lines go before the first Match; the Match blocks keep their own
 * settings (conditional), verified with sshd -T -C for a matching user. */
static void test_policy_sshd_match_block(void **s)
{
	size_t len, olen;
	char *buf = tp_read(tp_data("sshd/match.conf"), &len), *out, path[PATH_MAX];
	struct gm_sshcfg *c;
	struct gm_ssh_found f;

	(void)s;
	golden_case("match");
	assert_int_equal(gm_sshcfg_from_buffer(GM_SSH_SERVER, "/etc/ssh/sshd_config", buf, len, &c), 0);
	/* the Match block's PasswordAuthentication is reported as conditional */
	assert_int_equal(gm_sshcfg_get(c, "PasswordAuthentication", &f), 0);
	assert_int_equal(f.conditional_line, 11);
	set_all_server(c);
	out = joined(c, 0, &olen);
	snprintf(path, sizeof(path), "%s/cfg", hostkey_dir);
	tp_write(path, out, olen);
	/* a user in the Match block: the block still wins for what it sets */
	char *d = sshd_dump(path, "user=deploy,host=h,addr=10.1.2.3");
	assert_true(tp_dump_has(d, "permittunnel", "yes"));
	assert_true(tp_dump_has(d, "allowtcpforwarding", "no"));
	assert_true(tp_dump_has(d, "permitrootlogin", "no"));
	assert_true(tp_dump_has(d, "clientaliveinterval", "420"));
	free(d);
	d = sshd_dump(path, "user=other,host=h,addr=192.168.1.1");
	assert_true(tp_dump_has(d, "permittunnel", "no"));
	assert_true(tp_dump_has(d, "passwordauthentication", "no"));
	free(d);
	/* PermitRootLogin was fixed in place (line 3), not added again */
	assert_int_equal(gm_sshcfg_get(c, "PermitRootLogin", &f), 1);
	assert_int_equal(f.line, 3);
	gm_sshcfg_free(c);
	free(out);
	free(buf);
}

/* Ubuntu 22.04 cloud image: 50-cloud-init.conf says PasswordAuthentication
 * yes BEFORE 60-cloudimg-settings.conf says no — the first wins, so the
 * drop-in is fixed in place. Absolute Include paths, host root "/": the very
 * files sshd -T reads. */
static void test_policy_sshd_include_dropins(void **s)
{
	char *t = tp_tmpdir(), main[PATH_MAX], text[PATH_MAX + 4096];
	struct gm_root_dir r;
	struct gm_sshcfg *c;
	struct gm_ssh_found f;
	struct gm_error err = { 0 };
	const char *names[] = { "50-cloud-init.conf", "60-cloudimg-settings.conf", "70-backup.conf" };

	(void)s;
	for (size_t i = 0; i < 3; i++) {
		char rel[128];
		snprintf(rel, sizeof(rel), "sshd/ubuntu2204.d/%s", names[i]);
		char *b = tp_read(tp_data(rel), NULL);
		snprintf(rel, sizeof(rel), "d/%s", names[i]);
		tp_put(t, rel, b);
		free(b);
	}
	char *ub = tp_read(tp_data("sshd/ubuntu2204.conf"), NULL);
	char *inc = strstr(ub, "Include /etc/ssh/sshd_config.d/*.conf");
	assert_non_null(inc);
	*inc = '\0';
	snprintf(text, sizeof(text), "%sInclude %s/d/*.conf%s", ub, t,
		 inc + strlen("Include /etc/ssh/sshd_config.d/*.conf"));
	free(ub);
	tp_put(t, "sshd_config", text);
	snprintf(main, sizeof(main), "%s/sshd_config", t);

	gm_root_dir_init(&r, "/");
	assert_int_equal(gm_sshcfg_load(&r.root, GM_SSH_SERVER, main, &c, &err), 0);
	assert_int_equal(gm_sshcfg_nfiles(c), 4);
	assert_int_equal(gm_sshcfg_get(c, "PasswordAuthentication", &f), 1);
	assert_string_equal(f.value, "yes");
	assert_non_null(strstr(f.file, "50-cloud-init.conf"));
	assert_int_equal(f.line, 1);
	/* the Match in 70-backup.conf ends with that file */
	assert_int_equal(gm_sshcfg_get(c, "PermitRootLogin", &f), 0);
	assert_non_null(strstr(f.cfile, "70-backup.conf"));
	set_all_server(c);
	for (size_t i = 0; i < gm_sshcfg_nfiles(c); i++) {
		char *buf;
		size_t len;
		bool changed;
		const char *p = gm_sshcfg_file(c, i, &buf, &len, &changed);
		if (changed)
			tp_write(p, buf, len);
		/* the main file and 50-cloud-init change; 60 and 70 stay */
		assert_true(changed == (i == 0 || strstr(p, "50-cloud-init") != NULL));
	}
	char *d50 = tp_get(t, "d/50-cloud-init.conf");
	assert_string_equal(d50, "PasswordAuthentication no\n");
	free(d50);
	char *d = sshd_dump(main, NULL);
	for (size_t i = 0; i < NSET; i++) {
		char k[64];
		size_t j;
		for (j = 0; server_set[i][0][j]; j++)
			k[j] = (char)(server_set[i][0][j] | 0x20);
		k[j] = '\0';
		assert_true(tp_dump_has(d, k, server_set[i][1]));
	}
	free(d);
	/* the conditional drop-in still applies to its user */
	d = sshd_dump(main, "user=backup,host=h,addr=1.2.3.4");
	assert_true(tp_dump_has(d, "permitrootlogin", "yes"));
	free(d);
	gm_sshcfg_free(c);
	tp_rmrf(t);
	free(t);
}

/* A relative Include is relative to /etc/ssh (inside the image root). */
static void test_policy_sshd_relative_include(void **s)
{
	char *t = tp_tmpdir();
	struct gm_root_dir r;
	struct gm_sshcfg *c;
	struct gm_ssh_found f;
	struct gm_error err = { 0 };

	(void)s;
	/* sshd_config itself is a (relative) symlink */
	tp_put(t, "etc/ssh/real/sshd_config", "Include sshd_config.d/*.conf\nPermitRootLogin yes\n");
	char lnk[PATH_MAX];
	snprintf(lnk, sizeof(lnk), "%s/etc/ssh/sshd_config", t);
	assert_int_equal(symlink("real/sshd_config", lnk), 0);
	tp_put(t, "etc/ssh/sshd_config.d/b.conf", "PermitRootLogin prohibit-password\n");
	tp_put(t, "etc/ssh/sshd_config.d/a.conf", "# first in lexical order\nX11Forwarding yes\n");
	tp_put(t, "etc/ssh/sshd_config.d/c.txt", "PermitRootLogin without-password\n");
	gm_root_dir_init(&r, t);
	assert_int_equal(gm_sshcfg_load(&r.root, GM_SSH_SERVER, "/etc/ssh/sshd_config", &c, &err), 0);
	assert_int_equal(gm_sshcfg_get(c, "PermitRootLogin", &f), 1);
	assert_string_equal(f.file, "/etc/ssh/sshd_config.d/b.conf");
	assert_string_equal(f.value, "prohibit-password");
	assert_int_equal(gm_sshcfg_get(c, "X11Forwarding", &f), 1);
	assert_string_equal(f.file, "/etc/ssh/sshd_config.d/a.conf");
	assert_int_equal(f.line, 2);
	gm_sshcfg_free(c);
	tp_rmrf(t);
	free(t);
}

/* A 1 MB line (a comment and a value) passes through untouched. */
static void test_policy_sshd_huge_line(void **s)
{
	size_t n = 1 << 20, len, olen;
	char *buf = malloc(3 * n + 200), *p = buf, *out;
	struct gm_sshcfg *c;

	(void)s;
	p += sprintf(p, "# ");
	memset(p, 'x', n);
	p += n;
	p += sprintf(p, "\nAcceptEnv ");
	for (size_t i = 0; i < n / 8; i++)
		p += sprintf(p, "LC_%04zu ", i % 10000);
	p += sprintf(p, "\nPermitRootLogin yes\n");
	len = (size_t)(p - buf);
	assert_int_equal(gm_sshcfg_from_buffer(GM_SSH_SERVER, "/etc/ssh/sshd_config", buf, len, &c), 0);
	assert_int_equal(gm_sshcfg_set(c, "PermitRootLogin", "no"), 1);
	out = joined(c, 0, &olen);
	assert_int_equal(olen, len - 1);   /* "yes" -> "no" */
	assert_memory_equal(out, buf, len - strlen("PermitRootLogin yes\n"));
	assert_string_equal(out + olen - strlen("PermitRootLogin no\n"), "PermitRootLogin no\n");
	free(out);
	gm_sshcfg_free(c);
	free(buf);
}

/* ssh_config: settings land in the "Host *" block (Debian's layout), are
 * fixed in place when set for all hosts, and `ssh -G` agrees. */
static void client_case(const char *name, const char *host)
{
	char in[128], exp[128], path[PATH_MAX];
	size_t len, olen;
	char *buf, *out;
	struct gm_sshcfg *c;

	snprintf(in, sizeof(in), "ssh/%s.conf", name);
	snprintf(exp, sizeof(exp), "ssh/%s.expected", name);
	buf = tp_read(tp_data(in), &len);
	assert_int_equal(gm_sshcfg_from_buffer(GM_SSH_CLIENT, "/etc/ssh/ssh_config", buf, len, &c), 0);
	for (size_t i = 0; i < NCSET; i++)
		assert_true(gm_sshcfg_set(c, client_set[i][0], client_set[i][1]) >= 0);
	out = joined(c, 0, &olen);
	tp_golden(exp, out, olen);
	snprintf(path, sizeof(path), "%s/ssh_config", hostkey_dir);
	tp_write(path, out, olen);
	char *d = tp_run("ssh -G -F '%s' %s 2>&1", path, host);
	assert_non_null(d);
	for (size_t i = 0; i < NCSET; i++) {
		char k[64];
		size_t j;
		for (j = 0; client_set[i][0][j]; j++)
			k[j] = (char)(client_set[i][0][j] | 0x20);
		k[j] = '\0';
		/* ssh -G prints "stricthostkeychecking ask" as "... ask"; booleans as yes/no */
		if (!tp_dump_has(d, k, client_set[i][1]))
			fail_msg("ssh -G: %s is not %s", k, client_set[i][1]);
	}
	free(d);
	gm_sshcfg_free(c);
	free(out);
	free(buf);
}

static void test_policy_sshd_client_debian12(void **s) { (void)s; client_case("debian12", "some.host.example"); }
static void test_policy_sshd_client_hosts(void **s) { (void)s; client_case("hosts", "internal"); }

static void test_policy_sshd_versions(void **s)
{
	const char *st = "Package: openssh-client\nStatus: install ok installed\nVersion: 1:7.4p1-10\n\n"
			 "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2+deb12u3\n\n";
	char why[256];

	(void)s;
	assert_int_equal(gm_openssh_version(st, strlen(st), "openssh-server"), 902);
	assert_int_equal(gm_openssh_version(st, strlen(st), "openssh-client"), 704);
	assert_int_equal(gm_openssh_version(st, strlen(st), "openssh-sftp-server"), 0);
	assert_true(gm_ssh_setting_ok(GM_SSH_SERVER, "PermitRootLogin", "no", 902, why, sizeof(why)));
	assert_false(gm_ssh_setting_ok(GM_SSH_SERVER, "Protocol", "2", 902, why, sizeof(why)));
	assert_non_null(strstr(why, "7.6"));
	assert_true(gm_ssh_setting_ok(GM_SSH_SERVER, "Protocol", "2", 705, why, sizeof(why)));
	assert_false(gm_ssh_setting_ok(GM_SSH_SERVER, "Protocol", "2", 0, why, sizeof(why)));
	assert_false(gm_ssh_setting_ok(GM_SSH_SERVER, "Ciphers", "aes128-ctr,arcfour256", 902, why,
				       sizeof(why)));
	assert_true(gm_ssh_setting_ok(GM_SSH_SERVER, "Ciphers", "aes128-ctr,aes256-ctr", 902, why,
				      sizeof(why)));
	assert_false(gm_ssh_setting_ok(GM_SSH_SERVER, "PermitRootLogin", "prohibit-password", 606,
				       why, sizeof(why)));
	assert_false(gm_ssh_setting_ok(GM_SSH_CLIENT, "StrictHostKeyChecking", "accept-new", 704,
				       why, sizeof(why)));
	/* the host's OpenSSH (9.2) agrees: arcfour is a bad cipher spec, Protocol
	 * is ignored (absent from the effective configuration) */
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/proto", hostkey_dir);
	tp_write(path, "Ciphers arcfour\n", 16);
	char *o = tp_run("/usr/sbin/sshd -T -f '%s' -h '%s/hk' 2>/dev/null", path, hostkey_dir);
	assert_null(o);
	tp_write(path, "Protocol 2\n", 11);
	o = tp_run("/usr/sbin/sshd -T -f '%s' -h '%s/hk' 2>&1", path, hostkey_dir);
	assert_non_null(o);
	assert_null(strstr(o, "\nprotocol "));
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_sshd_debian12),
		cmocka_unit_test(test_policy_sshd_ubuntu2404),
		cmocka_unit_test(test_policy_sshd_crlf),
		cmocka_unit_test(test_policy_sshd_no_final_newline),
		cmocka_unit_test(test_policy_sshd_duplicate_keys),
		cmocka_unit_test(test_policy_sshd_keys_in_other_case),
		cmocka_unit_test(test_policy_sshd_key_in_comments),
		cmocka_unit_test(test_policy_sshd_equals_form),
		cmocka_unit_test(test_policy_sshd_match_block),
		cmocka_unit_test(test_policy_sshd_include_dropins),
		cmocka_unit_test(test_policy_sshd_relative_include),
		cmocka_unit_test(test_policy_sshd_huge_line),
		cmocka_unit_test(test_policy_sshd_client_debian12),
		cmocka_unit_test(test_policy_sshd_client_hosts),
		cmocka_unit_test(test_policy_sshd_versions),
	};

	return cmocka_run_group_tests(tests, tp_sshd_setup, tp_sshd_teardown);
}
