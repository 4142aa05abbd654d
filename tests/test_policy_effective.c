/* test_policy_effective.c — configurations written to fool a naive reader.
 * Each case is a directory tree standing for an image root, built so that
 * reading the obvious line gives the wrong answer. For each: check says FAIL
 * for the rule (and the consuming program agrees: `sshd -T -C ...` for
 * sshd), apply changes it, check then says PASS (and sshd -T agrees). The
 * image path of the same code is in tests/it_check.sh. */
#include "tests/test_policy_util.h"

struct rows {
	char status[64][16];
	char id[64][80];
	char reason[64][512];
	size_t n;
};

static void on_row(void *priv, const struct gm_rule_result *r)
{
	struct rows *rs = priv;

	if (rs->n < 64) {
		snprintf(rs->id[rs->n], sizeof(rs->id[0]), "%s", r->id);
		snprintf(rs->status[rs->n], sizeof(rs->status[0]), "%s", gm_status_name(r->status));
		snprintf(rs->reason[rs->n], sizeof(rs->reason[0]), "%s", r->reason);
		rs->n++;
	}
}

/* The status of rule id under policy pol on tree dir; reason copied. */
static const char *status_of(const char *dir, const char *pol, const char *id, char *reason,
			     size_t rlen)
{
	static char st[16];
	struct gm_root_dir r;
	struct gm_policy *p = NULL;
	struct gm_error err = { 0 };
	struct rows *rs = calloc(1, sizeof(*rs));

	assert_non_null(rs);
	if (gm_policy_load(pol, &p, &err) < 0)
		fail_msg("%s: %s", pol, err.msg);
	gm_root_dir_init(&r, dir);
	assert_int_equal(gm_policy_check_root(p, &r.root, on_row, rs, &err), 0);
	snprintf(st, sizeof(st), "?");
	for (size_t i = 0; i < rs->n; i++)
		if (!strcmp(rs->id[i], id)) {
			snprintf(st, sizeof(st), "%s", rs->status[i]);
			if (reason)
				snprintf(reason, rlen, "%s", rs->reason[i]);
		}
	gm_policy_free(p);
	free(rs);
	return st;
}

static void apply(const char *dir, const char *pol)
{
	struct gm_root_dir r;
	struct gm_policy *p = NULL;
	struct gm_error err = { 0 };

	assert_int_equal(gm_policy_load(pol, &p, &err), 0);
	gm_root_dir_init(&r, dir);
	if (gm_policy_apply_root(p, &r.root, false, NULL, NULL, &err) < 0)
		fail_msg("apply %s: %s", pol, err.msg);
	gm_policy_free(p);
}

/* check FAIL (reason containing why), apply, check PASS, apply again: nothing. */
static void round_trip(const char *dir, const char *pol, const char *id, const char *why)
{
	char reason[512];

	assert_string_equal(status_of(dir, pol, id, reason, sizeof(reason)), "FAIL");
	if (why && !strstr(reason, why))
		fail_msg("%s: reason '%s' lacks '%s'", id, reason, why);
	apply(dir, pol);
	if (strcmp(status_of(dir, pol, id, reason, sizeof(reason)), "PASS"))
		fail_msg("%s after apply: %s", id, reason);
}

/* `sshd -T` on the tree's sshd_config (its /etc/ssh paths moved into the
 * tree), with extra command-line options, for user: the value of key. */
static char *sshd_value(const char *dir, const char *user, const char *opts, const char *key)
{
	char *o = tp_run("cd '%s' && sed 's#/etc/ssh/#%s/etc/ssh/#g' etc/ssh/sshd_config > oracle.conf && "
			 "for f in etc/ssh/sshd_config.d/*.conf; do [ -e \"$f\" ] || continue; "
			 "sed -i 's#/etc/ssh/#%s/etc/ssh/#g' \"$f\"; done; "
			 "/usr/sbin/sshd -T -f oracle.conf -h '%s/hk' %s -C user=%s,host=client.example.com,"
			 "addr=203.0.113.10,laddr=10.128.0.2,lport=22 2>&1 | grep -i '^%s '",
			 dir, dir, dir, hostkey_dir, opts ? opts : "", user, key);
	if (!o)
		fail_msg("sshd -T found no %s for %s in %s", key, user, dir);
	char *nl = strchr(o, '\n');
	if (nl)
		*nl = '\0';
	return o;
}

static void expect_sshd(const char *dir, const char *user, const char *opts, const char *key,
			const char *want)
{
	char *v = sshd_value(dir, user, opts, key), line[256];

	snprintf(line, sizeof(line), "%s %s", key, want);
	if (strcasecmp(v, line))
		fail_msg("sshd -T for %s: '%s', expected '%s'", user, v, line);
	free(v);
}

static char *tree(void)
{
	char *t = tp_tmpdir();

	tp_put(t, "var/lib/dpkg/status", "Package: openssh-server\nStatus: install ok installed\n"
	       "Version: 1:9.2p1-2\n\n");
	return t;
}

/* 1. Match all after the global setting overrides it (for every connection). */
static void test_policy_effective_sshd_match_all(void **s)
{
	char *t = tree();

	(void)s;
	tp_put(t, "etc/ssh/sshd_config", "KbdInteractiveAuthentication no\nUsePAM yes\n"
	       "PasswordAuthentication no\n\nMatch all\n  PasswordAuthentication yes\n");
	expect_sshd(t, "alice", NULL, "passwordauthentication", "yes");
	round_trip(t, "ssh", "ssh.password-authentication", "in a Match block");
	expect_sshd(t, "alice", NULL, "passwordauthentication", "no");
	expect_sshd(t, "root", NULL, "passwordauthentication", "no");
	tp_rmrf(t);
	free(t);
}

/* 2. A Match block whose criteria match every connection (Address *), in a
 * drop-in, lets root in; a Match User block for one user is left alone. */
static void test_policy_effective_sshd_match_address(void **s)
{
	char *t = tree();

	(void)s;
	tp_put(t, "etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n"
	       "KbdInteractiveAuthentication no\n");
	tp_put(t, "etc/ssh/sshd_config.d/50-site.conf", "Match Address *,!192.0.2.1 User *\n"
	       "  PermitRootLogin yes\nMatch User backup\n  PermitRootLogin yes\n");
	expect_sshd(t, "root", NULL, "permitrootlogin", "yes");
	round_trip(t, "ssh", "ssh.permit-root-login", "Match block");
	expect_sshd(t, "root", NULL, "permitrootlogin", "no");
	char *c = tp_get(t, "etc/ssh/sshd_config.d/50-site.conf");
	assert_non_null(strstr(c, "Match User backup\n  PermitRootLogin yes\n"));
	free(c);
	tp_rmrf(t);
	free(t);
}

/* 3. PasswordAuthentication no, but keyboard-interactive (OpenSSH's
 * default yes) with UsePAM yes asks for the password. */
static void test_policy_effective_sshd_kbd_pam(void **s)
{
	char *t = tree();

	(void)s;
	tp_put(t, "etc/ssh/sshd_config", "UsePAM yes\nPasswordAuthentication no\n");
	expect_sshd(t, "alice", NULL, "kbdinteractiveauthentication", "yes");
	expect_sshd(t, "alice", NULL, "usepam", "yes");
	round_trip(t, "ssh", "ssh.password-authentication", "UsePAM yes");
	expect_sshd(t, "alice", NULL, "kbdinteractiveauthentication", "no");
	tp_rmrf(t);
	free(t);
}

/* 4. Debian's /etc/default/ssh: SSHD_OPTS reaches sshd through the unit. */
static void test_policy_effective_sshd_default_opts(void **s)
{
	char *t = tree();

	(void)s;
	tp_put(t, "etc/ssh/sshd_config", "PermitRootLogin no\nPasswordAuthentication no\n"
	       "KbdInteractiveAuthentication no\n");
	tp_put(t, "lib/systemd/system/ssh.service", "[Service]\nEnvironmentFile=-/etc/default/ssh\n"
	       "ExecStart=/usr/sbin/sshd -D $SSHD_OPTS\n");
	tp_put(t, "etc/default/ssh", "# Options to pass to sshd\nSSHD_OPTS=\"-o PasswordAuthentication=yes -4\"\n");
	expect_sshd(t, "alice", "-o PasswordAuthentication=yes", "passwordauthentication", "yes");
	round_trip(t, "ssh", "ssh.password-authentication", "command line");
	char *c = tp_get(t, "etc/default/ssh");
	assert_string_equal(c, "# Options to pass to sshd\nSSHD_OPTS=\"-4\"\n");
	free(c);
	expect_sshd(t, "alice", "-4", "passwordauthentication", "no");
	tp_rmrf(t);
	free(t);
}

/* 5. A systemd drop-in replaces ExecStart with a -o of its own. */
static void test_policy_effective_sshd_dropin_execstart(void **s)
{
	char *t = tree();

	(void)s;
	tp_put(t, "etc/ssh/sshd_config", "PermitRootLogin no\n");
	tp_put(t, "lib/systemd/system/ssh.service", "[Service]\nExecStart=/usr/sbin/sshd -D\n");
	tp_put(t, "etc/systemd/system/ssh.service.d/override.conf",
	       "[Service]\nExecStart=\nExecStart=/usr/sbin/sshd -D -oPermitRootLogin=yes\n");
	expect_sshd(t, "root", "-oPermitRootLogin=yes", "permitrootlogin", "yes");
	round_trip(t, "ssh", "ssh.permit-root-login", "override.conf");
	char *c = tp_get(t, "etc/systemd/system/ssh.service.d/override.conf");
	assert_non_null(strstr(c, "ExecStart=/usr/sbin/sshd -D\n"));
	free(c);
	expect_sshd(t, "root", NULL, "permitrootlogin", "no");
	tp_rmrf(t);
	free(t);
}

/* 6. sysctl: all=0 and default=0, but ens4's own key says 1, and the kernel
 * sends redirects when all OR the interface says so. */
static void test_policy_effective_sysctl_iface(void **s)
{
	char *t = tree();

	(void)s;
	tp_put(t, "etc/sysctl.d/10-gce.conf", "net.ipv4.conf.all.send_redirects = 0\n"
	       "net.ipv4.conf.default.send_redirects = 0\n");
	tp_put(t, "etc/sysctl.d/90-site.conf", "net/ipv4/conf/ens4/send_redirects = 1\n");
	round_trip(t, "sysctl", "sysctl.send-redirects", "ens4");
	tp_rmrf(t);
	free(t);
}

/* 7. sysctl glob (systemd >= 246): every interface accepts redirects. */
static void test_policy_effective_sysctl_glob(void **s)
{
	char *t = tree();

	(void)s;
	tp_put(t, "etc/sysctl.d/10-gce.conf", "net.ipv4.conf.all.accept_redirects = 0\n"
	       "net.ipv4.conf.default.accept_redirects = 0\n");
	tp_put(t, "usr/lib/sysctl.d/50-vendor.conf", "net.ipv4.conf.*.accept_redirects = 1\n");
	round_trip(t, "sysctl", "sysctl.accept-redirects", "a glob");
	tp_rmrf(t);
	free(t);
}

/* 8. A "-" line (errors ignored) still sets the key; /run beats /etc by name order. */
static void test_policy_effective_sysctl_dash_and_order(void **s)
{
	char *t = tree();

	(void)s;
	tp_put(t, "etc/sysctl.d/10-gce.conf", "net.ipv4.ip_forward = 0\n");
	tp_put(t, "run/sysctl.d/99-router.conf", "-net.ipv4.ip_forward = 1\n");
	round_trip(t, "sysctl", "sysctl.ip-forward", "99-router.conf");
	tp_rmrf(t);
	free(t);
}

/* 9. login.defs says SHA512, but pam_unix's last hash option wins: md5. */
static void test_policy_effective_pam_hash(void **s)
{
	char *t = tree();

	(void)s;
	tp_put(t, "etc/login.defs", "ENCRYPT_METHOD SHA512\n");
	tp_put(t, "etc/pam.d/common-password",
	       "password\t[success=1 default=ignore]\tpam_unix.so obscure sha512 md5 # legacy\n"
	       "password\trequisite\t\t\tpam_deny.so\n");
	round_trip(t, "accounts", "accounts.encrypt-method", "md5");
	char *c = tp_get(t, "etc/pam.d/common-password");
	assert_non_null(strstr(c, "pam_unix.so obscure sha512 # legacy\n"));
	free(c);
	tp_rmrf(t);
	free(t);
}

/* 10. chrony.conf itself is right; an include, a confdir file, a sources
 * file and a peer line add other servers. */
static void test_policy_effective_chrony(void **s)
{
	char *t = tree();

	(void)s;
	tp_put(t, "etc/chrony/chrony.conf", "server metadata.google.internal iburst\n"
	       "confdir /etc/chrony/conf.d\nsourcedir /etc/chrony/sources.d\n"
	       "include /etc/chrony/extra/*.conf\nmakestep 1 3\n");
	tp_put(t, "etc/chrony/conf.d/10-pool.conf", "pool 2.debian.pool.ntp.org iburst\n");
	tp_put(t, "etc/chrony/sources.d/site.sources", "server ntp.example.com\n");
	tp_put(t, "etc/chrony/extra/peer.conf", "peer 10.0.0.5\n");
	round_trip(t, "time", "time.ntp", "extra/peer.conf");
	char *c = tp_get(t, "etc/chrony/chrony.conf");
	assert_non_null(strstr(c, "server metadata.google.internal iburst\n"));
	free(c);
	tp_rmrf(t);
	free(t);
}

/* 11. chrony.conf says the metadata server, but the client the image
 * starts is systemd-timesyncd, with no NTP= at all (its FallbackNTP). */
static void test_policy_effective_enabled_client(void **s)
{
	char *t = tree();

	(void)s;
	tp_put(t, "etc/chrony/chrony.conf", "server metadata.google.internal iburst\n");
	tp_put(t, "etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service", "[Unit]\n");
	tp_put(t, "etc/systemd/timesyncd.conf", "[Time]\n#NTP=\n");
	round_trip(t, "time", "time.ntp", "FallbackNTP");
	char *c = tp_get(t, "etc/systemd/timesyncd.conf");
	assert_non_null(strstr(c, "NTP=metadata.google.internal"));
	free(c);
	tp_rmrf(t);
	free(t);
}

/* 12. apt: 20auto-upgrades turns it on, a later file turns the periodic
 * jobs off with APT::Periodic::Enable "0", in block syntax with comments. */
static void test_policy_effective_apt_enable(void **s)
{
	char *t = tree();

	(void)s;
	tp_put(t, "usr/bin/unattended-upgrade", "#!/bin/sh\n");
	tp_put(t, "etc/apt/apt.conf.d/20auto-upgrades", "APT::Periodic::Update-Package-Lists \"1\";\n"
	       "APT::Periodic::Unattended-Upgrade \"1\";\n");
	tp_put(t, "etc/apt/apt.conf.d/99-quiet", "// no background jobs\nAPT {\n  Periodic {\n"
	       "    /* off */ Enable \"0\";\n  };\n};\n");
	round_trip(t, "updates", "updates.unattended-upgrades", "APT::Periodic::Enable");
	char *c = tp_get(t, "etc/apt/apt.conf.d/99-quiet");
	assert_non_null(strstr(c, "/* off */ Enable \"1\";"));
	free(c);
	tp_rmrf(t);
	free(t);
}

/* 13. apt: a .bak file apt ignores says "1"; the file apt reads says "0". */
static void test_policy_effective_apt_ignored_name(void **s)
{
	char *t = tree();

	(void)s;
	tp_put(t, "usr/bin/unattended-upgrade", "#!/bin/sh\n");
	tp_put(t, "etc/apt/apt.conf.d/20auto-upgrades", "APT::Periodic::Update-Package-Lists \"1\";\n"
	       "APT::Periodic::Unattended-Upgrade \"0\";\n");
	tp_put(t, "etc/apt/apt.conf.d/50unattended-upgrades.bak",
	       "APT::Periodic::Unattended-Upgrade \"1\";\n");
	round_trip(t, "updates", "updates.unattended-upgrades", "20auto-upgrades");
	tp_rmrf(t);
	free(t);
}

/* The guide-literal tree: configured as the guide's text and samples say
 * (sample ssh_config with StrictHostKeyChecking no, secure_redirects 1, the
 * guide's rm list leaving ed25519): no guide rule FAILs. */
static void test_policy_effective_guide_literal(void **s)
{
	char *t = tree();
	struct gm_root_dir r;
	struct gm_policy *p = NULL;
	struct gm_error err = { 0 };
	struct rows *rs = calloc(1, sizeof(*rs));
	char *sys = tp_read(tp_data("guide/sysctl.conf"), NULL);

	(void)s;
	tp_put(t, "etc/ssh/sshd_config", "PermitRootLogin no\nPasswordAuthentication no\n"
	       "PermitTunnel no\nAllowTcpForwarding yes\nX11Forwarding no\nClientAliveInterval 420\n"
	       "KbdInteractiveAuthentication no\n");
	free(tp_run("cp '%s' '%s/etc/ssh/ssh_config'", tp_data("guide/ssh_config"), t));
	tp_put(t, "etc/sysctl.d/11-gce-network-security.conf", sys);
	tp_put(t, "etc/ssh/ssh_host_ed25519_key", "key\n");
	tp_put(t, "etc/ntp.conf", "server metadata.google.internal iburst\n");
	tp_put(t, "etc/login.defs", "ENCRYPT_METHOD SHA512\n");
	tp_put(t, "etc/pam.d/common-password", "password [success=1 default=ignore] pam_unix.so obscure sha512\n");
	tp_put(t, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
	tp_put(t, "etc/shadow", "root:!*:19000:0:99999:7:::\n");
	tp_put(t, "usr/sbin/nologin", "");
	tp_put(t, "usr/share/zoneinfo/UTC", "TZif2\n");
	free(tp_run("ln -s /usr/share/zoneinfo/UTC '%s/etc/localtime'", t));
	/* the guide: MTU 1460 from DHCP, or set */
	tp_put(t, "etc/dhcp/dhclient.conf", "supersede interface-mtu 1460;\n");
	/* console=ttyS0,38400n8 in GRUB_CMDLINE_LINUX_DEFAULT counts */
	tp_put(t, "etc/default/grub", "GRUB_CMDLINE_LINUX=\"\"\n"
	       "GRUB_CMDLINE_LINUX_DEFAULT=\"console=ttyS0,38400n8\"\n");
	assert_int_equal(gm_policy_load("gce-hardening", &p, &err), 0);
	gm_root_dir_init(&r, t);
	assert_int_equal(gm_policy_check_root(p, &r.root, on_row, rs, &err), 0);
	for (size_t i = 0; i < rs->n; i++) {
		const struct gm_rule *rule = NULL;
		for (size_t k = 0; k < p->nrules; k++)
			if (!strcmp(p->rules[k].id, rs->id[i]))
				rule = &p->rules[k];
		assert_non_null(rule);
		/* no rule may FAIL an image configured as the guide says; only
		 * this project's own (advice) rules may say more, as WARN */
		if (!strcmp(rs->status[i], "FAIL"))
			fail_msg("rule %s (%s) FAILs a guide-literal image: %s", rs->id[i], rule->source,
				 rs->reason[i]);
		if (!strcmp(rs->status[i], "WARN") && !strcmp(rule->source, GM_SOURCE_GUIDE) &&
		    strcmp(rs->id[i], "ssh.client-strict-host-key-checking"))
			fail_msg("guide rule %s WARNs: %s", rs->id[i], rs->reason[i]);
		if (!strcmp(rs->id[i], "ssh.client-strict-host-key-checking")) {
			assert_string_equal(rs->status[i], "WARN");
			assert_non_null(strstr(rs->reason[i], "sample ssh_config says no"));
		}
		if (!strcmp(rs->id[i], "ssh-hostkeys.remove-other"))
			assert_string_equal(rs->status[i], "WARN");
	}
	gm_policy_free(p);
	free(rs);
	free(sys);
	tp_rmrf(t);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_effective_sshd_match_all),
		cmocka_unit_test(test_policy_effective_sshd_match_address),
		cmocka_unit_test(test_policy_effective_sshd_kbd_pam),
		cmocka_unit_test(test_policy_effective_sshd_default_opts),
		cmocka_unit_test(test_policy_effective_sshd_dropin_execstart),
		cmocka_unit_test(test_policy_effective_sysctl_iface),
		cmocka_unit_test(test_policy_effective_sysctl_glob),
		cmocka_unit_test(test_policy_effective_sysctl_dash_and_order),
		cmocka_unit_test(test_policy_effective_pam_hash),
		cmocka_unit_test(test_policy_effective_chrony),
		cmocka_unit_test(test_policy_effective_enabled_client),
		cmocka_unit_test(test_policy_effective_apt_enable),
		cmocka_unit_test(test_policy_effective_apt_ignored_name),
		cmocka_unit_test(test_policy_effective_guide_literal),
	};

	return cmocka_run_group_tests(tests, tp_sshd_setup, tp_sshd_teardown);
}
