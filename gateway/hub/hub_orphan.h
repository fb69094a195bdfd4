/* hub_orphan.h: sockets that closed while one of their hooks was in flight (docs/liveness.md,
 * "The orphan watch"). */
#ifndef CHATR_HUB_ORPHAN_H
#define CHATR_HUB_ORPHAN_H

#define HUB_ORPHAN_CHECKS 7       /* looks for a socket after its last hook (1 s ... 30 s) */
#define HUB_ORPHAN_WATCH_MAX 4096 /* connections watched per process */

/* Watch a connection that just had a hook: a second later, and then up to HUB_ORPHAN_CHECKS
 * times over 30 s, if its socket is gone but its row is not (nchan dropped the `closed` hook),
 * remove it and fire `disconnected`. */
void hub_orphan_watch(const char *conn_id);
void hub_orphan_tick(void);    /* checks what is due; cheap when nothing is */
long hub_orphan_next_ms(void); /* ms until something is due, -1 when nothing is watched */

#endif
