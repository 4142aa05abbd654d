/* cmd_apply.c — `gcemount apply IMAGE POLICY...`: apply policies (hardening)
 * to an image without FUSE. All the policies run as one: every rule is
 * computed first, then the edits are written together, then the image is
 * written back once; any failure writes nothing. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "policies/policy.h"

/* --run is the FUSE layer's (cli/cmd_mount.c). A weak reference keeps this
 * verb linkable in a build without it; --run then says so. */
#pragma weak gm_cmd_apply_run

static const char usage_text[] =
	"usage: gcemount apply [OPTIONS] IMAGE POLICY...\n"
	"       gcemount apply [OPTIONS] IMAGE --run SCRIPT\n"
	"       gcemount apply --list\n"
	"Applies POLICY (a shipped policy by name, or a file: a path with a '/' or\n"
	"ending in .policy) to the filesystem in IMAGE and writes IMAGE back.\n"
	"Prints what each rule changed; nothing when the image already complies.\n"
	"  -n, --dry-run      print a unified diff of every change; write nothing\n"
	"  --skip RULE        leave rules matching RULE (a glob) alone (repeatable)\n"
	"  --run SCRIPT       mount IMAGE, run SCRIPT with the mount point, write back\n"
	"  --list             list the shipped policies";

struct apply_state {
	bool dry_run;
	unsigned changes;
};

static void on_change(void *priv, const struct gm_rule_change *ch)
{
	struct apply_state *st = priv;

	st->changes++;
	printf("%s: %s\n", ch->id, ch->summary);
	if (st->dry_run && ch->diff)
		fputs(ch->diff, stdout);
}

static int list_policies(void)
{
	const char *const *names = gm_policy_builtin_names();

	for (size_t i = 0; names[i]; i++) {
		struct gm_policy *p = NULL;
		struct gm_error err = { 0 };

		if (gm_policy_load(names[i], &p, &err) < 0) {
			gm_cli_error("%s", gm_error_msg(&err));
			return GM_EXIT_FAIL;
		}
		printf("%s\n", names[i]);
		gm_policy_free(p);
	}
	return GM_EXIT_OK;
}

int gm_cmd_apply(int argc, char **argv)
{
	enum { OPT_RUN = 2000, OPT_LIST, OPT_SKIP };
	static const struct option opts[] = {
		GM_CLI_COMMON_LONGOPTS,
		{ "dry-run", no_argument, NULL, 'n' },
		{ "run", required_argument, NULL, OPT_RUN },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "skip", required_argument, NULL, OPT_SKIP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gm_cli_common c = { 0 };
	struct apply_state st = { 0 };
	struct gm_policy *pol = NULL;
	struct gm_error err = { 0 };
	struct gm_image *img = NULL;
	struct gm_view *fs = NULL;
	const char *script = NULL, *skip[64];
	size_t nskip = 0;
	bool list = false, ok;
	int opt, status, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "nqh", opts, NULL)) != -1) {
		int r = gm_cli_common_opt(&c, opt, optarg);

		if (r < 0)
			return GM_EXIT_USAGE;
		if (r > 0)
			continue;
		switch (opt) {
		case 'n':
			st.dry_run = true;
			break;
		case OPT_RUN:
			script = optarg;
			break;
		case OPT_LIST:
			list = true;
			break;
		case OPT_SKIP:
			if (nskip == sizeof(skip) / sizeof(skip[0])) {
				gm_cli_error("apply: too many --skip options");
				return GM_EXIT_USAGE;
			}
			skip[nskip++] = optarg;
			break;
		case 'h':
			printf("%s\n\noptions:\n%s", usage_text, gm_cli_common_help);
			return GM_EXIT_OK;
		default:
			fprintf(stderr, "%s\n", usage_text);
			return GM_EXIT_USAGE;
		}
	}
	if (list)
		return list_policies();
	if (script) {
		if (argc - optind != 1 || st.dry_run) {
			fprintf(stderr, "%s\n", usage_text);
			return GM_EXIT_USAGE;
		}
		if (!gm_cmd_apply_run) {
			gm_cli_error("apply --run: this gcemount was built without FUSE support");
			return GM_EXIT_NOFUSE;
		}
		return gm_cmd_apply_run(argv[optind], script, &c);
	}
	if (argc - optind < 2) {
		fprintf(stderr, "%s\n", usage_text);
		return GM_EXIT_USAGE;
	}
	/* every policy is read before the image is opened: a typo costs nothing */
	rc = gm_policy_load_many((const char *const *)argv + optind + 1, (size_t)(argc - optind - 1),
				 &pol, &err);
	if (rc < 0) {
		gm_cli_error("%s", gm_error_msg(&err));
		return GM_EXIT_USAGE;
	}
	gm_policy_skip(pol, skip, nskip);
	status = gm_cli_open(argv[optind], &c, !st.dry_run, &img, &fs);
	if (status) {
		gm_policy_free(pol);
		return status;
	}
	rc = gm_policy_apply(pol, fs, st.dry_run, on_change, &st, &err);
	ok = rc == 0;
	if (!ok)
		gm_cli_op_error(img, "%s: %s (nothing written)", argv[optind], gm_error_msg(&err));
	else if (!st.changes)
		printf("nothing to change: %s already complies with %s\n", argv[optind],
		       gm_policy_name(pol));
	else if (st.dry_run)
		printf("dry run: %u rule%s would change %s; nothing written\n", st.changes,
		       st.changes == 1 ? "" : "s", argv[optind]);
	else if (!c.quiet)
		fprintf(stderr, "gcemount: %u rule%s changed %s%s%s\n", st.changes,
			st.changes == 1 ? "" : "s", c.output ? c.output : argv[optind],
			c.output ? ", written from " : "", c.output ? argv[optind] : "");
	status = gm_cli_finish(img, fs, &c, !st.dry_run && ok);
	gm_policy_free(pol);
	if (!ok && status != GM_EXIT_BADIMAGE)
		return GM_EXIT_FAIL;
	return status;
}
