/* fn_settings.c: the runtime's settings, read from the environment once (fn.h, fn_settings). */
#include "fn.h"
#include "fn_wps.h"

#include <stdlib.h>
#include <string.h>

static fn_settings settings;
static int settings_read;

/* A copy of the variable's value (NULL when unset): the struct stays valid if the environment
 * changes later. Out of memory here is the same as unset. */
static const char *env_copy(const char *name)
{
    const char *v = getenv(name);
    return v ? strdup(v) : NULL;
}

/* CHATR_DB_HOLD_MS: milliseconds, 0..60000; 0 fails at once (the fuzz targets, which have no
 * database, set it so that each input costs no wait). Anything else: FN_DB_HOLD_MS. */
static long hold_ms(const char *v)
{
    char *end = NULL;
    long n = v && *v ? strtol(v, &end, 10) : -1;
    return (end && *end == '\0' && n >= 0 && n <= 60000) ? n : FN_DB_HOLD_MS;
}

const fn_settings *fn_settings_get(void)
{
    if (settings_read) return &settings;
    settings_read = 1;
    settings.database_url = env_copy("DATABASE_URL");
    settings.public_url = env_copy("CHATR_PUBLIC_URL");
    settings.nginx_socket = env_copy("CHATR_NGINX_SOCKET");
    settings.state_dir = env_copy("CHATR_STATE_DIR");
    settings.log_file = env_copy("CHATR_LOG_FILE");
    settings.db_hold_ms = hold_ms(getenv("CHATR_DB_HOLD_MS"));
    settings.wps_connstr = env_copy(FN_WPS_CONNSTR_ENV);
    settings.wps_hub = env_copy(FN_WPS_HUB_ENV);
    return &settings;
}
