"""Analyses: each takes models, measurements, chip and profile and returns findings and figures."""
