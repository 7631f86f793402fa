"""Log in to Salesforce in the configured mode and hand out simple-salesforce clients.

Modes: ``password`` (username + password + security token, SOAP login at ``domain``),
``jwt`` (username + consumer key + private key file), ``client_credentials`` (consumer key
+ secret against ``instance_url`` or the My Domain), ``session`` (session id + instance
URL, cannot be renewed). Each thread gets its own client and ``requests`` session; after a
401 ``INVALID_SESSION_ID`` one thread logs in again and the others pick up the new token.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

from icpsync.connectors.salesforce.settings import SalesforceSettings
from icpsync.core.errors import AuthError, ConfigError

_REQUIRED = {
    "password": ("username", "password", "security_token"),
    "jwt": ("username", "consumer_key", "privatekey_file"),
    "client_credentials": ("consumer_key", "consumer_secret"),
    "session": ("session_id", "instance_url"),
}


class _TimeoutSession(requests.Session):
    """A requests session with a default timeout (simple-salesforce sets none) and CA.

    The CA is passed on every request: ``REQUESTS_CA_BUNDLE`` in the environment would
    otherwise win over ``Session.verify``.
    """

    def __init__(self, timeout: float, verify: str | bool):
        super().__init__()
        self.default_timeout = timeout
        self.verify = verify

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.default_timeout)
        if isinstance(self.verify, str):
            kwargs.setdefault("verify", self.verify)
        return super().request(method, url, *args, **kwargs)


def ca_in_use(conf: SalesforceSettings) -> str:
    """The CA file that verifies the org's certificate, in words."""
    if conf.ca_bundle:
        return f"ca_bundle {conf.ca_bundle}"
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if os.environ.get(name):
            return f"{name} {os.environ[name]}"
    import certifi

    return f"the default CA list {certifi.where()}"


def connection_problem(exc: requests.RequestException, conf: SalesforceSettings) -> str:
    """What went wrong reaching the org and what to check: the host, and for TLS the CA."""
    url = getattr(getattr(exc, "request", None), "url", None) or conf.instance_url or ""
    host = urlsplit(url).netloc or "the org"
    if isinstance(exc, requests.exceptions.SSLError):
        return (
            f"the TLS certificate of {host} is not trusted by {ca_in_use(conf)}; "
            "set [salesforce] ca_bundle to the CA file that signed it "
            "(a company proxy's CA, for instance)"
        )
    return (
        f"cannot reach {host} ({type(exc).__name__}); check the network and "
        "[salesforce] domain/instance_url"
    )


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


def token_url(conf: SalesforceSettings) -> str:
    """Where the client-credentials token is fetched: the instance or the My Domain."""
    if conf.instance_url:
        return conf.instance_url.rstrip("/") + "/services/oauth2/token"
    domain = conf.domain if conf.domain.endswith(".my") else f"{conf.domain}.my"
    return f"https://{domain}.salesforce.com/services/oauth2/token"


class Session:
    """An authenticated org connection; ``client()`` is the calling thread's client."""

    def __init__(self, conf: SalesforceSettings):
        missing = [k for k in _REQUIRED[conf.auth] if getattr(conf, k) in (None, "")]
        if missing:
            raise ConfigError(
                f"auth = {conf.auth!r} needs {', '.join(missing)}", key=f"salesforce.{missing[0]}"
            )
        self.conf = conf
        self.mode = conf.auth
        self.verify: str | bool = str(conf.ca_bundle) if conf.ca_bundle else True
        self.token = ""
        self.instance_url = ""
        self.user_id: str | None = None
        #: the organization id, when the login said it (the identity URL); else see userinfo.
        self.org_id: str | None = None
        self.generation = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []

    @classmethod
    def open(cls, conf: SalesforceSettings) -> Session:
        """A logged-in session.

        Raises:
            ConfigError: a setting the mode needs is missing.
            AuthError: the login was refused or the org could not be reached.
        """
        session = cls(conf)
        session.login()
        return session

    def http(self) -> requests.Session:
        """A new requests session with the timeout and CA of the settings."""
        http = _TimeoutSession(self.conf.timeout_s, self.verify)
        with self._lock:
            self._sessions.append(http)
        return http

    def login(self) -> None:
        """Log in (again); one-line ``AuthError`` naming the mode when it fails."""
        http = self.http()
        try:
            token, instance = self._login(http)
        except SalesforceAuthenticationFailed as exc:
            reason = getattr(exc, "auth_message", "") or str(exc)
            raise AuthError(f"salesforce ({self.mode}): login refused: {reason}") from exc
        except requests.exceptions.SSLError as exc:
            raise AuthError(
                f"salesforce ({self.mode}): {connection_problem(exc, self.conf)}"
            ) from exc
        except requests.RequestException as exc:
            url = getattr(getattr(exc, "request", None), "url", None) or ""
            where = f" {urlsplit(url).netloc}" if url else ""
            raise AuthError(
                f"salesforce ({self.mode}): cannot reach the login server{where}: "
                f"{type(exc).__name__}; check the network and [salesforce] domain/instance_url"
            ) from exc
        except SalesforceError as exc:
            raise AuthError(f"salesforce ({self.mode}): login refused ({exc.status})") from exc
        with self._lock:
            self.token, self.instance_url = token, instance.rstrip("/")
            self.generation += 1

    def _login(self, http: requests.Session) -> tuple[str, str]:
        conf, version = self.conf, self.conf.api_version
        if conf.auth == "session":
            return _secret(conf.session_id), str(conf.instance_url)
        if conf.auth == "client_credentials":
            return self._client_credentials(http)
        if conf.auth == "password":
            token, host = SalesforceLogin(
                username=conf.username,
                password=_secret(conf.password),
                security_token=_secret(conf.security_token),
                domain=conf.domain,
                sf_version=version,
                session=http,
            )
        else:
            token, host = SalesforceLogin(
                username=conf.username,
                consumer_key=conf.consumer_key,
                privatekey_file=str(conf.privatekey_file),
                domain=conf.domain,
                sf_version=version,
                session=http,
            )
        return token, conf.instance_url or f"https://{host}"

    def _client_credentials(self, http: requests.Session) -> tuple[str, str]:
        conf = self.conf
        response = http.post(
            token_url(conf),
            data={"grant_type": "client_credentials"},
            auth=(str(conf.consumer_key), _secret(conf.consumer_secret)),
        )
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or "access_token" not in body:
            reason = body.get("error_description") or body.get("error") or response.reason
            raise SalesforceAuthenticationFailed(response.status_code, str(reason))
        identity = str(body.get("id") or "")
        if "/id/" in identity:
            # https://login.salesforce.com/id/<organization id>/<user id>
            parts = identity.rstrip("/").rsplit("/", 2)
            self.org_id, self.user_id = parts[-2], parts[-1]
        return str(body["access_token"]), str(body.get("instance_url") or conf.instance_url)

    def refresh(self, stale_generation: int) -> None:
        """Log in again unless another thread already did since ``stale_generation``.

        Raises:
            AuthError: the mode cannot renew a session, or the login failed.
        """
        if self.mode == "session":
            raise AuthError(
                "salesforce (session): the session expired and a session id cannot be renewed; "
                "use another auth mode or a fresh session_id"
            )
        with self._lock:
            if self.generation != stale_generation:
                return
        self.login()

    def client(self) -> Salesforce:
        """This thread's simple-salesforce client on the current token."""
        if not self.token:
            self.login()
        local = self._local
        if getattr(local, "generation", None) != self.generation:
            if getattr(local, "http", None) is None:
                local.http = self.http()
            local.client = Salesforce(
                session_id=self.token,
                instance_url=self.instance_url,
                version=self.conf.api_version,
                session=local.http,
                object_pairs_hook=None,  # plain dicts, as json decodes them (not OrderedDict)
            )
            local.generation = self.generation
        client: Salesforce = local.client
        return client

    def current_generation(self) -> int:
        return int(getattr(self._local, "generation", self.generation))

    def close(self) -> None:
        """Close every requests session handed out."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for http in sessions:
            http.close()
