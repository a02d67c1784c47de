"""The AWS the command talks to: a boto3 session, optionally at one endpoint.

Every client the command makes, and every client the layer's own functions make when the
command calls them (``batchscratch.aws.client``, e.g. the release's sweep), goes to the same
endpoint: ``Aws.activate`` sets ``AWS_ENDPOINT_URL`` (botocore's global endpoint setting,
AWS SDKs and Tools Reference Guide, "Service-specific endpoints") and the region for this
process. Against a loopback endpoint (the rehearsal's local AWS) without credentials, fixed
placeholder credentials are used: the local AWS accepts any.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
"""Hosts of an endpoint that is this machine (the rehearsal's local AWS)."""

LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
"""Credentials sent to a local endpoint when none are configured (nothing checks them)."""

_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 5})


def is_local(endpoint_url: str | None) -> bool:
    """Return True when ``endpoint_url`` names this machine (``http://127.0.0.1:5000``)."""
    return bool(endpoint_url) and (urlparse(endpoint_url).hostname or "") in LOCAL_HOSTS


@dataclass
class Aws:
    """Where the command's calls go.

    Args:
        endpoint_url: one endpoint for every service (the local AWS), or ``None`` for AWS.
        region: the Region (``None``: the profile's or ``AWS_REGION``/``AWS_DEFAULT_REGION``).
        profile: a named profile of the AWS config files, or ``None``.
    """

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    _session: Any = field(default=None, init=False, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    @property
    def session(self) -> Any:
        """The boto3 session (created at first use)."""
        if self._session is None:
            session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
            if is_local(self.endpoint_url) and session.get_credentials() is None:
                session = boto3.session.Session(
                    aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
                    aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
                    profile_name=self.profile,
                    region_name=self.region or "us-east-1",
                )
            self._session = session
        return self._session

    @property
    def region_name(self) -> str:
        """The Region the calls go to (``us-east-1`` at a local endpoint without one)."""
        region = self.session.region_name
        if region is None and is_local(self.endpoint_url):
            return "us-east-1"
        return str(region or "")

    def client(self, service: str) -> Any:
        """Return the (cached) boto3 client of ``service`` at the endpoint."""
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service,
                region_name=self.region_name or None,
                endpoint_url=self.endpoint_url,
                config=_CONFIG,
            )
        return self._clients[service]

    def activate(self) -> None:
        """Make the layer's clients (``batchscratch.aws.client``) go where this one's go:
        the endpoint, the Region and the credentials, through this process's environment."""
        from batchscratch.aws import reset_clients  # noqa: PLC0415 - only the callers need it

        if self.endpoint_url:
            os.environ["AWS_ENDPOINT_URL"] = self.endpoint_url
        if self.region_name:
            os.environ["AWS_DEFAULT_REGION"] = self.region_name
        if self.profile:
            os.environ["AWS_PROFILE"] = self.profile
        credentials = self.session.get_credentials()
        if credentials is not None and is_local(self.endpoint_url):
            frozen = credentials.get_frozen_credentials()
            os.environ.setdefault("AWS_ACCESS_KEY_ID", frozen.access_key)
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", frozen.secret_key)
        reset_clients()
