"""Package data: the default conformance rules (default_rules.yaml)."""
