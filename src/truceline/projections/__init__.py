"""Projections: followers that turn the log into read models, and the queries on them."""
