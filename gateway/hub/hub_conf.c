/* hub_conf.c: the hub programs' own settings, read from the environment once (hub_conf.h), and
 * the public URL (the runtime's fn_settings). */
#include "hub_conf.h"
#include "hub_reliable.h"
#include "hub_sweep.h"
#include "fn.h"

#include <stdlib.h>
#include <string.h>

static hub_conf conf;
static int conf_read;

static const char *env_copy(const char *name)
{
    const char *v = getenv(name);
    return v ? strdup(v) : NULL;
}

/* A positive number of milliseconds from the variable, else dflt. */
static long env_ms(const char *name, long dflt)
{
    const char *e = getenv(name);
    char *end;
    long n = e && *e ? strtol(e, &end, 10) : -1;
    return n > 0 && *end == '\0' ? n : dflt;
}

const hub_conf *hub_conf_get(void)
{
    if (conf_read) return &conf;
    conf_read = 1;
    conf.node_id = env_copy("CHATR_NODE_ID");
    conf.settings_file = env_copy("CHATR_HUB_SETTINGS");
    conf.sweep_ms = env_ms("CHATR_HUB_SWEEP_MS", HUB_SWEEP_EVERY_MS);
    conf.retention_ms = env_ms("CHATR_RELIABLE_RETENTION_MS", HUB_RELIABLE_RETENTION_MS);
    const char *d = getenv("CHATR_HISTORY_DURABLE");
    conf.history_durable = d && strcmp(d, "1") == 0;
    const char *redis = getenv("CHATR_REDIS_URL");
    conf.redis_mode = redis && *redis;
    return &conf;
}

const char *hub_conf_public_url(void)
{
    const char *u = fn_settings_get()->public_url;
    return u && *u ? u : "http://127.0.0.1";
}
