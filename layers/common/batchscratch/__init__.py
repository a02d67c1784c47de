"""Shared code for the run-scoped scratch storage workflow (every Lambda function imports it)."""
