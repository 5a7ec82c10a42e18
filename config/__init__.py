"""Settings defaults and the default office data (offices.toml)."""
