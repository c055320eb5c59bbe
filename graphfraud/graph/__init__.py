"""Graph projections: account-account layers built from shared contexts (pure core)."""
