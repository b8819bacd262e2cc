"""Helpers that start and stop the real services the tests drive."""
