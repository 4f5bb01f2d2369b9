"""boto3 clients and resources for tests, each made once per process and endpoint: making a
client (its service model parsed, its endpoint rules resolved) costs more than most tests'
calls to it, and `boto3.client` pays it again after every `mock_aws` start, which drops
boto3's default session. moto intercepts every client made after moto is imported,
whichever `mock_aws` is running, so a client outlives the mock it was made in; one made
while the local stack points AWS_ENDPOINT_URL at its moto server is kept apart."""
from __future__ import annotations

import functools
import os
from typing import Any


@functools.cache
def _session() -> Any:
    import boto3

    return boto3.session.Session()


@functools.cache
def _made(kind: str, service: str, region: str | None, endpoints: tuple[tuple[str, str], ...]) -> Any:
    return getattr(_session(), kind)(service, region_name=region)


def _key(region_name: str | None) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    endpoints = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_ENDPOINT_URL")))
    return region_name or os.environ.get("AWS_DEFAULT_REGION"), endpoints


class Clients:
    """What resources.create_all and infra.local.idp ask of a boto3 session (`client`), and
    `resource`, each made once."""

    def client(self, service_name: str, region_name: str | None = None) -> Any:
        return _made("client", service_name, *_key(region_name))

    def resource(self, service_name: str, region_name: str | None = None) -> Any:
        return _made("resource", service_name, *_key(region_name))


clients = Clients()
