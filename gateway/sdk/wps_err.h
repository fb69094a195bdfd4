/* wps_err.h: the SDK's one way to report a failure into a caller's (err, errlen) buffer. */
#ifndef WPS_ERR_H
#define WPS_ERR_H
#include <stddef.h>

/* Formats the message into err (when err is not NULL and errlen > 0); returns -1. */
int wps_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
