"""Field assistant: a hands-free offline assistant for district health workers."""
