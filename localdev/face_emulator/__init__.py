"""A Face API emulator faithful to the official REST contract for Large Face Lists (see docs/local-world.md)."""
