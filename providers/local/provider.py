"""LocalProvider: the local cloud as a provider. It compiles nothing and deploys nothing through Pulumi;
its engine runs the blueprint on this machine (providers.local.lifecycle.LocalEngine).

Functions run with the interpreter deployer runs on, whatever their `runtime` says (docs/local.md)."""

from __future__ import annotations

from deployer.providers import EngineOptions, Provider
from providers.local.settings import LocalSettings


class LocalProvider(Provider):
    name = "local"
    settings = LocalSettings
    title = "Local cloud (this machine)"
    pulumi = False
    services = {"api": "local HTTP gateway", "schedule": "local scheduler", "function": "local worker process",
                "bucket": "files", "table": "SQLite", "queue": "SQLite queue", "topic": "SQLite topic",
                "dead-letter": "SQLite dead letters"}

    def engine(self, bp, options: EngineOptions):
        from providers.local.lifecycle import LocalEngine

        return LocalEngine(bp, options)

    def detached_engine(self, file, stage: str, options: EngineOptions):
        """The engine `destroy` uses when the blueprint does not load: found from its state folder."""
        from providers.local.lifecycle import LocalEngine

        return LocalEngine.detached(file, stage, options)
