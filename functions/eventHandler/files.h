/* files.h: what a deleted chat message does to the files it shared (files.c, docs/files.md). */
#ifndef CHATR_EV_FILES_H
#define CHATR_EV_FILES_H

#include <json-c/json.h>

/* Deletes the file a deleted message shared: data is the message's stored data (a JSON object,
 * or a string holding one; anything else shares nothing) and its `file.id` names the file. Only a
 * file of that chat uploaded by the message's author (author: the message's fromUserId as the hub
 * stored it) is deleted, so a message cannot take someone else's file with it. Returns the
 * number of files deleted (0 or 1), or -1 when the database failed (logged). */
int ev_files_release(const char *chat_id, const char *author, json_object *data);

#endif
