with

source as (

    {{ l2c_source('process_instance') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as process_instance_id,
        process_definition_id,
        target_object_id,
        status as approval_status,
        completed_date as completed_at,
        last_actor_id,
        submitted_by_id,
        created_date as created_at,
        created_by_id
    from latest

)

select * from renamed
