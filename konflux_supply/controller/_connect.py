"""A ``kubernetes.client.ApiClient`` from a kubeconfig or the pod's service account."""

from __future__ import annotations

import os
from typing import Any

from konflux_supply.errors import InputError

__all__ = ["api_client"]


def api_client(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """In a pod (``KUBERNETES_SERVICE_HOST`` set, no ``kubeconfig``): the in-cluster
    config; otherwise ``kubeconfig`` (default ``$KUBECONFIG`` or ``~/.kube/config``)."""
    from kubernetes import client, config

    configuration = client.Configuration()
    try:
        if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, context=context, client_configuration=configuration
            )
    except (config.ConfigException, OSError, TypeError, ValueError) as error:
        raise InputError(
            f"cannot load the Kubernetes configuration: {error}", field="kubeconfig"
        ) from None
    return client.ApiClient(configuration)
