"""boto3 clients for fixtures and helpers, each made once per process and endpoint: making a
client (its service model parsed, its endpoint rules resolved) costs more than most tests'
calls to it. moto intercepts every client made after moto is imported, whichever `mock_aws`
is running, so a client outlives the mock it was made in; one made while the local stack
points AWS_ENDPOINT_URL at its moto server is kept apart from the others."""
from __future__ import annotations

import functools
import os
from typing import Any


@functools.cache
def _session() -> Any:
    import boto3

    return boto3.session.Session()


@functools.cache
def _client(service: str, region: str | None, endpoints: tuple[tuple[str, str], ...]) -> Any:
    return _session().client(service, region_name=region)


class Clients:
    """What resources.create_all and infra.local.idp ask of a boto3 session (`client`),
    with each client made once."""

    def client(self, service_name: str, region_name: str | None = None) -> Any:
        endpoints = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_ENDPOINT_URL")))
        return _client(service_name, region_name or os.environ.get("AWS_DEFAULT_REGION"), endpoints)


clients = Clients()
