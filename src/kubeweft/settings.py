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
    workers: int = Field(default=4, ge=1, le=256)
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
    metric_retention_days: float = Field(default=7.0, gt=0)
    metric_sample_interval_seconds: float = Field(default=30.0, gt=0)

    # --- HTTP ----------------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8080, ge=0, le=65535)
    probe_host: str = "127.0.0.1"
    probe_port: int = Field(default=8081, ge=0, le=65535)
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    read_your_writes_timeout_seconds: float = Field(default=2.0, ge=0)

    # --- authentication and authorization -----------------------------------------
    # A fixed identity for local development; refused in production mode.
    dev_user: str | None = None
    dev_groups: list[str] = Field(default_factory=lambda: ["system:masters"])
    jwt_hs256_secret: SecretStr | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    jwt_user_claim: str = "sub"
    jwt_groups_claim: str = "groups"
    kubernetes_token_auth: bool = True
    authz_cache_ttl_seconds: float = Field(default=10.0, ge=0)
    authz_deny_cache_ttl_seconds: float = Field(default=2.0, ge=0)
    impersonate: bool = False

    @model_validator(mode="after")
    def _lease_timings_are_ordered(self) -> Settings:
        if not (
            self.retry_period_seconds < self.renew_deadline_seconds < self.lease_duration_seconds
        ):
            raise ValueError("leader election needs retry_period < renew_deadline < lease_duration")
        return self

    def resolved_database_url(self) -> str:
        """The configured URL, or SQLite under the state directory (the embedded default)."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.state_dir / 'kubeweft.db').resolve()}"
