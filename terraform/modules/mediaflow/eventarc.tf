# Optional upload trigger (upload_trigger = "eventarc"): an Eventarc Cloud Storage trigger pushes
# google.cloud.storage.object.v1.finalized CloudEvents from the ingest bucket straight to ingest, which normalizes
# them to the same asset as a notification would (so both at once would still make one asset per upload).
#
# Not the default: Eventarc manages the Pub/Sub subscription behind the trigger itself, so the ingest ack deadline,
# retry policy and dead-letter topic the pipeline sets on every other delivery do not apply to it, and the storage
# service agent needs pubsub.publisher on the whole project (Eventarc creates its transport topic) rather than on
# the one uploads topic.

locals {
  eventarc = local.functions_deployed && var.upload_trigger == "eventarc"
}

resource "google_service_account" "eventarc" {
  count        = local.eventarc ? 1 : 0
  project      = var.project_id
  account_id   = "${var.prefix}-eventarc"
  display_name = "mediaflow Eventarc trigger"
  description  = "Identity of the mediaflow upload trigger; receives events and invokes the ingest service only."
}

resource "google_project_iam_member" "eventarc_receiver" {
  count   = local.eventarc ? 1 : 0
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.eventarc[0].email}"
}

# Required by Eventarc for Cloud Storage direct events: the storage service agent publishes to the transport topic.
resource "google_project_iam_member" "storage_agent_eventarc" {
  count   = local.eventarc ? 1 : 0
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${local.service_agents.storage}"
}

resource "google_eventarc_trigger" "uploads" {
  count           = local.eventarc ? 1 : 0
  project         = var.project_id
  name            = "${var.prefix}-uploads"
  location        = var.region
  service_account = google_service_account.eventarc[0].email
  labels          = var.labels

  matching_criteria {
    attribute = "type"
    value     = "google.cloud.storage.object.v1.finalized"
  }
  matching_criteria {
    attribute = "bucket"
    value     = google_storage_bucket.this["ingest"].name
  }

  destination {
    cloud_run_service {
      service = module.function["ingest"].service_name
      region  = var.region
    }
  }

  depends_on = [
    google_project_iam_member.eventarc_receiver,
    google_project_iam_member.storage_agent_eventarc,
  ]
}
