def count_up(n):
    """Return the list [1, 2, ..., n]."""
    return list(range(1, n))
