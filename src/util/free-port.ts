// A free TCP port on 127.0.0.1, for the benchmarks and tests that start a server of their own.
import { createServer } from "node:net";

/** Asks the kernel for a port, then releases it for the caller to listen on. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
