"""A Face API emulator faithful to the official REST contract for Large Face Lists (see README, "Face emulator")."""
