"""Monitoring: API request statistics and host resource samples, stored in the metadata DB."""
