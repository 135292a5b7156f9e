with

source as (

    {{ l2c_source('contract_history') }}

),

deduplicated as (

    {{ l2c_latest_versions('source', version_column='created_date') }}

),

renamed as (

    select
        id as contract_history_id,
        contract_id,
        lower(field) as field_name,
        data_type,
        {{ l2c_to_text('old_value') }} as old_value,
        {{ l2c_to_text('new_value') }} as new_value,
        created_by_id as changed_by_id,
        created_date as changed_at
    from deduplicated

)

select * from renamed
