"""WebApp's admission rules (kubebuilder's ``internal/webhook``): defaults and checks the
schema cannot state, run by the webhook server and by the REST layer."""

from kubeweft.examples.webapp.webhooks.webapp import WebAppDefaulter, WebAppValidator

__all__ = ["WebAppDefaulter", "WebAppValidator"]
