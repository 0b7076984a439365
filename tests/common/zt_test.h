/* zt_test.h - the runner every Check test binary shares. */
#ifndef ZT_TEST_H
#define ZT_TEST_H

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>

/* Run every test of s (each in a child process unless no_fork, for tests
 * sharing state set up once); the number that failed. */
static inline int zt_test_failures(Suite *s, bool no_fork)
{
    SRunner *sr = srunner_create(s);
    if (no_fork)
        srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed;
}

/* main()'s answer for meson. */
static inline int zt_test_run(Suite *s)
{
    return zt_test_failures(s, false) ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
