import { inject } from 'vitest';
import { createPubSubClient, ensureTopic, PubSubBus } from '../../shared/adapters/gcp/pubsub.ts';
import { LocalBus } from '../../shared/adapters/local/bus.ts';
import { describeBusContract } from '../support/bus-contract.ts';

describeBusContract('in-process LocalBus', async () => {
  const bus = new LocalBus({ timeScale: 0.01, projectId: 'contract' });
  return { bus, createTopic: async () => undefined, ready: async () => undefined, dispose: () => bus.close() };
});

describeBusContract('Pub/Sub emulator', async () => {
  const cloud = inject('localCloud');
  const client = createPubSubClient({ projectId: cloud.projectId });
  const bus = new PubSubBus(client, { quietMs: 300 });
  return {
    bus,
    createTopic: async (name) => void (await ensureTopic(client, name)),
    ready: () => bus.ready(),
    dispose: async () => {
      await bus.close();
      await client.close();
    },
  };
});
