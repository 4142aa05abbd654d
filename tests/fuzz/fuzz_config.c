/* fuzz_config.c — libFuzzer target: the pure buffer->buffer config-file
 * parsers and editors of policies/ (sshd/ssh config, sysctl, login.defs,
 * grub, ntp/chrony, timesyncd, dhclient, passwd, shadow, the line splitter,
 * the diff; grub.cfg default entry and kernel-line editor, BLS entries, PAM
 * pam_unix hashing, apt.conf, sshd command lines and Match criteria). The first input byte picks the parser, the rest is the file.
 * Invariants: no crash; an edit that reports a change gives a buffer, and
 * editing that buffer again changes nothing (idempotence, what `apply`
 * relies on); parse+join of lines gives the input back. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policies/internal.h"
#include "tests/fuzz/fuzz_common.h"

typedef int (*fuzz_edit_fn)(const char *in, size_t len, char **out, size_t *outlen);

/* edit(in) then edit(out): the second must report no change. */
static void fuzz_config_idempotent(const char *what, fuzz_edit_fn edit, const char *in, size_t len)
{
	char *out = NULL, *out2 = NULL;
	size_t olen = 0, olen2 = 0;
	int rc = edit(in, len, &out, &olen), rc2;

	if (rc != 1) {
		GM_FUZZ_ASSERT(rc <= 1);
		free(out);
		return;
	}
	GM_FUZZ_ASSERT(out != NULL);
	rc2 = edit(out, olen, &out2, &olen2);
	if (rc2 != 0) {
		fprintf(stderr, "%s is not idempotent: second edit returned %d\n--- first output:\n%.*s\n",
			what, rc2, (int)(olen < 2000 ? olen : 2000), out);
		abort();
	}
	free(out);
	free(out2);
}

static int e_sysctl_edit(const char *in, size_t len, char **out, size_t *olen)
{
	int rc = gm_sysctl_edit(in, len, "net.ipv4.ip_forward", "0", out, olen);
	return rc == -ENOENT ? 0 : rc;
}
static int e_sysctl_append(const char *in, size_t len, char **out, size_t *olen)
{
	return gm_sysctl_append(in, len, "kernel.kptr_restrict", "1", out, olen);
}
static int e_logindefs(const char *in, size_t len, char **out, size_t *olen)
{
	return gm_logindefs_set(in, len, "PASS_MAX_DAYS", "90", out, olen);
}
static int e_grub(const char *in, size_t len, char **out, size_t *olen)
{
	return gm_grub_add_arg(in, len, "console=ttyS0,38400n8", out, olen);
}
static int e_ntp(const char *in, size_t len, char **out, size_t *olen)
{
	return gm_ntpconf_set(in, len, "metadata.google.internal", out, olen);
}
static int e_timesyncd(const char *in, size_t len, char **out, size_t *olen)
{
	return gm_timesyncd_set(in, len, "metadata.google.internal", false, out, olen);
}
static int e_grubcfg(const char *in, size_t len, char **out, size_t *olen)
{
	int rc = gm_grubcfg_add_arg(in, len, "console=ttyS0,38400n8", out, olen);
	return rc == -EINVAL ? 0 : rc;
}
static int e_grubcfg_drop(const char *in, size_t len, char **out, size_t *olen)
{
	int rc = gm_grubcfg_drop_arg(in, len, "quiet", out, olen);
	return rc == -EINVAL ? 0 : rc;
}
static int e_bls(const char *in, size_t len, char **out, size_t *olen)
{
	int rc = gm_bls_add_arg(in, len, "console=ttyS0,38400n8", out, olen);
	return rc == -EINVAL ? 0 : rc;
}
static int e_pam(const char *in, size_t len, char **out, size_t *olen)
{
	return gm_pam_unix_set_hash(in, len, "sha512", out, olen);
}
static int e_apt(const char *in, size_t len, char **out, size_t *olen)
{
	return gm_aptconf_set(in, len, "APT::Periodic::Unattended-Upgrade", "1", out, olen);
}
static int e_sshd_opts(const char *in, size_t len, char **out, size_t *olen)
{
	return gm_cmdline_drop_opt(in, len, "SSHD_OPTS=", "PasswordAuthentication", out, olen);
}
static int count_opt(void *priv, const char *k, const char *v)
{
	(void)priv;
	GM_FUZZ_ASSERT(k[0] != '\0' && v != NULL);
	return 0;
}

static int e_dhclient(const char *in, size_t len, char **out, size_t *olen)
{
	return gm_dhclient_request(in, len, "domain-search", out, olen);
}
static int e_passwd(const char *in, size_t len, char **out, size_t *olen)
{
	char names[256];
	return gm_passwd_nologin(in, len, 1000, "/usr/sbin/nologin", out, olen, names, sizeof(names));
}
static int e_shadow(const char *in, size_t len, char **out, size_t *olen)
{
	return gm_shadow_lock(in, len, "root", out, olen);
}

static void fuzz_config_ssh(enum gm_ssh_kind kind, const char *in, size_t len)
{
	static const char *const keys[][2] = {
		{ "PermitRootLogin", "no" }, { "PasswordAuthentication", "no" },
		{ "ClientAliveInterval", "420" }, { "Host", "*" },
	};
	struct gm_sshcfg *c = NULL;
	struct gm_ssh_found f;
	size_t i;

	if (gm_sshcfg_from_buffer(kind, "/etc/ssh/sshd_config", in, len, &c) < 0)
		return;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		memset(&f, 0, sizeof(f));
		if (gm_sshcfg_get(c, keys[i][0], &f) == 1)
			GM_FUZZ_ASSERT(memchr(f.value, 0, sizeof(f.value)) != NULL);
		if (gm_sshcfg_set(c, keys[i][0], keys[i][1]) >= 0) {
			/* set then get: the value is effective */
			memset(&f, 0, sizeof(f));
			if (strcmp(keys[i][0], "Host") != 0 && gm_sshcfg_get(c, keys[i][0], &f) == 1 &&
			    strcmp(f.value, keys[i][1]) != 0) {
				fprintf(stderr, "sshcfg: %s set to %s but reads back '%s'\n",
					keys[i][0], keys[i][1], f.value);
				abort();
			}
			GM_FUZZ_ASSERT(gm_sshcfg_set(c, keys[i][0], keys[i][1]) <= 0 ||
				       !strcmp(keys[i][0], "Host"));
		}
	}
	for (i = 0; i < gm_sshcfg_nfiles(c); i++) {
		char *buf = NULL;
		size_t blen = 0;
		bool changed = false;
		GM_FUZZ_ASSERT(gm_sshcfg_file(c, i, &buf, &blen, &changed) != NULL);
	}
	gm_sshcfg_free(c);
}

static int fuzz_config_one(const uint8_t *data, size_t n)
{
	const char *in;
	size_t len;
	char *nulterm, *out = NULL, val[256];
	bool has_nul;
	int line = 0;

	if (n < 1)
		return 0;
	in = (const char *)data + 1;
	len = n - 1;
	has_nul = memchr(in, 0, len) != NULL;
	/* some parsers take C strings: give them a NUL-terminated copy */
	nulterm = malloc(len + 1);
	GM_FUZZ_ASSERT(nulterm != NULL);
	memcpy(nulterm, in, len);
	nulterm[len] = '\0';
	switch (data[0] % 20) {
	case 0: fuzz_config_ssh(GM_SSH_SERVER, in, len); break;
	case 1: fuzz_config_ssh(GM_SSH_CLIENT, in, len); break;
	case 2: fuzz_config_idempotent("sysctl_edit", e_sysctl_edit, in, len); break;
	case 3: fuzz_config_idempotent("sysctl_append", e_sysctl_append, in, len); break;
	case 4:
		gm_logindefs_get(in, len, "PASS_MAX_DAYS", val, sizeof(val), &line);
		fuzz_config_idempotent("logindefs_set", e_logindefs, in, len);
		break;
	case 5:
		gm_grub_has_arg(in, len, "console=ttyS0,38400n8", &line);
		fuzz_config_idempotent("grub_add_arg", e_grub, in, len);
		break;
	case 6:
		gm_ntpconf_servers(in, len, val, sizeof(val));
		fuzz_config_idempotent("ntpconf_set", e_ntp, in, len);
		break;
	case 7: {
		bool set = false;
		gm_timesyncd_get(in, len, val, sizeof(val), &set);
		fuzz_config_idempotent("timesyncd_set", e_timesyncd, in, len);
		break;
	}
	case 8: fuzz_config_idempotent("dhclient_request", e_dhclient, in, len); break;
	case 9: fuzz_config_idempotent("passwd_nologin", e_passwd, in, len); break;
	case 10: fuzz_config_idempotent("shadow_lock", e_shadow, in, len); break;
	case 11: {
		struct gm_lines l;
		size_t olen = 0;
		if (gm_lines_parse(&l, in, len) == 0) {
			if (gm_lines_join(&l, &out, &olen) == 0 && !has_nul) {
				GM_FUZZ_ASSERT(olen == len && memcmp(out, in, len) == 0);
			}
			gm_lines_free(&l);
		}
		break;
	}
	case 12: {
		/* diff of the two halves */
		char *d = gm_diff("etc/x", in, len / 2, in + len / 2, len - len / 2);
		free(d);
		break;
	}
	case 13:
		gm_openssh_version(nulterm, len, "openssh-server");
		gm_sysctl_normalize(nulterm, val, sizeof(val));
		break;
	case 14: {
		/* grub.cfg: the default entry (with a grubenv), then the editors;
		 * an edit keeps the default entry's command line holding the arg */
		struct gm_grub_entry e;
		const char *env[] = { "saved_entry=1>0", "next_entry=", NULL };
		char *o2 = NULL;
		size_t ol2 = 0;
		gm_grubcfg_default(in, len, env, &e);
		GM_FUZZ_ASSERT(memchr(e.cmdline, 0, sizeof(e.cmdline)) != NULL);
		fuzz_config_idempotent("grubcfg_add_arg", e_grubcfg, in, len);
		fuzz_config_idempotent("grubcfg_drop_arg", e_grubcfg_drop, in, len);
		if (gm_grubcfg_add_arg(in, len, "console=ttyS0,38400n8", &o2, &ol2) == 1 &&
		    gm_grubcfg_default(o2, ol2, NULL, &e) == 1 && !strstr(e.title, "recovery") &&
		    !strstr(e.cmdline, "single") && !strstr(e.cmdline, "recovery") &&
		    !strstr(e.cmdline, "emergency") && strlen(e.cmdline) < sizeof(e.cmdline) - 1)
			GM_FUZZ_ASSERT(gm_karg_has(e.cmdline, strlen(e.cmdline), "console=ttyS0,38400n8"));
		free(o2);
		break;
	}
	case 15: fuzz_config_idempotent("bls_add_arg", e_bls, in, len); break;
	case 16: {
		int ln;
		gm_pam_unix_hash(in, len, val, sizeof(val), &ln);
		fuzz_config_idempotent("pam_unix_set_hash", e_pam, in, len);
		break;
	}
	case 17: {
		struct gm_apt_found f;
		gm_aptconf_find(in, len, "APT::Periodic::Enable", &f);
		fuzz_config_idempotent("aptconf_set", e_apt, in, len);
		break;
	}
	case 18:
		gm_sshd_cmdline_opts(in, len, count_opt, NULL);
		gm_shell_var(in, len, "SSHD_OPTS", val, sizeof(val), &line);
		fuzz_config_idempotent("cmdline_drop_opt", e_sshd_opts, in, len);
		break;
	case 19: {
		/* Match criteria against the two connections */
		gm_ssh_match_eval(in, len, &gm_ssh_conn_user);
		gm_ssh_match_eval(in, len, &gm_ssh_conn_root);
		gm_ssh_match_eval(in, len, NULL);
		break;
	}
	}
	free(out);
	free(nulterm);
	return 0;
}

GM_FUZZ_ENTRY(fuzz_config_one)
