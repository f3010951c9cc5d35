"""The GCP provider: Cloud Functions (2nd gen) with real event triggers, compiled to a Pulumi program.

One module per blueprint kind (functions, http, schedules, queues, topics, buckets, tables), plus
`apis` (the Google APIs a blueprint needs), `iam` (every role binding, on the narrowest resource GCP
allows), `checks` (what GCP does differently for a blueprint) and `mocks` (what GCP would answer under
`deployer plan`). `provider.GcpProvider` only orders the steps; docs/gcp.md maps every kind.
"""
