"""Talking to an assistant: ``POST /v1/Assistants/{id}/Messages`` and the Simulator."""
