-- One row per segment of scored customers: size, expected churn rate, risk mix, the churn
-- rate observed for the segment over the validation window (backtest, pooled over its
-- months), and the drivers that set the segment apart (highest mean SHAP value). An
-- observed rate resting on fewer than var('min_segment_churners') churners is left null,
-- and observed_churn_basis says why, rather than reading as 0.0.
{%- set min_churners = var('min_segment_churners') %}
{#- membership is reviewed in the months whose number is a multiple of this (ml.segments) #}
{%- set review_months = [var('segment_review_months', 3) | int, 1] | max %}
with

segments as (

    select * from {{ ref('churn_segments') }}

),

scores as (

    select * from {{ ref('churn_scores') }}

),

shap_values as (

    select * from {{ ref('churn_shap_values') }}

),

segment_words as (

    select distinct
        segment_id,
        segment_name,
        segment_rule,
        rule_precision,
        rule_coverage,
        surrogate_fidelity

    from {{ ref('churn_segmenter') }}
    where segment_id is not null

),

feature_dictionary as (

    select * from {{ ref('feature_dictionary') }}

),

scored_segments as (

    select * from segments
    where population = 'scored'

),

backtest_outcomes as (

    select
        segment_id,
        count(*) as backtest_customer_count,
        sum(cast(is_churned_within_horizon as bigint)) as backtest_churner_count,
        avg(cast(is_churned_within_horizon as double)) as pooled_churn_rate,
        count(distinct as_of_month) as backtest_month_count,
        min(as_of_month) as backtest_first_month,
        max(as_of_month) as backtest_month

    from segments
    where population = 'backtest'
    group by segment_id

),

segment_sizes as (

    select
        scored_segments.segment_id,
        scored_segments.model_version,
        bool_or(scored_segments.is_new_segment) as is_new_segment,
        count(*) as customer_count,
        count_if(scored_segments.is_segment_held) as held_customer_count,
        avg(scores.churn_probability) as expected_churn_rate,
        sum(scores.churn_probability) as expected_churners,
        avg(cast(scores.risk_band = 'high' as double)) as high_risk_share,
        avg(scored_segments.embedding_x) as embedding_x,
        avg(scored_segments.embedding_y) as embedding_y,
        max(scored_segments.as_of_month) as as_of_month

    from scored_segments
    inner join scores
        on scored_segments.customer_id = scores.customer_id
    group by scored_segments.segment_id, scored_segments.model_version

),

segment_feature_means as (

    select
        scored_segments.segment_id,
        shap_values.feature_name,
        avg(shap_values.shap_value) as mean_shap_value

    from scored_segments
    inner join shap_values
        on scored_segments.customer_id = shap_values.customer_id
    group by scored_segments.segment_id, shap_values.feature_name

),

segment_drivers_ranked as (

    select
        segment_feature_means.segment_id,
        coalesce(feature_dictionary.feature_description, segment_feature_means.feature_name)
            as feature_description,
        coalesce(feature_dictionary.feature_label, segment_feature_means.feature_name)
            as feature_label,
        segment_feature_means.feature_name,
        row_number() over (
            partition by segment_feature_means.segment_id
            order by
                segment_feature_means.mean_shap_value desc,
                segment_feature_means.feature_name asc
        ) as driver_rank

    from segment_feature_means
    left join feature_dictionary
        on segment_feature_means.feature_name = feature_dictionary.feature_name

),

segment_drivers as (

    select
        segment_id,
        max(case when driver_rank = 1 then feature_label end) as top_driver_label,
        concat_ws(
            '; ',
            transform(
                sort_array(collect_list(struct(driver_rank, feature_label))),
                driver -> driver.feature_label
            )
        ) as top_drivers

    from segment_drivers_ranked
    where driver_rank <= {{ var('top_drivers_per_customer') }}
    group by segment_id

),

scored_totals as (

    select count(*) as scored_customer_count
    from scores

),

final as (

    select
        segment_sizes.segment_id,
        -- named from its drivers and their direction, unique (churn_segmenter); a segment
        -- without one (fitted before names existed) is named by its id and top driver
        coalesce(
            segment_words.segment_name,
            concat('Segment ', segment_sizes.segment_id, ': ', segment_drivers.top_driver_label)
        ) as segment_name,
        segment_words.segment_rule,
        segment_words.rule_precision,
        segment_words.rule_coverage,
        segment_words.surrogate_fidelity,
        segment_sizes.model_version,
        segment_drivers.top_drivers,
        segment_sizes.customer_count,
        segment_sizes.customer_count / scored_totals.scored_customer_count as customer_share,
        segment_sizes.expected_churn_rate,
        segment_sizes.expected_churners,
        case
            when backtest_outcomes.backtest_churner_count >= {{ min_churners }}
                then backtest_outcomes.pooled_churn_rate
        end as observed_churn_rate,
        cast(coalesce(backtest_outcomes.backtest_customer_count, 0) as bigint)
            as backtest_customer_count,
        cast(coalesce(backtest_outcomes.backtest_churner_count, 0) as bigint)
            as backtest_churner_count,
        case
            when backtest_outcomes.backtest_customer_count is null
                then 'no backtest customers in this segment'
            when backtest_outcomes.backtest_churner_count < {{ min_churners }}
                then concat(
                        'too few churners to read a rate: ',
                        backtest_outcomes.backtest_churner_count, ' among ',
                        backtest_outcomes.backtest_customer_count, ' customer-months (needs ',
                        {{ min_churners }}, ')'
                    )
            else concat(
                    backtest_outcomes.backtest_churner_count, ' churners among ',
                    backtest_outcomes.backtest_customer_count, ' customer-months over ',
                    backtest_outcomes.backtest_month_count, ' months'
                )
        end as observed_churn_basis,
        segment_sizes.high_risk_share,
        segment_sizes.is_new_segment,
        segment_sizes.held_customer_count,
        -- the first month after this one whose number is a multiple of the review cadence
        {{ add_months_to(
            'segment_sizes.as_of_month',
            review_months ~ ' - month(segment_sizes.as_of_month) % ' ~ review_months
        ) }} as next_review_month,
        segment_sizes.embedding_x,
        segment_sizes.embedding_y,
        segment_sizes.as_of_month,
        backtest_outcomes.backtest_month,
        backtest_outcomes.backtest_first_month

    from segment_sizes
    cross join scored_totals
    left join segment_drivers
        on segment_sizes.segment_id = segment_drivers.segment_id
    left join backtest_outcomes
        on segment_sizes.segment_id = backtest_outcomes.segment_id
    left join segment_words
        on segment_sizes.segment_id = segment_words.segment_id

)

select * from final
