with

source as (

    {{ l2c_source('quote') }}

),

versions as (

    {{ l2c_all_versions('source') }}

),

renamed as (

    select
        id as quote_id,
        version_number,
        system_modstamp as valid_from,
        _l2c_is_deleted as is_deleted,
        opportunity_id,
        status as quote_status,
        discount as discount_pct,
        grand_total,
        last_modified_by_id
    from versions

)

select * from renamed
