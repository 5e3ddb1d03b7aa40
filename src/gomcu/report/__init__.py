"""Reporters: turn analysis results into text, JSON, HTML or SARIF. They never compute."""
