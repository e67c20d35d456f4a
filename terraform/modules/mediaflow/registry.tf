# Artifact Registry for the one image every function runs, and the identity Cloud Build deploys it as.

resource "google_artifact_registry_repository" "images" {
  project       = var.project_id
  location      = var.region
  repository_id = var.prefix
  format        = "DOCKER"
  description   = "mediaflow images: one image serves every function (FUNCTION_TARGET picks one)."
  labels        = var.labels

  docker_config {
    immutable_tags = true
  }

  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 20
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "2592000s"
    }
  }

  depends_on = [google_project_service.this]
}

# Cloud Build's user-specified service account (gcloud builds submit --service-account): pushes the image and rolls
# it out to the existing services. Grants: writer on this repository, reader of the build staging bucket, log
# writer (builds log to Cloud Logging only), and in module "function" run.developer on each service plus
# serviceAccountUser on each runtime account, which updating a service's image needs.
resource "google_service_account" "deployer" {
  project      = var.project_id
  account_id   = "${var.prefix}-deployer"
  display_name = "mediaflow Cloud Build deployer"
  description  = "Builds, pushes and rolls out the mediaflow image; cannot create or delete infrastructure."
}

resource "google_artifact_registry_repository_iam_member" "deployer_writer" {
  project    = var.project_id
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.deployer.email}"
}

resource "google_storage_bucket_iam_member" "deployer_sources" {
  bucket = google_storage_bucket.builds.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.deployer.email}"
}

resource "google_project_iam_member" "deployer_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.deployer.email}"
}
