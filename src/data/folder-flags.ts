// The --size, --channels, --fit and --split-seed flags every script that reads --data folder:DIR
// takes, checked in one place.
import type { FolderOptions } from "./image-folder.js";
import { RESIZE_MODES, type ResizeMode } from "./preprocess.js";

export const FOLDER_FLAGS = {
  size: { type: "string" },
  channels: { type: "string" },
  fit: { type: "string" },
  "split-seed": { type: "string" },
} as const;

export const FOLDER_USAGE =
  "  folder:DIR options: [--size N] [--channels 1|3] [--fit stretch|fit|cover] [--split-seed 0]";

/** The folder options from parsed flag values; `fail` prints one line and exits. */
export function folderOptions(
  values: { size?: string; channels?: string; fit?: string; "split-seed"?: string },
  fail: (message: string) => never,
): FolderOptions {
  const int = (name: string, value: string | undefined, min: number, max: number) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      fail(`--${name} must be an integer from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
  const channels = int("channels", values.channels, 1, 3);
  if (channels === 2) fail("--channels must be 1 or 3, got 2");
  if (values.fit !== undefined && !(RESIZE_MODES as readonly string[]).includes(values.fit)) {
    fail(`--fit must be one of ${RESIZE_MODES.join(", ")}, got "${values.fit}"`);
  }
  return {
    size: int("size", values.size, 1, 512),
    channels: channels as 1 | 3 | undefined,
    resize: values.fit as ResizeMode | undefined,
    seed: int("split-seed", values["split-seed"], 0, 2 ** 31),
  };
}
