/* test_check_report.c — the check report: rows, counts, the summary line,
 * the table and the JSON (escaping, nulls, groups). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policies/check.h"

static void fill(struct gm_check_report *rep)
{
	struct gm_rule_result r;

	gm_check_report_init(rep);
	gm_check_report_group(rep, "packaging");
	gm_check_add(rep, "packaging.gzip", GM_LEVEL_REQUIRED, GM_STATUS_PASS, NULL, 0,
		     "gzip-compressed tar");
	gm_check_add(rep, "packaging.disk-size", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
		     "disk.raw is %d bytes", 1536);
	gm_check_report_group(rep, "kernel");
	gm_check_add(rep, "kernel.virtio-net", GM_LEVEL_REQUIRED, GM_STATUS_WARN,
		     "/boot/config-6.1", 16, "virtio_net is a module, not in \"initrd\"\n\tsecond line");
	gm_check_add(rep, "kernel.x86-pae", GM_LEVEL_RECOMMENDED, GM_STATUS_NA, "/boot/config-6.1", 0,
		     "64-bit");
	gm_check_report_group(rep, "gce-hardening");
	memset(&r, 0, sizeof(r));
	r.id = "ssh.permit-root-login";
	r.description = "PermitRootLogin no";
	r.level = GM_LEVEL_STRONGLY_RECOMMENDED;
	r.status = GM_STATUS_FAIL;
	snprintf(r.file, sizeof(r.file), "/etc/ssh/sshd_config");
	r.line = 33;
	snprintf(r.reason, sizeof(r.reason), "PermitRootLogin yes at /etc/ssh/sshd_config:33");
	gm_check_report_add(rep, &r);
	/* the report keeps its own copies */
	r.id = "mutated";
}

static void test_check_report_counts_and_ok(void **state)
{
	struct gm_check_report rep;
	struct gm_check_counts c;
	char sum[256];

	(void)state;
	fill(&rep);
	assert_int_equal(rep.n, 5);
	assert_string_equal(rep.rows[4].id, "ssh.permit-root-login");
	assert_string_equal(rep.groups[2], "kernel");
	gm_check_report_counts(&rep, &c);
	assert_int_equal(c.pass, 1);
	assert_int_equal(c.fail, 2);
	assert_int_equal(c.warn, 1);
	assert_int_equal(c.na, 1);
	assert_int_equal(c.required_fail, 1);
	assert_false(gm_check_report_ok(&rep));
	gm_check_report_summary(&rep, sum, sizeof(sum));
	assert_string_equal(sum, "summary: 1 PASS, 2 FAIL, 1 WARN, 1 N/A; 1 required check fails");
	/* A FAIL of another level does not fail the image. */
	rep.rows[1].status = GM_STATUS_PASS;
	assert_true(gm_check_report_ok(&rep));
	gm_check_report_summary(&rep, sum, sizeof(sum));
	assert_non_null(strstr(sum, "; image meets the requirements"));
	gm_check_report_free(&rep);
	gm_check_report_free(NULL);
}

static void test_check_report_reason_one_line(void **state)
{
	struct gm_check_report rep;

	(void)state;
	fill(&rep);
	assert_null(strchr(rep.rows[2].reason, '\n'));
	assert_null(strchr(rep.rows[2].reason, '\t'));
	gm_check_report_free(&rep);
}

static void test_check_report_table(void **state)
{
	struct gm_check_report rep;
	char *t;

	(void)state;
	fill(&rep);
	t = gm_check_report_table(&rep, "img.tar.gz");
	assert_non_null(t);
	assert_non_null(strstr(t, "[packaging]\n"));
	assert_non_null(strstr(t, "\n[kernel]\n"));
	assert_non_null(strstr(t, "/boot/config-6.1:16: virtio_net is a module"));
	/* file without a line: "file: reason" */
	assert_non_null(strstr(t, "/boot/config-6.1: 64-bit"));
	/* the reason names the place already: not repeated */
	assert_null(strstr(t, "/etc/ssh/sshd_config:33: PermitRootLogin"));
	assert_non_null(strstr(t, "strongly-recommended"));
	assert_non_null(strstr(t, "\nsummary: 1 PASS, 2 FAIL, 1 WARN, 1 N/A; 1 required check fails\n"));
	free(t);
	gm_check_report_free(&rep);
}

static void test_check_report_json(void **state)
{
	struct gm_check_report rep;
	char *j;

	(void)state;
	fill(&rep);
	j = gm_check_report_json(&rep, "dir/\"quoted\".tar.gz");
	assert_non_null(j);
	assert_non_null(strstr(j, "\"schema\": \"gcemount-check\""));
	assert_non_null(strstr(j, "\"schema_version\": 2,"));
	assert_non_null(strstr(j, "\"image\": \"dir/\\\"quoted\\\".tar.gz\""));
	assert_non_null(strstr(j, "\"ok\": false"));
	assert_non_null(strstr(j, "{\"id\": \"packaging.gzip\", \"group\": \"packaging\", "
				  "\"level\": \"required\", \"source\": \"gce-guide\", \"status\": \"PASS\", "
				  "\"reason\": \"gzip-compressed tar\", \"file\": null, \"line\": null, "
				  "\"description\": null}"));
	assert_non_null(strstr(j, "\\\"initrd\\\"  second line"));
	assert_non_null(strstr(j, "\"file\": \"/boot/config-6.1\", \"line\": 16"));
	assert_non_null(strstr(j, "\"status\": \"N/A\""));
	assert_non_null(strstr(j, "\"description\": \"PermitRootLogin no\""));
	assert_non_null(strstr(j, "\"summary\": {\"total\": 5, \"pass\": 1, \"fail\": 2, \"warn\": 1, "
				  "\"na\": 1, \"skip\": 0, \"waived\": 0, \"required_fail\": 1, "
				  "\"gate_fail\": 1}"));
	free(j);
	gm_check_report_free(&rep);
}

static void test_check_report_json_empty_and_control(void **state)
{
	struct gm_check_report rep;
	char *j;

	(void)state;
	gm_check_report_init(&rep);
	j = gm_check_report_json(&rep, "x");
	assert_non_null(j);
	assert_non_null(strstr(j, "\"results\": [],"));
	assert_non_null(strstr(j, "\"ok\": true"));
	free(j);
	gm_check_add(&rep, "a", GM_LEVEL_OPTIONAL, GM_STATUS_PASS, NULL, 0, "bell\a esc\x1b");
	j = gm_check_report_json(&rep, "x");
	assert_non_null(strstr(j, "\"reason\": \"bell\\u0007 esc\\u001b\""));
	assert_non_null(strstr(j, "\"level\": \"optional\""));
	free(j);
	gm_check_report_free(&rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_report_counts_and_ok),
		cmocka_unit_test(test_check_report_reason_one_line),
		cmocka_unit_test(test_check_report_table),
		cmocka_unit_test(test_check_report_json),
		cmocka_unit_test(test_check_report_json_empty_and_control),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
