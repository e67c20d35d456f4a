variable "project_id" {
  description = "Project the function runs in."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6-30 lowercase letters, digits and hyphens)."
  }
}

variable "region" {
  description = "Cloud Run region."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Cloud Run region such as europe-west1."
  }
}

variable "name" {
  description = "Cloud Run service name."
  type        = string
  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$", var.name))
    error_message = "name must be a Cloud Run service name: lowercase letters, digits and hyphens, at most 49 characters."
  }
}

variable "function" {
  description = "The function this service runs: the FUNCTION_TARGET functions/index.ts registers it under (a name from functions/pipeline.ts)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.function))
    error_message = "function must be a mediaflow function name."
  }
}

variable "service_account_id" {
  description = "Account id of the function's own service account (it gets only the grants in var.access)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.service_account_id))
    error_message = "service_account_id must be 6-30 characters: shorten the prefix if a function name makes it too long."
  }
}

variable "image" {
  description = "Container image to create the service with, by digest or by an immutable tag. Later images are rolled out by Cloud Build, so Terraform ignores image changes on an existing service."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$", var.image)) && !endswith(var.image, ":latest")
    error_message = "image must name a registry image by digest (@sha256:...) or by an explicit tag other than latest."
  }
}

variable "env" {
  description = "Environment of the container (the configuration loadConfig reads). FUNCTION_TARGET is set by the module."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for key in keys(var.env) : can(regex("^[A-Z][A-Z0-9_]*$", key)) && !contains(["FUNCTION_TARGET", "PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"], key)])
    error_message = "env keys must be upper-case names, and must not set FUNCTION_TARGET or the variables Cloud Run reserves."
  }
}

variable "request_timeout_seconds" {
  description = "Cloud Run request timeout: the ack deadline of the function's subscriptions, so Cloud Run never cuts a push Pub/Sub still waits for."
  type        = number
  validation {
    condition     = var.request_timeout_seconds >= 10 && var.request_timeout_seconds <= 600 && floor(var.request_timeout_seconds) == var.request_timeout_seconds
    error_message = "request_timeout_seconds must be a whole number of seconds in [10, 600], Pub/Sub's ack deadline range."
  }
}

variable "scaling" {
  description = "Instances and requests per instance."
  type = object({
    min_instances = optional(number, 0)
    max_instances = optional(number, 10)
    concurrency   = optional(number, 1)
  })
  default = {}
  validation {
    condition     = var.scaling.min_instances >= 0 && var.scaling.max_instances >= 1 && var.scaling.min_instances <= var.scaling.max_instances && var.scaling.concurrency >= 1 && var.scaling.concurrency <= 1000
    error_message = "scaling needs 0 <= min_instances <= max_instances, max_instances >= 1, and concurrency in [1, 1000]."
  }
}

variable "resources" {
  description = "CPU and memory of one instance. On Cloud Run the scratch disk is memory, so memory must hold the largest file the function downloads."
  type = object({
    cpu    = optional(string, "1")
    memory = optional(string, "512Mi")
  })
  default = {}
  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.resources.cpu) && can(regex("^[0-9]+(Mi|Gi)$", var.resources.memory))
    error_message = "resources.cpu must be 1, 2, 4, 6 or 8 and resources.memory a quantity such as 512Mi or 4Gi."
  }
}

variable "ingress" {
  description = "Who may reach the service. Pub/Sub push, Eventarc and Cloud Scheduler in the same project count as internal."
  type        = string
  default     = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  validation {
    condition     = contains(["INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER", "INGRESS_TRAFFIC_ALL"], var.ingress)
    error_message = "ingress must be INGRESS_TRAFFIC_INTERNAL_ONLY, INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER or INGRESS_TRAFFIC_ALL."
  }
}

variable "subscriptions" {
  description = "Push subscriptions that deliver to this function, keyed by subscription name; topics by id (projects/<project>/topics/<name>). Push endpoints end in the topic id: functions-framework reads the topic from that path."
  type = map(object({
    topic_id                = string
    ack_deadline_seconds    = number
    dead_letter_topic_id    = optional(string)
    max_delivery_attempts   = number
    minimum_backoff_seconds = number
    maximum_backoff_seconds = number
  }))
  validation {
    condition = alltrue([for name, sub in var.subscriptions : (
      can(regex("^[a-zA-Z][a-zA-Z0-9._~%+-]{2,254}$", name)) &&
      can(regex("^projects/[^/]+/topics/[^/]+$", sub.topic_id)) &&
      (sub.dead_letter_topic_id == null || can(regex("^projects/[^/]+/topics/[^/]+$", sub.dead_letter_topic_id))) &&
      sub.ack_deadline_seconds >= 10 && sub.ack_deadline_seconds <= 600 &&
      sub.max_delivery_attempts >= 5 && sub.max_delivery_attempts <= 100 &&
      sub.minimum_backoff_seconds >= 0 && sub.maximum_backoff_seconds <= 600 &&
      sub.minimum_backoff_seconds <= sub.maximum_backoff_seconds
    )])
    error_message = "subscriptions need valid names, topic ids, ack deadlines in [10, 600] s, 5..100 delivery attempts, and backoffs with 0 <= minimum <= maximum <= 600 s."
  }
}

variable "push_service_account" {
  description = "Email of the service account Pub/Sub signs push requests as (OIDC); it gets run.invoker on this service."
  type        = string
}

variable "pubsub_service_agent" {
  description = "Email of the project's Pub/Sub service agent, which must be able to acknowledge dead-lettered messages on each subscription."
  type        = string
}

variable "invokers" {
  description = "Other members that may invoke the service, such as the Eventarc trigger's service account, under fixed keys (the members themselves may be unknown until apply)."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for member in values(var.invokers) : startswith(member, "serviceAccount:")])
    error_message = "invokers must be service accounts."
  }
}

variable "access" {
  description = "Everything the function's own service account is granted, derived from what its code uses (generated/pipeline.json)."
  type = object({
    project_roles  = optional(list(string), [])
    publish_topics = optional(list(string), [])
    # Keyed by a name known at plan time (the bucket, or bucket/prefix): the bucket, the role, and an IAM condition
    # that limits the grant to part of the bucket.
    bucket_roles = optional(map(object({
      bucket = string
      role   = string
      condition = optional(object({
        title       = string
        description = optional(string)
        expression  = string
      }))
    })), {})
  })
  validation {
    condition = alltrue([for role in concat(var.access.project_roles, [for grant in values(var.access.bucket_roles) : grant.role]) : (
      !contains(["roles/owner", "roles/editor", "roles/viewer", "roles/storage.admin"], role) && !can(regex("[aA]dmin$", role))
    )])
    error_message = "access must not grant primitive roles, storage.admin or any admin role."
  }
  validation {
    condition     = alltrue([for grant in values(var.access.bucket_roles) : contains(["roles/storage.objectViewer", "roles/storage.objectUser"], grant.role)])
    error_message = "bucket_roles may only be roles/storage.objectViewer or roles/storage.objectUser."
  }
}

variable "deployer_service_account" {
  description = "Email of the service account Cloud Build deploys new images as; it may update this service and act as its runtime service account, nothing else."
  type        = string
}

variable "deletion_protection" {
  description = "Refuse to destroy the Cloud Run service."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels for the service and its subscriptions."
  type        = map(string)
  default     = {}
}
