from users import get_usr

print("logged in as", get_usr(1))
