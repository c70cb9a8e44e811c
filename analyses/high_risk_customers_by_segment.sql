-- Where the at-risk customers are: high-risk customers per segment and region, with the
-- driver most often at the top. Start here for a retention campaign list.
with

overview as (

    select * from {{ ref('customer_churn_overview') }}

),

high_risk as (

    select * from overview
    where risk_band = 'high'

),

final as (

    select
        segment_name,
        region,
        count(*) as high_risk_customers,
        avg(churn_probability) as mean_churn_probability,
        mode(top_driver_description) as most_common_top_driver

    from high_risk
    group by segment_name, region

)

select * from final
order by high_risk_customers desc
