# The environment's inputs: the same types and defaults as modules/mediaflow (checked by the consistency tests),
# validated there.

variable "project_id" {
  description = "Project mediaflow is deployed in (GOOGLE_CLOUD_PROJECT of every function)."
  type        = string
}

variable "region" {
  description = "Region of the Cloud Run services, the buckets, the Artifact Registry repository, the Eventarc trigger and Cloud Scheduler."
  type        = string
}

variable "prefix" {
  description = "Prefix of every name: topics (<prefix>-uploads, MEDIAFLOW_TOPIC_PREFIX), services and service accounts (<prefix>-<function>)."
  type        = string
  default     = "mediaflow"
}

variable "image" {
  description = "Container image the function services are created with (Dockerfile), by digest or immutable tag. Null on the first apply, before the image exists: everything but the functions and the upload trigger is created. Cloud Build rolls out later images; set this to the latest build when applying a new function."
  type        = string
  default     = null
}

variable "buckets" {
  description = "The ingest bucket (uploads are processed), the derivatives bucket (outputs, never processed), and partner buckets mediaflow only reads, each with the partners whose ingest events may name objects in it (none: any partner) and an optional object-name prefix; they become MEDIAFLOW_PARTNER_BUCKETS and the matching read grants. Names default to <project_id>-<prefix>-ingest / -derivatives."
  type = object({
    ingest = optional(object({
      name                       = optional(string)
      soft_delete_retention_days = optional(number, 7)
      lifecycle_rules = optional(list(object({
        action                = string
        storage_class         = optional(string)
        age_days              = optional(number)
        matches_prefix        = optional(list(string), [])
        with_state            = optional(string, "ANY")
        days_since_noncurrent = optional(number)
      })), [{ action = "AbortIncompleteMultipartUpload", age_days = 7 }, { action = "SetStorageClass", storage_class = "NEARLINE", age_days = 30 }])
    }), {})
    derivatives = optional(object({
      name                       = optional(string)
      soft_delete_retention_days = optional(number, 7)
      lifecycle_rules = optional(list(object({
        action                = string
        storage_class         = optional(string)
        age_days              = optional(number)
        matches_prefix        = optional(list(string), [])
        with_state            = optional(string, "ANY")
        days_since_noncurrent = optional(number)
      })), [{ action = "AbortIncompleteMultipartUpload", age_days = 7 }])
    }), {})
    partner = optional(list(object({
      name = string
      # Grant the reading functions objectViewer on the partner's bucket from here (needs IAM admin on it);
      # otherwise hand the partner the `partner_bucket_readers` output.
      manage_iam = optional(bool, false)
      # Partners (the `partner` of their ingest events) that may name objects here; [] means any partner.
      partners = optional(list(string), [])
      # Only objects whose names start with this ("incoming/"); "" is the whole bucket.
      prefix = optional(string, "")
    })), [])
    force_destroy = optional(bool, false)
  })
  default = {}
}

variable "upload_trigger" {
  description = "How uploads reach ingest: \"notification\" (default; a GCS Pub/Sub notification on the uploads topic, delivered by a push subscription with its own ack deadline, retry policy and dead-letter topic) or \"eventarc\" (an Eventarc Cloud Storage trigger pushing google.cloud.storage.object.v1.finalized to ingest). The code accepts both."
  type        = string
  default     = "notification"
}

variable "firestore" {
  description = "The (default) Firestore database the functions use: where it lives, and whether Terraform creates it (set manage_database = false if the project already has one)."
  type = object({
    location_id            = string
    manage_database        = optional(bool, true)
    point_in_time_recovery = optional(bool, true)
    delete_protection      = optional(bool, true)
  })
}

variable "ingest_requests" {
  description = "The partner ingest topic. enforce_schema attaches the generated Protocol Buffer schema (JSON encoding): Pub/Sub then refuses malformed payloads at publish time, but also structured-mode CloudEvents, which the event catalog accepts, so it is off by default and the edge validates."
  type = object({
    enforce_schema = optional(bool, false)
    publishers     = optional(list(string), [])
  })
  default = {}
}

variable "asset_event_subscribers" {
  description = "Members (partners) that may attach subscriptions in their own projects to the asset events topic."
  type        = list(string)
  default     = []
}

variable "retry" {
  description = "Redelivery of every subscription, and the same numbers in each function's environment. Unset fields take the code's defaults (generated/pipeline.json)."
  type = object({
    max_delivery_attempts   = optional(number)
    minimum_backoff_seconds = optional(number)
    maximum_backoff_seconds = optional(number)
  })
  default = {}
}

variable "functions" {
  description = "Per-function sizing, keyed by function name (see generated/pipeline.json). Unset fields take the module's defaults for that kind of function."
  type = map(object({
    cpu           = optional(string)
    memory        = optional(string)
    min_instances = optional(number)
    max_instances = optional(number)
    concurrency   = optional(number)
  }))
  default = {}
}

variable "ingress" {
  description = "Ingress of every service. Pub/Sub push, Eventarc and Cloud Scheduler in the same project count as internal."
  type        = string
  default     = "INGRESS_TRAFFIC_INTERNAL_ONLY"
}

variable "log_level" {
  description = "MEDIAFLOW_LOG_LEVEL of every function."
  type        = string
  default     = "info"
}

variable "default_profile" {
  description = "MEDIAFLOW_DEFAULT_PROFILE: the profile of uploads without mediaflow-profile metadata."
  type        = string
  default     = "default"
}

variable "vertex" {
  description = "Gemini on Vertex AI for the tag step: { location, project?, model? }; null leaves tagging to technical signals."
  type = object({
    location = string
    project  = optional(string)
    model    = optional(string)
  })
  default = null
}

variable "watchdog_schedule" {
  description = "Cron schedule (UTC) of the watchdog tick; used only once the pipeline has a watchdog function."
  type        = string
  default     = "*/10 * * * *"
}

variable "reconcile" {
  description = "Scheduled reconcile of the ingest bucket: a cron schedule (UTC) and how far back each run looks (hours). Null turns it off."
  type = object({
    schedule    = string
    since_hours = optional(number, 26)
  })
  default = null
}

variable "deletion_protection" {
  description = "Refuse to destroy the Cloud Run services."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels for every resource that takes them."
  type        = map(string)
  default     = {}
}
