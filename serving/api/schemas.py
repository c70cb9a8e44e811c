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


class CustomerListItem(BaseModel):
    """One customer of a campaign list."""

    customer_id: str
    churn_probability: float = Field(ge=0, le=1)
    risk_band: str
    segment_id: int | None = None
    segment_name: str | None = None
    top_driver: str | None = Field(default=None, description="The strongest driver, in words")
    score_percentile: int | None = Field(default=None, ge=1, le=100)


class CustomerList(BaseModel):
    """A page of customers, riskiest first; follow ``next_cursor`` for the next page."""

    items: list[CustomerListItem]
    total: int = Field(description="Customers matching the filters, on all pages")
    limit: int
    next_cursor: str | None = Field(default=None, description="None on the last page")
    published_version: str
    as_of_month: date | None = None


class SegmentProfile(BaseModel):
    """A segment: customers whose churn has the same reasons (similar SHAP values)."""

    segment_id: int
    name: str
    customer_count: int
    customer_share: float = Field(description="Share of scored customers in this segment")
    expected_churn_rate: float = Field(description="Mean churn probability of its customers")
    observed_churn_rate: float | None = Field(
        default=None,
        description="Churn observed over the validation window's months (backtest); null "
        "when it would rest on too few churners",
    )
    observed_churn_basis: str | None = Field(
        default=None, description="What the observed rate rests on, or why it is empty"
    )
    high_risk_share: float | None = None
    top_drivers: list[str] = Field(description="What drives churn in this segment, in words")
    rule: str | None = Field(default=None, description="A readable rule describing membership")
    rule_precision: float | None = Field(
        default=None, description="Share of the customers the rule selects that are in it"
    )
    rule_coverage: float | None = Field(
        default=None, description="Share of the segment's customers the rule selects"
    )
    is_new_segment: bool | None = None
    held_customer_count: int | None = Field(
        default=None,
        description="Customers kept in this segment until the next review, which may move them",
    )
    next_review_month: date | None = Field(
        default=None, description="The scored month when customers may next change segment"
    )
    as_of_month: date | None = None


class MonthlyMetrics(BaseModel):
    """Out-of-time validation of one month: the model next to both baselines, same rows."""

    as_of_month: date
    validation_rows: int
    churners: int
    model_roc_auc: float | None = None
    rfm_roc_auc: float | None = None
    recency_roc_auc: float | None = None
    model_pr_auc: float | None = None
    model_log_loss: float | None = None
    is_flagged_one_class_only: bool = False


class FeatureDescription(BaseModel):
    """One model input, as the feature dictionary describes it."""

    name: str
    label: str | None = None
    description: str | None = None
    group: str | None = None


class ModelCard(BaseModel):
    """The model that produced the published scores, and the evidence for it."""

    model_version: str
    algorithm: str | None = None
    churn_definition: str | None = None
    horizon_months: int | None = None
    promotion_decision: str | None = None
    train_start_month: date | None = None
    train_end_month: date | None = None
    validation_start_month: date | None = None
    validation_end_month: date | None = None
    training_rows: int | None = None
    validation_rows: int | None = None
    metrics: dict[str, float | None] = Field(
        description="Pooled out-of-time metrics: roc_auc, pr_auc, log_loss, top_decile_lift"
    )
    baselines: dict[str, float | None] = Field(
        description="ROC AUC of the recency rule and the RFM logistic regression, same rows"
    )
    calibration: dict[str, float | None] = Field(
        description="expected_calibration_error of the calibrated probabilities"
    )
    validation_by_month: list[MonthlyMetrics]
    features: list[FeatureDescription]
    trained_at: AwareDatetime | None = None


MAX_SCORE_BATCH = 500


class ScoreInput(BaseModel):
    """One customer's features, as an application holds them at the end of a month."""

    reference: str | None = Field(
        default=None,
        max_length=200,
        description="Your id for this customer, repeated in the result",
        examples=["C0000042"],
    )
    features: dict[str, float | None] = Field(
        max_length=1000,
        description="Every model feature by name (GET /model lists them), null where "
        "unknown; the live schema (/openapi.json) lists each with its accepted range",
    )


class ScoreRequest(BaseModel):
    """One customer, or a batch: send a list of one for a single customer."""

    customers: list[ScoreInput] = Field(min_length=1, max_length=MAX_SCORE_BATCH)


class ScoredDriver(BaseModel):
    """A feature's exact contribution to this customer's score, and which way it pushes."""

    feature: str
    description: str
    feature_value: float | None = None
    shap_value: float = Field(description="Contribution to the churn log-odds (exact TreeSHAP)")
    direction: str = Field(examples=["raises churn risk"])


class ScoreResult(BaseModel):
    """The score of one customer of the request, in request order."""

    reference: str | None = None
    churn_probability: float = Field(ge=0, le=1, description="Calibrated P(churn)")
    churn_score_margin: float = Field(description="Log-odds the SHAP values add up to")
    risk_band: str = Field(
        examples=["high"], description="By the published scores' cut points: high, medium, low"
    )
    top_drivers: list[ScoredDriver]
    segment: Segment | None = Field(
        default=None, description="Assigned by the segmenter of the published segments"
    )


class ScoreResponse(BaseModel):
    """Scores from the published model."""

    model_version: str
    published_version: str
    results: list[ScoreResult]
