// What build is running, for cgnn_build_info: package.json's version and the source revision (CGNN_REVISION,
// set by the image build or the deployment; else "unknown").
import { readFileSync } from "node:fs";

export interface BuildInfo {
  version: string;
  revision: string;
}

const PACKAGE_JSON = new URL("../../package.json", import.meta.url);

export function readBuildInfo(env: NodeJS.ProcessEnv = process.env): BuildInfo {
  let version = "unknown";
  try {
    version = String(JSON.parse(readFileSync(PACKAGE_JSON, "utf8")).version ?? "unknown");
  } catch {
    // A trimmed image without package.json still serves.
  }
  return { version, revision: env.CGNN_REVISION || "unknown" };
}
