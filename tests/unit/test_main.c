/* test_main.c: runs every registered unit test, optionally only those whose name contains argv[1].
 */
#include "unit.h"

#include <stdlib.h>
#include <sodium.h>

#define UNIT_MAX 512
static struct {
    const char *name;
    unit_fn fn;
} tests[UNIT_MAX];
static int ntests;

void unit_register(const char *name, unit_fn fn)
{
    if (ntests < UNIT_MAX) {
        tests[ntests].name = name;
        tests[ntests].fn = fn;
        ntests++;
    }
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) return 1;
    int passed = 0, failed = 0;
    for (int i = 0; i < ntests; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1])) continue;
        int f = 0;
        tests[i].fn(&f);
        printf("%s %s\n", f ? "FAIL" : "ok  ", tests[i].name);
        if (f)
            failed++;
        else
            passed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
