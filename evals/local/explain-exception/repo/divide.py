def share(total, people):
    return total / people


guests = []
print(share(120, len(guests)))
