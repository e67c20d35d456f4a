/**
 * The Cloud Run entry point. One image serves every function: functions-framework picks one by
 * FUNCTION_TARGET (`--target`), and every function of the pipeline is registered here under its own name,
 * from the same list that wires the subscriptions, so a deployed name can never miss its handler.
 *
 *   functions-framework --source=functions/index.ts --signature-type=cloudevent --target=ingest
 *
 * Configuration is loaded when the module loads, so a bad deploy fails at cold start, not per message.
 */
import { loadConfig } from '../shared/config/config.ts';
import { once } from '../shared/runtime/deps.ts';
import { createGcpDeps } from '../shared/runtime/gcp.ts';
import { registerCloudEventFunctions } from '../shared/runtime/register.ts';
import { buildPipeline } from './pipeline.ts';
import { productionSteps } from './registry.ts';

const config = loadConfig({ ...process.env, MEDIAFLOW_RUNTIME: process.env.MEDIAFLOW_RUNTIME ?? 'gcp' });
// One set of clients per instance, made on first use: an instance serves one function and needs only its clients warm.
const deps = once(() => Promise.resolve(createGcpDeps(config, productionSteps, process.env)));
registerCloudEventFunctions(
  buildPipeline(config, productionSteps).functions.map((fn) => fn.definition),
  deps,
);
