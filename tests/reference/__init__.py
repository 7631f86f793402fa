"""The scorer, normaliser and CSV reader as they were before the throughput work, frozen:
the equivalence tests compare the fast paths with them (importable as ``reference.*``
because pytest puts ``tests/`` on the path).

Frozen for real: no behaviour is imported from icpsync. They use only icpsync's data types
(``icpsync.core.model`` records they take and return, the profile's types for annotations,
and ``FatalError``), so a change to live scoring, reasons or parsing cannot move them.
``tests/test_architecture.py`` checks that.
"""
