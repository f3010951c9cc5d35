"""Built-in providers: aws, gcp, azure and the local cloud (registered as entry points in pyproject.toml)."""
