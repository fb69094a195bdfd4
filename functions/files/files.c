/* files: files shared in chats (docs/files.md).
 * POST /api/chats/{id}/files (multipart/form-data, field `file`): a member stores one file in the
 * chat: 201 {"id","url","name","size","contentType"} (+ "thumbUrl","width","height" for images).
 * GET /api/files/{fileId}[?thumb=1]: the file (or its thumbnail) for the chat's members only,
 * 403 for others, 404 for unknown ids; served so that a browser never runs it (nosniff, a
 * sandboxing Content-Security-Policy, attachment for everything but images).
 * The bytes live in PostgreSQL (chatr.files, schema/014_files.sql); the type is decided on the
 * content (libmagic), the thumbnail made at upload (libvips). */
#include "app_chat.h"
#include "fn.h"

#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "files.h"

/* ---- upload ------------------------------------------------------------------------------- */

/* One stored file: what the quota transaction inserts. */
typedef struct stored {
    const char *chat, *user;
    char id[FILES_ID_LEN + 1];
    const files_upload *up;
    const char *type;
    const unsigned char *thumb;
    size_t thumb_len;
    int width, height;
    int over_quota; /* set by the transaction */
} stored;

/* The quota check and the insert, under a per-user transaction lock so that two uploads of one
 * user are counted one after the other (neither can see the other's bytes missing). */
static int store_tx(void *arg)
{
    stored *s = arg;
    s->over_quota = 0;
    const char *lp[1] = {s->user};
    PGresult *r = fn_db_exec("SELECT pg_advisory_xact_lock(hashtextextended('chatr.files:' || $1, "
                             "0)), coalesce((SELECT sum(size) FROM chatr.files "
                             "WHERE uploader = $1), 0)",
                             1, lp);
    if (!r) return -1;
    long long used = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    if (used + (long long)s->up->size > FILES_QUOTA_BYTES) {
        s->over_quota = 1;
        return -1;
    }
    char size[24], width[16], height[16];
    snprintf(size, sizeof size, "%zu", s->up->size);
    snprintf(width, sizeof width, "%d", s->width);
    snprintf(height, sizeof height, "%d", s->height);
    const char *v[11] = {s->id,
                         s->chat,
                         s->user,
                         s->up->name,
                         s->type,
                         size,
                         (const char *)s->up->data,
                         s->thumb ? (const char *)s->thumb : NULL,
                         s->thumb ? "image/webp" : NULL,
                         s->width > 0 ? width : NULL,
                         s->height > 0 ? height : NULL};
    int lens[11] = {0, 0, 0, 0, 0, 0, (int)s->up->size, (int)s->thumb_len, 0, 0, 0};
    int formats[11] = {0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0};
    r = fn_db_exec_bin("INSERT INTO chatr.files (id, chat_id, uploader, name, content_type, size, "
                       "data, thumb, thumb_type, width, height) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                       11, v, lens, formats, 0);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

static void answer_upload(fn_res *res, const stored *s)
{
    char url[64];
    snprintf(url, sizeof url, "/api/files/%s", s->id);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(s->id));
    json_object_object_add(o, "url", json_object_new_string(url));
    json_object_object_add(o, "name", json_object_new_string(s->up->name));
    json_object_object_add(o, "size", json_object_new_int64((int64_t)s->up->size));
    json_object_object_add(o, "contentType", json_object_new_string(s->type));
    if (s->thumb) {
        char turl[80];
        snprintf(turl, sizeof turl, "%s?thumb=1", url);
        json_object_object_add(o, "thumbUrl", json_object_new_string(turl));
    }
    if (s->width > 0 && s->height > 0) {
        json_object_object_add(o, "width", json_object_new_int(s->width));
        json_object_object_add(o, "height", json_object_new_int(s->height));
    }
    fn_set_header(res, "Location", "%s", url);
    fn_json(res, 201, o);
}

static int upload(fn_req *req, fn_res *res, const char *chat)
{
    if (strcmp(req->method, "POST") != 0) {
        fn_set_header(res, "Allow", "POST");
        fn_error(res, 405, "method %s not allowed", req->method);
        return 0;
    }
    /* Another site's form cannot post into a chat: the session cookie is SameSite=Lax already,
     * and a browser that says where the request comes from must say it is us. */
    const char *site = fn_header(req, "Sec-Fetch-Site");
    if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0) {
        fn_error(res, 403, "uploads from another site are refused");
        return 0;
    }
    const char *me = req->principal->user_id;
    if (app_chat_member(res, chat, me, "only the chat's members can share files in it")) return 0;
    files_upload up;
    char err[200];
    int st = files_multipart_read(fn_header(req, "Content-Type"), req->body, req->body_len, &up,
                                  err, sizeof err);
    if (st) {
        fn_error(res, st, "%s", err);
        return 0;
    }
    char magic[FILES_TYPE_MAX * 2], type[FILES_TYPE_MAX + 1];
    stored s = {.chat = chat, .user = me, .up = &up, .type = type};
    unsigned char *thumb = NULL;
    files_kind kind = FILES_REFUSED;
    if (up.size == 0) {
        fn_error(res, 400, "the file is empty");
        goto done;
    }
    if (files_detect(up.data, up.size, magic, sizeof magic) != 0) {
        fn_error(res, 500, "cannot tell the file's type");
        goto done;
    }
    kind = files_type_decide(magic, type, sizeof type);
    if (kind == FILES_REFUSED) {
        fn_error(res, 415, "files of type %.80s are not accepted", magic);
        goto done;
    }
    /* A failed thumbnail (too many pixels, undecodable) does not fail the upload. */
    if (kind == FILES_IMAGE &&
        files_thumbnail(up.data, up.size, &thumb, &s.thumb_len, &s.width, &s.height) == 0)
        s.thumb = thumb;
    unsigned char raw[FILES_ID_LEN / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(s.id, sizeof s.id, raw, sizeof raw);
    if (fn_db_tx(store_tx, &s) != 0) {
        if (s.over_quota)
            fn_error(res, 507, "over the file quota of %lld bytes per user", FILES_QUOTA_BYTES);
        else if (strcmp(fn_db_sqlstate(), "23503") == 0) /* the chat went away meanwhile */
            fn_error(res, 404, "no such chat");
        else
            fn_error(res, 500, "database unavailable");
        goto done;
    }
    answer_upload(res, &s);
done:
    free(thumb);
    files_upload_free(&up);
    return 0;
}

/* ---- download ----------------------------------------------------------------------------- */

/* The headers every file answer carries (docs/files.md#serving). */
static void safe_headers(fn_res *res, const char *etag)
{
    fn_set_header(res, "X-Content-Type-Options", "nosniff");
    fn_set_header(res, "Content-Security-Policy", "default-src 'none'; sandbox");
    fn_set_header(res, "Cross-Origin-Resource-Policy", "same-origin");
    /* private: no shared cache keeps it; no-cache: each use asks again, so a member who left or
     * a deleted file stops being served; the ETag makes asking again cheap (304). */
    fn_set_header(res, "Cache-Control", "private, no-cache");
    fn_set_header(res, "ETag", "%s", etag);
}

/* 1 when If-None-Match names etag (a list, or "*"). */
static int not_modified(fn_req *req, const char *etag)
{
    const char *inm = fn_header(req, "If-None-Match");
    if (!inm) return 0;
    if (strcmp(inm, "*") == 0) return 1;
    size_t len;
    for (const char *it; (it = fn_list_next(&inm, &len)) != NULL;) {
        if (len > 2 && it[0] == 'W' && it[1] == '/') it += 2, len -= 2;
        if (len == strlen(etag) && strncmp(it, etag, len) == 0) return 1;
    }
    return 0;
}

static int download(fn_req *req, fn_res *res, const char *id)
{
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        fn_set_header(res, "Allow", "GET, HEAD");
        fn_error(res, 405, "method %s not allowed", req->method);
        return 0;
    }
    char tq[8];
    int thumb = fn_query(req, "thumb", tq, sizeof tq) && strcmp(tq, "0") != 0;
    if (!files_valid_id(id)) {
        fn_error(res, 404, "no such file");
        return 0;
    }
    /* First the metadata and the membership; the bytes only for a member. */
    const char *p[2] = {id, req->principal->user_id};
    PGresult *r = fn_db_exec("SELECT f.name, f.content_type, f.thumb IS NOT NULL, "
                             "EXISTS (SELECT 1 FROM chatr.members m "
                             "        WHERE m.chat_id = f.chat_id AND m.user_id = $2) "
                             "FROM chatr.files f WHERE f.id = $1",
                             2, p);
    if (!r) {
        fn_error(res, 500, "database unavailable");
        return 0;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        fn_error(res, 404, "no such file");
        return 0;
    }
    int member = PQgetvalue(r, 0, 3)[0] == 't', has_thumb = PQgetvalue(r, 0, 2)[0] == 't';
    char name[FILES_NAME_MAX * 4 + 1], type[FILES_TYPE_MAX + 1];
    snprintf(name, sizeof name, "%s", PQgetvalue(r, 0, 0));
    snprintf(type, sizeof type, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    if (!member) {
        fn_error(res, 403, "only the chat's members can read its files");
        return 0;
    }
    if (thumb && !has_thumb) {
        fn_error(res, 404, "this file has no thumbnail");
        return 0;
    }
    char served[FILES_TYPE_MAX + 1];
    files_kind kind = files_type_decide(type, served, sizeof served);
    if (kind == FILES_REFUSED) { /* stored before a list changed: bytes, never rendered */
        snprintf(served, sizeof served, "application/octet-stream");
        kind = FILES_DOCUMENT;
    }
    char etag[FILES_ID_LEN + 8], disp[FILES_DISPOSITION_MAX];
    snprintf(etag, sizeof etag, "\"%s%s\"", id, thumb ? "-t" : "");
    safe_headers(res, etag);
    if (files_disposition(disp, sizeof disp, kind == FILES_IMAGE || thumb, name) == 0)
        fn_set_header(res, "Content-Disposition", "%s", disp);
    else
        fn_set_header(res, "Content-Disposition", "%s",
                      kind == FILES_IMAGE ? "inline" : "attachment");
    if (not_modified(req, etag)) {
        fn_text(res, 304, NULL, "", 0);
        return 0;
    }
    r = fn_db_exec_bin(thumb ? "SELECT thumb FROM chatr.files WHERE id = $1"
                             : "SELECT data FROM chatr.files WHERE id = $1",
                       1, p, NULL, NULL, 1);
    if (!r) {
        fn_error(res, 500, "database unavailable");
        return 0;
    }
    if (PQntuples(r) == 0 || PQgetisnull(r, 0, 0)) { /* deleted meanwhile */
        PQclear(r);
        fn_error(res, 404, "no such file");
        return 0;
    }
    fn_set_header(res, "Content-Type", "%s", thumb ? "image/webp" : served);
    fn_text(res, 200, NULL, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
    PQclear(r);
    return 0;
}

static int files(fn_req *req, fn_res *res)
{
    const char *chat = fn_route(req, "id");
    if (chat) return upload(req, res, chat);
    const char *id = fn_route(req, "fileId");
    if (id) return download(req, res, id);
    fn_error(res, 404, "no such file route");
    return 0;
}

int main(void)
{
    return fn_run("files", files);
}
