// The --size, --channels, --fit and --split-seed flags every script that reads --data folder:DIR
// takes: one flag-table fragment that scripts spread into their own table, and its values as
// FolderOptions.
import { choice, int } from "../util/flag-table.js";
import type { FolderOptions } from "./image-folder.js";
import { RESIZE_MODES } from "./preprocess.js";

export const FOLDER_FLAGS = {
  size: int("folder:DIR: the side images are resized to (default: the images' own)", {
    min: 1,
    max: 512,
  }),
  channels: choice(["1", "3"], "folder:DIR: 1 (grayscale) or 3 (RGB) (default: from the images)"),
  fit: choice(RESIZE_MODES, "folder:DIR: how images of another shape are resized"),
  "split-seed": int("folder:DIR without train/ and test/: seed of the stratified split", {
    min: 0,
    max: 2 ** 31,
  }),
} as const;

/** The folder options from a script's flag values (already checked by the flag table). */
export function folderOptions(values: {
  size?: number;
  channels?: "1" | "3";
  fit?: (typeof RESIZE_MODES)[number];
  "split-seed"?: number;
}): FolderOptions {
  return {
    size: values.size,
    channels: values.channels === undefined ? undefined : (Number(values.channels) as 1 | 3),
    resize: values.fit,
    seed: values["split-seed"],
  };
}
