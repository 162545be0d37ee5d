"""Catalog against server: what each row needs (plan, compare, settle, the retry subset)."""
