"""The controller runtime: controller-runtime's concepts and semantics in Python.

client, cache (shared informers and indexers), workqueue, source, handler, predicate,
reconcile, controller, manager, leaderelection, recorder (Events) and metrics — one
module per concept, composed as a tree of anyio task groups so that shutdown is
cancellation flowing down the tree.
"""
