-- Contract events: created, activated (signed), and status changes from
-- ContractHistory. Activation is Contract.ActivatedDate, or the first
-- ContractHistory change to status Activated when the date is empty. Other
-- status changes key on (Contract, Status, <status>) and become activities
-- once the catalog has a row for them.

with

contracts as (

    select * from {{ ref('stg_salesforce__contract') }}

),

contract_history as (

    select * from {{ ref('stg_salesforce__contract_history') }}

),

contract_cases as (

    select * from {{ ref('int_contract_cases') }}

),

first_activation_in_history as (

    select
        contract_id,
        changed_at,
        changed_by_id,
        row_number() over (
            partition by contract_id order by changed_at, contract_history_id
        ) as activation_number
    from contract_history
    where field_name = 'status' and new_value = 'Activated'

),

created as (

    select
        contract_id,
        'CreatedDate' as source_field,
        cast(null as {{ l2c_type('string') }}) as source_value,
        'created' as event_key,
        created_at as event_at,
        created_by_id as resource_id,
        cast(null as {{ l2c_type('string') }}) as old_value,
        cast(null as {{ l2c_type('string') }}) as new_value
    from contracts

),

activated as (

    select
        contracts.contract_id,
        'ActivatedDate' as source_field,
        cast(null as {{ l2c_type('string') }}) as source_value,
        'activated' as event_key,
        coalesce(contracts.activated_at, history.changed_at) as event_at,
        coalesce(contracts.activated_by_id, history.changed_by_id) as resource_id,
        cast(null as {{ l2c_type('string') }}) as old_value,
        cast(null as {{ l2c_type('string') }}) as new_value
    from contracts
    left join first_activation_in_history as history
        on contracts.contract_id = history.contract_id and history.activation_number = 1
    where coalesce(contracts.activated_at, history.changed_at) is not null

),

status_changes as (

    select
        contract_id,
        'Status' as source_field,
        new_value as source_value,
        contract_history_id as event_key,
        changed_at as event_at,
        changed_by_id as resource_id,
        old_value,
        new_value
    from contract_history
    where field_name = 'status' and new_value is not null

),

events as (

    select * from created
    union all
    select * from activated
    union all
    select * from status_changes

),

final as (

    select
        contract_cases.case_id,
        cast(null as {{ l2c_type('string') }}) as lead_id,
        'Contract' as source_object,
        events.contract_id as source_id,
        events.source_field,
        events.source_value,
        events.event_key,
        events.event_at,
        events.resource_id,
        cast(null as {{ l2c_type('string') }}) as stage,
        cast(null as decimal(18, 2)) as amount,
        events.old_value,
        events.new_value,
        cast(null as date) as due_date,
        cast(null as {{ l2c_type('string') }}) as invoice_id
    from events
    inner join contract_cases
        on events.contract_id = contract_cases.contract_id

)

select * from final
