"""The GCP provider: Cloud Functions (2nd gen) with real event triggers, compiled to a resource graph.

One module per blueprint kind (functions, http, schedules, queues, topics, buckets, tables), plus
`apis` (the Google APIs a blueprint needs), `iam` (every role binding, on the narrowest resource GCP
allows), `secrets` (Secret Manager), `checks` (what GCP does differently for a blueprint) and `shim`
(what runs inside each function). No module imports Pulumi: they add plain data to the graph
(deployer/resources), which `plan` renders and `up` executes. `provider.GcpProvider` implements the
shared driver's hooks; docs/gcp.md maps every kind.
"""
