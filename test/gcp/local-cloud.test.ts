/** The harness itself: every server answers where the setup says it is. */
import { describe, expect, inject, it } from 'vitest';

describe('local cloud', () => {
  it('provides the emulators and fake-gcs-server, all answering', async () => {
    const cloud = inject('localCloud');
    for (const url of [`http://${cloud.pubsubHost}/`, `http://${cloud.firestoreHost}/`, `${cloud.storageEndpoint}/storage/v1/b`]) {
      const response = await fetch(url);
      expect(response.ok, url).toBe(true);
    }
    expect(cloud.env.PUBSUB_EMULATOR_HOST).toBe(cloud.pubsubHost);
  });
});
