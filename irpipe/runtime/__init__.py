"""The runtime layer: what every stage, model and application of irpipe stands on.

Atomic files (:mod:`files`), versioned JSON (:mod:`jsonfile`), Parquet shards written and read
against the one schema (:mod:`shards`), work units of a dataset (:mod:`units`), failure rows
(:mod:`failures`), the callgrind parser (:mod:`callgrind`), the one runner of child processes
(:mod:`process`) and the one Ray entry (:mod:`cluster`).
Nothing here imports an IR kind, a stage, a model or an application.
"""
