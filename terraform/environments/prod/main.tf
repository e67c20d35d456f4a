# The production environment: one instance of the mediaflow module. Another environment is another folder like
# this one, with its own state prefix and terraform.tfvars.

provider "google" {
  project = var.project_id
  region  = var.region
  default_labels = {
    app = "mediaflow"
  }
}

module "mediaflow" {
  source = "../../modules/mediaflow"

  project_id              = var.project_id
  region                  = var.region
  prefix                  = var.prefix
  image                   = var.image
  buckets                 = var.buckets
  upload_trigger          = var.upload_trigger
  firestore               = var.firestore
  ingest_requests         = var.ingest_requests
  asset_event_subscribers = var.asset_event_subscribers
  retry                   = var.retry
  functions               = var.functions
  ingress                 = var.ingress
  log_level               = var.log_level
  default_profile         = var.default_profile
  vertex                  = var.vertex
  watchdog_schedule       = var.watchdog_schedule
  reconcile               = var.reconcile
  deletion_protection     = var.deletion_protection
  labels                  = var.labels
}
