/* unit.h: a minimal test harness. Each test file registers its cases with UNIT_TEST; the runner
 * (tests/unit/test_main.c) runs them all and ends with "N passed, N failed". */
#ifndef CHATR_UNIT_H
#define CHATR_UNIT_H
#include <stdio.h>
#include <string.h>

typedef void (*unit_fn)(int *failed);
void unit_register(const char *name, unit_fn fn);

#define UNIT_TEST(name)                                                                            \
    static void name(int *unit_failed);                                                            \
    __attribute__((constructor)) static void register_##name(void)                                 \
    {                                                                                              \
        unit_register(#name, name);                                                                \
    }                                                                                              \
    static void name(int *unit_failed)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);             \
            *unit_failed = 1;                                                                      \
        }                                                                                          \
    } while (0)
#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            fprintf(stderr, "  %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, a_ ? a_ : "(null)", \
                    b_ ? b_ : "(null)");                                                           \
            *unit_failed = 1;                                                                      \
        }                                                                                          \
    } while (0)
#endif
