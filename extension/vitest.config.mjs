// Two projects: `unit` (pure logic, fast, no Python) and `protocol` (spawns the real sidecar).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['extension/test/unit/**/*.test.ts'], environment: 'node' } },
      {
        test: {
          name: 'protocol',
          include: ['extension/test/protocol/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
