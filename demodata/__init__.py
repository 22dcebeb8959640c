"""Synthetic demo data: a realistic, deterministic history of a Chinese member club."""
