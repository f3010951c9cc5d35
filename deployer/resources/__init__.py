"""The resource graph: what providers compile a blueprint into, and its three interpreters.

graph.py (resources, calls, outputs, the Builder), values.py (the closed set of expressions),
compile.py (the shared driver), index.py (the SDK index), checks.py (rules over the graph), render.py
(plan), execute.py (the Pulumi executor, the only module here that imports Pulumi) and eject.py.
See docs/architecture.md.
"""
