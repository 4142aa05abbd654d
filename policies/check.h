/* check.h — `gcemount check`: is an image ready for Compute Engine?
 *
 * A check only reads: it opens the image read-only and never writes to it or
 * to the cache. Each finding is one struct gm_rule_result row (policy.h), the
 * same shape the policy engine gives for its rules, collected in a report:
 *   - packaging (check_packaging.c): gzip'd tar, GNU/old-GNU format, disk.raw,
 *     its size, sparseness, the partition table, an ext4 partition, a clean
 *     filesystem;
 *   - kernel (check_kernel.c, parser in check_parse.c): every
 *     /boot/config-* against the hardware manifest's required options and the
 *     guide's security settings, renamed/removed options known, =m drivers
 *     looked for in the initramfs;
 *   - system (check_system.c): sshd, Python, automatic updates, DHCP client;
 *   - policy rules: gm_policy_check() rows are copied into the report.
 * The report renders as a table or as JSON (report.c; schema in
 * docs/check.md). Library code never prints: renderers return strings.
 */
#ifndef GM_CHECK_H
#define GM_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "editor/view/view.h"
#include "editor/container/image.h"
#include "editor/container/sniff.h"
#include "policies/policy.h"

/* ---- the report (report.c) ---- */

struct gm_check_report {
	struct gm_rule_result *rows;  /* id/description point into owned copies */
	const char **groups;          /* group of each row ("packaging", "kernel",
				       * "system", or a policy's name); owned copies */
	size_t n, cap;
	const char *group;            /* group given to rows added from now on */
	char **strs;                  /* owned strings (ids, descriptions) */
	size_t nstrs, capstrs;
	int oom;                      /* an allocation failed; rows may be missing */
};

#define GM_CHECK_SCHEMA_VERSION 1

void gm_check_report_init(struct gm_check_report *rep);
void gm_check_report_free(struct gm_check_report *rep);   /* accepts NULL */
/* Rows added from now on belong to group (copied). */
void gm_check_report_group(struct gm_check_report *rep, const char *group);
/* Appends a copy of r (id and description copied). 0 or -ENOMEM. */
int gm_check_report_add(struct gm_check_report *rep, const struct gm_rule_result *r);
/* Appends a row; reason is printf-style, cut to one line. file may be NULL. */
int gm_check_add(struct gm_check_report *rep, const char *id, enum gm_level level,
		 enum gm_status status, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* A gm_result_fn that appends to the report given as priv. */
void gm_check_report_collect(void *priv, const struct gm_rule_result *r);

struct gm_check_counts {
	unsigned pass, fail, warn, na;
	unsigned required_fail;       /* FAIL rows of level required */
};
void gm_check_report_counts(const struct gm_check_report *rep, struct gm_check_counts *c);
/* True when no row of level required has status FAIL. */
bool gm_check_report_ok(const struct gm_check_report *rep);

/* Renders the report (malloc'd, NUL-terminated; caller frees; NULL on OOM).
 * The table: one row per line (rule, level, status, reason with file:line),
 * then the summary line. The JSON: the stable schema of docs/check.md. */
char *gm_check_report_table(const struct gm_check_report *rep, const char *image);
char *gm_check_report_json(const struct gm_check_report *rep, const char *image);
/* The summary line alone ("12 passed, ... : image meets the requirements"). */
void gm_check_report_summary(const struct gm_check_report *rep, char *buf, size_t len);

/* ---- packaging (check_packaging.c) ---- */

/* What a file is from its first bytes: editor/container/sniff.h (shared
 * with gm_image_open, which refuses what it does not open). */

/* Facts read from a tarball's headers alone (libarchive), for when
 * gm_image_open refused the file. */
struct gm_tar_scan {
	bool gzip;               /* gzip-compressed */
	const char *filter;      /* compression libarchive saw ("gzip", "xz", "none") */
	unsigned members;
	bool has_disk;           /* a regular member named disk.raw */
	enum gm_tar_format disk_format; /* format of the disk.raw header (or the first) */
	bool disk_sparse;
	uint64_t disk_size;
	char first_name[128];    /* first member's name, for messages */
};
/* Reads every header of the tarball at path. 0 when it is a readable tar;
 * -EINVAL (msg says why) when it is not a tar at all; -errno on I/O errors. */
int gm_check_scan_tar(const char *path, struct gm_tar_scan *out, char *msg, size_t msglen);

/* Rows for a tarball gm_image_open refused (open_msg says why): format,
 * gzip, disk.raw presence. Returns 0 when rows were added (the file is a
 * readable tarball), or -EINVAL when the file cannot be read as an image at
 * all (msg then holds the one line to print: exit status 2). */
int gm_check_unopenable(const char *path, const char *open_msg, struct gm_check_report *rep,
			char *msg, size_t msglen);

/* Rows for an opened image: container (gzip, tar format, disk.raw, size,
 * sparse entry), partition table, ext4 partition, filesystem state. fs may
 * be NULL when the filesystem could not be opened (fs_msg says why). */
int gm_check_packaging(struct gm_image *img, struct gm_view *fs, const char *fs_msg,
		       struct gm_check_report *rep);

/* ext4 superblock sanity (1024 bytes read at partition offset + 1024).
 * Returns GM_STATUS_PASS / FAIL / WARN and explains in why. */
enum gm_status gm_check_ext4_superblock(const unsigned char *sb, uint64_t part_size,
					char *why, size_t whylen);

/* ---- kernel (check_parse.c: pure; check_kernel.c: the image) ---- */

enum gm_kconf_state {
	GM_KCONF_ABSENT = 0,   /* not mentioned at all */
	GM_KCONF_NOTSET,       /* "# CONFIG_X is not set" or CONFIG_X=n */
	GM_KCONF_Y,
	GM_KCONF_M,
	GM_KCONF_VALUE,        /* any other value (numbers, strings) */
};
/* Looks up name (with or without the CONFIG_ prefix) in a kernel .config
 * buffer. The last mention wins, as in Kconfig. val (may be NULL) gets the
 * value text without quotes; *line (may be NULL) the 1-based line, 0 if absent. */
enum gm_kconf_state gm_kconfig_lookup(const char *buf, size_t len, const char *name,
				      char *val, size_t vallen, int *line);

/* One requirement of the guide, with the names it has had over time. */
struct gm_kconfig_req {
	const char *id;              /* row id, e.g. "kernel.virtio-net" */
	const char *names[5];        /* current name first, then older ones; NULL-ended */
	enum gm_level level;
	enum { GM_KREQ_ON, GM_KREQ_OFF, GM_KREQ_VALUE } want;
	const char *value;           /* for GM_KREQ_VALUE */
	const char *module;          /* module name when it may be =m, else NULL */
	const char *absent_note;     /* when absent under every name: why that is fine
				      * (option removed/folded) => PASS/N/A; NULL: FAIL */
	enum gm_status absent_status;/* status when absent and absent_note set */
	const char *absent_needs;    /* absent is only fine when this option is =y */
	const char *why;             /* what the option does (one phrase) */
};
/* The table, NULL-terminated by an entry with id NULL. */
extern const struct gm_kconfig_req gm_kconfig_reqs[];

/* Evaluates one requirement against a config buffer. Fills r->status,
 * r->reason (naming the option and line), r->line. For =m, sets *needs_module
 * (when non-NULL) and leaves status PASS: the caller decides with the
 * initramfs. */
void gm_kconfig_eval(const struct gm_kconfig_req *req, const char *buf, size_t len,
		     struct gm_rule_result *r, bool *needs_module);

/* Rows for every /boot/config-* of the image. */
int gm_check_kernel(struct gm_view *fs, struct gm_check_report *rep);

/* Lists the module files (basenames without .ko*) of an initramfs image in
 * memory: concatenated cpio archives, each raw or compressed (gzip, xz,
 * zstd, lz4, bzip2 as libarchive supports). fn is called once per module;
 * returns 0, or -EINVAL when nothing could be read. */
typedef void (*gm_module_fn)(void *priv, const char *module);
int gm_initramfs_modules(const void *buf, size_t len, gm_module_fn fn, void *priv);

/* ---- system (check_system.c) ---- */
int gm_check_system(struct gm_view *fs, struct gm_check_report *rep);

#endif
