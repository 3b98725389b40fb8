"""Runs on a Ray cluster (`TLAB_EXECUTOR=ray`): the same queue, store and training code, on other machines.

* The run store stays the only queue. A server claims a queued run with an atomic compare-and-set (so two
  servers never start the same run) and only then hands it to a Ray worker: a *detached, named* actor that
  asks for the run's resources (`num_gpus=1` for a GPU run, CPUs otherwise), placed by Ray on any node that
  has them. Detached, so it outlives an app-server restart; named, so the next server finds it again.
  The actor stays warm for the next run of the same shape (torch is imported once per worker).
* Nodes cannot reach the server's SQLite file. On the node, tlcore's own `train_to_end` reports to a relay
  (`relay.RelayStore`, a `ProgressBoard`) and reads the cancel flag from it; the server drains the relay
  and replays the writes into the store. Final results and the run folder come back in the run's outcome.
* An uploaded dataset travels through Ray's object store, once per content hash, into a cache on each node
  (`shipping`); built-in datasets are read from each node's own installation.
* A run whose node dies is tried once more elsewhere, then fails with the reason; `placements` in the store
  say which server watches which run (a lease), so a restarted server takes its runs over.

Modules: `settings` (TLAB_RAY_*), `packing` and `shipping` (data out, run folders back), `relay`, `actor`
(what runs on the node), `pool` (workers and their resources), `calls` (collecting the actors' answers),
`recovery` (lost nodes, restarts, cancel), `executor` (the server side, `RayExecutor`).
This package's `__init__` imports nothing: `ray` is imported only by the modules that need it.
"""
