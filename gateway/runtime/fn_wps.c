/* fn_wps.c: the Web PubSub connection string and service client of this process (fn_wps.h). */
#include "fn_wps.h"
#include "fn.h"

#include <stdlib.h>

static wps_connstr connstr; /* endpoint != NULL once parsed */
static int connstr_read;    /* the environment was read (and a failure logged) */
static wps_client *client;

const wps_connstr *fn_wps_connstr(void)
{
    if (connstr_read) return connstr.endpoint ? &connstr : NULL;
    connstr_read = 1;
    const char *cs = fn_settings_get()->wps_connstr;
    char err[256] = "";
    if (cs && wps_connstr_parse(cs, &connstr, err, sizeof err) == 0) return &connstr;
    fn_log("web pubsub: %s", cs ? err : FN_WPS_CONNSTR_ENV " is not set");
    return NULL;
}

const char *fn_wps_hub(void)
{
    const char *hub = fn_settings_get()->wps_hub;
    return hub && *hub ? hub : FN_WPS_HUB_DEFAULT;
}

wps_client *fn_wps_client(void)
{
    if (client) return client;
    const char *cs = fn_settings_get()->wps_connstr;
    char err[256] = "";
    client = cs ? wps_client_new(cs, fn_wps_hub(), err, sizeof err) : NULL;
    if (!client) fn_log("web pubsub client: %s", cs ? err : FN_WPS_CONNSTR_ENV " is not set");
    return client;
}
