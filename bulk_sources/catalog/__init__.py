"""Catalogs: reading (CSV, Parquet) -> column mapping -> cell decoding -> validation."""
