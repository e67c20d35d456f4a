variable "project_id" {
  description = "Project mediaflow is deployed in (GOOGLE_CLOUD_PROJECT of every function)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6-30 lowercase letters, digits and hyphens)."
  }
}

variable "region" {
  description = "Region of the Cloud Run services, the buckets, the Artifact Registry repository, the Eventarc trigger and Cloud Scheduler."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a single region such as europe-west1 (the Eventarc trigger must sit where the ingest bucket is)."
  }
}

variable "prefix" {
  description = "Prefix of every name: topics (<prefix>-uploads, MEDIAFLOW_TOPIC_PREFIX), services and service accounts (<prefix>-<function>)."
  type        = string
  default     = "mediaflow"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,10}[a-z0-9]$", var.prefix))
    error_message = "prefix must be 3-12 lowercase letters, digits and hyphens, starting with a letter: service account ids <prefix>-<function> must stay within 30 characters."
  }
}

variable "image" {
  description = "Container image the function services are created with (Dockerfile), by digest or immutable tag. Null on the first apply, before the image exists: everything but the functions and the upload trigger is created. Cloud Build rolls out later images; set this to the latest build when applying a new function."
  type        = string
  default     = null
  validation {
    condition     = var.image == null || (can(regex("^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$", coalesce(var.image, "-"))) && !endswith(coalesce(var.image, "-"), ":latest"))
    error_message = "image must name a registry image by digest (@sha256:...) or by an explicit tag other than latest."
  }
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
  validation {
    condition = alltrue([for name in concat(
      [for b in [var.buckets.ingest.name, var.buckets.derivatives.name] : b if b != null],
      [for p in var.buckets.partner : p.name],
    ) : can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", name))])
    error_message = "bucket names must be valid Cloud Storage bucket names."
  }
  # The same rules as the runtime's parser (shared/config/partner-access.ts), which reads the list Terraform writes:
  # MEDIAFLOW_PARTNER_BUCKETS is `[partner=]bucket[/prefix]`, comma-separated, so a prefix must not carry the
  # separators, and its leading '/' would be part of the name. Nor quotes or backslashes: the prefix is also a
  # string literal in the IAM condition.
  validation {
    condition     = alltrue(flatten([for p in var.buckets.partner : [for partner in p.partners : can(regex("^[a-z][a-z0-9-]{1,39}$", partner))]]))
    error_message = "buckets.partner[*].partners must be partner names (^[a-z][a-z0-9-]{1,39}$), as the partner field of their ingest events."
  }
  validation {
    condition     = alltrue([for p in var.buckets.partner : p.prefix == "" || (length(p.prefix) <= 1024 && can(regex("^[^/,=\"\\\\[:space:][:cntrl:]][^,=\"\\\\[:space:][:cntrl:]]*$", p.prefix)))])
    error_message = "buckets.partner[*].prefix must be \"\" (the whole bucket) or the start of object names: no leading '/', no ',', '=', quotes, backslashes, spaces or control characters, at most 1024 characters."
  }
  validation {
    condition = alltrue([for rule in concat(var.buckets.ingest.lifecycle_rules, var.buckets.derivatives.lifecycle_rules) : (
      contains(["Delete", "SetStorageClass", "AbortIncompleteMultipartUpload"], rule.action) &&
      (rule.action != "SetStorageClass" || contains(["NEARLINE", "COLDLINE", "ARCHIVE"], coalesce(rule.storage_class, "-"))) &&
      contains(["ANY", "LIVE", "ARCHIVED"], rule.with_state) &&
      (rule.age_days != null || rule.days_since_noncurrent != null)
    )])
    error_message = "lifecycle rules need action Delete, SetStorageClass (to NEARLINE, COLDLINE or ARCHIVE) or AbortIncompleteMultipartUpload, with_state ANY, LIVE or ARCHIVED, and an age_days or days_since_noncurrent condition."
  }
  validation {
    condition     = var.buckets.ingest.soft_delete_retention_days == 0 || (var.buckets.ingest.soft_delete_retention_days >= 7 && var.buckets.ingest.soft_delete_retention_days <= 90)
    error_message = "buckets.ingest.soft_delete_retention_days must be 0 (off) or 7..90."
  }
  validation {
    condition     = var.buckets.derivatives.soft_delete_retention_days == 0 || (var.buckets.derivatives.soft_delete_retention_days >= 7 && var.buckets.derivatives.soft_delete_retention_days <= 90)
    error_message = "buckets.derivatives.soft_delete_retention_days must be 0 (off) or 7..90."
  }
}

variable "upload_trigger" {
  description = "How uploads reach ingest: \"notification\" (default; a GCS Pub/Sub notification on the uploads topic, delivered by a push subscription with its own ack deadline, retry policy and dead-letter topic) or \"eventarc\" (an Eventarc Cloud Storage trigger pushing google.cloud.storage.object.v1.finalized to ingest). The code accepts both."
  type        = string
  default     = "notification"
  validation {
    condition     = contains(["notification", "eventarc"], var.upload_trigger)
    error_message = "upload_trigger must be \"notification\" or \"eventarc\"."
  }
}

variable "firestore" {
  description = "The (default) Firestore database the functions use: where it lives, and whether Terraform creates it (set manage_database = false if the project already has one)."
  type = object({
    location_id            = string
    manage_database        = optional(bool, true)
    point_in_time_recovery = optional(bool, true)
    delete_protection      = optional(bool, true)
  })
  validation {
    condition     = can(regex("^(nam5|eur3|[a-z]+-[a-z]+[0-9]+)$", var.firestore.location_id))
    error_message = "firestore.location_id must be a Firestore location: nam5, eur3 or a region such as europe-west1."
  }
}

variable "ingest_requests" {
  description = "The partner ingest topic. enforce_schema attaches the generated Protocol Buffer schema (JSON encoding): Pub/Sub then refuses malformed payloads at publish time, but also structured-mode CloudEvents, which the event catalog accepts, so it is off by default and the edge validates."
  type = object({
    enforce_schema = optional(bool, false)
    publishers     = optional(list(string), [])
  })
  default = {}
  validation {
    condition     = alltrue([for member in var.ingest_requests.publishers : can(regex("^(serviceAccount|group|user|domain):", member))])
    error_message = "publishers must be IAM members (serviceAccount:, group:, user: or domain:); allUsers and allAuthenticatedUsers are refused."
  }
}

variable "asset_event_subscribers" {
  description = "Members (partners) that may attach subscriptions in their own projects to the asset events topic."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for member in var.asset_event_subscribers : can(regex("^(serviceAccount|group|user|domain):", member))])
    error_message = "asset_event_subscribers must be IAM members (serviceAccount:, group:, user: or domain:)."
  }
}

variable "retry" {
  description = "Redelivery of every subscription, and the same numbers in each function's environment. Unset fields take the code's defaults (generated/pipeline.json)."
  type = object({
    max_delivery_attempts   = optional(number)
    minimum_backoff_seconds = optional(number)
    maximum_backoff_seconds = optional(number)
  })
  default = {}
  validation {
    condition = (
      (var.retry.max_delivery_attempts == null || (coalesce(var.retry.max_delivery_attempts, 5) >= 5 && coalesce(var.retry.max_delivery_attempts, 5) <= 100)) &&
      (var.retry.minimum_backoff_seconds == null || (coalesce(var.retry.minimum_backoff_seconds, 0) >= 0 && coalesce(var.retry.minimum_backoff_seconds, 0) <= 600)) &&
      (var.retry.maximum_backoff_seconds == null || (coalesce(var.retry.maximum_backoff_seconds, 0) >= 0 && coalesce(var.retry.maximum_backoff_seconds, 0) <= 600))
    )
    error_message = "retry: max_delivery_attempts in 5..100 and backoffs in 0..600 seconds (Pub/Sub's limits)."
  }
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
  validation {
    condition     = contains(["INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER", "INGRESS_TRAFFIC_ALL"], var.ingress)
    error_message = "ingress must be INGRESS_TRAFFIC_INTERNAL_ONLY, INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER or INGRESS_TRAFFIC_ALL."
  }
}

variable "log_level" {
  description = "MEDIAFLOW_LOG_LEVEL of every function."
  type        = string
  default     = "info"
  validation {
    condition     = contains(["debug", "info", "warn", "error", "silent"], var.log_level)
    error_message = "log_level must be debug, info, warn, error or silent."
  }
}

variable "default_profile" {
  description = "MEDIAFLOW_DEFAULT_PROFILE: the profile of uploads without mediaflow-profile metadata."
  type        = string
  default     = "default"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.default_profile))
    error_message = "default_profile must be a profile name (lowercase, digits, hyphens)."
  }
}

variable "vertex" {
  description = "Gemini on Vertex AI for the tag step: its location (e.g. europe-west4), the project (default: project_id) and the model (default: the code's). Null: the tag step records technical signals only."
  type = object({
    location = string
    project  = optional(string)
    model    = optional(string)
  })
  default = null
  validation {
    condition     = var.vertex == null || can(regex("^[a-z]+(-[a-z]+[0-9]*)+$|^global$", var.vertex.location))
    error_message = "vertex.location must be a Google Cloud location such as europe-west4 (or global)."
  }
}

variable "watchdog_schedule" {
  description = "Cron schedule (UTC) of the watchdog tick; used only once the pipeline has a watchdog function."
  type        = string
  default     = "*/10 * * * *"
  validation {
    condition     = length(split(" ", var.watchdog_schedule)) == 5
    error_message = "watchdog_schedule must be a five-field cron expression."
  }
}

variable "reconcile" {
  description = "Scheduled reconcile of the ingest bucket (objects with no asset are ingested): a cron schedule (UTC) and how far back each run looks. Null turns it off."
  type = object({
    schedule    = string
    since_hours = optional(number, 26)
  })
  default = null
  validation {
    condition     = var.reconcile == null || length(split(" ", try(var.reconcile.schedule, ""))) == 5
    error_message = "reconcile.schedule must be a five-field cron expression."
  }
  validation {
    condition     = var.reconcile == null || (try(var.reconcile.since_hours, 0) > 0 && try(var.reconcile.since_hours, 0) <= 168)
    error_message = "reconcile.since_hours must be above 0 and at most 168 (a week)."
  }
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
  validation {
    condition     = alltrue([for key, value in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", key)) && can(regex("^[a-z0-9_-]{0,63}$", value))])
    error_message = "labels must be lowercase keys and values (letters, digits, _ and -)."
  }
}
