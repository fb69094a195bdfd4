/* moderation.h: the hub's word filter for group messages (issue 6). A hub configures a word list
 * file and an action (mask or reject); the hub calls mod_scan / mod_scan_json on every group
 * message. Matching is per whole word, case-insensitive, and sees through look-alike characters
 * (h3ll0, Cyrillic е), repeated letters (heeello) and invisible characters, without flagging
 * innocent words that merely contain a listed word (class, Scunthorpe). The rules are written up
 * at the top of moderation.c. Scanning is O(text length) and never allocates; a loaded filter is
 * read-only, so threads may share one. */
#ifndef CHATR_MODERATION_H
#define CHATR_MODERATION_H

#include <stddef.h>

struct json_object;

#define MOD_MAX_WORDS 10000   /* entries in one word list */
#define MOD_MAX_WORD_LEN 64   /* bytes in one entry */
#define MOD_MAX_JSON_DEPTH 64 /* nesting mod_scan_json follows (json-c's parser stops at 32) */

typedef struct mod_filter mod_filter;

/* Loads a word list (one entry per line, '#' comments, blank lines ignored, UTF-8). Limits:
 * MOD_MAX_WORDS entries, MOD_MAX_WORD_LEN bytes each; over a limit or unreadable -> NULL with a
 * message in err. An empty list is valid (matches nothing). */
mod_filter *mod_load(const char *path, char *err, size_t errlen);
void mod_free(mod_filter *f);
size_t mod_count(const mod_filter *f); /* words loaded */

/* Scans text[0..len) (UTF-8, not NUL-terminated necessarily). Returns the number of matched
 * words. If mask is non-zero, matched words are overwritten IN PLACE with '*' (every byte of a
 * matched word, so the length is unchanged and the result stays valid UTF-8). If first is not
 * NULL and something matched, the first matched word's listed form is copied there (for the
 * reason in an error ack; firstlen bytes incl. NUL). With mask == 0 text is only read. */
int mod_scan(const mod_filter *f, char *text, size_t len, int mask, char *first, size_t firstlen);

/* json-c helper: applies mod_scan to every string value in v, recursively (object values and
 * array items, not keys); with mask, replaces the strings in place (json_object_set_string).
 * Returns total matches. Allocates only to replace a string that matched. */
int mod_scan_json(const mod_filter *f, struct json_object *v, int mask, char *first,
                  size_t firstlen);

#endif
