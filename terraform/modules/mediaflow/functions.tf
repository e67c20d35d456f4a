# One module per function of the pipeline: its Cloud Run service with the common configuration plus the groups it
# declares, its own service account with only what it declares it needs, and its push subscriptions with their ack
# deadlines, retry policy and dead-letter topic.

module "function" {
  source   = "../function"
  for_each = local.deployed_functions

  project_id              = var.project_id
  region                  = var.region
  name                    = "${var.prefix}-${each.key}"
  function                = each.key
  service_account_id      = "${var.prefix}-${each.key}"
  image                   = coalesce(var.image, "-")
  env                     = merge(local.function_env, local.function_config_env[each.key])
  request_timeout_seconds = each.value.request_timeout_seconds
  ingress                 = var.ingress
  deletion_protection     = var.deletion_protection
  labels                  = merge(var.labels, { mediaflow-function = each.key })

  resources = {
    cpu    = local.sizing[each.key].cpu
    memory = local.sizing[each.key].memory
  }
  scaling = {
    min_instances = local.sizing[each.key].min_instances
    max_instances = local.sizing[each.key].max_instances
    concurrency   = local.sizing[each.key].concurrency
  }

  subscriptions = {
    for key, sub in local.subscriptions : sub.name => {
      topic_id                = local.topic_ids[sub.topic]
      ack_deadline_seconds    = sub.ack_deadline_seconds
      dead_letter_topic_id    = sub.dead_letter ? local.topic_ids[local.roles.dead_letters] : null
      max_delivery_attempts   = local.retry.max_delivery_attempts
      minimum_backoff_seconds = local.retry.minimum_backoff_seconds
      maximum_backoff_seconds = local.retry.maximum_backoff_seconds
    } if sub.function == each.key
  }

  access                   = local.function_access[each.key]
  push_service_account     = google_service_account.push.email
  pubsub_service_agent     = local.service_agents.pubsub
  invokers                 = each.key == "ingest" && local.eventarc ? { eventarc = "serviceAccount:${google_service_account.eventarc[0].email}" } : {}
  deployer_service_account = google_service_account.deployer.email

  depends_on = [
    google_project_service.this,
    google_firestore_database.this,
    google_pubsub_topic_iam_member.pubsub_agent_dead_letters,
    google_service_account_iam_member.pubsub_agent_push_tokens,
  ]
}
