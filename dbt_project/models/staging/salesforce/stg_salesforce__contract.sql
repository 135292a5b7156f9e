with

source as (

    {{ l2c_source('contract') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as contract_id,
        contract_number,
        account_id,
        status as contract_status,
        status_code,
        start_date,
        end_date,
        contract_term,
        activated_date as activated_at,
        activated_by_id,
        customer_signed_date,
        company_signed_date,
        special_terms,
        owner_id,
        created_date as created_at,
        created_by_id
    from latest

)

select * from renamed
