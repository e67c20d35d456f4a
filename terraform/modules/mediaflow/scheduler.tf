# Cloud Scheduler for the watchdog (functions/watchdog/), which re-drives steps stuck past their lease, repairs
# PROCESSING assets whose next decision was lost and publishes outbox entries nobody flushed. The job is created when
# the generated pipeline has a function named "watchdog" (it does). It publishes a bare JSON tick to the watchdog's
# own topic, so the tick arrives like every other delivery: push subscription, ack deadline from the watchdog's
# timeout, retry policy, dead-letter topic. The watchdog takes any message on that topic as a tick.

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

# The scheduled reconcile of the ingest bucket: a tick of its own on the watchdog's topic that asks the watchdog to
# ingest objects updated in the last `reconcile.since_hours` with no asset (a notification lost, or never sent).
# Off unless `reconcile` is set; `mediaflow reconcile` does the same by hand, and backfills a whole bucket.
resource "google_cloud_scheduler_job" "reconcile" {
  count       = local.functions_deployed && local.watchdog != null && var.reconcile != null ? 1 : 0
  project     = var.project_id
  region      = var.region
  name        = "${var.prefix}-reconcile"
  description = "Asks the mediaflow watchdog to reconcile the ingest bucket."
  schedule    = var.reconcile.schedule
  time_zone   = "Etc/UTC"

  pubsub_target {
    topic_name = local.topic_ids[local.watchdog.topics[0]]
    data       = base64encode(jsonencode({ reconcile = { sinceHours = var.reconcile.since_hours } }))
    attributes = {
      "content-type" = "application/json"
    }
  }

  retry_config {
    retry_count = 0
  }

  depends_on = [google_project_service.this]
}
