from helpers import shout

print(shout("hello"))
