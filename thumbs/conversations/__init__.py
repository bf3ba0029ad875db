"""Conversations: Twilio-compatible sessions and messages, and turn logging."""
