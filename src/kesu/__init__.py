"""Kesu (客诉): a policy-driven customer complaint management system."""

__version__ = "0.1.0"
