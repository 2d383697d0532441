"""Configuration files of the hub: loading and validating the partner TOML files."""
