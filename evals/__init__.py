"""Evaluation: retrieval metrics (one per module), imported by benchmarks and the CLI.

The core never imports this package."""
