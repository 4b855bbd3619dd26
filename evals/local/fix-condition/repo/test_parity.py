import unittest

from parity import is_even


class IsEvenTest(unittest.TestCase):
    def test_even(self):
        self.assertTrue(is_even(4))
        self.assertTrue(is_even(0))

    def test_odd(self):
        self.assertFalse(is_even(7))


if __name__ == "__main__":
    unittest.main()
