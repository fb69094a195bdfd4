/* wps_err.c: formatting an SDK failure into the caller's error buffer. */
#include "wps_err.h"

#include <stdarg.h>
#include <stdio.h>

int wps_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}
