"""Churn modelling: XGBoost estimator, exact TreeSHAP, segments, metrics and the model store.

The numerical core (``model``, ``metrics``, ``segments``, ``store``) is plain NumPy/pandas
and is tested on small arrays. ``spark_jobs`` is the edge that runs it inside Spark.
"""
