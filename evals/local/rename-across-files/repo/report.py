import users

for user_id in (1, 2):
    print(user_id, users.get_usr(user_id))
