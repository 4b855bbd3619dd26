import json

with open("config.json") as f:
    config = json.load(f)
print("starting %s on port %d (debug=%s)" % (config["name"], config["port"], config["debug"]))
