/* bot.c: the chat bot, "Chatr Bot" (docs/protocols.md#the-bot). A chat line starting with '/'
 * arrives as the user event chatCommand {"chatId","text"}; the caller (ce-userId, never a data
 * field) must be a member of the chat. The bot answers INTO the chat through the hub's REST API, so
 * its lines are stored in the chat's history like any other message. A malformed event, an unknown
 * chat or a non-member gets a 4xx (an error ack); bad arguments and unknown commands get a bot
 * line saying what is wrong. */
#include "events.h"
#include "app_chat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dice.h"

#define BOT_USER_ID "chatr-bot"
#define BOT_USER_NAME "Chatr Bot"
#define COMMAND_MAX 2000       /* bytes of a command line */
#define TOPIC_MAX 200          /* characters, as chatr.chats.topic */
#define WHO_MAX 50             /* members named by /who */
#define REPLY_MAX 4096         /* bytes of one bot line */
#define QUOTE_MAX 40           /* characters of the caller's input quoted back */
#define NAME_BUF (256 * 4 + 1) /* chatr.users.name: 256 characters of UTF-8 */

typedef struct {
    ev_ctx *ev;
    const char *chat;
    const char *command; /* the word after '/' */
    const char *args;    /* the rest, without surrounding spaces ("" if none) */
    char name[NAME_BUF]; /* the caller's display name */
    int owner;
    int is_private;
} bot_cmd;

/* ---- replies --------------------------------------------------------------------------------- */

/* The data of a bot line: {"message","fromUserId":"chatr-bot","fromUserName":"Chatr Bot","bot"}. */
static json_object *bot_data(const char *text)
{
    json_object *d = json_object_new_object();
    json_object_object_add(d, "message", json_object_new_string(text));
    json_object_object_add(d, "fromUserId", json_object_new_string(BOT_USER_ID));
    json_object_object_add(d, "fromUserName", json_object_new_string(BOT_USER_NAME));
    json_object_object_add(d, "bot", json_object_new_boolean(1));
    return d;
}

/* Posts data (owned) into the chat and answers the event: 200, or 500 if the hub refused. */
static int post(bot_cmd *c, json_object *data)
{
    if (ev_hub_send_group(c->chat, data) != 0)
        fn_error(c->ev->res, 500, "the bot could not post into the chat");
    else
        fn_text(c->ev->res, 200, NULL, "", 0);
    return 0;
}

static int say(bot_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int say(bot_cmd *c, const char *fmt, ...)
{
    char text[REPLY_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return post(c, bot_data(text));
}

/* Appends to buf (len bytes, *at used); -1, with buf unchanged, when it does not fit. */
static int append(char *buf, size_t len, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int append(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *at, len - *at, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len - *at) {
        buf[*at] = '\0';
        return -1;
    }
    *at += (size_t)n;
    return 0;
}

/* At most QUOTE_MAX characters of s (valid UTF-8), "..." marking a cut. */
static const char *quote(const char *s, char *buf, size_t len)
{
    ev_utf8_prefix(buf, len - 3, s, QUOTE_MAX);
    if (strlen(buf) < strlen(s)) strcat(buf, "...");
    return buf;
}

/* ---- commands -------------------------------------------------------------------------------- */

static int cmd_help(bot_cmd *c)
{
    return say(c,
               "Commands: /help (this list), /who (members and who is online), "
               "/me <action> (tell the chat what you are doing), /roll [NdM] (roll N dice with M "
               "sides, 1d6 if not given), /topic <text> (the owner sets the chat's topic; "
               "no text clears it)");
}

static int cmd_who(bot_cmd *c)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", WHO_MAX);
    const char *p[2] = {c->chat, limit};
    /* Window counts are taken before the LIMIT: the totals of the whole chat. */
    PGresult *r = fn_db_exec("SELECT u.name, u.online, u.idle, count(*) OVER (), "
                             "  count(*) FILTER (WHERE u.online) OVER () "
                             "FROM chatr.members m JOIN chatr.users u ON u.id = m.user_id "
                             "WHERE m.chat_id = $1 ORDER BY u.online DESC, u.name, u.id LIMIT $2",
                             2, p);
    if (!r) {
        fn_error(c->ev->res, 500, "database unavailable");
        return 0;
    }
    char text[REPLY_MAX];
    size_t at = 0;
    int rows = PQntuples(r), shown = 0;
    const char *total = rows ? PQgetvalue(r, 0, 3) : "0",
               *online = rows ? PQgetvalue(r, 0, 4) : "0";
    append(text, sizeof text, &at, "Members (%s, %s online): ", total, online);
    for (int i = 0; i < rows; i++, shown++) {
        const char *state = PQgetvalue(r, i, 1)[0] != 't'   ? "offline"
                            : PQgetvalue(r, i, 2)[0] == 't' ? "idle"
                                                            : "online";
        if (append(text, sizeof text - 32, &at, "%s%s (%s)", i ? ", " : "", PQgetvalue(r, i, 0),
                   state))
            break;
    }
    long rest = strtol(total, NULL, 10) - shown;
    if (rest > 0) append(text, sizeof text, &at, " and %ld more", rest);
    PQclear(r);
    return say(c, "%s", text);
}

static int cmd_me(bot_cmd *c)
{
    if (!*c->args) return say(c, "Usage: /me <action>, for example /me waves");
    json_object *d = bot_data(c->args);
    json_object_object_add(d, "action", json_object_new_boolean(1));
    json_object_object_add(d, "actorId", json_object_new_string(c->ev->user_id));
    json_object_object_add(d, "actorName", json_object_new_string(c->name));
    return post(c, d);
}

static int cmd_roll(bot_cmd *c)
{
    int count, sides, rolls[DICE_COUNT_MAX];
    dice_status st = dice_parse(c->args, &count, &sides);
    if (st != DICE_OK) {
        char q[QUOTE_MAX * 4 + 4];
        return say(c, "Cannot roll \"%s\": %s. Usage: /roll [NdM], for example /roll 2d6",
                   quote(c->args, q, sizeof q), dice_error(st));
    }
    dice_roll(count, sides, rolls);
    char text[REPLY_MAX];
    if (dice_format(text, sizeof text, c->name, count, sides, rolls) < 0) {
        fn_error(c->ev->res, 500, "roll does not fit a line");
        return 0;
    }
    return say(c, "%s", text);
}

/* chatTopic {"chatId","topic"} to everyone (public chat) or to each member (private chat). */
static void announce_topic(bot_cmd *c)
{
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "chatId", json_object_new_string(c->chat));
    json_object_object_add(doc, "topic", json_object_new_string(c->args));
    if (!c->is_private) {
        ev_hub_send_all(chat_event_encoded("chatTopic", doc));
        return;
    }
    const char *p[1] = {c->chat};
    PGresult *r = fn_db_exec("SELECT user_id FROM chatr.members WHERE chat_id = $1", 1, p);
    for (int i = 0; r && i < PQntuples(r); i++)
        ev_hub_send_user(PQgetvalue(r, i, 0),
                         chat_event_encoded("chatTopic", json_object_get(doc)));
    PQclear(r);
    json_object_put(doc);
}

static int cmd_topic(bot_cmd *c)
{
    if (!c->owner) return say(c, "Only the chat's owner can set the topic.");
    if (*c->args && !ev_valid_text(c->args, TOPIC_MAX))
        return say(c, "A topic can be at most %d characters.", TOPIC_MAX);
    const char *p[2] = {c->chat, c->args};
    PGresult *r = fn_db_exec(
        "UPDATE chatr.chats SET topic = NULLIF($2, '') WHERE id = $1 RETURNING id", 2, p);
    if (!r) {
        fn_error(c->ev->res, 500, "database unavailable");
        return 0;
    }
    int updated = PQntuples(r) > 0;
    PQclear(r);
    if (!updated) { /* deleted meanwhile */
        fn_error(c->ev->res, 404, "no chat %.80s", c->chat);
        return 0;
    }
    announce_topic(c);
    if (!*c->args) return say(c, "%s cleared the topic", c->name);
    return say(c, "%s set the topic: %s", c->name, c->args);
}

static const struct {
    const char *name;
    int (*run)(bot_cmd *);
} commands[] = {
    {"help", cmd_help}, {"who", cmd_who}, {"me", cmd_me}, {"roll", cmd_roll}, {"topic", cmd_topic},
};

/* ---- the event ------------------------------------------------------------------------------- */

/* Loads the caller's standing in the chat into c; 0, or -1 with the answer set (404, 403, 500). */
static int load_member(bot_cmd *c)
{
    const char *p[2] = {c->chat, c->ev->user_id};
    PGresult *r =
        fn_db_exec("SELECT c.owner = $2, c.private, m.user_id IS NOT NULL, coalesce(u.name, $2) "
                   "FROM chatr.chats c "
                   "LEFT JOIN chatr.members m ON m.chat_id = c.id AND m.user_id = $2 "
                   "LEFT JOIN chatr.users u ON u.id = $2 "
                   "WHERE c.id = $1",
                   2, p);
    if (!r) {
        fn_error(c->ev->res, 500, "database unavailable");
        return -1;
    }
    int rc = 0;
    if (PQntuples(r) == 0) {
        fn_error(c->ev->res, 404, "no chat %.80s", c->chat);
        rc = -1;
    } else if (PQgetvalue(r, 0, 2)[0] != 't') {
        fn_error(c->ev->res, 403, "join the chat before sending it commands");
        rc = -1;
    } else {
        c->owner = PQgetvalue(r, 0, 0)[0] == 't';
        c->is_private = PQgetvalue(r, 0, 1)[0] == 't';
        snprintf(c->name, sizeof c->name, "%s", PQgetvalue(r, 0, 3));
    }
    PQclear(r);
    return rc;
}

/* Splits "/name args" (in line, which it changes) into c->command and c->args. */
static void split(bot_cmd *c, char *line)
{
    char *s = line + 1, *end = line + strlen(line);
    while (end > s && end[-1] == ' ')
        *--end = '\0';
    size_t n = strcspn(s, " ");
    c->args = s[n] ? s + n + 1 + strspn(s + n + 1, " ") : "";
    s[n] = '\0';
    c->command = s;
}

static int run(bot_cmd *c)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcasecmp(commands[i].name, c->command) == 0) return commands[i].run(c);
    char q[QUOTE_MAX * 4 + 4];
    if (!*c->command)
        return say(c, "Commands start with / and a name. Type /help for the list of commands.");
    return say(c, "Unknown command /%s. Type /help for the list of commands.",
               quote(c->command, q, sizeof q));
}

int ev_chat_command(ev_ctx *ev)
{
    json_object *body = fn_body_json(ev->req, ev->res);
    if (!body) return 0;
    const char *chat = ev_field(body, "chatId"), *text = ev_field(body, "text");
    bot_cmd c = {.ev = ev, .chat = chat};
    char line[COMMAND_MAX + 1];
    if (!chat || strlen(chat) > CHAT_ID_STORED_MAX || !ev_valid_text(chat, CHAT_ID_STORED_MAX)) {
        fn_error(ev->res, 400, "chatId must name a chat");
    } else if (!text || strlen(text) > COMMAND_MAX || !ev_valid_text(text, COMMAND_MAX) ||
               text[0] != '/') {
        fn_error(ev->res, 400, "text must be a command: '/' and at most %d bytes of text",
                 COMMAND_MAX);
    } else if (load_member(&c) == 0) {
        memcpy(line, text, strlen(text) + 1);
        split(&c, line);
        run(&c);
    }
    json_object_put(body);
    return 0;
}
