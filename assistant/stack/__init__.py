"""Bringing the whole assistant up: backend, action server and Rasa, supervised."""
