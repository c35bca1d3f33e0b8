"""Generators and LoRA adapters (see issue: generator adapters). Imports the core only."""
