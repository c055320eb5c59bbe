"""Detection: communities, features, scoring, evidence (pure core)."""
