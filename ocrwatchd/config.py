"""Daemon configuration: a TOML file plus OCRWATCHD_… environment overrides (nested with __).

Everything wrong with a config is refused at start with one line naming the key — a silently ignored setting
(a typo, a renamed key) is how watched-folder daemons lose files.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from . import DEFAULT_CONFIG
from .pipeline import EngineSettings

DEFAULT_EXTENSIONS = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".pnm", ".pbm",
                      ".pgm", ".ppm")


class ConfigError(ValueError):
    """The configuration cannot be used; the message is one line naming the key."""


ENV_PREFIX = "OCRWATCHD_"
# The OCRWATCHD_* variables that are not config keys, with who reads them. Every other OCRWATCHD_* variable
# must name a key: pydantic-settings silently drops the rest, so OCRWATCHD_WORKER__COUNT=4 would change nothing.
NOT_CONFIG_ENV = {
    "OCRWATCHD_MODELS_DIR": "modelstore.py: the folder holding the models manifest and ONNX files",
    "OCRWATCHD_SHARED": "tests/conftest.py: the shared test data (real scans, eval kit)",
    "OCRWATCHD_FAULT": "daemon/publish.py: tests only: die right after the named publish step (crash tests)",
    "OCRWATCHD_HOST_NAME": "daemon/claims.py: tests only: the host name in owner names (two 'hosts' on one "
                           "machine); must differ between pid namespaces",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InboxConfig(_Strict):
    path: Path                         # watched folder
    output: Path                       # originals land here with NAME.json beside them
    failed: Path                       # quarantine: original + NAME.error.json
    recursive: bool = True
    poll: bool | None = None           # None: poll only on network/FUSE mounts, where inotify sees nothing
    visualize: bool = False            # also write NAME.boxes.jpg
    pdf_text: Literal["use", "ocr"] | None = None   # PDF pages with a text layer; None: [engine] pdf_text
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    # What is written beside each original (outputs/): json always; pdf = NAME.ocr.pdf (searchable), txt, hocr,
    # alto = NAME.alto.xml.
    formats: tuple[Literal["json", "pdf", "txt", "hocr", "alto"], ...] = ("json",)
    # Set: the searchable PDF takes the original's name (scan.jpg → scan.pdf) and the original is moved here
    # instead (OCRmyPDF's watcher's archive folder). Needs "pdf" in formats.
    archive: Path | None = None

    @field_validator("path", "output", "failed", "archive")
    @classmethod
    def _absolute(cls, v: Path | None) -> Path | None:
        if v is None:
            return v
        if not v.is_absolute():
            raise ValueError(f"must be an absolute path, got {str(v)!r}")
        return Path(os.path.normpath(v))

    @field_validator("formats")
    @classmethod
    def _json_always(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(("json", *v)))     # JSON is always written (the set's commit marker)

    def model_post_init(self, _ctx) -> None:
        if self.archive is not None and "pdf" not in self.formats:
            raise ValueError("archive needs \"pdf\" in formats: the searchable PDF is what takes the original's name")

    @property
    def folders(self) -> tuple[tuple[str, Path], ...]:
        """The folders results go to, by key: output, failed, and archive where set."""
        return tuple((k, getattr(self, k)) for k in ("output", "failed", "archive") if getattr(self, k) is not None)

    @field_validator("extensions")
    @classmethod
    def _dotted_lower(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in v)


class WorkersConfig(_Strict):
    count: int = Field(2, ge=1, le=64)  # fixed pool; on the CPU the workers share one engine, on CUDA each has its own


class QueueConfig(_Strict):
    size: int = Field(32, ge=1)         # bounded: when full, files wait in the inbox


class MetricsConfig(_Strict):
    listen: str = "127.0.0.1:9464"


class JanitorConfig(_Strict):
    interval_seconds: float = Field(600, gt=0)
    temp_max_age_hours: float = Field(24, gt=0)       # our own stale temp files
    outputs_max_age_days: float | None = Field(None, gt=0)   # None: results are kept forever
    failed_max_age_days: float | None = Field(None, gt=0)


class Config(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OCRWATCHD_", env_nested_delimiter="__", extra="forbid")

    inboxes: list[InboxConfig] = Field(min_length=1)
    workers: WorkersConfig = WorkersConfig()
    queue: QueueConfig = QueueConfig()
    metrics: MetricsConfig = MetricsConfig()
    janitor: JanitorConfig = JanitorConfig()
    engine: EngineSettings = EngineSettings()
    settle_seconds: float = Field(2.0, ge=0)      # size and mtime stable this long before a file is taken
    rescan_seconds: float = Field(60.0, gt=0)     # full rescan of every inbox: the safety net under inotify
    memory_budget_mb: int = Field(4096, ge=64)    # decoded pixels + tile working sets of jobs in flight
    shutdown_timeout_seconds: float = Field(60.0, gt=0)
    # A file that still decodes as truncated (or is empty) after settling may still be arriving (a stalled
    # copy): it is looked at again with growing pauses for this long, then quarantined with the reason.
    truncated_retry_seconds: float = Field(120.0, ge=0)
    # A job running longer than this counts as a hung worker: systemd watchdog pings stop, so the service is
    # restarted (the claim is recovered and retried). Big drawings take about a minute on 2 CPU cores.
    job_timeout_seconds: float = Field(900.0, gt=0)
    # Daemons sharing an inbox (several hosts on one NFS export): each refreshes a lease file in the inbox's
    # state folder every lease_refresh_seconds (default: a third of lease_seconds); one whose lease is older than
    # lease_seconds by the file server's clock is dead, and the others take over its claims and unfinished sets.
    lease_seconds: float = Field(120.0, ge=2)
    lease_refresh_seconds: float | None = Field(None, gt=0)
    log_level: str = "INFO"

    def model_post_init(self, _ctx) -> None:
        if self.lease_refresh_seconds is None:
            self.lease_refresh_seconds = self.lease_seconds / 3
        elif self.lease_refresh_seconds > self.lease_seconds / 2:
            # one late or failed refresh (a slow NFS server, a busy loop) must not make us look dead
            raise ValueError(f"lease_refresh_seconds ({self.lease_refresh_seconds:g}) must be at most half of "
                             f"lease_seconds ({self.lease_seconds:g})")

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        if v.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"unknown log level {v!r}")
        return v.upper()

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's contents arrive as init arguments; the environment overrides them, key by key.
        return env_settings, init_settings


def load_config(path: Path = DEFAULT_CONFIG) -> Config:
    """Read and validate the config file (plus environment); ConfigError names the offending key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found (see etc/ocrwatchd.toml for an annotated example)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    check_environment()
    try:
        config = Config(**data)
    except ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ConfigError(f"{path}: {key}: {err['msg']}") from None
    check_layout(config)
    return config


def check_environment(environ=os.environ) -> None:
    """Refuse OCRWATCHD_* variables that name no config key, with the same message as an unknown TOML key."""
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX) or name.upper() in NOT_CONFIG_ENV:
            continue
        key = _unknown_key(name[len(ENV_PREFIX):].lower().split("__"))   # matched case-insensitively, as read
        if key is not None:
            raise ConfigError(f"environment variable {name}: {key}: Extra inputs are not permitted")


def _unknown_key(parts: list[str]) -> str | None:
    """The dotted key up to the first part that is not a field (None when every part is one)."""
    model: type[BaseModel] | None = Config
    for depth, part in enumerate(parts):
        fields = model.model_fields if model is not None else {}
        if part not in fields:
            return ".".join(parts[:depth + 1])
        kind = fields[part].annotation
        model = kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None   # a table, or a value
    return None


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_layout(config: Config) -> None:
    """Folder relations that would loop or mix inboxes: outputs inside inboxes, inboxes inside each other."""
    for i, inbox in enumerate(config.inboxes):
        for j, other in enumerate(config.inboxes):
            for key, target in inbox.folders:
                if _inside(target, other.path):
                    raise ConfigError(f"inboxes.{i}.{key}: {target} is inside inboxes.{j}.path {other.path}: "
                                      "results would be picked up again (a processing loop)")
            if i != j and _inside(inbox.path, other.path):
                raise ConfigError(f"inboxes.{i}.path: {inbox.path} is inside inboxes.{j}.path {other.path}")


def check_folders(config: Config, create: bool = True) -> None:
    """At start: inboxes must exist; output and failed folders are created; all must be writable."""
    for i, inbox in enumerate(config.inboxes):
        if not inbox.path.is_dir():
            raise ConfigError(f"inboxes.{i}.path: {inbox.path} is not an existing folder")
        for key, folder in inbox.folders:
            if create:
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as e:
                    raise ConfigError(f"inboxes.{i}.{key}: cannot create {folder}: {e.strerror}") from None
            if not folder.is_dir():
                raise ConfigError(f"inboxes.{i}.{key}: {folder} is not a folder")
        for key, folder in (("path", inbox.path), *inbox.folders):
            if not os.access(folder, os.W_OK | os.X_OK):
                raise ConfigError(f"inboxes.{i}.{key}: {folder} is not writable by this user")
