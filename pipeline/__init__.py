"""Pipeline orchestration: sample data, PySpark ingestion, dbt, publishing for serving."""
