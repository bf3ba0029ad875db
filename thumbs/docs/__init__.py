"""Documentation served by thumbs itself: one page per error code (``more_info``)."""
