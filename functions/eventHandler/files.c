/* files.c: deleting a chat message deletes the file it shared (docs/files.md#deletion). The file
 * itself lives in chatr.files (functions/files); a chat's files go with the chat by the foreign
 * key's cascade, a message's file goes here, called by the deleteMessage event. */
#include "files.h"

#include <stdlib.h>
#include <string.h>
#include "fn.h"

#define EV_FILE_ID_LEN 32 /* functions/files/files_policy.h FILES_ID_LEN */

/* The message's data as an object (parsed into *owned when it came as a JSON string). */
static json_object *data_object(json_object *data, json_object **owned)
{
    *owned = NULL;
    if (data && json_object_is_type(data, json_type_string))
        data = *owned = json_tokener_parse(json_object_get_string(data));
    return data && json_object_is_type(data, json_type_object) ? data : NULL;
}

int ev_files_release(const char *chat_id, const char *author, json_object *data)
{
    json_object *owned, *file, *id;
    json_object *msg = data_object(data, &owned);
    const char *fid = NULL;
    if (msg && json_object_object_get_ex(msg, "file", &file) &&
        json_object_is_type(file, json_type_object) && json_object_object_get_ex(file, "id", &id) &&
        json_object_is_type(id, json_type_string))
        fid = json_object_get_string(id);
    int rc = 0;
    if (fid && strlen(fid) == EV_FILE_ID_LEN && strspn(fid, "0123456789abcdef") == EV_FILE_ID_LEN &&
        chat_id && author) {
        const char *p[3] = {fid, chat_id, author};
        PGresult *r = fn_db_exec(
            "DELETE FROM chatr.files WHERE id = $1 AND chat_id = $2 AND uploader = $3", 3, p);
        if (!r) {
            fn_log("deleteMessage %s: its file %s stays (database)", chat_id, fid);
            rc = -1;
        } else {
            rc = atoi(PQcmdTuples(r));
            PQclear(r);
        }
    }
    json_object_put(owned);
    return rc;
}
