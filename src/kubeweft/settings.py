"""Process configuration: one pydantic-settings class, read from flags and the environment.

Every field can be set as ``KUBEWEFT_<FIELD>`` (12-factor). ``DATABASE_URL`` and
``KUBECONFIG`` are also honoured under their conventional names. Settings are
created once by the CLI and passed down; nothing reads them at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_STATE_DIR = Path(".kubeweft")
DEFAULT_LIST_LIMIT = 500
MAX_LIST_LIMIT = 1000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KUBEWEFT_", extra="ignore")

    # --- process ---------------------------------------------------------------
    mode: Literal["development", "production"] = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    state_dir: Path = DEFAULT_STATE_DIR
    enable_controller: bool = True
    enable_api: bool = True
    drain_timeout_seconds: float = Field(default=30.0, gt=0)

    # --- Kubernetes --------------------------------------------------------------
    kubeconfig: Path | None = Field(
        default=None, validation_alias=AliasChoices("KUBEWEFT_KUBECONFIG", "KUBECONFIG")
    )
    kube_context: str | None = None
    # Where a pod finds its service-account token, CA and namespace.
    service_account_dir: Path = Path("/var/run/secrets/kubernetes.io/serviceaccount")
    # Start the local control plane when no kubeconfig and no in-cluster config exist.
    local_cluster: bool = True
    install_crds: bool = True
    field_manager: str = "kubeweft"

    # --- controller runtime ------------------------------------------------------
    # Reconciles wait on the API server far more than they compute; 16 overlap those
    # waits (4 made N new objects queue behind each other: bench/converge.py).
    workers: int = Field(default=16, ge=1, le=256)
    reconcile_timeout_seconds: float | None = Field(default=60.0, gt=0)
    resync_period_seconds: float = Field(default=36000.0, gt=0)
    leader_election: bool = False
    leader_election_namespace: str | None = None
    leader_election_id: str = "kubeweft-leader"
    # controller-runtime's defaults; failover takes at most lease + retry period.
    lease_duration_seconds: float = Field(default=15.0, gt=0)
    renew_deadline_seconds: float = Field(default=10.0, gt=0)
    retry_period_seconds: float = Field(default=2.0, gt=0)
    watch_namespace: str | None = None

    # --- database ------------------------------------------------------------------
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("KUBEWEFT_DATABASE_URL", "DATABASE_URL")
    )
    migrate_on_start: bool = True
    record_buffer_size: int = Field(default=10_000, ge=1)
    # Bounds every statement, lock wait and connection wait; past it a request gets 503.
    database_statement_timeout_seconds: float = Field(default=5.0, gt=0)
    # PostgreSQL: connections per pool (the engine's, and the read model's own), kept open.
    database_pool_size: int = Field(default=20, ge=1)
    # Retention per table (docs/design/database.md): by age; annotations from their last
    # edit; API keys from their revocation or expiry (a key in force is kept).
    metric_retention_days: float = Field(default=7.0, gt=0)
    reconcile_log_retention_days: float = Field(default=7.0, gt=0)
    audit_retention_days: float = Field(default=90.0, gt=0)
    history_retention_days: float = Field(default=365.0, gt=0)
    annotation_retention_days: float = Field(default=365.0, gt=0)
    api_key_retention_days: float = Field(default=30.0, gt=0)
    retention_interval_seconds: float = Field(default=3600.0, gt=0)
    retention_batch_size: int = Field(default=1000, ge=1, le=10_000)
    # Metric samples record changes; an unchanged value is written again this often (the
    # heartbeat), which must stay below the detail view's five-minute metrics window.
    metric_sample_interval_seconds: float = Field(default=240.0, gt=0)

    # --- HTTP ----------------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8080, ge=0, le=65535)
    probe_host: str = "127.0.0.1"
    probe_port: int = Field(default=8081, ge=0, le=65535)
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Both servers: a request head must be complete this long after the connection
    # opens or the last response ends; a body this long after its head; an idle
    # keep-alive connection is closed after keep_alive. Past max_connections: 503.
    http_header_timeout_seconds: float = Field(default=10.0, gt=0)
    http_body_timeout_seconds: float = Field(default=30.0, gt=0)
    http_keep_alive_timeout_seconds: int = Field(default=5, ge=1)
    http_max_connections: int = Field(default=1000, ge=1)
    http_max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    # HTTPS on the API port (PEM files, reloaded when they change; both or neither).
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # /metrics on the probe port answers only callers that TokenReview authenticates
    # and SubjectAccessReview allows `get` on the non-resource URL /metrics.
    metrics_auth: bool = False
    read_your_writes_timeout_seconds: float = Field(default=2.0, ge=0)
    # List pages, as Kubernetes' `limit`: the size when a caller asks for none, and the
    # most a caller may ask for (more is a 422 naming query.limit).
    list_default_limit: int = Field(default=DEFAULT_LIST_LIMIT, ge=1)
    list_max_limit: int = Field(default=MAX_LIST_LIMIT, ge=1)
    # Live updates (/api/watch/...; docs/guide/live-updates.md): changes kept per model
    # for resuming with Last-Event-ID, changes kept per stream for a slow reader (past
    # it the stream is cut off with a resync event), open streams per user (past it:
    # 429), and seconds between heartbeats of an idle stream.
    stream_replay_buffer: int = Field(default=4096, ge=1)
    stream_client_buffer: int = Field(default=256, ge=1)
    stream_max_per_user: int = Field(default=10, ge=1)
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0)

    # --- admission webhooks (docs/guide/webhooks.md) -------------------------------------
    # Where the webhook server's certificate comes from. local: a CA and certificate in
    # the state directory, and webhook configurations pointing at this process's loopback
    # URL (the local control plane); files: webhook_cert_dir as mounted (cert-manager);
    # secret: the leader keeps a CA and certificate in the Secret webhook_secret_name
    # and the configurations' caBundle current; off: no webhook server. Unset: files in
    # a pod, local on the local control plane this process started or reuses, else off
    # (a remote API server cannot reach a loopback URL).
    webhook_certificates: Literal["local", "files", "secret", "off"] | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=9443, ge=0, le=65535)
    webhook_cert_dir: Path = Path("/tmp/k8s-webhook-server/serving-certs")
    # Names in a cluster; unset: "<app name>-webhook-service", "<app name>-webhook-server-
    # cert", configurations "<app name>-{mutating,validating}-webhook-configuration", and
    # the namespace the pod runs in. The namespace is left out of the webhooks' reach.
    webhook_service_name: str | None = None
    webhook_secret_name: str | None = None
    webhook_configuration_prefix: str | None = None
    webhook_namespace: str | None = None
    # The serving certificate made by kubeweft (local and secret): its lifetime, how
    # long before expiry it is replaced, and how often that is checked.
    webhook_certificate_validity_seconds: float = Field(default=90 * 86400.0, gt=0)
    webhook_certificate_rotate_before_seconds: float = Field(default=30 * 86400.0, gt=0)
    webhook_certificate_check_seconds: float = Field(default=300.0, gt=0)
    # Names the serving certificate is also valid for, besides the Service's (secret).
    webhook_certificate_hosts: list[str] = Field(default_factory=list)

    # --- authentication and authorization -----------------------------------------
    # A fixed identity for local development; refused in production mode.
    dev_user: str | None = None
    dev_groups: list[str] = Field(default_factory=lambda: ["system:masters"])
    jwt_hs256_secret: SecretStr | None = None
    # The dashboard's session cookies (docs/guide/dashboard.md): sealed with this key, or
    # with one made at start-up (sessions then end with the process; set it for replicas).
    ui_session_key: SecretStr | None = None
    ui_session_max_age_seconds: int = Field(default=8 * 3600, ge=60, le=30 * 86400)
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    jwt_user_claim: str = "sub"
    jwt_groups_claim: str = "groups"
    # As kube-apiserver's --oidc-username-prefix: unset, names that are not an email
    # get "<jwt_issuer>#"; "-" means no prefix. Groups are prefixed only when set.
    jwt_username_prefix: str | None = None
    jwt_groups_prefix: str = ""
    # OpenID Connect (docs/guide/dashboard.md): with an issuer, the dashboard offers
    # "Sign in with <issuer>" and the API accepts the issuer's ID tokens. Names and
    # meanings as kube-apiserver's --oidc-* flags; the client id is the audience; the
    # secret (none: a public client, PKCE only) inline or in a file read at each use.
    oidc_issuer_url: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_client_secret_file: Path | None = None
    oidc_scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"])
    oidc_username_claim: str = "sub"
    oidc_username_prefix: str | None = None
    oidc_groups_claim: str | None = None
    oidc_groups_prefix: str = ""
    oidc_required_claims: dict[str, str] = Field(default_factory=dict)
    oidc_signing_algs: list[str] = Field(default_factory=lambda: ["RS256"])
    oidc_ca_file: Path | None = None
    # The callback registered at the issuer; unset: the origin + /ui/sign-in/oidc/callback.
    oidc_redirect_url: str | None = None
    kubernetes_token_auth: bool = True
    # TokenReview audiences (JSON list): only tokens minted for one of them are accepted
    # (`kubectl create token SA --audience kubeweft`); empty: the API server's own.
    token_audiences: list[str] = Field(default_factory=list)
    # The budget for TokenReviews of tokens not in the cache; past it: 503 + Retry-After.
    token_review_concurrency: int = Field(default=8, ge=1, le=256)
    token_review_rate_per_second: float = Field(default=20.0, gt=0)
    token_review_burst: int = Field(default=40, ge=1)
    authz_cache_ttl_seconds: float = Field(default=10.0, ge=0)
    authz_deny_cache_ttl_seconds: float = Field(default=2.0, ge=0)

    @model_validator(mode="after")
    def _lease_timings_are_ordered(self) -> Settings:
        if not (
            self.retry_period_seconds < self.renew_deadline_seconds < self.lease_duration_seconds
        ):
            raise ValueError("leader election needs retry_period < renew_deadline < lease_duration")
        return self

    @model_validator(mode="after")
    def _list_default_within_max(self) -> Settings:
        if self.list_default_limit > self.list_max_limit:
            raise ValueError("list_default_limit cannot exceed list_max_limit")
        return self

    @model_validator(mode="after")
    def _webhook_certificate_outlives_its_rotation(self) -> Settings:
        if (
            self.webhook_certificate_rotate_before_seconds
            >= self.webhook_certificate_validity_seconds
        ):
            raise ValueError(
                "webhook_certificate_rotate_before_seconds must be shorter than "
                "webhook_certificate_validity_seconds"
            )
        return self

    @model_validator(mode="after")
    def _tls_files_come_in_pairs(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file are set together or not at all")
        return self

    def resolved_database_url(self) -> str:
        """The configured URL, or SQLite under the state directory (the embedded default)."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.state_dir / 'kubeweft.db').resolve()}"
