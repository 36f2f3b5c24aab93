// Worker entry in plain JS: registers tsx in this thread (Node 20 workers ignore --import
// loaders for their entry file), then loads the TypeScript worker.
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
