"""Streamlit dashboard over the published churn marts."""
