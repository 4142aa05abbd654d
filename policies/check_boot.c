/* check_boot.c — what the boot loader will do at first boot: the default
 * entry of grub.cfg as GRUB picks it (grubcfg.c) or the BLS entry it boots,
 * and the guide's advice that the kernel log reach the serial console (no
 * quiet, rhgb or splash image). Paths go through struct gm_root: a
 * separate /boot is seen where the view mounts it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policies/check.h"
#include "policies/internal.h"

static const char *const cfgs[] = { "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg" };

int gm_check_boot(struct gm_fs *fs, struct gm_check_report *rep)
{
	struct gm_root_fs rf;
	struct gm_grub_entry e;
	const char *cfg = NULL;
	char *buf = NULL;
	size_t len;
	int rc = 0;

	gm_root_fs_init(&rf, fs);
	for (size_t i = 0; i < 2 && !cfg; i++)
		if (gm_root_read(&rf.root, cfgs[i], &buf, &len) == 0)
			cfg = cfgs[i];
	if (!cfg) {
		gm_check_add(rep, "boot.default-entry", GM_LEVEL_RECOMMENDED, GM_STATUS_NA, NULL, 0,
			     "no /boot/grub/grub.cfg or /boot/grub2/grub.cfg in the filesystem read "
			     "(a /boot on another partition is not seen yet)");
		gm_check_add(rep, "boot.verbose", GM_LEVEL_RECOMMENDED, GM_STATUS_NA, NULL, 0,
			     "no grub.cfg: the default kernel command line is not known");
		return 0;
	}
	char **env = gm_grub_env(&rf.root, cfg);
	rc = gm_grubcfg_default(buf, len, (const char *const *)env, &e);
	gm_strv_free(env);
	if (rc <= 0) {
		gm_check_add(rep, "boot.default-entry", GM_LEVEL_RECOMMENDED, GM_STATUS_WARN, cfg,
			     e.defline, "the default \"%s\" names no entry with a linux line (a BLS "
			     "or hand-written configuration gcemount does not follow)", e.def);
		gm_check_add(rep, "boot.verbose", GM_LEVEL_RECOMMENDED, GM_STATUS_NA, cfg, 0,
			     "the default kernel command line is not known");
		free(buf);
		return 0;
	}
	gm_check_add(rep, "boot.default-entry", GM_LEVEL_RECOMMENDED, GM_STATUS_PASS, cfg, e.line,
		     "GRUB boots '%s' (default \"%s\"%s): %s", e.title, e.def,
		     e.defline ? "" : ", none set", e.cmdline);
	/* the guide: kernel messages on the serial console, no boot splash */
	char bad[128] = "";
	static const char *const quiet[] = { "quiet", "rhgb", "splash" };
	for (size_t i = 0; i < 3; i++)
		if (gm_karg_has(e.cmdline, strlen(e.cmdline), quiet[i]))
			snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad), "%s%s", bad[0] ? " " : "",
				 quiet[i]);
	int sline = 0;
	{
		struct gm_lines l;
		if (gm_lines_parse(&l, buf, len) == 0) {
			for (size_t i = 0; i < l.n && !sline; i++) {
				const char *t = gm_skip_ws(l.v[i].text);
				if (!strncmp(t, "splashimage", 11) || !strncmp(t, "background_image", 16))
					sline = (int)i + 1;
			}
			gm_lines_free(&l);
		}
	}
	if (bad[0])
		gm_check_add(rep, "boot.verbose", GM_LEVEL_RECOMMENDED, GM_STATUS_FAIL, cfg, e.line,
			     "the default entry boots with %s: the guide asks for kernel messages on "
			     "the serial console (remove quiet, rhgb and the splash image)", bad);
	else if (sline)
		gm_check_add(rep, "boot.verbose", GM_LEVEL_RECOMMENDED, GM_STATUS_FAIL, cfg, sline,
			     "a splash image is set: the guide asks for a plain console");
	else
		gm_check_add(rep, "boot.verbose", GM_LEVEL_RECOMMENDED, GM_STATUS_PASS, cfg, e.line,
			     "the default entry boots without quiet, rhgb or a splash image");
	free(buf);
	return rep->oom ? -ENOMEM : 0;
}
