/* main.c — gcemount: verb dispatch. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

struct verb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* One line per verb; keep in the order --help shows them. */
static const struct verb verbs[] = {
	{ "ls", gm_cmd_ls, "list a directory inside the image" },
	{ "cat", gm_cmd_cat, "print a file inside the image" },
	{ "put", gm_cmd_put, "copy a local file into the image" },
	{ "rm", gm_cmd_rm, "remove a file or empty directory inside the image" },
	{ "repack", gm_cmd_repack, "write the image back (sparse, GCE layout)" },
	{ "apply", gm_cmd_apply, "apply policies (hardening) to the image" },
	{ "check", gm_cmd_check, "report whether the image meets Compute Engine's requirements" },
	{ "shell", gm_cmd_shell, "run a shell or command in the mounted image, then write back" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gcemount [OPTIONS] IMAGE MOUNTPOINT   mount the image (FUSE)\n"
		"       gcemount -u MOUNTPOINT                unmount and write back\n"
		"       gcemount VERB [OPTIONS] IMAGE ...     work on the image without FUSE\n"
		"\nverbs:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-8s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\nmount options: -f (foreground), -d (debug), -o ro|allow_other|ids=image|\n"
		   "  symlinks=raw|nonempty|no_writeback_cache,\n"
		   "  and --cache, --owner, --output, --resume, --discard as for the verbs;\n"
		   "  'gcemount IMAGE MOUNTPOINT --help' lists them.\n"
		   "\n'gcemount VERB --help' describes a verb; see gcemount(1).\n"
		   "Exit status: 0 ok, 1 failed, 2 unreadable image, 3 image locked,\n"
		   "4 write-back failed or impossible (input untouched), 5 no FUSE,\n"
		   "6 interrupted session waiting (--resume/--discard), 64 usage,\n"
		   "130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP (temp files removed).\n"
		   "IMAGE '-' reads standard input; --output - writes standard output.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return GM_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return GM_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("gcemount 0.1\n");
		return GM_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].run(argc - 1, argv + 1);
	/* Not a verb: `gcemount -u MOUNTPOINT` or `gcemount [OPTIONS] IMAGE MOUNTPOINT`. */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-u") || !strcmp(argv[i], "--unmount"))
			return gm_cmd_unmount(argc, argv);
	return gm_cmd_mount(argc, argv);
}
