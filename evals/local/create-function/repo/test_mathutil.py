import unittest

from mathutil import cube, square


class MathutilTest(unittest.TestCase):
    def test_square(self):
        self.assertEqual(square(5), 25)
        self.assertEqual(square(-3), 9)

    def test_cube(self):
        self.assertEqual(cube(2), 8)


if __name__ == "__main__":
    unittest.main()
