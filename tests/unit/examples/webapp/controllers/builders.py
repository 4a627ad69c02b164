"""Builders for WebApps and the Deployments the API server would return for them."""

from __future__ import annotations

from typing import Any

import msgspec
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service

from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.runtime import objects


def make_webapp(
    *,
    name: str = "shop",
    namespace: str = "default",
    generation: int = 1,
    uid: str = "uid-1",
    **spec: Any,
) -> WebApp:
    return WebApp.model_validate(
        {
            "metadata": {
                "name": name,
                "namespace": namespace,
                "uid": uid,
                "generation": generation,
                "resourceVersion": "10",
            },
            "spec": {"image": "nginx:1.27", **spec},
        }
    )


def as_server_returns(obj: Deployment | Service) -> Any:
    """``obj`` after a round trip through an API server: defaults filled in, RV set."""
    data = objects.to_dict(obj)
    data["metadata"].update(
        {"uid": "dep-uid", "resourceVersion": "100", "generation": 1, "managedFields": []}
    )
    if isinstance(obj, Deployment):
        spec = data["spec"]
        spec.update(
            {
                "progressDeadlineSeconds": 600,
                "revisionHistoryLimit": 10,
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                },
            }
        )
        pod = spec["template"]["spec"]
        pod.update(
            {
                "restartPolicy": "Always",
                "dnsPolicy": "ClusterFirst",
                "schedulerName": "default-scheduler",
                "terminationGracePeriodSeconds": 30,
                "securityContext": {},
            }
        )
        for container in pod["containers"]:
            container.update(
                {
                    "imagePullPolicy": "IfNotPresent",
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                }
            )
            # The server omits empty values and canonicalises quantities.
            for env in container.get("env", []):
                if env.get("value") == "":
                    del env["value"]
            for group in (container.get("resources") or {}).values():
                for key, quantity in list(group.items()):
                    if quantity == "0.5":
                        group[key] = "500m"
                    if quantity == "1024Mi":
                        group[key] = "1Gi"
        data["status"] = {"observedGeneration": 1}
    else:
        data["spec"].update(
            {
                "clusterIP": "10.0.0.12",
                "clusterIPs": ["10.0.0.12"],
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "sessionAffinity": "None",
                "internalTrafficPolicy": "Cluster",
            }
        )
    return msgspec.convert(data, type(obj), strict=False)
