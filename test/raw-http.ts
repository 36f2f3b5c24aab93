// Tests that need the wire: a listening server, multipart bodies built by hand, requests that stream or abort.
import type { Server } from "node:http";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Express } from "express";

export const BOUNDARY = "cgnn-test-boundary";
export const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/** One multipart file part (headers and bytes, without the closing boundary). */
export function filePart(field: string, bytes: Buffer, filename = "d.png"): Buffer {
  const head =
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\n` +
    "Content-Type: image/png\r\n\r\n";
  return Buffer.concat([Buffer.from(head), bytes, Buffer.from("\r\n")]);
}

export const closing = () => Buffer.from(`--${BOUNDARY}--\r\n`);

export async function listen(app: Express): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = await new Promise((ok) => {
    const s = app.listen(0, "127.0.0.1", () => ok(s));
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Starts a POST and hands back the request (to write to, or destroy) and its eventual response. */
export function startPost(
  port: number,
  path: string,
  headers: http.OutgoingHttpHeaders,
): { req: http.ClientRequest; response: Promise<RawResponse> } {
  const req = http.request({ host: "127.0.0.1", port, path, method: "POST", headers });
  const response = new Promise<RawResponse>((ok, fail) => {
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on("error", fail);
    });
    req.on("error", fail);
  });
  return { req, response };
}
