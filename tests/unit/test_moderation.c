/* test_moderation.c: the hub's word filter (gateway/moderation): masking and rejection,
 * evasions (look-alikes, repeated letters, invisible characters), no false positives on
 * innocent words, list limits, JSON values, invalid UTF-8. */
#include "unit.h"
#include "moderation.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <unistd.h>

/* The list most tests use. */
static const char *const MAIN_LIST = "# test list\n"
                                     "hell\n"
                                     "\n"
                                     "  ass  \n"
                                     "shit\r\n"
                                     "cunt\n"
                                     "cock\n"
                                     "rapist\n"
                                     "crap\n"
                                     "twat\n"
                                     "tit\n"
                                     "boobs\n"
                                     "asses\n"
                                     "# the end\n";

/* Writes content to a temporary file and loads it; err gets mod_load's message. */
static mod_filter *load_text(const char *content, char *err, size_t errlen)
{
    char path[] = "/tmp/chatr-mod-test-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    size_t len = strlen(content);
    int ok = write(fd, content, len) == (ssize_t)len;
    close(fd);
    err[0] = '\0';
    mod_filter *f = ok ? mod_load(path, err, errlen) : NULL;
    unlink(path);
    return f;
}

static mod_filter *load_list(const char *content)
{
    char err[256];
    mod_filter *f = load_text(content, err, sizeof err);
    if (!f) fprintf(stderr, "  load failed: %s\n", err);
    return f;
}

/* Masks a copy of in; checks the result and the match count. */
static int check_mask(const mod_filter *f, const char *in, const char *want, int nwant)
{
    size_t len = strlen(in);
    char *buf = malloc(len + 1);
    memcpy(buf, in, len + 1);
    int n = mod_scan(f, buf, len, 1, NULL, 0);
    int ok = n == nwant && strcmp(buf, want) == 0;
    if (!ok)
        fprintf(stderr, "  mask \"%s\" -> \"%s\" (%d), want \"%s\" (%d)\n", in, buf, n, want,
                nwant);
    free(buf);
    return ok;
}

/* Counts matches in a copy of in without masking; the text must stay unchanged. */
static int count_of(const mod_filter *f, const char *in)
{
    size_t len = strlen(in);
    char *buf = malloc(len + 1);
    memcpy(buf, in, len + 1);
    int n = mod_scan(f, buf, len, 0, NULL, 0);
    if (memcmp(buf, in, len + 1) != 0) n = -1;
    free(buf);
    return n;
}

#define CHECK_MASK(f, in, want, n) CHECK(check_mask((f), (in), (want), (n)))

UNIT_TEST(moderation_masks_whole_words_byte_for_byte)
{
    mod_filter *f = load_list(MAIN_LIST);
    CHECK(f && mod_count(f) == 11);
    CHECK_MASK(f, "you are an ass, really", "you are an ***, really", 1);
    CHECK_MASK(f, "shit shit", "**** ****", 2);
    CHECK_MASK(f, "hell", "****", 1);
    CHECK_MASK(f, "what the hell is this crap", "what the **** is this ****", 2);
    CHECK_MASK(f, "nothing to see here", "nothing to see here", 0);
    CHECK_MASK(f, "", "", 0);
    mod_free(f);
}

UNIT_TEST(moderation_reject_style_scan_leaves_text_and_reports_first)
{
    mod_filter *f = load_list(MAIN_LIST);
    char text[] = "crap, this is HELL and crap";
    char first[64] = "";
    CHECK(mod_scan(f, text, strlen(text), 0, first, sizeof first) == 3);
    CHECK_STR(text, "crap, this is HELL and crap");
    CHECK_STR(first, "crap");
    char text2[] = "well, HELL";
    CHECK(mod_scan(f, text2, strlen(text2), 0, first, sizeof first) == 1);
    CHECK_STR(first, "hell"); /* the listed form, not the text's */
    char text3[] = "  $hit  ";
    CHECK(mod_scan(f, text3, strlen(text3), 0, first, sizeof first) == 1);
    CHECK_STR(first, "shit");
    char small[3] = "xx";
    CHECK(mod_scan(f, text, strlen(text), 0, small, sizeof small) == 3);
    CHECK_STR(small, "cr"); /* truncated to firstlen */
    char clean[] = "all good";
    strcpy(first, "untouched");
    CHECK(mod_scan(f, clean, strlen(clean), 0, first, sizeof first) == 0);
    CHECK_STR(first, "untouched");
    /* Only len bytes are looked at: the text need not end in NUL. */
    char part[] = "assess";
    CHECK(mod_scan(f, part, 3, 1, NULL, 0) == 1);
    CHECK_STR(part, "***ess");
    mod_free(f);
}

UNIT_TEST(moderation_is_case_insensitive)
{
    mod_filter *f = load_list("SHIT\nHeLl\n");
    CHECK_MASK(f, "Shit", "****", 1);
    CHECK_MASK(f, "SHIT hell HELL hElL", "**** **** **** ****", 4);
    mod_free(f);
}

UNIT_TEST(moderation_sees_through_leet_and_repeated_letters)
{
    mod_filter *f = load_list("hello\n");
    CHECK_MASK(f, "h3ll0 world", "***** world", 1);
    CHECK_MASK(f, "heeello", "*******", 1);
    CHECK_MASK(f, "HHHeeeLLLLooooo!", "***************!", 1);
    CHECK_MASK(f, "he11o he1lo hel|o he||o", "***** ***** ***** *****", 4);
    CHECK_MASK(f, "h3||0", "*****", 1);
    CHECK_MASK(f, "heeelllo hellllo", "******** *******", 2);
    CHECK(count_of(f, "helo") == 0);   /* a listed double letter must stay at least double */
    CHECK(count_of(f, "heello") == 0); /* e doubled is English spelling, not a stretch */
    CHECK(count_of(f, "hallo") == 0);
    CHECK(count_of(f, "hellos") == 0);
    mod_free(f);

    f = load_list(MAIN_LIST);
    CHECK_MASK(f, "$hit sh!t 5h1t sh1t SH|T", "**** **** **** **** ****", 5);
    CHECK_MASK(f, "a$$ @ss 4ss", "*** *** ***", 3);
    CHECK_MASK(f, "asss shiiiit crrrap", "**** ******* ******", 3);
    CHECK_MASK(f, "shiit tw4at", "***** *****", 2); /* i and a are rarely doubled in English */
    CHECK(count_of(f, "as") == 0);
    CHECK(count_of(f, "assess") == 0); /* listed "asses" with a doubled s is another word */
    CHECK(count_of(f, "crrap") == 0);
    CHECK(count_of(f, "sht") == 0);
    /* Runs longer than the run counter still match. */
    size_t n = 100000;
    char *big = malloc(n + 4);
    big[0] = 'h';
    memset(big + 1, 'e', n);
    memcpy(big + 1 + n, "ll", 3);
    CHECK(mod_scan(f, big, n + 3, 1, NULL, 0) == 1);
    CHECK(big[0] == '*' && big[n + 2] == '*');
    free(big);
    mod_free(f);

    f = load_list("hate\n");
    CHECK_MASK(f, "I h@te it", "I **** it", 1);
    mod_free(f);
}

UNIT_TEST(moderation_sees_through_unicode_look_alikes)
{
    mod_filter *f = load_list(MAIN_LIST);
    /* Cyrillic е (2 bytes) masked byte for byte. */
    CHECK_MASK(f, "h\xD0\xB5ll no", "***** no", 1);
    /* Cyrillic С О С К in capitals: "СОСК". */
    CHECK_MASK(f, "\xD0\xA1\xD0\x9E\xD0\xA1\xD0\x9A", "********", 1);
    /* Latin-1 and Latin Extended-A accents: shït, šhit, ÄSS. */
    CHECK_MASK(f, "sh\xC3\xAFt", "*****", 1);
    CHECK_MASK(f, "\xC5\xA1hit", "*****", 1);
    CHECK_MASK(f, "\xC3\x84SS", "****", 1);
    /* Combining diaeresis, zero-width space and soft hyphen inside the word. */
    CHECK_MASK(f, "shi\xCC\x88t", "******", 1);
    CHECK_MASK(f, "sh\xE2\x80\x8Bit.", "*******.", 1);
    CHECK_MASK(f,
               "cr\xC2\xAD"
               "ap",
               "******", 1);
    /* Fullwidth ｓｈｉｔ and Greek capital Α in "Αss". */
    CHECK_MASK(f, "\xEF\xBD\x93\xEF\xBD\x88\xEF\xBD\x89\xEF\xBD\x94", "************", 1);
    CHECK_MASK(f, "\xCE\x91ss", "****", 1);
    /* Guillemets and non-breaking spaces separate words and stay as they are. */
    CHECK_MASK(f,
               "\xC2\xABhell\xC2\xBB\xC2\xA0"
               "ass",
               "\xC2\xAB****\xC2\xBB\xC2\xA0***", 2);
    /* Genuine Cyrillic words are left alone. */
    CHECK(count_of(f, "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82") == 0); /* привет */
    mod_free(f);
}

UNIT_TEST(moderation_punctuation_bounds_words)
{
    mod_filter *f = load_list(MAIN_LIST);
    CHECK_MASK(f, "hell!", "****!", 1);
    CHECK_MASK(f, "(hell)", "(****)", 1);
    CHECK_MASK(f, "\"hell\".", "\"****\".", 1);
    CHECK_MASK(f, "hell!!! |hell| !hell", "****!!! |****| !****", 3);
    CHECK_MASK(f, "hell,ass;crap:cunt", "****,***;****:****", 4);
    CHECK_MASK(f, "hell-week", "****-week", 1);
    CHECK_MASK(f, "<b>crap</b>", "<b>****</b>", 1);
    CHECK_MASK(f, "shit\ncrap\ttwat", "****\n****\t****", 3);
    mod_free(f);
}

UNIT_TEST(moderation_innocent_words_never_match)
{
    mod_filter *f = load_list(MAIN_LIST);
    static const char *const innocent[] = {
        "class",
        "classic",
        "assess",
        "assessment",
        "passage",
        "bass",
        "embarrass",
        "assassin",
        "grass",
        "glasses",
        "massive",
        "Sussex",
        "as",
        "has",
        "was",
        "ash",
        "Scunthorpe",
        "scrap",
        "scrapbook",
        "crappie",
        "cocktail",
        "peacock",
        "Hancock",
        "Hitchcock",
        "cockpit",
        "therapist",
        "therapists",
        "hello",
        "shell",
        "hellish",
        "Othello",
        "hel",
        "shiitake",
        "shift",
        "shirt",
        "title",
        "petite",
        "attitude",
        "constitution",
        "tithe",
        "twatt1e",
        "boob",
        "boo",
        "Mr. Twatley",
        "hitch",
        "sh",
        "h",
        "a",
        "s",
        /* numbers and codes */
        "455",
        "$5",
        "$455",
        "$5.55",
        "1,455.50",
        "A55",
        "M25",
        "B52s",
        "80085",
        "5318008",
        "mp3",
        "h264",
        "IPv4",
        "4x4",
        "2FA",
        "R2D2",
        "C3PO",
        "0x455",
        "+44 20 5555 0133",
        /* addresses */
        "ass@example.com",
        "first.assess@classic.org",
        "hell@example.com is my address",
        "https://www.scunthorpe.gov.uk/cocktail?class=assess&pass=1#passage",
        "http://example.com/scrapbook/therapist.html",
        "git@github.com:shell/assess.git",
        /* sentences */
        "The class will assess the passage in Scunthorpe tomorrow.",
        "I passed the bass to the assassin; he was embarrassed.",
        "A cocktail with my therapist at half past four!",
        "Hello, shell scripts are hellish, said Othello.",
        "Scrap the scrapbook, it's 100% crappie-free @ $5.55 each.",
        "Call +1 (555) 455-1234 or mail sales@example.com",
        "Title: the petite attitude of constitutional assets",
        "caf\xC3\xA9 na\xC3\xAFve \xC3\xBC"
        "ber r\xC3\xA9sum\xC3\xA9 \xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 "
        "\xE4\xBD\xA0\xE5\xA5\xBD",
        "emoji \xF0\x9F\x98\x80 and \xE2\x9C\x93 marks",
    };
    size_t n = sizeof innocent / sizeof innocent[0];
    CHECK(n >= 40);
    for (size_t i = 0; i < n; i++) {
        int c = count_of(f, innocent[i]);
        if (c != 0) fprintf(stderr, "  false positive (%d): \"%s\"\n", c, innocent[i]);
        CHECK(c == 0);
    }
    mod_free(f);
}

UNIT_TEST(moderation_empty_list_matches_nothing)
{
    mod_filter *f = load_list("# nothing here\n\n   \n# still nothing\n");
    CHECK(f && mod_count(f) == 0);
    CHECK_MASK(f, "hell ass shit", "hell ass shit", 0);
    mod_free(f);
    f = load_list("");
    CHECK(f && mod_count(f) == 0);
    mod_free(f);
    CHECK(mod_scan(NULL, (char[]){"hell"}, 4, 1, NULL, 0) == 0);
}

UNIT_TEST(moderation_list_limits_and_errors)
{
    char err[256];
    /* Exactly MOD_MAX_WORDS entries load; one more does not. */
    size_t cap = (size_t)(MOD_MAX_WORDS + 1) * 8 + 1;
    char *list = malloc(cap), *p = list;
    for (int i = 0; i < MOD_MAX_WORDS; i++) {
        p += sprintf(p, "x%c%c%c%c\n", 'a' + i % 26, 'a' + i / 26 % 26, 'a' + i / 676 % 26,
                     'a' + i / 17576);
    }
    mod_filter *f = load_text(list, err, sizeof err);
    CHECK(f && mod_count(f) == MOD_MAX_WORDS);
    if (f) {
        char w[] = "oh xbcda!";
        CHECK(mod_scan(f, w, strlen(w), 1, NULL, 0) == 1);
        CHECK_STR(w, "oh *****!");
    }
    mod_free(f);
    strcpy(p, "yyyyy\n");
    f = load_text(list, err, sizeof err);
    CHECK(!f && strstr(err, "more than 10000 entries"));
    free(list);

    char word[MOD_MAX_WORD_LEN + 3];
    memset(word, 'w', MOD_MAX_WORD_LEN);
    strcpy(word + MOD_MAX_WORD_LEN, "\n");
    f = load_text(word, err, sizeof err);
    CHECK(f && mod_count(f) == 1);
    mod_free(f);
    memset(word, 'w', MOD_MAX_WORD_LEN + 1);
    strcpy(word + MOD_MAX_WORD_LEN + 1, "\n");
    f = load_text(word, err, sizeof err);
    CHECK(!f && strstr(err, ":1: entry longer than 64 bytes"));

    char longcomment[1000] = "ok\n#";
    memset(longcomment + 4, 'c', 900);
    strcpy(longcomment + 904, "\nfine\n");
    f = load_text(longcomment, err, sizeof err);
    CHECK(f && mod_count(f) == 2);
    mod_free(f);

    f = load_text("hell\ntwo words\n", err, sizeof err);
    CHECK(!f && strstr(err, ":2: \"two words\" is not a single word"));
    f = load_text("ok\n\xff\xfe\n", err, sizeof err);
    CHECK(!f && strstr(err, ":2:"));
    f = load_text("\xE2\x80\x8B\n", err, sizeof err);
    CHECK(!f && strstr(err, "has no letters"));
    f = mod_load("/nonexistent/words.txt", err, sizeof err);
    CHECK(!f && strstr(err, "/nonexistent/words.txt: No such file"));
}

UNIT_TEST(moderation_scan_json_filters_string_values_only)
{
    mod_filter *f = load_list(MAIN_LIST);
    const char *in = "{\"message\":\"you ass\",\"n\":455,\"ass\":\"fine\","
                     "\"list\":[\"hell\",{\"deep\":\"h3ll and crap\",\"ok\":true},5,null],"
                     "\"clean\":\"class\"}";
    struct json_object *v = json_tokener_parse(in);
    char first[32] = "";
    CHECK(mod_scan_json(f, v, 0, first, sizeof first) == 4);
    CHECK_STR(first, "ass");
    CHECK_STR(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
              "{\"message\":\"you ass\",\"n\":455,\"ass\":\"fine\",\"list\":[\"hell\",{\"deep\":"
              "\"h3ll and crap\",\"ok\":true},5,null],\"clean\":\"class\"}");
    CHECK(mod_scan_json(f, v, 1, NULL, 0) == 4);
    CHECK_STR(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
              "{\"message\":\"you ***\",\"n\":455,\"ass\":\"fine\",\"list\":[\"****\",{\"deep\":"
              "\"**** and ****\",\"ok\":true},5,null],\"clean\":\"class\"}");
    json_object_put(v);

    v = json_object_new_string("plain sh1t");
    CHECK(mod_scan_json(f, v, 1, first, sizeof first) == 1);
    CHECK_STR(json_object_get_string(v), "plain ****");
    CHECK_STR(first, "shit");
    json_object_put(v);
    v = json_object_new_int(455);
    CHECK(mod_scan_json(f, v, 1, NULL, 0) == 0);
    json_object_put(v);
    CHECK(mod_scan_json(f, NULL, 1, NULL, 0) == 0);
    mod_free(f);
}

UNIT_TEST(moderation_survives_invalid_utf8_and_large_texts)
{
    mod_filter *f = load_list(MAIN_LIST);
    CHECK_MASK(f, "\xff\xfehell\xc3", "\xff\xfe****\xc3", 1);
    CHECK_MASK(f, "\xe2\x80hell\xf0\x9f", "\xe2\x80****\xf0\x9f", 1);
    CHECK_MASK(f, "\xc0\xafhell", "\xc0\xaf****", 1); /* overlong '/' */
    /* Random bytes: no crash, and masking only ever writes '*'. */
    srand(6);
    for (int round = 0; round < 2000; round++) {
        unsigned char in[64], out[64];
        size_t len = (size_t)(rand() % 64);
        for (size_t i = 0; i < len; i++) {
            int r = rand() % 4;
            in[i] =
                r == 0 ? (unsigned char)rand() : (unsigned char)"hel!1$as @\xd0\xb5"[rand() % 13];
        }
        memcpy(out, in, len);
        mod_scan(f, (char *)out, len, 1, NULL, 0);
        for (size_t i = 0; i < len; i++)
            CHECK(out[i] == in[i] || out[i] == '*');
    }
    /* 1 MB: one long token, and many words. */
    size_t n = 1024 * 1024;
    char *big = malloc(n);
    memset(big, 'a', n);
    CHECK(mod_scan(f, big, n, 1, NULL, 0) == 0);
    for (size_t i = 0; i + 5 <= n; i += 5)
        memcpy(big + i, "hell ", 5);
    CHECK(mod_scan(f, big, n, 1, NULL, 0) == (int)(n / 5));
    CHECK(memcmp(big, "**** **** ", 10) == 0);
    memset(big, '$', n);
    CHECK(mod_scan(f, big, n, 1, NULL, 0) == 0);
    free(big);
    mod_free(f);
}

UNIT_TEST(moderation_default_list_loads)
{
    char err[256];
    mod_filter *f = mod_load("gateway/moderation/words.txt", err, sizeof err);
    if (!f) fprintf(stderr, "  %s\n", err);
    CHECK(f && mod_count(f) > 0);
    CHECK_MASK(f, "oh sh1t, Scunthorpe", "oh ****, Scunthorpe", 1);
    CHECK(count_of(f, "class assessment passage cocktail therapist") == 0);
    mod_free(f);
}
