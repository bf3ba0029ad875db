"""Shared machinery: errors, ids, paging, request bodies, time."""
