"""The scorer, normaliser and CSV reader as they were before the throughput work, frozen:
the equivalence tests compare the fast paths with them (importable as ``reference.*``
because pytest puts ``tests/`` on the path)."""
