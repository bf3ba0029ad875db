"""Feedback: the Twilio-compatible ``/v1/Assistants/{id}/Feedbacks`` resource."""
