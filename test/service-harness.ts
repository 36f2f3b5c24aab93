// Starts the real app (real models, real state and reloader) on a fixture models directory for tests.
import type { Express } from "express";
import type { Config } from "../src/config.js";
import { createApp } from "../src/service/app.js";
import { createLogger, type Logger } from "../src/service/log.js";
import { Metrics } from "../src/service/metrics.js";
import { Reloader } from "../src/service/reload.js";
import { ServingState } from "../src/service/state.js";
import { buildModelsDir, type Fixture, testConfig } from "./service-fixture.js";

export interface TestService {
  app: Express;
  config: Config;
  state: ServingState;
  metrics: Metrics;
  reloader: Reloader;
  fixture: Fixture;
  logs: { event: string; fields: Record<string, unknown> }[];
  load(): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startTestService(overrides: Partial<Config> = {}): Promise<TestService> {
  const fixture = await buildModelsDir();
  const config = testConfig(fixture.dir, overrides);
  const metrics = new Metrics();
  const state = new ServingState();
  const logs: TestService["logs"] = [];
  // Real pino lines at every level, read back into `logs`.
  const log: Logger = createLogger("trace", {
    write(line: string) {
      const { event, ...fields } = JSON.parse(line);
      logs.push({ event, fields });
    },
  });
  const reloader = new Reloader(config, metrics, state, log);
  const app = createApp({ config, state, metrics, log });
  return {
    app,
    config,
    state,
    metrics,
    reloader,
    fixture,
    logs,
    load: () => reloader.reload("test", true),
    async stop() {
      await reloader.close();
      await state.close();
      await fixture.cleanup();
    },
  };
}
