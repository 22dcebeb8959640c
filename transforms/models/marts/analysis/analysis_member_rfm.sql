with

scored as (
    select * from {{ ref('int_analysis__member_rfm_scored') }}
),

segmented as (
    select
        *,
        case
            when tenure_days < 90 then 'new'
            when r_score is null then 'no_purchase'
            when r_score >= 4 and f_score >= 4 and m_score >= 4 then 'champions'
            when r_score >= 3 and f_score >= 4 then 'loyal'
            when r_score >= 4 and f_score <= 2 then 'promising'
            when r_score <= 2 and (f_score >= 4 or m_score >= 4) then 'at_risk'
            when r_score <= 2 then 'hibernating'
            else 'needs_attention'
        end as rfm_segment
    from scored
),

final as (
    select
        member_no,
        tier,
        region,
        cast({{ dbt.dateadd('day', -364, reference_date()) }} as date) as window_start,
        {{ reference_date() }} as window_end,
        recency_days,
        frequency,
        monetary,
        r_score,
        f_score,
        m_score,
        case
            when r_score is not null then {{ dbt.concat([
                dbt.safe_cast('r_score', dbt.type_string()),
                dbt.safe_cast('f_score', dbt.type_string()),
                dbt.safe_cast('m_score', dbt.type_string())]) }}
        end as rfm_cell,
        rfm_segment
    from segmented
)

select * from final
