RATE = 0.9


def compute_total(prices):
    return sum(prices)


def scale_price(price):
    return round(price * RATE, 2)


def format_money(amount):
    return "$%.2f" % amount
