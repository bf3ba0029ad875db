"""Analytics: what the feedback says (summaries, series, breakdowns, reasons, comparisons),
read from rollups that every write keeps true (see ``rollups``)."""
