output "service_name" {
  description = "Cloud Run service name."
  value       = google_cloud_run_v2_service.this.name
}

output "service_uri" {
  description = "Cloud Run service URL (reachable only as var.ingress allows, and only with run.invoker)."
  value       = google_cloud_run_v2_service.this.uri
}

output "service_account_email" {
  description = "The function's own service account."
  value       = google_service_account.this.email
}

output "subscriptions" {
  description = "Push subscriptions delivering to the function, by name."
  value       = { for name, sub in google_pubsub_subscription.this : name => sub.id }
}
