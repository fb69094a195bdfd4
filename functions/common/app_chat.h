/* app_chat.h: what every Chatr function knows about chats (functions/common, linked into each
 * function; the platform's own code is in gateway/). */
#ifndef CHATR_APP_CHAT_H
#define CHATR_APP_CHAT_H

#include "fn.h"

#include <json-c/json.h>

#define CHAT_ID_STORED_MAX 300 /* chatr.chats.id (schema/001), private chat ids included */
#define MESSAGE_ID_DIGITS 18   /* a history id: a bigint below 10^18 */

/* 0 when user is a member of chat; -1 with 404 (no such chat), 403 (denied: the message) or 500
 * answered on res. */
int app_chat_member(fn_res *res, const char *chat, const char *user, const char *denied);

/* The "messageId" of an event's data (the hub's history id): a JSON integer above 0, or a
 * string of its decimal digits; -1 when absent or anything else. */
long long app_message_id(json_object *body);

#endif
