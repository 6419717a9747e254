"""Claims: quantitative claims in reports, their speakers and relays, set against the tally."""
