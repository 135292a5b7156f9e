-- One row per opportunity (case) with the attributes analyses slice by:
-- owner and team, region, industry, lead source, product category, amount,
-- discount, outcome and the span of its events.

with

opportunities as (

    select * from {{ ref('stg_salesforce__opportunity') }}

),

accounts as (

    select * from {{ ref('stg_salesforce__account') }}

),

users as (

    select * from {{ ref('stg_salesforce__user') }}

),

user_roles as (

    select * from {{ ref('stg_salesforce__user_role') }}

),

leads as (

    select * from {{ ref('stg_salesforce__lead') }}

),

line_items as (

    select * from {{ ref('stg_salesforce__opportunity_line_item') }}

),

products as (

    select * from {{ ref('stg_salesforce__product') }}

),

quotes as (

    select * from {{ ref('stg_salesforce__quote') }}

),

event_log as (

    select * from {{ ref('event_log') }}

),

converted_leads as (

    select
        converted_opportunity_id as opportunity_id,
        min(lead_id) as lead_id,
        min(lead_source) as lead_source
    from leads
    where is_converted and converted_opportunity_id is not null
    group by converted_opportunity_id

),

-- The product family with the largest share of the opportunity's line items
-- (by total price, ties to the alphabetically first family).
family_totals as (

    select
        line_items.opportunity_id,
        products.product_family,
        sum(coalesce(line_items.total_price, 0)) as family_total
    from line_items
    inner join products
        on line_items.product_id = products.product_id
    where products.product_family is not null
    group by line_items.opportunity_id, products.product_family

),

dominant_family as (

    select
        opportunity_id,
        product_family
    from (
        select
            opportunity_id,
            product_family,
            row_number() over (
                partition by opportunity_id order by family_total desc, product_family asc
            ) as family_rank
        from family_totals
    ) as ranked
    where family_rank = 1

),

line_item_discount as (

    select
        opportunity_id,
        case
            when sum(list_price * quantity) > 0
                then 100 * (1 - sum(total_price) / sum(list_price * quantity))
        end as discount_pct
    from line_items
    group by opportunity_id

),

-- The quote that stands for the deal: the one synced to the opportunity, else
-- the last accepted one, else the last created one.
deal_quote as (

    select
        opportunity_id,
        quote_id,
        discount_pct
    from (
        select
            opportunity_id,
            quote_id,
            discount_pct,
            row_number() over (
                partition by opportunity_id
                order by
                    case when is_syncing then 0 when quote_status = 'Accepted' then 1 else 2 end asc,
                    created_at desc,
                    quote_id asc
            ) as quote_rank
        from quotes
    ) as ranked
    where quote_rank = 1

),

event_span as (

    select
        case_id,
        min({{ adapter.quote('timestamp') }}) as first_event_at,
        max({{ adapter.quote('timestamp') }}) as last_event_at,
        count(*) as event_count,
        max(
            case
                when source_object = 'OpportunityStage' then {{ adapter.quote('timestamp') }}
            end
        ) as last_closed_at
    from event_log
    group by case_id

),

final as (

    select
        opportunities.opportunity_id as case_id,
        opportunities.opportunity_name,
        opportunities.owner_id,
        owners.user_name as owner_name,
        owner_roles.user_role_name as owner_role,
        managers.user_name as team,
        coalesce(accounts.region, owners.region) as region,
        accounts.industry,
        coalesce(opportunities.lead_source, converted_leads.lead_source) as lead_source,
        dominant_family.product_family as product_category,
        opportunities.opportunity_type,
        opportunities.amount,
        opportunities.currency,
        cast(
            coalesce(deal_quote.discount_pct, line_item_discount.discount_pct) as decimal(18, 4)
        ) as discount_pct,
        opportunities.is_won,
        opportunities.is_closed,
        opportunities.stage_name,
        opportunities.created_at,
        case
            when opportunities.is_closed
                then coalesce(
                    event_span.last_closed_at,
                    {{ l2c_date_to_timestamp('opportunities.close_date') }}
                )
        end as closed_at,
        opportunities.close_date,
        event_span.first_event_at,
        event_span.last_event_at,
        coalesce(event_span.event_count, 0) as event_count,
        opportunities.account_id,
        accounts.account_name,
        accounts.customer_segment,
        converted_leads.lead_id,
        deal_quote.quote_id as deal_quote_id
    from opportunities
    left join accounts
        on opportunities.account_id = accounts.account_id
    left join users as owners
        on opportunities.owner_id = owners.user_id
    left join user_roles as owner_roles
        on owners.user_role_id = owner_roles.user_role_id
    left join users as managers
        on owners.manager_id = managers.user_id
    left join converted_leads
        on opportunities.opportunity_id = converted_leads.opportunity_id
    left join dominant_family
        on opportunities.opportunity_id = dominant_family.opportunity_id
    left join line_item_discount
        on opportunities.opportunity_id = line_item_discount.opportunity_id
    left join deal_quote
        on opportunities.opportunity_id = deal_quote.opportunity_id
    left join event_span
        on opportunities.opportunity_id = event_span.case_id

)

select * from final
