"""Field assistant: a hands-free offline assistant for district health workers."""

__version__ = "0.1.0"
