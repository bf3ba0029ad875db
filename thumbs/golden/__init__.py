"""Golden examples and preference pairs: what approved feedback teaches."""
