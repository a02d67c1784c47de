"""``make bench``: what the orchestration adds to a run, measured on the local rehearsal.

For each mode and job length it rehearses the standard run (``standard``), reads the real
execution history and the emulator's records into a timeline (``timeline``), and reports the
storage lifetime, the orchestration overhead and its breakdown, the compute after the job,
the state transitions and the dollars per run (``cost``, priced by
``batchscratch_cli.prices``), beside a model of the original design's polling loops worked on
the same timeline (``original``), and the built handlers' cold imports and zipped sizes
(``handlers``). ``limits`` holds the acceptance limits; ``report`` renders the table, the
JSON and docs/benchmarks.md.
"""
