output "buckets" {
  description = "Bucket names: upload into ingest; outputs appear in derivatives."
  value       = module.mediaflow.buckets
}

output "topics" {
  description = "Topic ids by suffix."
  value       = module.mediaflow.topics
}

output "ingest_requests_schema" {
  description = "The partner ingest payload's Pub/Sub schema."
  value       = module.mediaflow.ingest_requests_schema
}

output "functions" {
  description = "Per function: service, service account, subscriptions."
  value       = module.mediaflow.functions
}

output "partner_bucket_readers" {
  description = "What partners grant on their buckets (manage_iam = false): objectViewer for service_accounts on each of grants (bucket, prefix, IAM condition)."
  value       = module.mediaflow.partner_bucket_readers
}

output "image_repository" {
  description = "Where Cloud Build pushes the image."
  value       = module.mediaflow.image_repository
}

output "deployer_service_account" {
  description = "The service account Cloud Build runs as."
  value       = module.mediaflow.deployer_service_account
}

output "build_command" {
  description = "Builds, tests, pushes and rolls out a new image."
  value       = module.mediaflow.build_command
}

output "upload_trigger" {
  description = "How uploads reach ingest."
  value       = module.mediaflow.upload_trigger
}

output "firestore_console" {
  description = "Where to watch assets change state."
  value       = module.mediaflow.firestore_console
}
