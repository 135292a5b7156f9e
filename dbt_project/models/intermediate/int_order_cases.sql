-- The opportunity (case) each order belongs to: Order.OpportunityId when it
-- names an existing opportunity, else the case of the order's contract, else
-- the (missing, e.g. deleted) opportunity it names. Orders whose case is null
-- or missing are counted as orphans.

with

orders as (

    select * from {{ ref('stg_salesforce__order') }}

),

opportunities as (

    select * from {{ ref('stg_salesforce__opportunity') }}

),

contract_cases as (

    select * from {{ ref('int_contract_cases') }}

),

final as (

    select
        orders.order_id,
        coalesce(opportunities.opportunity_id, contract_cases.case_id, orders.opportunity_id) as case_id,
        case
            when opportunities.opportunity_id is not null then 'Order.OpportunityId'
            when contract_cases.case_id is not null then 'Order.ContractId'
            when orders.opportunity_id is not null then 'Order.OpportunityId (opportunity missing)'
        end as attached_via
    from orders
    left join opportunities
        on orders.opportunity_id = opportunities.opportunity_id
    left join contract_cases
        on orders.contract_id = contract_cases.contract_id

)

select * from final
