"""The controller runtime: controller-runtime's concepts and semantics in Python.

client, cache (shared informers and indexers), workqueue, source, handler, predicate,
reconcile, controller, manager, leaderelection, recorder (Events) and metrics — one
module per concept, composed as a tree of anyio task groups so that shutdown is
cancellation flowing down the tree. The names most programs need are re-exported here;
the modules (``from kubeweft.runtime import predicate``) hold the rest.
"""

from kubeweft.runtime import errors, handler, metrics, predicate, source
from kubeweft.runtime.builder import ControllerBuilder
from kubeweft.runtime.cache import Cache, CacheOptions, CacheSyncTimeout
from kubeweft.runtime.client import Client
from kubeweft.runtime.clock import Clock, FakeClock, RealClock
from kubeweft.runtime.controller import Controller, ControllerOptions
from kubeweft.runtime.handler import (
    EnqueueRequestForObject,
    EnqueueRequestForOwner,
    EnqueueRequestsFromMapFunc,
)
from kubeweft.runtime.healthz import CheckFailed, CheckResult
from kubeweft.runtime.leaderelection import (
    LeaderElectionLost,
    LeaderElectionOptions,
    LeaderElector,
)
from kubeweft.runtime.manager import Manager, ManagerOptions
from kubeweft.runtime.objects import KindInfo, ObjectKey, kind_info, object_key, owner_reference
from kubeweft.runtime.ratelimiter import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    default_controller_rate_limiter,
)
from kubeweft.runtime.reconcile import Reconciler, Request, Result, TerminalError, reconciler_func
from kubeweft.runtime.recorder import EventRecorder
from kubeweft.runtime.runnable import Runnable, RunnableFunc
from kubeweft.runtime.source import Channel, Kind
from kubeweft.runtime.workqueue import QueueShutDown, RateLimitingQueue

__all__ = [
    "BucketRateLimiter",
    "Cache",
    "CacheOptions",
    "CacheSyncTimeout",
    "Channel",
    "CheckFailed",
    "CheckResult",
    "Client",
    "Clock",
    "Controller",
    "ControllerBuilder",
    "ControllerOptions",
    "EnqueueRequestForObject",
    "EnqueueRequestForOwner",
    "EnqueueRequestsFromMapFunc",
    "EventRecorder",
    "FakeClock",
    "ItemExponentialFailureRateLimiter",
    "Kind",
    "KindInfo",
    "LeaderElectionLost",
    "LeaderElectionOptions",
    "LeaderElector",
    "Manager",
    "ManagerOptions",
    "MaxOfRateLimiter",
    "ObjectKey",
    "QueueShutDown",
    "RateLimiter",
    "RateLimitingQueue",
    "RealClock",
    "Reconciler",
    "Request",
    "Result",
    "Runnable",
    "RunnableFunc",
    "TerminalError",
    "default_controller_rate_limiter",
    "errors",
    "handler",
    "kind_info",
    "metrics",
    "object_key",
    "owner_reference",
    "predicate",
    "reconciler_func",
    "source",
]
