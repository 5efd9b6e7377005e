"""Shared by the simulation tests and the `demo` fixture (tests/fixtures.py)."""

#: `eas simulate --into` as `make run` runs it, for four synthetic participants over two days.
HISTORY = ["simulate", "--into", "ai-connection", "--history-days", "2", "--participants", "4"]
