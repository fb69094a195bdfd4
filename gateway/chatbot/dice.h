/* dice.h: the chat bot's dice ("/roll [NdM]"): a strict parser for the NdM notation, the roll
 * itself (libsodium's uniform random numbers) and the line the bot posts. The parser and the
 * formatter are pure, so the unit tests pin them down. */
#ifndef CHATR_DICE_H
#define CHATR_DICE_H
#include <stddef.h>

#define DICE_DEFAULT_COUNT 1
#define DICE_DEFAULT_SIDES 6
#define DICE_COUNT_MAX 100 /* dice in one roll */
#define DICE_SIDES_MIN 2
#define DICE_SIDES_MAX 1000
#define DICE_SPEC_MAX 16 /* bytes of an NdM spec: "100d1000" is 8 */

typedef enum {
    DICE_OK = 0,
    DICE_SYNTAX, /* not NdM */
    DICE_COUNT,  /* N outside 1..DICE_COUNT_MAX */
    DICE_SIDES,  /* M outside DICE_SIDES_MIN..DICE_SIDES_MAX */
} dice_status;

/* Parses spec: "" (1d6), "NdM", "dM" (one die); 'd' or 'D'; decimal digits only, no signs or
 * spaces. On DICE_OK *count and *sides are set. */
dice_status dice_parse(const char *spec, int *count, int *sides);
/* What is wrong, for a bot reply ("" for DICE_OK). */
const char *dice_error(dice_status st);

/* Rolls count dice of sides faces into rolls[0..count-1] (uniform, 1..sides); returns the sum.
 * count and sides must have passed dice_parse. */
int dice_roll(int count, int sides, int *rolls);

/* "Alice rolled 2d6: 3 + 5 = 8" ("Alice rolled 1d20: 17" for one die) into buf; the length
 * written, or -1 when it does not fit (buf then holds an empty string). */
int dice_format(char *buf, size_t len, const char *who, int count, int sides, const int *rolls);

#endif
