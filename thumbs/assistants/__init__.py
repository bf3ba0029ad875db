"""Assistants: the Twilio-compatible ``/v1/Assistants`` resource."""
