"""Replies as Markdown, rendered on the server for the console.

CommonMark with tables and strikethrough, through markdown-it-py with raw HTML turned off:
any ``<script>`` or ``<img onerror=…>`` in a reply is escaped and shown as text, and links
with ``javascript:`` / ``vbscript:`` / ``file:`` / ``data:`` targets are not made links
(markdown-it's ``validateLink``). No inline styles or scripts come out, so the console's
strict Content-Security-Policy holds."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


def render(text: str) -> str:
    """The HTML of a Markdown text; raw HTML in it is escaped."""
    html: str = _md.render(text)
    return html


def markdown_filter(text: str) -> Markup:
    """Jinja filter ``markdown``: safe to print unescaped (see ``render``)."""
    return Markup(render(text))  # noqa: S704 - markdown-it escapes all raw HTML (html=False)
