"""The embedded AWS: a moto server on loopback, reached only with fixed fake credentials.

DESIGN.md 3.17: the demo and ``awsrespond emulator`` talk to their own loopback endpoint and nothing
else. Sessions built here ignore the environment (profiles, ``AWS_PROFILE``, ``AWS_SESSION_TOKEN``,
config and credentials files, endpoint and proxy settings), and :func:`verify_emulator` refuses any
endpoint that is not a loopback address or whose STS does not answer with the emulator's account.

moto keeps its state per Python process, not per server, so only one :class:`EmulatorServer` may run
in a process at a time; starting one wipes whatever state moto had. While it runs, the process
environment is adjusted for moto (see ``_MOTO_ENV``) and restored when it stops.
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import json
import logging
import os
import shlex
import socket
import threading
import urllib.request
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.config import Config
from botocore.configprovider import BOTOCORE_DEFAUT_SESSION_VARIABLES
from botocore.exceptions import BotoCoreError, ClientError
from botocore.loaders import Loader
from moto.iam.models import AWSManagedPolicy, ManagedPolicy, iam_backends
from moto.server import ThreadedMotoServer

from awsrespond.aws.clients import DEFAULT_REGION, ClientFactory
from awsrespond.errors import AwsRespondError, SafetyError

EMULATOR_ACCOUNT_ID = "123456789012"
"""moto's default account: every request signed with a key moto does not know lands here."""

EMULATOR_HOST = "127.0.0.1"

# Fixed fake credentials. Not a real key: AKIA + 16 characters, the shape the AWS CLI expects.
FAKE_ACCESS_KEY_ID = "AKIAAWSRESPONDDEMO01"
FAKE_SECRET_ACCESS_KEY = "awsrespond/emulator/fake/secret/key/0000"

UNSET_ENV_VARS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)
"""Variables a user must unset when pointing the AWS CLI at the emulator: a profile would replace
the fake credentials, and a leftover session token would be sent along with the fake key."""

# moto reads these from os.environ while it creates a backend (lazily, per region), so they are set
# for the life of the server and the state is reset after setting them. No default AMIs: otherwise
# every region holds ~1,300 snapshots owned by the emulator account (noise for triage) and the first
# EC2 call per region takes seconds.
# moto's own code also builds botocore sessions from the process environment (to list regions, to
# format errors; getmoto/moto#5469): a profile that does not exist or a broken config file makes the
# server answer 500. So while it runs, the process hides profiles and config files from it.
_MOTO_ENV = {
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
# MOTO_ACCOUNT_ID: moto answers every request as that account, which would defeat verify().
# MOTO_IAM_LOAD_MANAGED_POLICIES: moto would load the ~1,600 AWS managed policies into each of six
# partitions, on every reset and again on the first request after it (~4 s each time); the server
# installs them into the aws partition of the emulator account only (_install_aws_managed_policies).
_MOTO_ENV_REMOVED = (
    "MOTO_ACCOUNT_ID",
    "MOTO_IAM_LOAD_MANAGED_POLICIES",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_DATA_PATH",
)

_loader_lock = threading.Lock()


@functools.cache
def _loader() -> Loader:
    """One model loader for every isolated session: parsing the service models is what makes a new
    session slow (a third of a second for EC2), and the loader caches them. It searches botocore's
    own data only, not ``~/.aws/models``."""
    return Loader(extra_search_paths=[Loader.BUILTIN_DATA_PATH], include_default_search_paths=False)


class _Running:
    """The one emulator of this process, if any."""

    lock = threading.Lock()
    server: EmulatorServer | None = None


log = logging.getLogger(__name__)


def isolated_session(
    access_key_id: str,
    secret_access_key: str,
    region: str = DEFAULT_REGION,
) -> boto3.Session:
    """A boto3 session with explicit credentials that reads nothing from the environment.

    Every botocore configuration variable is pinned to its built-in default, so ``AWS_PROFILE``,
    ``AWS_CONFIG_FILE``, ``AWS_ENDPOINT_URL*``, ``AWS_USE_FIPS_ENDPOINT``, ``AWS_CA_BUNDLE`` and the
    like have no effect; the config and credentials files are the null device; proxies from
    ``HTTP(S)_PROXY`` are not used (a proxy would otherwise receive loopback traffic).
    """
    core = botocore.session.Session()
    loader = _loader()
    core.register_component("data_loader", loader)
    store = core.get_component("config_store")
    for name, (_, _, default, convert) in BOTOCORE_DEFAUT_SESSION_VARIABLES.items():
        store.set_config_variable(name, convert(default) if convert and default is not None else default)
    store.set_config_variable("profile", None)
    store.set_config_variable("region", region)
    store.set_config_variable("config_file", os.devnull)
    store.set_config_variable("credentials_file", os.devnull)
    store.set_config_variable("ignore_configured_endpoint_urls", True)
    store.set_config_variable("endpoint_url", None)
    store.set_config_variable("s3", {"addressing_style": "path"})
    store.set_config_variable("proxies_config", {})
    # An empty mapping (not None) tells botocore not to look up proxies in the environment.
    core.set_default_client_config(Config(proxies={}))
    session = boto3.Session(
        botocore_session=core,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        region_name=region,
    )
    # boto3 appends its own data directory to the loader on every session; keep one copy.
    with _loader_lock:
        loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
    return session


def isolated_factory(
    endpoint_url: str,
    region: str = DEFAULT_REGION,
    *,
    access_key_id: str = FAKE_ACCESS_KEY_ID,
    secret_access_key: str = FAKE_SECRET_ACCESS_KEY,
    max_attempts: int = 2,
) -> ClientFactory:
    """A :class:`ClientFactory` on an :func:`isolated_session`, bound to ``endpoint_url``."""
    return ClientFactory(
        session=isolated_session(access_key_id, secret_access_key, region),
        endpoint_url=endpoint_url,
        max_attempts=max_attempts,
    )


def require_loopback(endpoint_url: str) -> None:
    """Refuse an endpoint whose host is not a literal loopback address (names can be re-pointed)."""
    parts = urlsplit(endpoint_url)
    host = parts.hostname or ""
    try:
        loopback = parts.scheme in ("http", "https") and ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SafetyError(
            f"refusing emulator endpoint {endpoint_url!r}: the emulator is only reached on a loopback "
            f"address such as http://{EMULATOR_HOST}:PORT"
        )


def verify_emulator(endpoint_url: str, *, account_id: str = EMULATOR_ACCOUNT_ID) -> ClientFactory:
    """Check ``endpoint_url`` is a loopback emulator for ``account_id``; return a factory for it.

    Raises :class:`SafetyError` when the host is not loopback, STS does not answer, or STS answers
    with another account.
    """
    require_loopback(endpoint_url)
    factory = isolated_factory(endpoint_url)
    try:
        identity = factory.client("sts").get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        raise SafetyError(f"emulator at {endpoint_url} did not answer sts:GetCallerIdentity: {exc}") from exc
    answered = identity.get("Account")
    if answered != account_id:
        raise SafetyError(
            f"emulator at {endpoint_url} answered as account {answered!r}, expected {account_id}; refusing"
        )
    return factory


@functools.cache
def _aws_managed_policy_data() -> dict[str, Any]:
    # Imported when first needed: the module is one 4.7 MB string and takes a second to import.
    from moto.iam.aws_managed_policies import aws_managed_policies_data  # noqa: PLC0415

    data: dict[str, Any] = json.loads(aws_managed_policies_data)
    return data


def _install_aws_managed_policies(account_id: str) -> None:
    """Give the emulator account the AWS managed policies (AdministratorAccess, ...), as real IAM has.

    What ``MOTO_IAM_LOAD_MANAGED_POLICIES`` does, for the one partition the emulator serves; this
    reaches into moto's IAM backend, which is what that switch sets up.
    """
    backend = iam_backends[account_id]["aws"]
    policies: list[ManagedPolicy] = [
        AWSManagedPolicy.from_data(name, account_id, backend.region_name, data)
        for name, data in _aws_managed_policy_data().items()
    ]
    backend.aws_managed_policies = policies
    backend.managed_policies.update({policy.arn: policy for policy in policies})


def _post_json(url: str, body: Any) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        response.read()


def _check_port_free(port: int) -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # The server socket sets SO_REUSEADDR too; probe with the same rules.
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((EMULATOR_HOST, port))
    except OSError as exc:
        reason = "in use" if exc.errno == errno.EADDRINUSE else str(exc)
        raise AwsRespondError(f"cannot listen on {EMULATOR_HOST}:{port}: {reason}") from exc
    finally:
        probe.close()


class EmulatorServer:
    """A moto server on 127.0.0.1; use as a context manager.

    ``port=0`` lets the operating system pick a free port when the socket is bound (no window in
    which another process could take it). ``log_requests`` keeps werkzeug's per-request log lines;
    by default they are silenced, since they would go to stderr for every API call.
    """

    account_id: str = EMULATOR_ACCOUNT_ID

    def __init__(self, port: int = 0, *, log_requests: bool = False) -> None:
        if not 0 <= port <= 65535:
            raise AwsRespondError(f"port must be between 0 and 65535, not {port}")
        self._requested_port = port
        self._log_requests = log_requests
        self._server: Any = None
        self._endpoint_url: str | None = None
        self._saved_env: dict[str, str | None] = {}

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> EmulatorServer:
        with _Running.lock:
            if _Running.server is not None:
                raise AwsRespondError(
                    f"an emulator is already running in this process at {_Running.server.endpoint_url}; "
                    "moto keeps one state per process, so stop it first"
                )
            if self._requested_port:
                _check_port_free(self._requested_port)
            self._apply_env()
            if not self._log_requests:
                werkzeug_log = logging.getLogger("werkzeug")
                if werkzeug_log.level == logging.NOTSET:
                    # moto answers an API it does not implement with HTTP 500 and werkzeug logs the
                    # traceback; the client already gets (and reports) the error.
                    werkzeug_log.setLevel(logging.CRITICAL)
            server = ThreadedMotoServer(ip_address=EMULATOR_HOST, port=self._requested_port, verbose=False)
            server.start()
            host, port = server.get_host_and_port()
            self._server = server
            self._endpoint_url = f"http://{host}:{port}"
            _Running.server = self
        try:
            self.reset()
        except OSError:
            self.stop()
            raise
        log.debug("emulator listening on %s", self._endpoint_url)
        return self

    def stop(self) -> None:
        with _Running.lock:
            if self._server is not None:
                self._server.stop()
                self._server = None
                self._restore_env()
            if _Running.server is self:
                _Running.server = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _apply_env(self) -> None:
        self._saved_env = {name: os.environ.get(name) for name in (*_MOTO_ENV, *_MOTO_ENV_REMOVED)}
        os.environ.update(_MOTO_ENV)
        for name in _MOTO_ENV_REMOVED:
            os.environ.pop(name, None)

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}

    # -- what callers use --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None or self._server is None:
            raise AwsRespondError("the emulator is not running")
        return self._endpoint_url

    @property
    def port(self) -> int:
        port = urlsplit(self.endpoint_url).port
        if port is None:
            raise AwsRespondError(f"no port in {self.endpoint_url}")
        return port

    def reset(self) -> None:
        """Forget every resource (moto's whole in-process state), back to an empty account."""
        _post_json(f"{self.endpoint_url}/moto-api/reset", {})
        _install_aws_managed_policies(self.account_id)

    def post_moto_api(self, path: str, body: Any) -> None:
        """POST to moto's own API (``/moto-api/...``) on this server, e.g. to queue results."""
        if not path.startswith("/moto-api/"):
            raise AwsRespondError(f"not a moto API path: {path}")
        _post_json(f"{self.endpoint_url}{path}", body)

    def env(self, region: str = DEFAULT_REGION) -> dict[str, str]:
        """Variables that point the AWS CLI (or awsrespond) at this emulator.

        Also unset :data:`UNSET_ENV_VARS`; :meth:`shell_exports` writes both for a POSIX shell.
        """
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
        }

    def shell_exports(self, region: str = DEFAULT_REGION) -> str:
        lines = [f"export {name}={shlex.quote(value)}" for name, value in self.env(region).items()]
        lines.append("unset " + " ".join(UNSET_ENV_VARS))
        return "\n".join(lines)

    def factory(self, region: str = DEFAULT_REGION) -> ClientFactory:
        """A client factory with the fixed fake credentials, isolated from the environment."""
        return isolated_factory(self.endpoint_url, region)

    def factory_for_key(self, access_key_id: str, secret_access_key: str, region: str) -> ClientFactory:
        """A client factory signing with another key (scenarios sign as a leaked IAM user key)."""
        return isolated_factory(
            self.endpoint_url, region, access_key_id=access_key_id, secret_access_key=secret_access_key
        )

    def verify(self) -> None:
        """Refuse (SafetyError) unless this endpoint is loopback and STS answers as the emulator."""
        verify_emulator(self.endpoint_url, account_id=self.account_id)
