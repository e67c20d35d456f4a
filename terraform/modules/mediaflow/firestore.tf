# Firestore: the (default) database the functions use, the composite indexes of the queries the code declares, and
# TTL on the idempotency records, both generated from shared/domain/collections.ts.

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
  # Generated from the queries and collections the code declares (shared/domain/collections.ts) by
  # `node scripts/deploy/terraform-gen.ts`:
  #   indexes: a composite index per declared query on more than one field (single-field ones use the automatic
  #            indexes): the equality fields, then the ordered field in its direction; Firestore appends __name__ in
  #            that direction, the id tie-break the adapters add. Each is keyed by the name its query declares.
  #   ttl:     time-to-live on the idempotency records, on an `expireAt` timestamp the writer sets in the future.
  #            Firestore deletes a document once it has passed (usually within a day); documents without one are kept.
  #            failures: the edge's note of a transient fault (attempt count, last error), read until the message is
  #            acked or dead-lettered; rejections: one per refused message, deduplicating redeliveries.
  firestore         = jsondecode(file("${path.module}/generated/firestore.json"))
  firestore_indexes = { for name, index in local.firestore.indexes : name => { collection = index.collection, fields = index.fields } }
  firestore_ttl     = local.firestore.ttl
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
