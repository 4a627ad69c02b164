"""Structured logs: one JSON object per line (or readable console lines in development).

Both the stdlib ``logging`` records of libraries (uvicorn, SQLAlchemy, httpx) and
kubeweft's own ``structlog`` loggers go through one renderer, so a log pipeline sees a
single format. Configured once, first thing at start-up (the seed's step 1).

structlog imports rich, and pygments with it (≈ 3 MiB resident), whenever rich is
installed — typer depends on it — only to pretty-print tracebacks on a console. The JSON
renderer never uses it and the console renderer falls back to plain tracebacks, so
structlog is imported here with rich hidden. The package imports this module first
(``kubeweft/__init__.py``), before any other module imports structlog.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

_HIDE_RICH = "rich" not in sys.modules
if _HIDE_RICH:
    sys.modules["rich"] = None  # type: ignore[assignment]  # `import rich` fails
try:
    import structlog
finally:
    if _HIDE_RICH:
        del sys.modules["rich"]

__all__ = ["configure_logging", "get_logger"]

_SHARED_PROCESSORS: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def configure_logging(level: str = "INFO", fmt: Literal["json", "console"] = "json") -> None:
    renderer: structlog.types.Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        # Locals stay out of logs: they may hold tokens or database passwords.
        exc: list[structlog.types.Processor] = [
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            )
        ]
    else:
        renderer = structlog.dev.ConsoleRenderer()
        exc = []
    structlog.configure(
        processors=[*_SHARED_PROCESSORS, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED_PROCESSORS,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *exc, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own access log is replaced by kubeweft's access-log middleware.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request at INFO: two lines per Lease renewal, every 2 s.
    for name in ("httpx", "httpx2", "httpcore"):
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
