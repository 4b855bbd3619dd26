amounts = [1, 2, 3, 4]
total = sum(amounts)
print("Total: " + total)
