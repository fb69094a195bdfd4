/* hub_key.h: the hub's access key (from WEBPUBSUB_CONNECTION_STRING). */
#ifndef CHATR_HUB_KEY_H
#define CHATR_HUB_KEY_H

const char *hub_key_access(void); /* "" when there is no connection string */

#endif
