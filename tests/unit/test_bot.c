/* test_bot.c: the chat bot's dice (gateway/chatbot/dice.c): NdM parsing with its limits and
 * errors, rolls within range, and the line the bot posts. */
#include "unit.h"
#include "dice.h"

UNIT_TEST(bot_dice_parse_accepts_ndm_and_defaults)
{
    int n = 0, m = 0;
    CHECK(dice_parse("", &n, &m) == DICE_OK && n == 1 && m == 6);
    CHECK(dice_parse("2d6", &n, &m) == DICE_OK && n == 2 && m == 6);
    CHECK(dice_parse("d20", &n, &m) == DICE_OK && n == 1 && m == 20);
    CHECK(dice_parse("3D8", &n, &m) == DICE_OK && n == 3 && m == 8);
    CHECK(dice_parse("100d1000", &n, &m) == DICE_OK && n == 100 && m == 1000);
    CHECK(dice_parse("1d2", &n, &m) == DICE_OK && n == 1 && m == 2);
    CHECK(dice_parse("007d010", &n, &m) == DICE_OK && n == 7 && m == 10);
}

UNIT_TEST(bot_dice_parse_refuses_bad_specs_and_keeps_outputs)
{
    const char *syntax[] = {"d",    "2d",    "2x6",  "six",     "2d6 ",    " 2d6",
                            "-1d6", "2d-6",  "+2d6", "2d6d",    "2dd6",    "1.5d6",
                            "2d6x", "0x2d6", "d 6",  "12345d6", "2d12345", "aaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof syntax / sizeof syntax[0]; i++) {
        int n = -7, m = -7;
        if (dice_parse(syntax[i], &n, &m) != DICE_SYNTAX) {
            fprintf(stderr, "  spec \"%s\"\n", syntax[i]);
            CHECK(!"syntax error expected");
        }
        CHECK(n == -7 && m == -7);
    }
    int n, m;
    CHECK(dice_parse("0d6", &n, &m) == DICE_COUNT);
    CHECK(dice_parse("101d6", &n, &m) == DICE_COUNT);
    CHECK(dice_parse("1d1", &n, &m) == DICE_SIDES);
    CHECK(dice_parse("1d0", &n, &m) == DICE_SIDES);
    CHECK(dice_parse("1d1001", &n, &m) == DICE_SIDES);
    CHECK(dice_parse("101d1001", &n, &m) == DICE_COUNT); /* the count is reported first */
    CHECK(strstr(dice_error(DICE_SYNTAX), "NdM") != NULL);
    CHECK(strstr(dice_error(DICE_COUNT), "100") != NULL);
    CHECK(strstr(dice_error(DICE_SIDES), "1000") != NULL);
    CHECK_STR(dice_error(DICE_OK), "");
}

UNIT_TEST(bot_dice_roll_stays_in_range_and_sums)
{
    int rolls[DICE_COUNT_MAX], seen[7] = {0};
    for (int k = 0; k < 20; k++) {
        int sum = dice_roll(DICE_COUNT_MAX, 6, rolls), total = 0;
        for (int i = 0; i < DICE_COUNT_MAX; i++) {
            CHECK(rolls[i] >= 1 && rolls[i] <= 6);
            if (rolls[i] >= 1 && rolls[i] <= 6) seen[rolls[i]]++;
            total += rolls[i];
        }
        CHECK(sum == total);
    }
    for (int f = 1; f <= 6; f++)
        CHECK(seen[f] > 0); /* 2,000 rolls: every face shows up */
    dice_roll(50, 2, rolls);
    for (int i = 0; i < 50; i++)
        CHECK(rolls[i] == 1 || rolls[i] == 2);
}

UNIT_TEST(bot_dice_format_lists_rolls_and_total)
{
    char buf[64];
    const int two[] = {3, 5}, one[] = {17};
    CHECK(dice_format(buf, sizeof buf, "Alice", 2, 6, two) == 27);
    CHECK_STR(buf, "Alice rolled 2d6: 3 + 5 = 8");
    CHECK(dice_format(buf, sizeof buf, "Bob", 1, 20, one) > 0);
    CHECK_STR(buf, "Bob rolled 1d20: 17");
    char small[20];
    CHECK(dice_format(small, sizeof small, "Alice", 2, 6, two) == -1);
    CHECK_STR(small, "");
    CHECK(dice_format(buf, 27, "Alice", 2, 6, two) == -1); /* one short of the NUL */
    CHECK(dice_format(buf, 28, "Alice", 2, 6, two) == 27);
    int many[DICE_COUNT_MAX];
    for (int i = 0; i < DICE_COUNT_MAX; i++)
        many[i] = 1000;
    char big[1024];
    CHECK(dice_format(big, sizeof big, "Carol", DICE_COUNT_MAX, 1000, many) > 0);
    CHECK(strstr(big, " = 100000") != NULL);
}
