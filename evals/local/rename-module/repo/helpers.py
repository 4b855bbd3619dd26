def shout(text):
    """text in capitals."""
    return text.upper()
