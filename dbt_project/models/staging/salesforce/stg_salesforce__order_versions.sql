with

source as (

    {{ l2c_source('order') }}

),

versions as (

    {{ l2c_all_versions('source') }}

),

renamed as (

    select
        id as order_id,
        version_number,
        system_modstamp as valid_from,
        _l2c_is_deleted as is_deleted,
        opportunity_id,
        contract_id,
        status as order_status,
        status_code,
        effective_date,
        activated_date as activated_at,
        total_amount,
        type as order_type,
        last_modified_by_id
    from versions

)

select * from renamed
