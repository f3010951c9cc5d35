"""Blueprint loading, the typed model, reference resolution and validation (see docs/contracts.md)."""
