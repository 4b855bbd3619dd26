import unittest

from counting import count_up


class CountUpTest(unittest.TestCase):
    def test_includes_n(self):
        self.assertEqual(count_up(3), [1, 2, 3])

    def test_one(self):
        self.assertEqual(count_up(1), [1])


if __name__ == "__main__":
    unittest.main()
