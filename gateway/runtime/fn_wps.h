/* fn_wps.h: this process's Web PubSub settings, as every function that calls the hub needs them:
 * the connection string WEBPUBSUB_CONNECTION_STRING parsed once (wps_connstr_parse) and one
 * service client for the hub WEBPUBSUB_HUB (default FN_WPS_HUB_DEFAULT). fn_wps.c. */
#ifndef FN_WPS_H
#define FN_WPS_H
#include "wps_client.h"
#include "wps_connstr.h"

#define FN_WPS_CONNSTR_ENV "WEBPUBSUB_CONNECTION_STRING"
#define FN_WPS_HUB_ENV "WEBPUBSUB_HUB"
#define FN_WPS_HUB_DEFAULT "chat"

/* The parsed connection string, read from the environment on first use; NULL when it is missing
 * or invalid (logged once). Owned by the process. */
const wps_connstr *fn_wps_connstr(void);
/* The hub name: WEBPUBSUB_HUB, or FN_WPS_HUB_DEFAULT when unset or empty. */
const char *fn_wps_hub(void);
/* The process's service client (a per-process handle, like the database connection), made on
 * first use; NULL, logged, when the settings are not usable (a later call tries again). */
wps_client *fn_wps_client(void);

#endif
