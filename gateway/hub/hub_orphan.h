/* hub_orphan.h: sockets that closed while one of their hooks was in flight (docs/liveness.md,
 * "The orphan watch"). */
#ifndef CHATR_HUB_ORPHAN_H
#define CHATR_HUB_ORPHAN_H

#define HUB_ORPHAN_CHECKS 2       /* looks for a socket after its last hook (3 s, 20 s) */
#define HUB_ORPHAN_WATCH_MAX 4096 /* connections watched per process */

/* Watch a connection that just had a hook: 3 s later, and once more at 20 s if the socket still
 * counted then, if its socket is gone but its row is not (nchan dropped the `closed` hook),
 * remove it and fire `disconnected`. */
void hub_orphan_watch(const char *conn_id);
void hub_orphan_tick(void);    /* checks what is due; cheap when nothing is */
long hub_orphan_next_ms(void); /* ms until something is due, -1 when nothing is watched */

#endif
