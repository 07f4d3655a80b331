"""Policies staff read and attest to: versions HR publishes, readings and attestations."""
