"""The pure scoring core: model, profile, normalising, scoring and reasons. No I/O, no clock,
no import from the engine, the command line or any connector."""
