-- The opportunity (case) each contract belongs to: the opportunity that points
-- at it (Opportunity.ContractId), else the opportunity of an order placed on
-- it (Order.ContractId + Order.OpportunityId). When several qualify the
-- earliest created wins, so each contract's events sit on exactly one case.
-- Contracts with no case have a null case_id and are counted as orphans.

with

contracts as (

    select * from {{ ref('stg_salesforce__contract') }}

),

opportunities as (

    select * from {{ ref('stg_salesforce__opportunity') }}

),

orders as (

    select * from {{ ref('stg_salesforce__order') }}

),

candidates as (

    select
        contract_id,
        opportunity_id,
        created_at,
        1 as link_rank,
        'Opportunity.ContractId' as attached_via
    from opportunities
    where contract_id is not null

    union all

    select
        orders.contract_id,
        orders.opportunity_id,
        opportunities.created_at,
        2 as link_rank,
        'Order.ContractId' as attached_via
    from orders
    inner join opportunities
        on orders.opportunity_id = opportunities.opportunity_id
    where orders.contract_id is not null

),

ranked as (

    select
        contract_id,
        opportunity_id,
        attached_via,
        row_number() over (
            partition by contract_id
            order by link_rank, created_at, opportunity_id
        ) as candidate_rank
    from candidates

),

final as (

    select
        contracts.contract_id,
        ranked.opportunity_id as case_id,
        ranked.attached_via
    from contracts
    left join ranked
        on contracts.contract_id = ranked.contract_id and ranked.candidate_rank = 1

)

select * from final
