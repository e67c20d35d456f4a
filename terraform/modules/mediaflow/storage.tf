# The ingest bucket (uploads land here and are processed) and the derivatives bucket (outputs; never processed,
# which is the pipeline's loop guard). Uniform access, no public access, no object versioning: the pipeline treats
# a replaced object as gone (SOURCE_CHANGED), and re-runs overwrite derivatives in place.

locals {
  bucket_settings = {
    ingest      = var.buckets.ingest
    derivatives = var.buckets.derivatives
  }
}

resource "google_storage_bucket" "this" {
  for_each                    = local.bucket_settings
  project                     = var.project_id
  name                        = local.bucket_names[each.key]
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.buckets.force_destroy
  labels                      = merge(var.labels, { mediaflow-bucket = each.key })

  versioning {
    enabled = false
  }

  soft_delete_policy {
    retention_duration_seconds = each.value.soft_delete_retention_days * 86400
  }

  dynamic "lifecycle_rule" {
    for_each = each.value.lifecycle_rules
    content {
      action {
        type          = lifecycle_rule.value.action
        storage_class = lifecycle_rule.value.storage_class
      }
      condition {
        age                        = lifecycle_rule.value.age_days
        days_since_noncurrent_time = lifecycle_rule.value.days_since_noncurrent
        matches_prefix             = lifecycle_rule.value.matches_prefix
        with_state                 = lifecycle_rule.value.with_state
      }
    }
  }

  depends_on = [google_project_service.this]
}

# Default upload trigger: the bucket's Pub/Sub notification publishes each finalize (JSON_API_V1) to the uploads
# topic, and ingest gets it through its push subscription, with the same ack deadline, retry policy and
# dead-letter topic as every other delivery. The storage service agent may publish to that one topic only.
resource "google_pubsub_topic_iam_member" "storage_agent_uploads" {
  count   = local.functions_deployed && var.upload_trigger == "notification" ? 1 : 0
  project = var.project_id
  topic   = google_pubsub_topic.this[local.roles.uploads].name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${local.service_agents.storage}"
}

# Gemini reads the gs:// inputs it is given (the tag step's smallest derivatives) as the Vertex AI service agent of
# the Vertex project, not as the function's account: it needs to read the derivatives bucket, and only that one; only
# when a function declares it calls Vertex AI and Vertex is configured.
resource "google_storage_bucket_iam_member" "vertex_agent_derivatives" {
  count  = var.vertex != null && local.uses_vertex_ai ? 1 : 0
  bucket = google_storage_bucket.this["derivatives"].name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${local.service_agents.aiplatform}"
}

resource "google_storage_notification" "uploads" {
  count          = local.functions_deployed && var.upload_trigger == "notification" ? 1 : 0
  bucket         = google_storage_bucket.this["ingest"].name
  payload_format = "JSON_API_V1"
  topic          = local.topic_ids[local.roles.uploads]
  event_types    = ["OBJECT_FINALIZE"]
  depends_on     = [google_pubsub_topic_iam_member.storage_agent_uploads]
}

# Partner buckets are the partners' own; mediaflow only reads them, and only the objects of the grants in
# MEDIAFLOW_PARTNER_BUCKETS (locals.partner_grants), which ingest checks before it reads a byte. When the partner lets
# this configuration manage the grant (manage_iam), the reading functions get objectViewer here, under an IAM
# condition for a prefix (locals.partner_reads, locals.function_access); otherwise the partner grants what the
# partner_bucket_readers output lists.

# Cloud Build's source uploads (gcloud builds submit --gcs-source-staging-dir), readable by the deployer only.
resource "google_storage_bucket" "builds" {
  project                     = var.project_id
  name                        = "${var.project_id}-${var.prefix}-builds"
  location                    = upper(var.region)
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  labels                      = merge(var.labels, { mediaflow-bucket = "builds" })

  lifecycle_rule {
    action {
      type = "Delete"
    }
    condition {
      age = 14
    }
  }

  depends_on = [google_project_service.this]
}
