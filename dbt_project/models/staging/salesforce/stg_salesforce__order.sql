with

source as (

    {{ l2c_source('order') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as order_id,
        order_number,
        account_id,
        opportunity_id,
        contract_id,
        status as order_status,
        status_code,
        effective_date,
        activated_date as activated_at,
        activated_by_id,
        total_amount,
        type as order_type,
        owner_id,
        created_date as created_at,
        created_by_id
    from latest

)

select * from renamed
