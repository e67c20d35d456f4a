# Cloud Scheduler for the watchdog, which re-drives steps stuck past their lease. The pipeline has no watchdog
# function yet, so this creates nothing until functions/pipeline.ts gains one named "watchdog" (and
# generated/pipeline.json with it). The job then publishes a bare JSON tick to the watchdog's own topic, so the tick
# arrives like every other delivery: push subscription, ack deadline from the watchdog's timeout, retry policy,
# dead-letter topic. The contract for that function: give its topic a default CloudEvents type (as ingest does for
# bare partner payloads), so a bare tick is accepted with the Pub/Sub message id as its event id.

locals {
  watchdog = try(local.pipeline.functions["watchdog"], null)
}

resource "google_cloud_scheduler_job" "watchdog" {
  count       = local.functions_deployed && local.watchdog != null ? 1 : 0
  project     = var.project_id
  region      = var.region
  name        = "${var.prefix}-watchdog"
  description = "Ticks the mediaflow watchdog."
  schedule    = var.watchdog_schedule
  time_zone   = "Etc/UTC"

  pubsub_target {
    topic_name = local.topic_ids[local.watchdog.topics[0]]
    data       = base64encode("{}")
    attributes = {
      "content-type" = "application/json"
    }
  }

  retry_config {
    retry_count = 0
  }

  depends_on = [google_project_service.this]
}
