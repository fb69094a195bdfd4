/* hub_loop.h: the hub programs' FastCGI accept loop, with work after the response and an idle
 * callback. */
#ifndef CHATR_HUB_LOOP_H
#define CHATR_HUB_LOOP_H

#include "fn.h"

typedef struct hub_loop_after {
    void (*fn)(void *arg);
    void *arg;
} hub_loop_after;
typedef int (*hub_loop_handler)(fn_req *req, fn_res *res, hub_loop_after *after);
/* Serves requests until a stop signal (name: the program, for logs and metrics). */
int hub_loop_run(const char *name, hub_loop_handler handler, void (*on_start)(void));
/* fn runs every every_ms between requests (and when idle); call before or from on_start. */
void hub_loop_idle(void (*fn)(void), long every_ms);

#endif
