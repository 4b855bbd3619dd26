def cube(x):
    """x to the power of three."""
    return x * x * x
