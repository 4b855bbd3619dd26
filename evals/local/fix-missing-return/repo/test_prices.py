import unittest

from prices import with_tax


class WithTaxTest(unittest.TestCase):
    def test_adds_twenty_percent(self):
        self.assertAlmostEqual(with_tax(100), 120.0)

    def test_zero(self):
        self.assertAlmostEqual(with_tax(0), 0.0)


if __name__ == "__main__":
    unittest.main()
