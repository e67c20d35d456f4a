# The smallest working mediaflow: one project, one region, the defaults for everything else (GCS notification
# upload trigger, buckets named <project>-mediaflow-ingest / -derivatives, no partners). Local state.
#
#   tofu init && tofu apply -var project_id=my-project                 # registry, buckets, topics, Firestore
#   gcloud builds submit ... (see the build_command output)             # the image
#   tofu apply -var project_id=my-project -var image=<digest>           # the functions and the upload trigger

terraform {
  required_version = ">= 1.8.0"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 7.0.0, < 8.0.0"
    }
  }
}

variable "project_id" {
  description = "An empty project with billing enabled."
  type        = string
}

variable "image" {
  description = "The image Cloud Build pushed; null on the first apply."
  type        = string
  default     = null
}

provider "google" {
  project = var.project_id
  region  = "europe-west1"
}

module "mediaflow" {
  source = "../../modules/mediaflow"

  project_id = var.project_id
  region     = "europe-west1"
  image      = var.image
  firestore = {
    location_id = "eur3"
  }
  # A disposable example: allow tofu destroy to remove everything it made.
  deletion_protection = false
  buckets = {
    force_destroy = true
  }
}

output "upload_bucket" {
  description = "gcloud storage cp <file> gs://<this>/ to start the pipeline."
  value       = module.mediaflow.buckets.ingest
}

output "build_command" {
  description = "Builds and rolls out the image."
  value       = module.mediaflow.build_command
}

output "firestore_console" {
  description = "Where to watch the asset's state."
  value       = module.mediaflow.firestore_console
}
