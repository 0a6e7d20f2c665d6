"""Foundations every layer may use: the one-line error type and atomic writes."""
