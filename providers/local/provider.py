"""LocalProvider: the local cloud as a provider. It compiles nothing and deploys nothing through Pulumi;
its engine runs the blueprint on this machine (providers.local.lifecycle.LocalEngine).

Functions run with the interpreter deployer runs on, whatever their `runtime` says (docs/local.md).
`invoke` runs a function once in a fresh worker (no running local cloud needed) and `logs` reads the
function's log file (providers/local/records.py); neither needs stack outputs.
"""

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

    def check(self, bp):
        """The local cloud's rules: an existing store's name must be one it can keep (existing.py)."""
        from providers.local import existing

        return existing.check(bp)

    def engine(self, bp, options: EngineOptions):
        from providers.local.lifecycle import LocalEngine

        return LocalEngine(bp, options)

    def detached_engine(self, file, stage: str, options: EngineOptions):
        """The engine `destroy` uses when the blueprint does not load: found from its state folder."""
        from providers.local.lifecycle import LocalEngine

        return LocalEngine.detached(file, stage, options)

    def invoke(self, bp, function, event, options):
        from providers.local.invoke import invoke

        return invoke(bp, function, event)

    def logs(self, bp, function, since, follow, filter, options):
        from providers.local import records
        from providers.local.functions import state_dir

        state = state_dir(bp)
        path = state / "logs" / f"{function}.log" if function else state / "cloud.log"
        return records.read(path, since, follow, filter, lines=options.lines, poll=min(options.poll, 0.2))
