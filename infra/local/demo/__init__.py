"""Demo data for the local stack: one module per feature with `load() -> int` (idempotent),
called by `make run` in the order of infra.local.stack.DEMO_ORDER."""
