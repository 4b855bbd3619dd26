import unittest

from geometry import area


class AreaTest(unittest.TestCase):
    def test_rectangle(self):
        self.assertEqual(area(3, 4), 12)

    def test_square(self):
        self.assertEqual(area(2, 2), 4)


if __name__ == "__main__":
    unittest.main()
