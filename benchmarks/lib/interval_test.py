"""Tests for interval.py's bootstrap interval of a ratio of medians."""

import unittest

from interval import MIN_ROUNDS, interval_text, ratio_interval


def rounds(values):
    return {str(i + 1): v for i, v in enumerate(values)}


class RatioIntervalTest(unittest.TestCase):
    def test_too_few_paired_rounds_give_no_interval(self):
        a = rounds([100.0] * (MIN_ROUNDS - 1))
        self.assertIsNone(ratio_interval(a, a))
        # Rounds only one server measured do not count.
        b = dict(a)
        b["extra"] = 100.0
        self.assertIsNone(ratio_interval(b, a))

    def test_a_constant_ratio_is_certain(self):
        b = rounds([80.0, 95.0, 110.0, 90.0, 101.0, 87.0, 99.0])
        a = {r: 1.25 * v for r, v in b.items()}
        low, high = ratio_interval(a, b)
        self.assertAlmostEqual(low, 1.25)
        self.assertAlmostEqual(high, 1.25)

    def test_spread_rounds_give_an_interval_around_the_ratio_of_medians(self):
        a = rounds([100.0, 120.0, 90.0, 130.0, 105.0, 95.0, 115.0, 110.0])
        b = rounds([100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0])
        low, high = ratio_interval(a, b)
        self.assertLess(low, 1.075)  # the ratio of the medians: 107.5 / 100
        self.assertGreater(high, 1.075)
        self.assertGreaterEqual(low, 0.90)  # no resample goes outside the rounds' own range
        self.assertLessEqual(high, 1.30)

    def test_a_wider_level_gives_a_wider_interval(self):
        a = rounds([100.0, 120.0, 90.0, 130.0, 105.0, 95.0, 115.0, 110.0, 85.0])
        b = rounds([101.0, 97.0, 104.0, 99.0, 100.0, 103.0, 96.0, 98.0, 102.0])
        low90, high90 = ratio_interval(a, b, level=0.90)
        low99, high99 = ratio_interval(a, b, level=0.99)
        self.assertLessEqual(low99, low90)
        self.assertGreaterEqual(high99, high90)
        self.assertLess(low99, high99)

    def test_the_same_results_give_the_same_interval(self):
        a = rounds([100.0, 120.0, 90.0, 130.0, 105.0, 95.0])
        b = rounds([98.0, 104.0, 97.0, 110.0, 101.0, 99.0])
        self.assertEqual(ratio_interval(a, b), ratio_interval(a, b))

    def test_the_table_text_brackets_the_interval_or_is_empty(self):
        b = rounds([80.0, 95.0, 110.0, 90.0, 101.0, 87.0])
        a = {r: 1.25 * v for r, v in b.items()}
        self.assertEqual(interval_text(a, b), " [1.25-1.25]")
        del a["6"]
        self.assertEqual(interval_text(a, b), "")


if __name__ == "__main__":
    unittest.main()
