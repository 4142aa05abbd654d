/* cmd_check.c — `gcemount check [--json] [--policy NAME]... IMAGE`.
 * Read-only: opens the image and its filesystem read-only, prints the
 * report (docs/check.md). Exit 0 when every required check passes, 1 when
 * one fails, 2 when the image cannot be read (3 locked, 6 interrupted
 * session waiting, 64 usage). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "editor/disk/partition.h"
#include "policies/check.h"
#include "policies/check_layout.h"
#include "policies/policy.h"

#define MAX_POLICIES 16

static void check_usage(FILE *f)
{
	fprintf(f,
		"usage: gcemount check [--json] [--policy NAME]... [OPTIONS] IMAGE\n"
		"Reports whether IMAGE meets Compute Engine's image requirements: packaging,\n"
		"kernel options, system services, and the rules of policy gce-hardening (or of\n"
		"each --policy NAME|FILE given). Never writes to IMAGE.\n\n"
		"  --json             machine-readable report (schema in docs/check.md)\n"
		"  --policy NAME      check the rules of this policy (repeatable)\n"
		"  --cache DIR        cache directory (default $XDG_CACHE_HOME/gcemount)\n"
		"  --partition N      check partition N alone (default: the root filesystem\n"
		"                     with what its /etc/fstab mounts: /boot, /boot/efi)\n"
		"  --root N           the root filesystem is partition N\n"
		"  -q, --quiet        no progress output\n\n"
		"Exit status: 0 every required check passes, 1 a required check fails,\n"
		"2 the image cannot be read, 3 image locked, 64 usage.\n");
}

static int emit(const struct gm_check_report *rep, const char *image, bool json)
{
	char *out = json ? gm_check_report_json(rep, image) : gm_check_report_table(rep, image);

	if (!out) {
		gm_cli_error("out of memory rendering the report");
		return GM_EXIT_FAIL;
	}
	fputs(out, stdout);
	free(out);
	fflush(stdout);
	return gm_check_report_ok(rep) ? GM_EXIT_OK : GM_EXIT_FAIL;
}

/* Extraction progress on a terminal (as the other verbs show it). */
static void check_progress(void *priv, const char *stage, uint64_t done, uint64_t total)
{
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;

	(void)priv;
	fprintf(stderr, "\rgcemount: %s %3u%%%s", stage, pct, done >= total ? "\n" : "");
}

/* A raw "disk" that is neither a tarball nor has a partition table or a
 * filesystem is not an image at all. */
static bool raw_unreadable(struct gm_image *img)
{
	struct gm_partition_table *t;
	struct gm_error err = { 0 };
	bool bad;

	if (gm_image_info(img)->container != GM_CONTAINER_RAW)
		return false;
	t = calloc(1, sizeof(*t));
	if (!t)
		return false;
	bad = gm_partition_probe(gm_image_fd(img), gm_image_disk_size(img), t, &err) < 0;
	free(t);
	return bad;
}

static int run_policies(struct gm_view *v, const char *const *names, size_t n, bool defaulted,
			struct gm_check_report *rep)
{
	for (size_t i = 0; i < n; i++) {
		struct gm_policy *p = NULL;
		struct gm_error err = { 0 };
		int rc = gm_policy_load(names[i], &p, &err);

		gm_check_report_group(rep, rc < 0 ? names[i] : gm_policy_name(p));

		if (rc < 0) {
			if (!defaulted) {
				gm_cli_error("%s", gm_error_msg(&err));
				return GM_EXIT_USAGE;
			}
			gm_check_add(rep, "policy.load", GM_LEVEL_RECOMMENDED, GM_STATUS_WARN, NULL, 0,
				     "policy %s could not be loaded: %s", names[i], gm_error_msg(&err));
			continue;
		}
		rc = gm_policy_check(p, v, gm_check_report_collect, rep, &err);
		if (rc < 0)
			gm_check_add(rep, "policy.check", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
				     "policy %s: %s", gm_policy_name(p), gm_error_msg(&err));
		gm_policy_free(p);
	}
	return 0;
}

int gm_cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "policy", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		GM_CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct gm_cli_common c = { 0 };
	const char *policies[MAX_POLICIES] = { "gce-hardening" };
	size_t npolicies = 0;
	bool json = false;
	struct gm_image_opts io = { 0 };
	struct gm_view_opts vo;
	struct gm_error err = { 0 };
	struct gm_image *img = NULL;
	struct gm_view *v = NULL;
	struct gm_check_report rep;
	const char *image;
	char msg[GM_ERRMSG_MAX + 64];
	int opt, rc, status;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "hq", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'p':
			if (npolicies == MAX_POLICIES) {
				gm_cli_error("check: at most %d --policy options", MAX_POLICIES);
				return GM_EXIT_USAGE;
			}
			policies[npolicies++] = optarg;
			break;
		case 'h':
			check_usage(stdout);
			return GM_EXIT_OK;
		default:
			rc = gm_cli_common_opt(&c, opt, optarg);
			if (rc == 1 && opt != GM_OPT_OUTPUT && opt != GM_OPT_OWNER &&
			    opt != GM_OPT_FORMAT && opt != GM_OPT_NO_SPARSIFY)
				break;
			if (rc == 1)
				gm_cli_error("check: --%s makes no sense for a read-only check",
					     opt == GM_OPT_OUTPUT ? "output" : opt == GM_OPT_OWNER ? "owner" :
					     opt == GM_OPT_FORMAT ? "format" : "no-sparsify");
			else if (rc == 0)
				check_usage(stderr);
			return GM_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		check_usage(stderr);
		return GM_EXIT_USAGE;
	}
	image = argv[optind];
	if ((status = gm_cli_preflight(image, &c, false)))
		return status;
	gm_cli_signals_install(image);
	if (strcmp(image, "-") && access(image, R_OK) < 0) {
		gm_cli_error("%s: %s", image, strerror(errno));
		return GM_EXIT_BADIMAGE;
	}

	/* As gm_cli_open(image, &c, false, ...), but keeping the failures apart:
	 * a refused container may still be a tarball worth a report. */
	io.cache_dir = c.cache_dir;
	io.read_only = true;
	io.recover = c.recover;
	if (!c.quiet && isatty(STDERR_FILENO))
		io.progress = check_progress;
	gm_check_report_init(&rep);
	gm_check_report_group(&rep, "packaging");
	rc = gm_image_open(image, &io, &img, &err);
	if (rc < 0) {
		if (rc == -EBUSY || rc == -EAGAIN || rc == -ENOMEM || rc == -ENOSPC || rc == -EDQUOT) {
			gm_cli_error("%s", gm_error_msg(&err));
			status = gm_cli_exit_for_open_error(rc);
		} else if (gm_check_unopenable(image, gm_error_msg(&err), &rep, msg, sizeof(msg)) == 0) {
			status = emit(&rep, image, json);
		} else {
			gm_cli_error("%s", msg);
			status = GM_EXIT_BADIMAGE;
		}
		goto out;
	}
	if (raw_unreadable(img)) {
		gm_cli_error("%s: not an image: neither a gzip'd tar nor a disk with a partition "
			     "table or a filesystem", image);
		status = GM_EXIT_BADIMAGE;
		goto out;
	}
	gm_cli_view_opts(&c, false, &vo);
	rc = gm_view_open(img, &vo, &v, &err);
	if (rc < 0)
		v = NULL;
	else if (!c.quiet && !json && gm_view_note(v)[0])
		fprintf(stderr, "gcemount: %s\n", gm_view_note(v));
	gm_check_packaging(img, v, rc < 0 ? gm_error_msg(&err) : NULL, &rep);
	gm_check_report_group(&rep, "layout");
	gm_check_layout(img, v, &rep);
	if (v) {
		gm_check_report_group(&rep, "kernel");
		gm_check_kernel(v, &rep);
		gm_check_report_group(&rep, "system");
		gm_check_system(v, &rep);
		if (npolicies == 0) {
			status = run_policies(v, policies, 1, true, &rep);
		} else {
			status = run_policies(v, policies, npolicies, false, &rep);
		}
		if (status)
			goto out;
	}
	status = emit(&rep, image, json);
out:
	if (v && gm_view_close(v, &err) < 0)
		gm_cli_error("%s", gm_error_msg(&err));
	gm_image_close(img);
	gm_check_report_free(&rep);
	return status;
}
