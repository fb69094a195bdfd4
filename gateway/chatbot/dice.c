/* dice.c: the NdM parser, the roll and its line (dice.h). */
#include "dice.h"

#include <stdio.h>
#include <string.h>
#include <sodium.h>

#define DICE_DIGITS_MAX 4 /* digits in N or M; more is out of range anyway */

/* The decimal number in s[0..n) (digits only, 1..DICE_DIGITS_MAX of them) or -1. */
static int number(const char *s, size_t n)
{
    if (n == 0 || n > DICE_DIGITS_MAX || strspn(s, "0123456789") < n) return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

dice_status dice_parse(const char *spec, int *count, int *sides)
{
    size_t len = strnlen(spec, DICE_SPEC_MAX + 1);
    if (len == 0) {
        *count = DICE_DEFAULT_COUNT;
        *sides = DICE_DEFAULT_SIDES;
        return DICE_OK;
    }
    if (len > DICE_SPEC_MAX) return DICE_SYNTAX;
    size_t d = strcspn(spec, "dD");
    if (d == len) return DICE_SYNTAX;
    int n = d == 0 ? 1 : number(spec, d);
    int m = number(spec + d + 1, len - d - 1);
    if (n < 0 || m < 0) return DICE_SYNTAX;
    if (n < 1 || n > DICE_COUNT_MAX) return DICE_COUNT;
    if (m < DICE_SIDES_MIN || m > DICE_SIDES_MAX) return DICE_SIDES;
    *count = n;
    *sides = m;
    return DICE_OK;
}

const char *dice_error(dice_status st)
{
    switch (st) {
    case DICE_OK:
        return "";
    case DICE_SYNTAX:
        return "dice are written NdM, like 2d6 or d20";
    case DICE_COUNT:
        return "roll 1 to 100 dice at a time";
    case DICE_SIDES:
        return "dice have 2 to 1000 sides";
    }
    return "bad dice";
}

int dice_roll(int count, int sides, int *rolls)
{
    int sum = 0;
    for (int i = 0; i < count; i++) {
        rolls[i] = 1 + (int)randombytes_uniform((uint32_t)sides);
        sum += rolls[i];
    }
    return sum;
}

int dice_format(char *buf, size_t len, const char *who, int count, int sides, const int *rolls)
{
    int sum = 0;
    size_t at = 0;
    int n = snprintf(buf, len, "%s rolled %dd%d: ", who, count, sides);
    for (int i = 0; n >= 0 && (size_t)n < len - at && i < count; i++) {
        at += (size_t)n;
        sum += rolls[i];
        n = snprintf(buf + at, len - at, i ? " + %d" : "%d", rolls[i]);
    }
    if (n >= 0 && (size_t)n < len - at && count > 1) {
        at += (size_t)n;
        n = snprintf(buf + at, len - at, " = %d", sum);
    }
    if (n < 0 || (size_t)n >= len - at) {
        if (len) buf[0] = '\0';
        return -1;
    }
    return (int)(at + (size_t)n);
}
