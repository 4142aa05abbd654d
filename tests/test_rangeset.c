/* test_rangeset.c — the sorted disjoint range set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "editor/rangeset.h"

static void expect(const struct gm_rangeset *s, size_t n, const uint64_t *pairs)
{
	assert_int_equal(s->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(s->r[i].off, pairs[2 * i]);
		assert_int_equal(s->r[i].len, pairs[2 * i + 1]);
	}
}

static void test_rangeset_add_merges(void **state)
{
	struct gm_rangeset s = GM_RANGESET_INIT;

	(void)state;
	assert_int_equal(gm_rangeset_add(&s, 100, 10), 0);
	assert_int_equal(gm_rangeset_add(&s, 0, 10), 0);
	assert_int_equal(gm_rangeset_add(&s, 50, 0), 0);          /* empty: no-op */
	expect(&s, 2, (uint64_t[]){ 0, 10, 100, 10 });
	assert_int_equal(gm_rangeset_add(&s, 10, 5), 0);          /* adjacent: merged */
	expect(&s, 2, (uint64_t[]){ 0, 15, 100, 10 });
	assert_int_equal(gm_rangeset_add(&s, 30, 5), 0);
	assert_int_equal(gm_rangeset_add(&s, 60, 5), 0);
	assert_int_equal(gm_rangeset_add(&s, 12, 90), 0);         /* swallows three */
	expect(&s, 1, (uint64_t[]){ 0, 110 });
	assert_int_equal(gm_rangeset_add(&s, UINT64_MAX - 5, 10), -EOVERFLOW);
	expect(&s, 1, (uint64_t[]){ 0, 110 });
	assert_int_equal(gm_rangeset_total(&s), 110);
	gm_rangeset_free(&s);
	assert_int_equal(s.n, 0);
	gm_rangeset_free(NULL);
}

static void test_rangeset_remove_splits_and_trims(void **state)
{
	struct gm_rangeset s = GM_RANGESET_INIT;

	(void)state;
	assert_int_equal(gm_rangeset_add(&s, 0, 100), 0);
	assert_int_equal(gm_rangeset_add(&s, 200, 100), 0);
	assert_int_equal(gm_rangeset_remove(&s, 40, 20), 0);      /* split */
	expect(&s, 3, (uint64_t[]){ 0, 40, 60, 40, 200, 100 });
	assert_int_equal(gm_rangeset_remove(&s, 90, 120), 0);     /* tail + head */
	expect(&s, 3, (uint64_t[]){ 0, 40, 60, 30, 210, 90 });
	assert_int_equal(gm_rangeset_remove(&s, 0, 1000), 0);     /* everything */
	assert_int_equal(s.n, 0);
	assert_int_equal(gm_rangeset_add(&s, 10, 10), 0);
	assert_int_equal(gm_rangeset_remove(&s, 5, UINT64_MAX), 0);   /* end overflows */
	assert_int_equal(s.n, 0);
	gm_rangeset_free(&s);
}

static void test_rangeset_queries(void **state)
{
	struct gm_rangeset s = GM_RANGESET_INIT, c = GM_RANGESET_INIT;

	(void)state;
	assert_int_equal(gm_rangeset_add(&s, 10, 10), 0);
	assert_int_equal(gm_rangeset_add(&s, 30, 10), 0);
	assert_true(gm_rangeset_contains(&s, 10, 10));
	assert_true(gm_rangeset_contains(&s, 35, 5));
	assert_false(gm_rangeset_contains(&s, 15, 20));            /* spans a gap */
	assert_false(gm_rangeset_contains(&s, 20, 1));             /* just past the end */
	assert_true(gm_rangeset_overlaps(&s, 15, 20));
	assert_true(gm_rangeset_overlaps(&s, 39, 100));
	assert_false(gm_rangeset_overlaps(&s, 20, 10));            /* the gap exactly */
	assert_false(gm_rangeset_overlaps(&s, 0, 10));
	assert_false(gm_rangeset_overlaps(&s, 12, 0));
	assert_int_equal(gm_rangeset_copy(&c, &s), 0);
	expect(&c, 2, (uint64_t[]){ 10, 10, 30, 10 });
	assert_int_equal(gm_rangeset_add(&c, 20, 10), 0);          /* copy is independent */
	expect(&c, 1, (uint64_t[]){ 10, 30 });
	expect(&s, 2, (uint64_t[]){ 10, 10, 30, 10 });
	gm_rangeset_free(&s);
	gm_rangeset_free(&c);
}

/* Against a bitmap model, with random operations. */
static void test_rangeset_random_against_model(void **state)
{
	enum { N = 512 };
	struct gm_rangeset s = GM_RANGESET_INIT;
	unsigned char model[N] = { 0 };

	(void)state;
	srand(42);
	for (int it = 0; it < 5000; it++) {
		uint64_t off = (uint64_t)(rand() % N), len = (uint64_t)(rand() % 40);
		int add = rand() % 3 != 0;

		if (off + len > N)
			len = N - off;
		if (add)
			assert_int_equal(gm_rangeset_add(&s, off, len), 0);
		else
			assert_int_equal(gm_rangeset_remove(&s, off, len), 0);
		for (uint64_t i = off; i < off + len; i++)
			model[i] = (unsigned char)add;
		/* sorted, disjoint, non-adjacent, equal to the model */
		for (size_t i = 1; i < s.n; i++)
			assert_true(s.r[i - 1].off + s.r[i - 1].len < s.r[i].off);
		for (uint64_t i = 0; i < N; i++)
			assert_int_equal(gm_rangeset_contains(&s, i, 1), model[i]);
	}
	gm_rangeset_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rangeset_add_merges),
		cmocka_unit_test(test_rangeset_remove_splits_and_trims),
		cmocka_unit_test(test_rangeset_queries),
		cmocka_unit_test(test_rangeset_random_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
