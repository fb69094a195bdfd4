/* hub_conf.h: the hub programs' own settings, read once (docs/deployment.md). */
#ifndef CHATR_HUB_CONF_H
#define CHATR_HUB_CONF_H

/* Read from the environment on first use (hub_loop_run reads them before its loop; the fuzz
 * targets on their first request) and never again, beside the runtime's (fn_settings:
 * DATABASE_URL, CHATR_PUBLIC_URL, CHATR_NGINX_SOCKET, CHATR_STATE_DIR, ...). Not the per-hub
 * settings of hubs.json (hub_settings.h). Strings are NULL when unset (copies otherwise). */
typedef struct hub_conf {
    const char *node_id;       /* CHATR_NODE_ID (hub_node_id: "node" when unset or empty) */
    const char *settings_file; /* CHATR_HUB_SETTINGS: hubs.json (hub_settings.c) */
    long sweep_ms;             /* CHATR_HUB_SWEEP_MS (> 0), else HUB_SWEEP_EVERY_MS */
    long retention_ms;   /* CHATR_RELIABLE_RETENTION_MS (> 0), else HUB_RELIABLE_RETENTION_MS */
    int history_durable; /* CHATR_HISTORY_DURABLE=1: history commits wait for the WAL flush */
    /* CHATR_REDIS_URL set (nchan in Redis, several nodes): every socket subscribes to its own
     * channel only and hub and user sends go to the connections' own channels, because nchan
     * replays its node-local copy of a shared channel to new sockets (docs/scale-out.md#one-
     * channel-per-socket-in-redis-mode); /.chatr/ready checks nchan's Redis connection. */
    int redis_mode;
} hub_conf;
const hub_conf *hub_conf_get(void);
/* The origin clients see (CHATR_PUBLIC_URL, the runtime's setting), "http://127.0.0.1" when
 * unset: token audiences and the handler URLs of hubs.json are built on it. */
const char *hub_conf_public_url(void);

#endif
