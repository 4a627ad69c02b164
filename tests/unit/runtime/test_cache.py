"""Cache: which informers a kind gets — scoped to the owned-label selector only when
every request for it so far was for owned objects."""

from __future__ import annotations

from typing import Any

from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service

from kubeweft.runtime.cache import Cache, CacheOptions
from kubeweft.runtime.informer import InformerOptions

SELECTOR = {"app.kubernetes.io/managed-by": "kubeweft"}


def cache(**options: Any) -> Cache:
    # Informers touch the client only when they run.
    return Cache(client=None, options=CacheOptions(**options))  # type: ignore[arg-type]


def test_an_owned_kind_is_cached_by_the_owned_label_selector() -> None:
    scoped = cache(owned_label_selector=SELECTOR)
    assert scoped.informer_for(Deployment, owned=True).options.label_selector == SELECTOR
    # Asked for again as owned: the same informer.
    assert scoped.informer_for(Deployment, owned=True) is scoped.informer_for(
        Deployment, owned=True
    )
    assert scoped.informer_for(Service).options.label_selector is None
    # Only controllers read an owned kind: kept as bytes, each read a private copy.
    assert scoped.informer_for(Deployment, owned=True).returns_copies
    assert not scoped.informer_for(Service).returns_copies


def test_a_request_for_the_whole_kind_before_start_widens_the_informer() -> None:
    scoped = cache(owned_label_selector=SELECTOR)
    owned = scoped.informer_for(Deployment, owned=True)
    whole = scoped.informer_for(Deployment)
    assert whole is not owned
    assert whole.options.label_selector is None
    # Once widened, an owned request shares the whole-kind informer.
    assert scoped.informer_for(Deployment, owned=True) is whole
    assert not whole.returns_copies  # read in place by views: objects, not bytes


def test_without_a_selector_or_with_by_kind_options_nothing_is_scoped() -> None:
    assert cache().informer_for(Deployment, owned=True).options.label_selector is None
    own = InformerOptions(label_selector="tier=web")
    configured = cache(owned_label_selector=SELECTOR, by_kind={Deployment: own})
    assert configured.informer_for(Deployment, owned=True).options is own
