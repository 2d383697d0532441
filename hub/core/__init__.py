"""Pure core: records, rules, identifiers; no I/O, no clock, no database."""
