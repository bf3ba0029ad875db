"""The store: every table, the engine, the group-commit writer and the migrations."""
