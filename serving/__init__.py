"""Serving: publish scored marts for readers outside Spark; the API and the dashboard."""
