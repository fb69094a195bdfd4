/* hub_key.c: the hub's access key, from WEBPUBSUB_CONNECTION_STRING (read once, by the runtime's
 * fn_wps): it signs and checks every token and keys the channel names. */
#include "hub_key.h"
#include "fn.h"
#include "fn_wps.h"

const char *hub_key_access(void)
{
    const wps_connstr *cs = fn_wps_connstr();
    return cs ? cs->access_key : "";
}
