output "buckets" {
  description = "Bucket names: upload into ingest; outputs appear in derivatives."
  value = {
    ingest      = google_storage_bucket.this["ingest"].name
    derivatives = google_storage_bucket.this["derivatives"].name
    builds      = google_storage_bucket.builds.name
  }
}

output "topics" {
  description = "Topic ids by suffix. Partners publish to ingest-requests and subscribe to asset-events."
  value       = local.topic_ids
}

output "ingest_requests_schema" {
  description = "The partner ingest payload's Pub/Sub schema (attached to the topic only with ingest_requests.enforce_schema)."
  value       = google_pubsub_schema.ingest_requested.id
}

output "functions" {
  description = "Per function: Cloud Run service, its own service account, and its push subscriptions."
  value = {
    for name, fn in module.function : name => {
      service         = fn.service_name
      url             = fn.service_uri
      service_account = fn.service_account_email
      subscriptions   = fn.subscriptions
    }
  }
}

output "partner_bucket_readers" {
  description = "What a partner grants on its bucket when this configuration does not (manage_iam = false): roles/storage.objectViewer to each of service_accounts, on each of grants (bucket, prefix, role, and the IAM condition that limits it to the prefix; null for the whole bucket)."
  value = {
    service_accounts = [for name, fn in local.deployed_functions : module.function[name].service_account_email if fn.needs.sources == "read"]
    grants           = [for read in local.partner_reads : { bucket = read.bucket, prefix = read.prefix, role = local.capability_roles.reads_sources, condition = read.condition } if !read.manage_iam]
  }
}

output "image_repository" {
  description = "Where Cloud Build pushes the image: <region>-docker.pkg.dev/<project>/<repository>."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "deployer_service_account" {
  description = "The service account Cloud Build runs as (gcloud builds submit --service-account)."
  value       = google_service_account.deployer.id
}

output "build_command" {
  description = "Builds, tests, pushes and rolls out a new image."
  value = join(" ", [
    "gcloud builds submit --project=${var.project_id} --region=${var.region} --config=cloudbuild.yaml",
    "--service-account=${google_service_account.deployer.id}",
    "--gcs-source-staging-dir=gs://${google_storage_bucket.builds.name}/source",
    "--substitutions=_REGION=${var.region},_REPOSITORY=${google_artifact_registry_repository.images.repository_id},_PREFIX=${var.prefix}",
  ])
}

output "upload_trigger" {
  description = "How uploads reach ingest: notification or eventarc."
  value       = var.upload_trigger
}

output "firestore_console" {
  description = "Where to watch assets change state."
  value       = "https://console.cloud.google.com/firestore/databases/-default-/data/panel/assets?project=${var.project_id}"
}
