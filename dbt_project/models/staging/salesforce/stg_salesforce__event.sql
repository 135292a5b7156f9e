with

source as (

    {{ l2c_source('event') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as event_id,
        what_id,
        who_id,
        subject,
        start_date_time as starts_at,
        end_date_time as ends_at,
        activity_date_time as activity_at,
        duration_in_minutes,
        owner_id,
        created_date as created_at,
        created_by_id
    from latest

)

select * from renamed
