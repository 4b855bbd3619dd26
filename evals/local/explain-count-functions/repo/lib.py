VERSION = "1.0"


def load(path):
    with open(path) as f:
        return f.read()


def save(path, text):
    with open(path, "w") as f:
        f.write(text)


def words(text):
    return text.split()


def count_words(path):
    return len(words(load(path)))
