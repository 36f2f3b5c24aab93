// Publishes a models directory onto a shared volume the way kubelet updates a ConfigMap volume: every replica
// that mounts it sees the old set or the new one whole, never a mix, and hot-reloads on the `..data` swap.
import { randomBytes } from "node:crypto";
import {
  copyFile,
  lstat,
  mkdir,
  open,
  readdir,
  readlink,
  rename,
  rm,
  symlink,
} from "node:fs/promises";
import { join } from "node:path";
import { MANIFEST_FILE, readManifest, verifyFile } from "./manifest.js";

/** The link that names the live set; a reader resolves `name -> ..data/name`. */
export const DATA_LINK = "..data";

export class PublishError extends Error {
  override name = "PublishError";
}

/** A folder name kubelet would use: `..2026_12_03_10_05_00.123456789`. */
export function stampNow(now = new Date()): string {
  const iso = now.toISOString().replace(/[-:]/g, "_").replace("T", "_");
  return `..${iso.slice(0, 19)}.${randomBytes(4).readUInt32BE(0).toString().padStart(9, "0")}`;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Copies every visible file of `source` (checked first: the manifest parses and each file it names matches
 * its sha256) into a new hidden folder of `mount`, swaps `..data` to it with one rename, links the visible
 * names through `..data`, then removes the previous folder and the names the new set no longer has.
 * Returns the new folder's name.
 */
export async function publishModelsVolume(
  source: string,
  mount: string,
  stamp = stampNow(),
): Promise<string> {
  const manifest = await readManifest(source);
  const entries = [
    ...Object.values(manifest.models),
    ...(manifest.references ? [manifest.references] : []),
  ];
  for (const entry of entries) await verifyFile(source, entry);
  const names = [];
  for (const name of await readdir(source)) {
    if (name.startsWith(".")) continue;
    if ((await lstat(join(source, name))).isFile()) names.push(name);
  }
  if (!names.includes(MANIFEST_FILE)) throw new PublishError(`${source}: no ${MANIFEST_FILE}`);
  await mkdir(mount, { recursive: true });
  const before = await readdir(mount);
  for (const name of before) {
    if (name.startsWith(".")) continue;
    const link = await readlink(join(mount, name)).catch(() => undefined);
    if (link !== join(DATA_LINK, name))
      throw new PublishError(
        `${join(mount, name)} is not a link through ${DATA_LINK}: publish into an empty folder or one this command filled`,
      );
  }

  const staging = join(mount, `${stamp}.tmp`);
  await mkdir(staging);
  try {
    for (const name of names) {
      await copyFile(join(source, name), join(staging, name));
      const file = await open(join(staging, name), "r");
      await file.sync().finally(() => file.close());
    }
    await syncDir(staging);
    await rename(staging, join(mount, stamp));
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  const previous = await readlink(join(mount, DATA_LINK)).catch(() => undefined);
  const tmpLink = join(mount, `${DATA_LINK}_tmp`);
  await rm(tmpLink, { force: true });
  await symlink(stamp, tmpLink);
  await rename(tmpLink, join(mount, DATA_LINK));
  for (const name of names)
    if (!before.includes(name)) await symlink(join(DATA_LINK, name), join(mount, name));
  await syncDir(mount);
  for (const name of before)
    if (!name.startsWith(".") && !names.includes(name)) await rm(join(mount, name));
  if (previous && previous !== stamp)
    await rm(join(mount, previous), { recursive: true, force: true });
  return stamp;
}
