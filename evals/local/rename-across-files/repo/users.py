USERS = {1: "ada", 2: "grace"}


def get_usr(user_id):
    """The name of the user with this id."""
    return USERS[user_id]
