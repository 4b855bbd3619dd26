from util import calc

print(calc(2, 3))
