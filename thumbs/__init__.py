"""thumbs: human feedback for AI assistants, with a Twilio-compatible Feedback API."""

__version__ = "0.1.0"
