"""Response models."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, BaseModel, Field


class Driver(BaseModel):
    """A feature that pushes the customer's churn score up."""

    feature: str = Field(examples=["transaction_count_trend_12m"])
    description: str = Field(examples=["Trend of monthly transactions over the last 12 months"])
    feature_value: float | None = Field(
        default=None, description="The customer's value of the feature at as_of_month"
    )
    shap_value: float = Field(description="Contribution to the churn log-odds (exact TreeSHAP)")


class Segment(BaseModel):
    """The customer's segment in SHAP space."""

    segment_id: int
    name: str | None = None


class CustomerScore(BaseModel):
    """A customer's churn score with its explanation."""

    customer_id: str = Field(examples=["C0000042"])
    churn_probability: float = Field(ge=0, le=1)
    score_percentile: int = Field(ge=1, le=100, description="100 = riskiest")
    risk_band: str = Field(examples=["high"])
    top_drivers: list[Driver]
    segment: Segment | None
    model_version: str
    as_of_month: date = Field(description="The score describes the customer at this month's end")
    scored_at: AwareDatetime | None = Field(default=None, description="When it was scored (UTC)")


class Health(BaseModel):
    """Service status and the published version it serves."""

    status: str = Field(
        examples=["ok"],
        description="ok; degraded: serving the last good version, `detail` says why; "
        "unavailable: nothing complete is published",
    )
    published_version: str | None = None
    published_at: AwareDatetime | None = None
    model_version: str | None = None
    model_roc_auc: float | None = None
    as_of_month: str | None = None
    customers_scored: int | None = None
    detail: str | None = None


class ErrorMessage(BaseModel):
    """Error body, as FastAPI returns it."""

    detail: str


class NotScored(BaseModel):
    """404 body: why there is no score for this id."""

    detail: str
    reason: str = Field(
        description="unknown_customer, or why a known customer has no score: contract_ended, "
        "no_account, no_open_account, no_transaction_yet or customer_record_quarantined",
        examples=["no_transaction_yet"],
    )
