"""The feedback lifecycle: thumbs submissions, verdict changes (one rule for every route),
settings, status transitions and review decisions, the review queue, and the feedback as
every lifecycle route shows it. Builds on ``thumbs.feedback`` (the record, its filter and
the Twilio resource), which never imports it."""
