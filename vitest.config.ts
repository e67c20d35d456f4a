import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Media and runtime tests spawn ffmpeg; two cores share them.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: { name: 'embedded', include: ['test/{unit,contract,integration,e2e,player}/**/*.test.ts'] },
      },
      {
        // Real servers: the Pub/Sub and Firestore emulators and fake-gcs-server, started once for the project.
        extends: true,
        test: { name: 'gcp', include: ['test/gcp/**/*.test.ts'], globalSetup: ['test/gcp/global-setup.ts'], setupFiles: ['test/gcp/setup-env.ts'] },
      },
    ],
  },
});
