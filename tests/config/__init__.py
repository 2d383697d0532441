"""Tests of partner configuration: the model, the loader and the repo's files."""
