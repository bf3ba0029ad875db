"""The feedback lifecycle: settings, status transitions, the review queue."""
