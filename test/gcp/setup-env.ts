/** Every GCP suite talks to the local cloud the way the client libraries expect: through the emulator variables. */
import { inject } from 'vitest';

Object.assign(process.env, inject('localCloud').env);
