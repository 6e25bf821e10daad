"""ACLED (Armed Conflict Location & Event Data) files in and out; see docs/acled.md."""
