"""The domain: event types, time rules and ceasefire rules. Pure: no I/O, no framework."""
