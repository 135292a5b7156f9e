with

source as (

    {{ l2c_source('task') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as task_id,
        what_id,
        who_id,
        subject,
        status as task_status,
        priority,
        activity_date,
        task_subtype,
        coalesce(is_closed, false) as is_closed,
        completed_date_time as completed_at,
        owner_id,
        created_date as created_at,
        created_by_id
    from latest

)

select * from renamed
