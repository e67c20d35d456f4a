# Firestore: the (default) database the functions use, the composite indexes of the queries the code runs, and
# TTL on the idempotency records. The consistency tests read the queries from the code and check these cover them.

resource "google_firestore_database" "this" {
  count                             = var.firestore.manage_database ? 1 : 0
  project                           = var.project_id
  name                              = "(default)"
  location_id                       = var.firestore.location_id
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = var.firestore.point_in_time_recovery ? "POINT_IN_TIME_RECOVERY_ENABLED" : "POINT_IN_TIME_RECOVERY_DISABLED"
  delete_protection_state           = var.firestore.delete_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = "ABANDON"
  depends_on                        = [google_project_service.this]
}

locals {
  # Queries with an equality and an order need a composite index; single-field ones use the automatic indexes.
  # Firestore appends __name__ in the direction of the last field, the id tie-break the adapter adds.
  firestore_indexes = {
    # mediaflow status --status X: assets where status == X order by updatedAt desc (cli/commands/status.ts).
    assets_by_status = {
      collection = "assets"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "updatedAt", order = "DESCENDING" },
      ]
    }
    # Dead letters of bare partner payloads: failures where function == F and payloadSha256 == H, the edge's record
    # of the last error, whose event id (the first Pub/Sub message id) the dead-letter copy does not carry
    # (functions/deadletter/run.ts).
    failures_by_payload = {
      collection = "failures"
      fields = [
        { field_path = "function", order = "ASCENDING" },
        { field_path = "payloadSha256", order = "ASCENDING" },
      ]
    }
    # Fan-in: assets/*/results where step == X order by shard (functions/coordinator/fan-in.ts).
    results_by_step = {
      collection = "results"
      fields = [
        { field_path = "step", order = "ASCENDING" },
        { field_path = "shard", order = "ASCENDING" },
      ]
    }
  }

  # Time-to-live on the idempotency records, on an `expireAt` timestamp the writer sets in the future. Firestore
  # deletes a document once its expireAt has passed (usually within a day); documents without one are kept.
  # failures: the edge's note of a transient fault (attempt count, last error), read until the message is acked or
  # dead-lettered; rejections: one per refused message, deduplicating redeliveries.
  firestore_ttl = {
    failures   = "expireAt"
    rejections = "expireAt"
  }
}

resource "google_firestore_index" "this" {
  for_each    = local.firestore_indexes
  project     = var.project_id
  database    = "(default)"
  collection  = each.value.collection
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }

  depends_on = [google_firestore_database.this]
}

resource "google_firestore_field" "ttl" {
  for_each   = local.firestore_ttl
  project    = var.project_id
  database   = "(default)"
  collection = each.key
  field      = each.value

  ttl_config {}

  # No single-field index on the expiry timestamp: nothing queries it, and ever-increasing values make hotspots.
  index_config {}

  depends_on = [google_firestore_database.this]
}
