with

source as (

    {{ l2c_source('process_instance_step') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as process_instance_step_id,
        process_instance_id,
        step_status,
        original_actor_id,
        actor_id,
        comments,
        created_date as created_at,
        created_by_id
    from latest

)

select * from renamed
