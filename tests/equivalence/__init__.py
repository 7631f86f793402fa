"""Equivalence with the previous release: a stored corpus of inputs and the release's outputs."""
