"""Waiting for another component to converge: :mod:`kubeweft.testing.waiting`, the
polling helpers a project's tests use too (a deadline that fails with the last value
seen; never a fixed sleep in place of a condition)."""

from kubeweft.testing.waiting import DEFAULT_TIMEOUT, wait_until, wait_until_async

__all__ = ["DEFAULT_TIMEOUT", "wait_until", "wait_until_async"]
