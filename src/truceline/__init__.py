"""Truceline: an event-sourced conflict timeline service with ceasefire tracking."""

__version__ = "0.1.0"
