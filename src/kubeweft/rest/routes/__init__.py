"""The handlers of a model's router, by what they address.

``model.ModelRoutes`` holds what every handler derives from the model declaration
(plural, group, generated schemas) and the helpers they share (response bodies,
authorization dependency, audit rows). ``collection`` serves ``/api/<plural>`` and
``/api/<plural>/{namespace}`` (list, create), ``item`` serves one object (read, merge
patch, delete), ``records`` its database-backed and Event sub-resources, and
``rollback`` writes a past generation's spec back.

(No ``from __future__ import annotations`` in these modules: FastAPI resolves the
handlers' annotations at runtime, and some name classes generated per model.)
"""
