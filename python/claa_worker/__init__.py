"""claa's external-heuristic protocol, worker side (numpy only; docs/reference.md "External heuristics").

A heuristic is a function of one layer's tensors that returns per-KV-head scores, higher = keep::

    import numpy as np
    from claa_worker import heuristic

    @heuristic(needs=("keys",))
    def knorm(layer):
        return -np.linalg.norm(layer.keys, axis=-1)      # [H_kv, N]

and claa runs it against the Answer-Informed Oracle with ``--heuristics python:MODULE:knorm``
(MODULE importable from PYTHONPATH). ``claa_worker.testing.check(knorm)`` runs it through the same
files and checks on synthetic tensors, without claa.
"""

from claa_worker.protocol import INPUTS, PROTOCOL, Layer, heuristic, serve, spec_of
from claa_worker.tensor_file import load_tensors, save_tensors

__all__ = ["INPUTS", "PROTOCOL", "Layer", "heuristic", "serve", "spec_of", "load_tensors", "save_tensors"]
