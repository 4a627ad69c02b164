"""Applications built on kubeweft's public API only, as a project of your own would be.

Each module holds one ``App`` to run with ``kubeweft run kubeweft.examples.<name>:app``.
"""
