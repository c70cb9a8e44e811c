"""The seed feature_dictionary is the one feature registry: the feature tables' column docs
must say what it says (the model's inputs are read from it at training time, and a dbt test
checks it against the feature table's columns)."""

from __future__ import annotations

import csv

import yaml

from pipeline.config import PROJECT_DIR

FEATURE_TABLES = ("customer_features_monthly", "churn_training_set")


def test_feature_column_docs_are_the_registry_descriptions():
    with open(PROJECT_DIR / "seeds" / "feature_dictionary.csv", newline="") as f:
        registry = {r["feature_name"]: r for r in csv.DictReader(f)}
    models = yaml.safe_load((PROJECT_DIR / "models/marts/churn/_churn__models.yml").read_text())
    for model in models["models"]:
        if model["name"] not in FEATURE_TABLES:
            continue
        docs = {c["name"]: c.get("description", "") for c in model["columns"]}
        assert sorted(set(registry) - set(docs)) == [], f"{model['name']}: undocumented features"
        differ = [
            name
            for name, row in registry.items()
            if docs[name].strip().rstrip(".") != row["feature_description"].strip().rstrip(".")
        ]
        assert differ == [], (
            f"{model['name']}: column docs differ from seeds/feature_dictionary.csv for "
            f"{differ}; the seed is the registry, copy its description"
        )


def test_every_registered_feature_says_whether_the_model_uses_it():
    with open(PROJECT_DIR / "seeds" / "feature_dictionary.csv", newline="") as f:
        values = {r["is_model_input"] for r in csv.DictReader(f)}
    assert values <= {"true", "false"}
