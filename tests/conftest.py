pytest_plugins = ["web_fixtures"]
