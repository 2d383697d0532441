"""Partner adapters: the base class, the generic TOML-driven adapter, quirky partners."""
