"""The local cloud: the same blueprint and function code, run on this machine (no account, no network).

Modules: provider (the Provider), lifecycle (the engine: up/down/outputs as a daemon), server (the
process), gateway (HTTP), workers (warm worker pools) + worker (the in-process shim), queues (durable
delivery on SQLite), scheduler (cron/rates), functions (environment, requirements), devmode, invoke.
"""
