"""Exports of feedback and golden examples (streamed), and imports of feedback."""
