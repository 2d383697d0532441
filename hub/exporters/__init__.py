"""Streaming writers, one per format: rows in, bytes to a stream out."""
