// Shutdown without dropping a request: from `begin()` on every response carries
// `Connection: close`, keep-alive sockets close as soon as they are idle, and a socket that has
// not sent its first request yet is left to send it (closing it would reset a request in flight).
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

interface Connection {
  /** Requests whose response has not finished. */
  active: number;
  /** Requests answered on this socket. */
  served: number;
}

export class ConnectionDrainer {
  private readonly connections = new Map<Socket, Connection>();
  private readonly unstarted = new Set<ServerResponse>();
  private draining = false;

  constructor(server: Server) {
    server.on("connection", (socket: Socket) => {
      this.connections.set(socket, { active: 0, served: 0 });
      socket.once("close", () => this.connections.delete(socket));
    });
    // Prepended so that it runs before the app writes anything.
    server.prependListener("request", (req: IncomingMessage, res: ServerResponse) => {
      const connection = this.connections.get(req.socket);
      if (connection) connection.active++;
      if (this.draining) res.setHeader("connection", "close");
      else this.unstarted.add(res);
      res.once("close", () => {
        this.unstarted.delete(res);
        if (!connection) return;
        connection.active--;
        connection.served++;
        if (this.draining && connection.active === 0) req.socket.end();
      });
    });
  }

  /** Open sockets (for tests and logs). */
  get open(): number {
    return this.connections.size;
  }

  /** Marks every response not yet started `Connection: close` and closes idle keep-alive sockets. */
  begin(): void {
    this.draining = true;
    for (const res of this.unstarted) if (!res.headersSent) res.setHeader("connection", "close");
    this.unstarted.clear();
    for (const [socket, { active, served }] of this.connections) {
      if (active === 0 && served > 0) socket.end();
    }
  }
}
