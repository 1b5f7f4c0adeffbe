"""The customer portal at `/portal` (no account; mobile-first)."""
