TAX_RATE = 0.2


def with_tax(price):
    """The price plus tax."""
    total = price * (1 + TAX_RATE)
