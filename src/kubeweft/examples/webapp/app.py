"""The shipped application: WebApps, served and reconciled (``kubeweft run``'s default).

Built with the public API alone (:class:`kubeweft.App`), as a user's own project is, so
WebApp has no privilege a user's model lacks in how it is assembled. The reconciler is
requeued every metric sampling interval, the heartbeat of the replicas it reports. Its
Deployments wake it only when a figure it reads moved (``webapp_events``): the
Deployment controller's own bookkeeping during a rollout costs no reconcile.
"""

from __future__ import annotations

from kubeweft.application import App, ControllerContext
from kubeweft.examples.webapp.api import v1alpha1
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.examples.webapp.controllers import (
    WebAppReconciler,
    WebAppReconcilerOptions,
    webapp_events,
)
from kubeweft.examples.webapp.webhooks import WebAppDefaulter, WebAppValidator


def webapp_reconciler(context: ControllerContext) -> WebAppReconciler:
    return WebAppReconciler(
        context.cache,
        context.client,
        events=context.events,
        options=WebAppReconcilerOptions(
            requeue_after=context.settings.metric_sample_interval_seconds
        ),
    )


app = App("kubeweft")
app.add_model(WebApp, spokes=(v1alpha1.WebApp,))  # v1 stored, v1alpha1 still served
app.add_controller(
    WebApp,
    webapp_reconciler,
    owned_predicates=webapp_events.owned_predicates(),
)
app.add_webhook(WebApp, defaulter=WebAppDefaulter(), validator=WebAppValidator())
