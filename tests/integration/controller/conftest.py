"""The fake API server and an in-process controller wired to it through the real client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from konflux_supply import controller
from tests.integration.controller._fake_api import FakeKube


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    fake = FakeKube(bookmark_interval=0.5)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def kubeconfig(kube: FakeKube, tmp_path: Path) -> Path:
    return kube.kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def make_api(kubeconfig: Path) -> Iterator[Callable[..., controller.KubeApi]]:
    made: list[controller.KubeApi] = []

    def make(**kwargs: object) -> controller.KubeApi:
        metrics = kwargs.pop("metrics", None)
        count = metrics.count_call if isinstance(metrics, controller.Metrics) else None
        api = controller.KubeApi(controller.api_client(str(kubeconfig)), count=count, **kwargs)  # type: ignore[arg-type]
        made.append(api)
        return api

    yield make
    for api in made:
        api.api_client.close()
