# One mediaflow function: its Cloud Run service, its own service account and that account's grants, and the
# push subscriptions that deliver to it, each with OIDC auth, its ack deadline, retry policy and dead-letter topic.

locals {
  member = "serviceAccount:${google_service_account.this.email}"
  dead_lettering = {
    for name, sub in var.subscriptions : name => sub if sub.dead_letter_topic_id != null
  }
}

resource "google_service_account" "this" {
  project      = var.project_id
  account_id   = var.service_account_id
  display_name = "mediaflow ${var.function}"
  description  = "Runs the mediaflow ${var.function} function; holds only what its code uses."
}

resource "google_cloud_run_v2_service" "this" {
  project             = var.project_id
  name                = var.name
  location            = var.region
  ingress             = var.ingress
  deletion_protection = var.deletion_protection
  labels              = var.labels

  template {
    service_account                  = google_service_account.this.email
    timeout                          = "${var.request_timeout_seconds}s"
    max_instance_request_concurrency = var.scaling.concurrency
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"
    labels                           = var.labels

    scaling {
      min_instance_count = var.scaling.min_instances
      max_instance_count = var.scaling.max_instances
    }

    containers {
      image = var.image

      resources {
        limits = {
          cpu    = var.resources.cpu
          memory = var.resources.memory
        }
        cpu_idle          = true
        startup_cpu_boost = true
      }

      env {
        name  = "FUNCTION_TARGET"
        value = var.function
      }

      dynamic "env" {
        for_each = var.env
        content {
          name  = env.key
          value = env.value
        }
      }
    }
  }

  lifecycle {
    # Cloud Build rolls out new images (cloudbuild.yaml); Terraform creates the service and owns everything else.
    ignore_changes = [
      template[0].containers[0].image,
      client,
      client_version,
    ]
  }
}

# Invocation: Pub/Sub's push identity, plus any other trigger identity (Eventarc).
resource "google_cloud_run_v2_service_iam_member" "invokers" {
  # Fixed keys: service account emails are unknown until their accounts exist.
  for_each = merge({ push = "serviceAccount:${var.push_service_account}" }, var.invokers)
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.this.name
  role     = "roles/run.invoker"
  member   = each.value
}

# What the code uses, and nothing else.
resource "google_project_iam_member" "access" {
  for_each = toset(var.access.project_roles)
  project  = var.project_id
  role     = each.value
  member   = local.member
}

resource "google_pubsub_topic_iam_member" "publish" {
  for_each = toset(var.access.publish_topics)
  project  = var.project_id
  topic    = each.value
  role     = "roles/pubsub.publisher"
  member   = local.member
}

resource "google_storage_bucket_iam_member" "access" {
  for_each = var.access.bucket_roles
  bucket   = each.value.bucket
  role     = each.value.role
  member   = local.member

  # A grant limited to part of the bucket (a partner's prefix).
  dynamic "condition" {
    for_each = each.value.condition == null ? [] : [each.value.condition]
    content {
      title       = condition.value.title
      description = condition.value.description
      expression  = condition.value.expression
    }
  }
}

resource "google_pubsub_subscription" "this" {
  for_each                   = var.subscriptions
  project                    = var.project_id
  name                       = each.key
  topic                      = each.value.topic_id
  ack_deadline_seconds       = each.value.ack_deadline_seconds
  message_retention_duration = "604800s"
  labels                     = var.labels

  push_config {
    # functions-framework puts the topic into the CloudEvent only from a path ending in projects/<p>/topics/<t>.
    push_endpoint = "${google_cloud_run_v2_service.this.uri}/${each.value.topic_id}"
    oidc_token {
      service_account_email = var.push_service_account
      audience              = google_cloud_run_v2_service.this.uri
    }
  }

  retry_policy {
    minimum_backoff = "${each.value.minimum_backoff_seconds}s"
    maximum_backoff = "${each.value.maximum_backoff_seconds}s"
  }

  dynamic "dead_letter_policy" {
    for_each = each.value.dead_letter_topic_id == null ? [] : [each.value.dead_letter_topic_id]
    content {
      dead_letter_topic     = dead_letter_policy.value
      max_delivery_attempts = each.value.max_delivery_attempts
    }
  }

  # Never expire for inactivity: a quiet pipeline must not lose its wiring.
  expiration_policy {
    ttl = ""
  }

  depends_on = [google_cloud_run_v2_service_iam_member.invokers]
}

# Pub/Sub forwards a dead message only if its service agent may acknowledge it on the source subscription.
resource "google_pubsub_subscription_iam_member" "dead_letter_ack" {
  for_each     = local.dead_lettering
  project      = var.project_id
  subscription = google_pubsub_subscription.this[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${var.pubsub_service_agent}"
}

# Cloud Build rolls out new images: it may update this service and run it as this service account, nothing more.
resource "google_cloud_run_v2_service_iam_member" "deployer" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.this.name
  role     = "roles/run.developer"
  member   = "serviceAccount:${var.deployer_service_account}"
}

resource "google_service_account_iam_member" "deployer_act_as" {
  service_account_id = google_service_account.this.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${var.deployer_service_account}"
}
