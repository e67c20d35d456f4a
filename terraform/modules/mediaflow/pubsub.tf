# The topics of the event catalog (events/asyncapi.yaml), exactly those the pipeline uses, named <prefix>-<suffix>.
# The subscriptions belong to the functions that consume them (module "function").

resource "google_pubsub_topic" "this" {
  for_each = local.topic_names
  project  = var.project_id
  name     = each.value
  labels   = var.labels

  # Partners may attach subscriptions late: keep a day of asset events on the topic for seek and replay.
  message_retention_duration = each.key == local.roles.asset_events ? "86400s" : null

  dynamic "schema_settings" {
    for_each = each.key == local.roles.ingest_requests && var.ingest_requests.enforce_schema ? [google_pubsub_schema.ingest_requested.id] : []
    content {
      schema   = schema_settings.value
      encoding = "JSON"
    }
  }

  depends_on = [google_project_service.this]
}

# The partner ingest payload (events/schemas/com.mediaflow.ingest.requested.v1.json) as a Protocol Buffer schema:
# Pub/Sub takes Avro or Protocol Buffers, not JSON Schema, and Avro's JSON encoding would change what partners send.
# Generated from the JSON Schema (generated/ingest-requested.v1.proto). Created always, so partners can validate
# against it (gcloud pubsub schemas validate-message); attached to the topic only with ingest_requests.enforce_schema.
resource "google_pubsub_schema" "ingest_requested" {
  project    = var.project_id
  name       = "${var.prefix}-ingest-requested-v1"
  type       = "PROTOCOL_BUFFER"
  definition = file("${path.module}/generated/ingest-requested.v1.proto")
  depends_on = [google_project_service.this]
}

# Pub/Sub's service agent forwards dead messages: it publishes to the dead-letter topic (and acknowledges on each
# source subscription, granted in module "function"), and mints the OIDC tokens push requests carry.
resource "google_pubsub_topic_iam_member" "pubsub_agent_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.this[local.roles.dead_letters].name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${local.service_agents.pubsub}"
}

# The identity Pub/Sub signs push requests as; it can only invoke the mediaflow services.
resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${var.prefix}-push"
  display_name = "mediaflow Pub/Sub push"
  description  = "OIDC identity of mediaflow's push subscriptions; holds run.invoker on the function services only."
}

resource "google_service_account_iam_member" "pubsub_agent_push_tokens" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${local.service_agents.pubsub}"
}

# Partners: publish ingest requests; attach their own subscriptions to the asset events.
resource "google_pubsub_topic_iam_member" "ingest_publishers" {
  for_each = toset(var.ingest_requests.publishers)
  project  = var.project_id
  topic    = google_pubsub_topic.this[local.roles.ingest_requests].name
  role     = "roles/pubsub.publisher"
  member   = each.value
}

resource "google_pubsub_topic_iam_member" "asset_event_subscribers" {
  for_each = toset(var.asset_event_subscribers)
  project  = var.project_id
  topic    = google_pubsub_topic.this[local.roles.asset_events].name
  role     = "roles/pubsub.subscriber"
  member   = each.value
}
