/* moderation.c: the hub's word filter (see moderation.h). How a text is matched:
 *
 * 1. Tokens. The text is split into tokens: maximal runs of word characters, which are ASCII
 *    letters and digits, the look-alike symbols @ $ ! |, non-ASCII letters (any code point not in
 *    a known punctuation/symbol/space/emoji range), and invisible characters (zero-width spaces
 *    and joiners, soft hyphen, combining accents, variation selectors), which belong to the token
 *    but add nothing to it ("sh<ZWSP>it" is "shit"). Everything else separates tokens. Invalid
 *    UTF-8 bytes separate tokens and are never rewritten.
 * 2. Normalising. Each character becomes a lowercase letter: A-Z -> a-z; accented Latin letters
 *    -> their base letter (é -> e, č -> c); Cyrillic and Greek look-alikes -> the Latin letter
 *    they look like (а е о р с у х к м т н в -> a e o p c y x k m t h b); fullwidth ASCII ->
 *    ASCII; digits 0 3 4 5 7 8 9 -> o e a s t b g; @ -> a, $ -> s. 1 ! | are ambiguous: each run
 *    of them is tried as i and as l (all choices up to MOD_MAX_AMB runs, else all-i and all-l).
 *    Listed words are normalised the same way (an ambiguous character in a list entry is i).
 * 3. Candidates. Symbols at the edge of a token usually are punctuation ("hell!", "!!!") but may
 *    be a disguised letter ("$hit", "a$$"). A token is tried as up to four candidates, first
 *    match wins: without its leading and trailing symbols, with the trailing ones, with the
 *    leading ones, whole. Symbols inside a token always count ("h@te"). Only the candidate's
 *    bytes are masked, so "hell!" becomes "****!".
 * 4. Numbers and codes. A candidate with more digits than other characters is not a word: "455",
 *    "$5", "A55", "1,455.50", "mp3" never match, "h3ll0" and "5h1t" do.
 * 5. Repeated letters. A candidate and a listed word are compared through their collapsed forms
 *    (runs of one letter -> that letter once, with the run lengths kept). They match when the
 *    collapsed forms are equal AND every run of the candidate is exactly as long as the listed
 *    word's run, or longer by a stretch no English spelling makes: to 3 or more letters, or a
 *    letter doubled that English (almost) never doubles (a h i j k q u v w x y). So "heeello"
 *    (h1 e3 l2 o1) and "heeelllo" match "hello" (h1 e1 l2 o1), "shiit" and "fuuck" match, but
 *    "helo" (l1 < l2) does not, "as" does not match "ass", and "assess" (a1 s2 e1 s2) does not
 *    match "asses" (a1 s2 e1 s1): doubling s, e, o, l, t ... makes other real words. A repeated
 *    letter never creates or removes a run, so a stretched word can only match a word with the
 *    same letters in the same order.
 * 6. Whole words only. A candidate is the whole token (less edge symbols), so "class", "assess",
 *    "Scunthorpe", "cocktail", "therapist" or "hello" never match "ass", "cunt", "cock",
 *    "rapist" or "hell"; in an e-mail address the '@' joins both sides into one token; in a URL
 *    the parts between '/', '.', '-', '?', '=' are tokens like any other word.
 *
 * Speed: the listed words sit in a hash set keyed by their collapsed form; a token costs one
 * pass to build its runs plus at most four candidates (times the i/l choices) hash look-ups, so
 * a scan is O(text length). mod_scan uses only the stack. */
#include "moderation.h"
#include "fn_text.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#define MOD_MAX_RUNS (2 * MOD_MAX_WORD_LEN + 32) /* runs in one token; longer is no word */
#define MOD_MAX_AMB 6                            /* 1 ! | runs tried both ways exhaustively */
#define MOD_RUN_CAP 255                          /* run lengths saturate here (entries <= 64) */
#define MOD_LINE_BUF 256                         /* one line of the list file while reading */

enum { C_SEP, C_LETTER, C_DIGIT, C_SYM, C_IGN };
#define AMB 1u              /* normalised form of 1 ! |: i or l */
#define INVALID 0xFFFFFFFFu /* an invalid UTF-8 byte */

typedef struct {
    uint32_t cp;       /* normalised code point, or AMB */
    uint32_t n;        /* repetitions, saturating at MOD_RUN_CAP */
    int cls;           /* C_LETTER, C_DIGIT or C_SYM */
    size_t start, end; /* bytes of the run in the text */
} mod_run;

typedef struct {
    char form[MOD_MAX_WORD_LEN + 1]; /* as listed, for the reason of a rejection */
    uint32_t key[MOD_MAX_WORD_LEN];  /* collapsed normalised form */
    uint8_t min[MOD_MAX_WORD_LEN];   /* its run lengths: a match needs at least these */
    size_t keylen;
    int32_t next; /* next word with the same key, or -1 */
} mod_word;

struct mod_filter {
    mod_word *words;
    size_t nwords, cap;
    int32_t *slots; /* hash set of words by key (first of each chain); -1 = empty */
    size_t nslots;  /* a power of two, at least twice nwords */
    size_t maxkey;  /* longest key: longer candidates are not looked up */
};

/* ---- characters ---- */

/* fn_utf8_next (strict UTF-8) for the scanner: one code point at s[0..len), len > 0, and its
 * length in bytes. An invalid or truncated sequence gives INVALID and length 1. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    size_t n = fn_utf8_next(s, len, cp);
    if (n) return n;
    *cp = INVALID;
    return 1;
}

static const char ascii_alike[128] = {
    ['0'] = 'o', ['1'] = AMB, ['2'] = '2', ['3'] = 'e', ['4'] = 'a', ['5'] = 's', ['6'] = '6',
    ['7'] = 't', ['8'] = 'b', ['9'] = 'g', ['@'] = 'a', ['$'] = 's', ['!'] = AMB, ['|'] = AMB,
};

static int classify_ascii(uint32_t c, uint32_t *out)
{
    if (c >= 'a' && c <= 'z') return *out = c, C_LETTER;
    if (c >= 'A' && c <= 'Z') return *out = c + 32, C_LETTER;
    if (!ascii_alike[c]) return C_SEP;
    *out = (unsigned char)ascii_alike[c];
    return c >= '0' && c <= '9' ? C_DIGIT : C_SYM;
}

static int is_ignorable(uint32_t c)
{
    return c == 0xAD || c == 0x180E || c == 0xFEFF || (c >= 0x300 && c <= 0x36F) ||
           (c >= 0x1AB0 && c <= 0x1AFF) || (c >= 0x1DC0 && c <= 0x1DFF) ||
           (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2060 && c <= 0x2064) || (c >= 0x20D0 && c <= 0x20FF) ||
           (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xE0100 && c <= 0xE01EF);
}

/* Non-ASCII punctuation, spaces, symbols and emoji; every other code point is a letter. */
static int is_separator(uint32_t c)
{
    return (c >= 0x80 && c <= 0xBF) || c == 0xD7 || c == 0xF7 || (c >= 0x2000 && c <= 0x206F) ||
           (c >= 0x20A0 && c <= 0x2BFF) || (c >= 0x2E00 && c <= 0x2E7F) ||
           (c >= 0x3000 && c <= 0x303F) || (c >= 0xE000 && c <= 0xF8FF) ||
           (c >= 0xFE10 && c <= 0xFE6F) || (c >= 0xFF00 && c <= 0xFF65) || c >= 0xFFF0;
}

/* Latin-1 C0-FF and Latin Extended-A 100-17F to base letters; '.' = keep (lowercased), '-' =
 * not a letter (handled by is_separator). */
static const char latin1_base[] = "aaaaaa.ceeeeiiiidnooooo-ouuuuy.."
                                  "aaaaaa.ceeeeiiiidnooooo-ouuuuy.y";
static const char latin_ext_a_base[] = "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii..jjkkk"
                                       "llllllllllnnnnnnnnnoooooo..rrrrrrssssssssttttttuuuuuuuuuu"
                                       "uuwwyyyzzzzzzs";
_Static_assert(sizeof latin1_base == 65, "latin1_base covers C0-FF");
_Static_assert(sizeof latin_ext_a_base == 129, "latin_ext_a_base covers 100-17F");

/* Greek and Cyrillic letters (U+0370-045F) that look like Latin ones; 0 = none. */
#define SCRIPT_BASE 0x370
static const char script_alike[0x460 - SCRIPT_BASE] = {
    [0x391 - SCRIPT_BASE] = 'a', [0x392 - SCRIPT_BASE] = 'b', [0x395 - SCRIPT_BASE] = 'e',
    [0x396 - SCRIPT_BASE] = 'z', [0x397 - SCRIPT_BASE] = 'h', [0x399 - SCRIPT_BASE] = 'i',
    [0x39A - SCRIPT_BASE] = 'k', [0x39C - SCRIPT_BASE] = 'm', [0x39D - SCRIPT_BASE] = 'n',
    [0x39F - SCRIPT_BASE] = 'o', [0x3A1 - SCRIPT_BASE] = 'p', [0x3A4 - SCRIPT_BASE] = 't',
    [0x3A5 - SCRIPT_BASE] = 'y', [0x3A7 - SCRIPT_BASE] = 'x', [0x3B1 - SCRIPT_BASE] = 'a',
    [0x3B5 - SCRIPT_BASE] = 'e', [0x3B9 - SCRIPT_BASE] = 'i', [0x3BA - SCRIPT_BASE] = 'k',
    [0x3BD - SCRIPT_BASE] = 'v', [0x3BF - SCRIPT_BASE] = 'o', [0x3C1 - SCRIPT_BASE] = 'p',
    [0x3C4 - SCRIPT_BASE] = 't', [0x3C5 - SCRIPT_BASE] = 'u', [0x3C7 - SCRIPT_BASE] = 'x',
    [0x401 - SCRIPT_BASE] = 'e', [0x405 - SCRIPT_BASE] = 's', [0x406 - SCRIPT_BASE] = 'i',
    [0x407 - SCRIPT_BASE] = 'i', [0x408 - SCRIPT_BASE] = 'j', [0x410 - SCRIPT_BASE] = 'a',
    [0x412 - SCRIPT_BASE] = 'b', [0x415 - SCRIPT_BASE] = 'e', [0x41A - SCRIPT_BASE] = 'k',
    [0x41C - SCRIPT_BASE] = 'm', [0x41D - SCRIPT_BASE] = 'h', [0x41E - SCRIPT_BASE] = 'o',
    [0x420 - SCRIPT_BASE] = 'p', [0x421 - SCRIPT_BASE] = 'c', [0x422 - SCRIPT_BASE] = 't',
    [0x423 - SCRIPT_BASE] = 'y', [0x425 - SCRIPT_BASE] = 'x', [0x430 - SCRIPT_BASE] = 'a',
    [0x432 - SCRIPT_BASE] = 'b', [0x435 - SCRIPT_BASE] = 'e', [0x43A - SCRIPT_BASE] = 'k',
    [0x43C - SCRIPT_BASE] = 'm', [0x43D - SCRIPT_BASE] = 'h', [0x43E - SCRIPT_BASE] = 'o',
    [0x440 - SCRIPT_BASE] = 'p', [0x441 - SCRIPT_BASE] = 'c', [0x442 - SCRIPT_BASE] = 't',
    [0x443 - SCRIPT_BASE] = 'y', [0x445 - SCRIPT_BASE] = 'x', [0x451 - SCRIPT_BASE] = 'e',
    [0x455 - SCRIPT_BASE] = 's', [0x456 - SCRIPT_BASE] = 'i', [0x457 - SCRIPT_BASE] = 'i',
    [0x458 - SCRIPT_BASE] = 'j'};

/* Lowercase / base letter of a non-ASCII letter. */
static uint32_t fold_letter(uint32_t c)
{
    if (c >= 0xC0 && c <= 0xFF) {
        char b = latin1_base[c - 0xC0];
        return b != '.' ? (uint32_t)b : c <= 0xDE ? c + 0x20 : c;
    }
    if (c >= 0x100 && c <= 0x17F) {
        char b = latin_ext_a_base[c - 0x100];
        return b != '.' ? (uint32_t)b : c | 1;
    }
    if (c >= 0x370 && c <= 0x4FF) {
        if (c < 0x460 && script_alike[c - SCRIPT_BASE])
            return (unsigned char)script_alike[c - SCRIPT_BASE];
        if (c >= 0x410 && c <= 0x42F) return c + 0x20;
        if (c >= 0x400 && c <= 0x40F) return c + 0x50;
        if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 0x20;
    }
    return c;
}

/* The class of code point c (C_SEP ... C_IGN); for letters, digits and symbols its normalised
 * form in *out. */
static int classify(uint32_t c, uint32_t *out)
{
    if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0; /* fullwidth ASCII */
    if (c < 0x80) return classify_ascii(c, out);
    if (c == INVALID) return C_SEP;
    if (is_ignorable(c)) return C_IGN;
    if (is_separator(c)) return C_SEP;
    *out = fold_letter(c);
    return C_LETTER;
}

/* ---- the word set ---- */

static uint32_t key_hash(const uint32_t *key, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= key[i];
        h *= 16777619u;
    }
    return h;
}

static int key_equal(const mod_word *w, const uint32_t *key, size_t n)
{
    return w->keylen == n && memcmp(w->key, key, n * sizeof *key) == 0;
}

/* Letters English rarely writes doubled: a double of one of them is a stretch (rule 5). */
#define RARE_DOUBLES                                                                               \
    (1u << ('a' - 'a') | 1u << ('h' - 'a') | 1u << ('i' - 'a') | 1u << ('j' - 'a') |               \
     1u << ('k' - 'a') | 1u << ('q' - 'a') | 1u << ('u' - 'a') | 1u << ('v' - 'a') |               \
     1u << ('w' - 'a') | 1u << ('x' - 'a') | 1u << ('y' - 'a'))

/* Whether a run of n letters in a text stands for a run of m in a listed word (rule 5). */
static int run_ok(uint32_t letter, uint32_t n, uint32_t m)
{
    if (n == m || (n > m && n >= 3)) return 1;
    return n == 2 && m == 1 && letter >= 'a' && letter <= 'z' &&
           (RARE_DOUBLES >> (letter - 'a') & 1);
}

/* The listed word whose key is key[0..n) and whose runs cnt[] match its runs, or NULL. */
static const mod_word *set_find(const mod_filter *f, const uint32_t *key, const uint32_t *cnt,
                                size_t n)
{
    size_t mask = f->nslots - 1;
    for (size_t i = key_hash(key, n) & mask;; i = (i + 1) & mask) {
        int32_t head = f->slots[i];
        if (head < 0) return NULL;
        if (!key_equal(&f->words[head], key, n)) continue;
        for (int32_t w = head; w >= 0; w = f->words[w].next) {
            size_t k = 0;
            while (k < n && run_ok(key[k], cnt[k], f->words[w].min[k]))
                k++;
            if (k == n) return &f->words[w];
        }
        return NULL;
    }
}

static int set_build(mod_filter *f)
{
    f->nslots = 16;
    while (f->nslots < 2 * f->nwords)
        f->nslots *= 2;
    f->slots = malloc(f->nslots * sizeof *f->slots);
    if (!f->slots) return -1;
    memset(f->slots, 0xFF, f->nslots * sizeof *f->slots);
    for (size_t w = 0; w < f->nwords; w++) {
        mod_word *word = &f->words[w];
        size_t mask = f->nslots - 1, i = key_hash(word->key, word->keylen) & mask;
        while (f->slots[i] >= 0 && !key_equal(&f->words[f->slots[i]], word->key, word->keylen))
            i = (i + 1) & mask;
        if (f->slots[i] >= 0) {
            word->next = f->words[f->slots[i]].next;
            f->words[f->slots[i]].next = (int32_t)w;
        } else {
            f->slots[i] = (int32_t)w;
        }
    }
    return 0;
}

/* ---- loading ---- */

/* Adds entry s[0..len) (trimmed, not empty, <= MOD_MAX_WORD_LEN bytes). */
static int add_word(mod_filter *f, const char *s, size_t len, char *err, size_t errlen)
{
    if (f->nwords == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        mod_word *words = realloc(f->words, cap * sizeof *words);
        if (!words) return snprintf(err, errlen, "out of memory"), -1;
        f->words = words;
        f->cap = cap;
    }
    mod_word *w = &f->words[f->nwords];
    memset(w, 0, sizeof *w);
    w->next = -1;
    memcpy(w->form, s, len);
    for (size_t i = 0; i < len;) {
        uint32_t cp, norm = 0;
        size_t n = utf8_next((const unsigned char *)s + i, len - i, &cp);
        int cls = classify(cp, &norm);
        i += n;
        if (cls == C_SEP)
            return snprintf(err, errlen, "\"%s\" is not a single word (or not UTF-8)", w->form), -1;
        if (cls == C_IGN) continue;
        if (norm == AMB) norm = 'i';
        if (w->keylen && w->key[w->keylen - 1] == norm) {
            w->min[w->keylen - 1]++;
        } else {
            w->key[w->keylen] = norm;
            w->min[w->keylen++] = 1;
        }
    }
    if (!w->keylen) return snprintf(err, errlen, "\"%s\" has no letters", w->form), -1;
    if (w->keylen > f->maxkey) f->maxkey = w->keylen;
    f->nwords++;
    return 0;
}

/* Reads one line into buf; a line longer than the buffer is an error unless it is a comment
 * (whose rest is skipped). Returns the trimmed entry (empty for blank and comment lines) or
 * NULL at the end of the file; *toolong is set for an over-long entry. */
static char *read_entry(FILE *fp, char *buf, size_t cap, int *toolong)
{
    *toolong = 0;
    if (!fgets(buf, (int)cap, fp)) return NULL;
    size_t len = strlen(buf);
    int complete = (len && buf[len - 1] == '\n') || feof(fp);
    char *p = buf;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!complete) {
        int c;
        while ((c = fgetc(fp)) != EOF && c != '\n') {
        }
        if (*p != '#') *toolong = 1;
        *p = '\0';
        return p;
    }
    len = strlen(p);
    while (len &&
           (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
        p[--len] = '\0';
    if (*p == '#') *p = '\0';
    return p;
}

static mod_filter *load_fail(mod_filter *f, FILE *fp)
{
    if (fp) fclose(fp);
    mod_free(f);
    return NULL;
}

mod_filter *mod_load(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return snprintf(err, errlen, "%s: %s", path, strerror(errno)), NULL;
    mod_filter *f = calloc(1, sizeof *f);
    if (!f) return snprintf(err, errlen, "%s: out of memory", path), load_fail(f, fp);
    char buf[MOD_LINE_BUF], why[MOD_LINE_BUF + 64];
    char *p;
    int toolong;
    for (int line = 1; (p = read_entry(fp, buf, sizeof buf, &toolong)); line++) {
        if (line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3; /* byte order mark */
        size_t len = strlen(p);
        if (toolong || len > MOD_MAX_WORD_LEN) {
            snprintf(err, errlen, "%s:%d: entry longer than %d bytes", path, line,
                     MOD_MAX_WORD_LEN);
            return load_fail(f, fp);
        }
        if (!len) continue;
        if (f->nwords == MOD_MAX_WORDS) {
            snprintf(err, errlen, "%s: more than %d entries", path, MOD_MAX_WORDS);
            return load_fail(f, fp);
        }
        if (add_word(f, p, len, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s:%d: %s", path, line, why);
            return load_fail(f, fp);
        }
    }
    if (ferror(fp)) {
        snprintf(err, errlen, "%s: read error", path);
        return load_fail(f, fp);
    }
    fclose(fp);
    if (set_build(f) < 0) {
        snprintf(err, errlen, "%s: out of memory", path);
        return load_fail(f, NULL);
    }
    return f;
}

void mod_free(mod_filter *f)
{
    if (!f) return;
    free(f->words);
    free(f->slots);
    free(f);
}

size_t mod_count(const mod_filter *f)
{
    return f ? f->nwords : 0;
}

/* ---- scanning ---- */

/* Looks up runs[a..b) with the ambiguous runs chosen by bits (bit k: k-th ambiguous run is l),
 * or all by bits & 1 when uniform. */
static const mod_word *lookup(const mod_filter *f, const mod_run *runs, size_t a, size_t b,
                              uint32_t bits, int uniform)
{
    uint32_t key[MOD_MAX_WORD_LEN], cnt[MOD_MAX_WORD_LEN];
    size_t n = 0, amb = 0;
    for (size_t k = a; k < b; k++) {
        uint32_t cp = runs[k].cp;
        if (cp == AMB) cp = ((uniform ? bits : bits >> amb++) & 1) ? 'l' : 'i';
        if (n && key[n - 1] == cp) {
            cnt[n - 1] += runs[k].n;
        } else {
            if (n == f->maxkey) return NULL;
            key[n] = cp;
            cnt[n++] = runs[k].n;
        }
    }
    return set_find(f, key, cnt, n);
}

/* The listed word that candidate runs[a..b) is, or NULL. */
static const mod_word *match_candidate(const mod_filter *f, const mod_run *runs, size_t a, size_t b)
{
    uint32_t digits = 0, other = 0, namb = 0;
    for (size_t k = a; k < b; k++) {
        if (runs[k].cls == C_DIGIT)
            digits += runs[k].n;
        else
            other += runs[k].n;
        namb += runs[k].cp == AMB;
    }
    if (digits > other) return NULL; /* a number or a code, not a word */
    int uniform = namb > MOD_MAX_AMB;
    uint32_t choices = uniform ? 2 : 1u << namb;
    for (uint32_t bits = 0; bits < choices; bits++) {
        const mod_word *w = lookup(f, runs, a, b, bits, uniform);
        if (w) return w;
    }
    return NULL;
}

/* Tries the candidates of one token (rule 3); masks (out != NULL) and reports the first that
 * matches. Returns 1 for a match, else 0. */
static int match_token(const mod_filter *f, const mod_run *runs, size_t n, char *out, char *first,
                       size_t firstlen)
{
    size_t lead = 0, trail = 0;
    while (lead < n && runs[lead].cls == C_SYM)
        lead++;
    while (trail < n && runs[n - 1 - trail].cls == C_SYM)
        trail++;
    const size_t cand[4][2] = {{lead, n - trail}, {lead, n}, {0, n - trail}, {0, n}};
    for (int c = 0; c < 4; c++) {
        size_t a = cand[c][0], b = cand[c][1];
        int seen = 0;
        for (int d = 0; d < c; d++)
            seen |= cand[d][0] == a && cand[d][1] == b;
        if (seen || a >= b) continue;
        const mod_word *w = match_candidate(f, runs, a, b);
        if (!w) continue;
        if (out) memset(out + runs[a].start, '*', runs[b - 1].end - runs[a].start);
        if (first && firstlen) snprintf(first, firstlen, "%s", w->form);
        return 1;
    }
    return 0;
}

/* Scans text[0..len); masks into out (the same buffer, or NULL to only count). */
static int scan(const mod_filter *f, const char *text, size_t len, char *out, char *first,
                size_t firstlen)
{
    if (!f || !text || !f->nwords) return 0;
    const unsigned char *s = (const unsigned char *)text;
    mod_run runs[MOD_MAX_RUNS];
    size_t nruns = 0;
    int overflow = 0, count = 0;
    for (size_t i = 0;;) {
        uint32_t cp = 0, norm = 0;
        size_t n = 0;
        int cls = C_SEP;
        if (i < len) {
            if (s[i] < 0x80)
                cp = s[i], n = 1, cls = classify_ascii(cp, &norm);
            else
                n = utf8_next(s + i, len - i, &cp), cls = classify(cp, &norm);
        }
        if (cls == C_SEP) {
            if (nruns && !overflow &&
                match_token(f, runs, nruns, out, count ? NULL : first, firstlen) && count < INT_MAX)
                count++;
            nruns = 0;
            overflow = 0;
            if (i >= len) break;
        } else if (cls != C_IGN && !overflow) {
            mod_run *r = nruns ? &runs[nruns - 1] : NULL;
            if (r && r->cp == norm && r->cls == cls) {
                r->n += r->n < MOD_RUN_CAP;
                r->end = i + n;
            } else if (nruns == MOD_MAX_RUNS) {
                overflow = 1;
            } else {
                runs[nruns++] = (mod_run){norm, 1, cls, i, i + n};
            }
        }
        i += n;
    }
    return count;
}

int mod_scan(const mod_filter *f, char *text, size_t len, int mask, char *first, size_t firstlen)
{
    return scan(f, text, len, mask ? text : NULL, first, firstlen);
}

static int scan_json(const mod_filter *f, struct json_object *v, int mask, char *first,
                     size_t firstlen, int depth)
{
    int total = 0;
    switch (json_object_get_type(v)) {
    case json_type_string: {
        const char *s = json_object_get_string(v);
        size_t len = (size_t)json_object_get_string_len(v);
        total = scan(f, s, len, NULL, first, firstlen);
        if (total && mask) {
            char *copy = malloc(len + 1);
            if (copy) {
                memcpy(copy, s, len + 1);
                scan(f, copy, len, copy, NULL, 0);
                json_object_set_string_len(v, copy, (int)len);
                free(copy);
            } else {
                /* No memory for a copy: mask json-c's own (heap, writable) buffer directly,
                 * never deliver the unmasked text. */
                scan(f, s, len, (char *)s, NULL, 0);
            }
        }
        return total;
    }
    case json_type_object:
        if (depth >= MOD_MAX_JSON_DEPTH) return 0;
        json_object_object_foreach(v, key, val)
        {
            (void)key;
            total += scan_json(f, val, mask, total ? NULL : first, firstlen, depth + 1);
        }
        return total;
    case json_type_array:
        if (depth >= MOD_MAX_JSON_DEPTH) return 0;
        for (size_t i = 0, n = json_object_array_length(v); i < n; i++)
            total += scan_json(f, json_object_array_get_idx(v, i), mask, total ? NULL : first,
                               firstlen, depth + 1);
        return total;
    default:
        return 0;
    }
}

int mod_scan_json(const mod_filter *f, struct json_object *v, int mask, char *first,
                  size_t firstlen)
{
    return v ? scan_json(f, v, mask, first, firstlen, 0) : 0;
}
