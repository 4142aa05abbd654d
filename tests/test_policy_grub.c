/* test_policy_grub.c — the kernel command line at first boot: grub.cfg as
 * Debian's and Ubuntu's update-grub write it (submenus, recovery entries,
 * gnulinux-advanced ids, grubenv's saved_entry), BLS entries and
 * /etc/kernel/cmdline. Every edited grub.cfg is checked by GRUB's own
 * parser (grub-script-check) and against a golden file. */
#include "tests/test_policy_util.h"

static char *grubcfg(const char *name, size_t *len)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "grubcfg/%s", name);
	return tp_read(tp_data(rel), len);
}

/* grub-script-check accepts the buffer. */
static void grub_ok(const char *buf, size_t len)
{
	char *d = tp_tmpdir(), path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/grub.cfg", d);
	tp_write(path, buf, len);
	char *o = tp_run("grub-script-check '%s' 2>&1 && echo ok", path);
	if (!o || !strstr(o, "ok"))
		fail_msg("grub-script-check rejects the edited grub.cfg: %s", o ? o : "(failed)");
	free(o);
	tp_rmrf(d);
	free(d);
}

static void test_policy_grub_default_debian(void **s)
{
	size_t len;
	char *cfg = grubcfg("debian12.cfg", &len);
	struct gm_grub_entry e;

	(void)s;
	assert_int_equal(gm_grubcfg_default(cfg, len, NULL, &e), 1);
	assert_string_equal(e.def, "0");
	assert_string_equal(e.title, "Debian GNU/Linux");
	assert_non_null(strstr(e.cmdline, "console=ttyS0,115200 earlyprintk=ttyS0,115200 quiet"));
	assert_int_equal(e.line, 110);
	/* a submenu path by numbers: the submenu is entry 1, its third entry */
	const char *env[] = { "next_entry=1>2", NULL };
	assert_int_equal(gm_grubcfg_default(cfg, len, env, &e), 1);
	assert_string_equal(e.title, "Debian GNU/Linux, with Linux 6.1.0-12-cloud-amd64");
	assert_non_null(strstr(e.cmdline, "console=ttyS0,9600"));
	/* an empty next_entry: the else branch, default 0 */
	const char *env2[] = { "next_entry=", NULL };
	assert_int_equal(gm_grubcfg_default(cfg, len, env2, &e), 1);
	assert_string_equal(e.title, "Debian GNU/Linux");
	/* a title path */
	const char *env3[] = { "next_entry=Advanced options for Debian GNU/Linux>Debian GNU/Linux, "
			       "with Linux 6.1.0-13-cloud-amd64 (recovery mode)", NULL };
	assert_int_equal(gm_grubcfg_default(cfg, len, env3, &e), 1);
	assert_non_null(strstr(e.cmdline, " single "));
	/* a default that names nothing */
	const char *env4[] = { "next_entry=7", NULL };
	assert_int_equal(gm_grubcfg_default(cfg, len, env4, &e), 0);
	free(cfg);
}

/* Ubuntu: GRUB_DEFAULT=saved; grubenv names an older kernel by ids. */
static void test_policy_grub_default_saved_entry(void **s)
{
	size_t len, elen;
	char *cfg = grubcfg("ubuntu2404.cfg", &len), *env = grubcfg("ubuntu2404.grubenv", &elen);
	struct gm_grub_entry e;

	(void)s;
	env[strcspn(env, "\n")] = '\0';
	const char *envv[] = { env, NULL };
	assert_int_equal(gm_grubcfg_default(cfg, len, envv, &e), 1);
	assert_string_equal(e.title, "Ubuntu, with Linux 6.8.0-1014-gcp");
	assert_non_null(strstr(e.def, "gnulinux-advanced-"));
	/* without grubenv: ${saved_entry} is empty, GRUB boots entry 0 */
	assert_int_equal(gm_grubcfg_default(cfg, len, NULL, &e), 1);
	assert_string_equal(e.title, "Ubuntu");
	free(cfg);
	free(env);
}

static void edit_case(const char *name)
{
	size_t len, olen, olen2;
	char *cfg = grubcfg(name, &len), *out = NULL, *out2 = NULL, exp[128];
	struct gm_grub_entry e;

	assert_int_equal(gm_grubcfg_add_arg(cfg, len, "console=ttyS0,38400n8", &out, &olen), 1);
	snprintf(exp, sizeof(exp), "grubcfg/%s.expected", name);
	tp_golden(exp, out, olen);
	grub_ok(out, olen);
	/* the default entry has it, without the old ttyS0 speed */
	assert_int_equal(gm_grubcfg_default(out, olen, NULL, &e), 1);
	assert_true(gm_karg_has(e.cmdline, strlen(e.cmdline), "console=ttyS0,38400n8"));
	assert_null(strstr(e.cmdline, "console=ttyS0,115200"));
	/* recovery entries are left alone */
	assert_non_null(strstr(out, name[0] == 'd' ? "ro single console=tty0 console=ttyS0,115200 "
						       "earlyprintk=ttyS0,115200\n"
						     : "ro recovery nomodeset dis_ucode_ldr console=ttyS0\n"));
	/* idempotent */
	assert_int_equal(gm_grubcfg_add_arg(out, olen, "console=ttyS0,38400n8", &out2, &olen2), 0);
	free(cfg);
	free(out);
}

static void test_policy_grub_edit_debian(void **s) { (void)s; edit_case("debian12.cfg"); }
static void test_policy_grub_edit_ubuntu(void **s) { (void)s; edit_case("ubuntu2404.cfg"); }

static void test_policy_grub_refuses_quoting(void **s)
{
	const char *cfg = "menuentry 'x' {\n\tlinux /vmlinuz root=/dev/sda1 \"quiet splash\"\n}\n";
	char *out = NULL;
	size_t olen;

	(void)s;
	assert_int_equal(gm_grubcfg_add_arg(cfg, strlen(cfg), "console=ttyS0,38400n8", &out, &olen),
			 -EINVAL);
	assert_null(out);
	/* quiet removed from the kernel lines, as a word */
	const char *q = "menuentry 'x' {\n\tlinux /vmlinuz root=/dev/sda1 ro quiet quietly\n}\n";
	assert_int_equal(gm_grubcfg_drop_arg(q, strlen(q), "quiet", &out, &olen), 1);
	assert_string_equal(out, "menuentry 'x' {\n\tlinux /vmlinuz root=/dev/sda1 ro quietly\n}\n");
	free(out);
}

static void test_policy_grub_bls_and_kernel_cmdline(void **s)
{
	size_t len, olen;
	char *bls = grubcfg("bls-rhel9.conf", &len), *out = NULL;

	(void)s;
	assert_int_equal(gm_bls_add_arg(bls, len, "console=ttyS0,38400n8", &out, &olen), 1);
	assert_non_null(strstr(out, "\noptions root=UUID=8c7f2a48-0d8e-4b9e-9d8d-4c1e7f2b1a90 ro "
				    "net.ifnames=0 rhgb quiet console=ttyS0,38400n8\n"));
	assert_non_null(strstr(out, "\ngrub_users $grub_users\n"));
	free(out);
	free(bls);
	const char *k = "root=UUID=x ro console=ttyS0,115200\n";
	assert_int_equal(gm_kernel_cmdline_add_arg(k, strlen(k), "console=ttyS0,38400n8", &out, &olen), 1);
	assert_string_equal(out, "root=UUID=x ro console=ttyS0,38400n8\n");
	free(out);
}

static const char *want_id;   /* the row last_row keeps */

static void last_row(void *priv, const struct gm_rule_result *r)
{
	if (!strcmp(r->id, want_id))
		snprintf(priv, 600, "%s %s", gm_status_name(r->status), r->reason);
}

/* The console rule on a tree: grub.cfg's default entry decides, apply edits
 * grub.cfg (GRUB still parses it), /etc/default/grub and the BLS entry. */
static void test_policy_grub_rule_round_trip(void **s)
{
	char *t = tp_tmpdir();
	struct gm_policy *p = NULL;
	struct gm_error err = { 0 };
	struct gm_root_dir r;
	size_t len;
	char *cfg = grubcfg("debian12.cfg", &len);

	(void)s;
	tp_put(t, "boot/grub/grub.cfg", cfg);
	tp_put(t, "etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"console=ttyS0,38400n8\"\n");
	assert_int_equal(gm_policy_load("console", &p, &err), 0);
	gm_root_dir_init(&r, t);
	/* /etc/default/grub has it (in _DEFAULT, which counts), the boot loader
	 * does not: FAIL naming the default entry */
	char row[600];
	want_id = "console.serial";
	assert_int_equal(gm_policy_check_root(p, &r.root, last_row, row, &err), 0);
	if (strncmp(row, "FAIL ", 5) || !strstr(row, "default entry 'Debian GNU/Linux' boots without it"))
		fail_msg("before apply: %s", row);
	char *before = tp_get(t, "etc/default/grub");
	assert_int_equal(gm_policy_apply_root(p, &r.root, false, NULL, NULL, &err), 0);
	char *after = tp_get(t, "etc/default/grub");
	assert_string_equal(before, after);   /* _DEFAULT counted: not rewritten */
	char *g = tp_get(t, "boot/grub/grub.cfg");
	grub_ok(g, strlen(g));
	struct gm_grub_entry e;
	assert_int_equal(gm_grubcfg_default(g, strlen(g), NULL, &e), 1);
	assert_true(gm_karg_has(e.cmdline, strlen(e.cmdline), "console=ttyS0,38400n8"));
	free(g);
	assert_int_equal(gm_policy_check_root(p, &r.root, last_row, row, &err), 0);
	if (strncmp(row, "PASS ", 5))
		fail_msg("after apply: %s", row);
	free(before);
	free(after);
	gm_policy_free(p);
	free(cfg);
	tp_rmrf(t);
	free(t);
}

/* quiet, rhgb, splash out of every place the kernel command line comes from */
static void test_policy_grub_verbose_boot(void **s)
{
	char *t = tp_tmpdir();
	struct gm_policy *p = NULL;
	struct gm_error err = { 0 };
	struct gm_root_dir r;
	char row[600];
	size_t len;
	char *cfg = grubcfg("debian12.cfg", &len), *bls = grubcfg("bls-rhel9.conf", &len);

	(void)s;
	tp_put(t, "boot/grub/grub.cfg", cfg);
	tp_put(t, "boot/loader/entries/rhel.conf", bls);
	tp_put(t, "etc/kernel/cmdline", "root=UUID=x ro rhgb quiet\n");
	tp_put(t, "etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\"\nGRUB_CMDLINE_LINUX=\"\"\n");
	assert_int_equal(gm_policy_load("console", &p, &err), 0);
	gm_root_dir_init(&r, t);
	want_id = "console.verbose-boot";
	assert_int_equal(gm_policy_check_root(p, &r.root, last_row, row, &err), 0);
	if (strncmp(row, "FAIL ", 5) || !strstr(row, "boots with quiet"))
		fail_msg("before apply: %s", row);
	assert_int_equal(gm_policy_apply_root(p, &r.root, false, NULL, NULL, &err), 0);
	assert_int_equal(gm_policy_check_root(p, &r.root, last_row, row, &err), 0);
	if (strncmp(row, "PASS ", 5))
		fail_msg("after apply: %s", row);
	char *g = tp_get(t, "boot/grub/grub.cfg");
	grub_ok(g, strlen(g));
	assert_null(strstr(g, " quiet"));
	free(g);
	g = tp_get(t, "etc/default/grub");
	assert_string_equal(g, "GRUB_CMDLINE_LINUX_DEFAULT=\"\"\nGRUB_CMDLINE_LINUX=\"console=ttyS0,38400n8\"\n");
	free(g);
	g = tp_get(t, "etc/kernel/cmdline");
	assert_string_equal(g, "root=UUID=x ro console=ttyS0,38400n8\n");
	free(g);
	g = tp_get(t, "boot/loader/entries/rhel.conf");
	assert_non_null(strstr(g, "net.ifnames=0 console=ttyS0,38400n8\n"));
	free(g);
	gm_policy_free(p);
	free(cfg);
	free(bls);
	tp_rmrf(t);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_grub_default_debian),
		cmocka_unit_test(test_policy_grub_default_saved_entry),
		cmocka_unit_test(test_policy_grub_edit_debian),
		cmocka_unit_test(test_policy_grub_edit_ubuntu),
		cmocka_unit_test(test_policy_grub_refuses_quoting),
		cmocka_unit_test(test_policy_grub_bls_and_kernel_cmdline),
		cmocka_unit_test(test_policy_grub_rule_round_trip),
		cmocka_unit_test(test_policy_grub_verbose_boot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
