"""FastAPI service over the published churn marts."""
