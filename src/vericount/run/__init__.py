"""Stages over items, and the executors that run them (a local process pool; others by name)."""
